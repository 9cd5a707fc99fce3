"""Steps on sentence embeddings (MiniLM by default): `semantic_dedup` (usearch neighbours above a cosine
threshold) and `select` (a budget of records that best covers the dataset, facility location or k-center).

Embeddings go through the index package's content-hash cache (`llmops_nb.index.embeddings.embed`),
so curating and then indexing the same texts embeds them once.
"""
from __future__ import annotations

import heapq
from typing import Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np

from ...errors import InputError
from . import StepContext, step
from .minhash import cluster_pairs

_EMBED_CHUNK = 4096


def embed_texts(texts: Sequence[str], model: str = "all-minilm-l6-v2", *, progress: bool = False) -> np.ndarray:
    """L2-normalized float32 embeddings (n, dim)."""
    try:
        from ...index.embeddings import embed
    except ImportError:  # the index package is optional here: embed directly, without its cache
        from ...models.loading import load_embedder

        return load_embedder(model).encode(list(texts), normalize=True, progress=progress)
    return embed(list(texts), model, progress=progress)


def _embed_records(records: Iterable[dict], model: str, progress: bool) -> Tuple[List[str], np.ndarray]:
    ids: List[str] = []
    parts: List[np.ndarray] = []
    buf: List[str] = []
    for rec in records:
        ids.append(str(rec["id"]))
        buf.append(rec["text"])
        if len(buf) >= _EMBED_CHUNK:
            parts.append(embed_texts(buf, model, progress=progress))
            buf = []
    if buf or not parts:
        parts.append(embed_texts(buf, model, progress=progress))
    return ids, np.ascontiguousarray(np.vstack(parts), dtype=np.float32)


def neighbour_pairs(vecs: np.ndarray, threshold: float, k: int = 10, *, exact: Optional[bool] = None) -> Tuple[np.ndarray, np.ndarray]:
    """Pairs (i < j) of rows whose cosine similarity >= threshold among each row's k nearest (usearch)."""
    from usearch.index import Index

    n = len(vecs)
    if n < 2:
        return np.zeros((0, 2), dtype=np.int64), np.zeros(0)
    index = Index(ndim=vecs.shape[1], metric="cos", dtype="f32")
    index.add(np.arange(n, dtype=np.uint64), vecs)
    count = min(k + 1, n)
    found = index.search(vecs, count, exact=(n <= 20_000) if exact is None else exact)
    keys = np.asarray(found.keys, dtype=np.int64).reshape(n, -1)
    sims = 1.0 - np.asarray(found.distances, dtype=np.float64).reshape(n, -1)
    rows = np.repeat(np.arange(n), keys.shape[1])
    cols, s = keys.ravel(), sims.ravel()
    ok = (cols >= 0) & (cols < n) & (cols != rows) & (s >= threshold - 1e-6)
    lo, hi = np.minimum(rows[ok], cols[ok]), np.maximum(rows[ok], cols[ok])
    code, first = np.unique(lo * n + hi, return_index=True)
    return np.stack([code // n, code % n], axis=1), s[ok][first]


@step("semantic_dedup", multipass=True, primary="threshold", limits={"threshold": "[-1, 1]", "k": "[1, inf)"},
      choices={"keep": ("first", "longest")})
def semantic_dedup(records: Iterable[dict], ctx: StepContext, *, threshold: float = 0.95,
                   model: str = "all-minilm-l6-v2", k: int = 10, keep: str = "first") -> Iterator[dict]:
    """Remove records whose embedding has cosine similarity >= `threshold` (default 0.95: paraphrases and
    light rewrites; 0.9 also catches looser restatements) with another's, keeping one per cluster.

    Neighbours come from a usearch index (the `k` nearest per record, exact search up to 20k records);
    clusters are connected components, `keep` = "first" or "longest". MiniLM reads the first ~256 tokens
    of each text, so long records that differ only later are not duplicates here (near_dedup sees them).
    """
    if not -1.0 <= threshold <= 1.0:
        raise InputError(f"semantic_dedup threshold is a cosine similarity in [-1, 1], got {threshold}")
    ids, vecs = _embed_records(records, model, ctx.progress)
    pairs, sims = neighbour_pairs(vecs, threshold, k)
    lengths = None
    if keep == "longest":
        lengths = np.array([len(r["text"]) for r in records])

    def cosine(i: int, j: int) -> float:
        return float(vecs[i] @ vecs[j])

    clusters, rep, detail = cluster_pairs(len(ids), pairs, sims, keep=keep, sizes=lengths, similarity=cosine)
    ctx.metrics.update(similar_pairs=int(len(pairs)), clusters=len(clusters))
    for i, rec in enumerate(records):
        if i in rep:
            d = dict(detail[i])
            d["matched"] = ids[d["matched"]]
            ctx.remove(rec, "semantic_duplicate", duplicate_of=ids[rep[i]], **d)
        else:
            yield rec


# ---- selection ---------------------------------------------------------------------------------
def coverage(vecs: np.ndarray, selected: Sequence[int]) -> float:
    """Mean over all records of the cosine similarity to their closest selected record."""
    if not len(selected):
        return 0.0
    S = vecs[np.asarray(selected)]
    total = 0.0
    for c in range(0, len(vecs), 4096):
        total += float((vecs[c:c + 4096] @ S.T).max(axis=1).sum())
    return total / len(vecs)


def nearest_selected(vecs: np.ndarray, selected: Sequence[int]) -> Tuple[np.ndarray, np.ndarray]:
    S = vecs[np.asarray(selected)]
    idx = np.empty(len(vecs), dtype=np.int64)
    sim = np.empty(len(vecs), dtype=np.float32)
    for c in range(0, len(vecs), 4096):
        m = vecs[c:c + 4096] @ S.T
        idx[c:c + 4096] = np.asarray(selected)[m.argmax(axis=1)]
        sim[c:c + 4096] = m.max(axis=1)
    return idx, sim


def facility_location(vecs: np.ndarray, k: int, *, clients: Optional[np.ndarray] = None) -> List[int]:
    """Greedy (lazy) maximization of sum over clients of max(0, cos(client, nearest chosen)): each pick adds
    the most coverage still missing, so it favours representatives of dense regions over outliers."""
    C = vecs if clients is None else vecs[clients]
    n = len(vecs)
    gains = np.empty(n, dtype=np.float64)
    for s in range(0, n, 2048):
        gains[s:s + 2048] = np.maximum(C @ vecs[s:s + 2048].T, 0).sum(axis=0)
    heap = [(-g, j) for j, g in enumerate(gains.tolist())]
    heapq.heapify(heap)
    best = np.zeros(len(C), dtype=np.float32)
    chosen: List[int] = []
    while len(chosen) < k and heap:
        _, j = heapq.heappop(heap)
        col = np.maximum(C @ vecs[j], 0)
        g = float(np.maximum(col - best, 0).sum())
        if not heap or g >= -heap[0][0] - 1e-9:
            chosen.append(j)
            best = np.maximum(best, col)
        else:
            heapq.heappush(heap, (-g, j))
    return chosen


def k_center(vecs: np.ndarray, k: int, *, seed: int = 0) -> List[int]:
    """Greedy k-center: start at the record closest to the mean, then repeatedly take the record farthest
    from everything chosen (minimizes the worst-covered record's distance; picks outliers early)."""
    centroid = vecs.mean(axis=0)
    first = int(np.argmax(vecs @ centroid))
    chosen = [first]
    dist = 1.0 - vecs @ vecs[first]
    while len(chosen) < k:
        j = int(np.argmax(dist))
        if dist[j] <= 0:
            break
        chosen.append(j)
        dist = np.minimum(dist, 1.0 - vecs @ vecs[j])
    return chosen


def select_indices(vecs: np.ndarray, n: int, *, method: str = "facility", seed: int = 0,
                   max_clients: int = 4096) -> List[int]:
    total = len(vecs)
    if n >= total:
        return list(range(total))
    if method == "facility":
        clients = None
        if total > max_clients:
            clients = np.sort(np.random.default_rng(seed).choice(total, max_clients, replace=False))
        return facility_location(vecs, n, clients=clients)
    if method == "kcenter":
        return k_center(vecs, n, seed=seed)
    raise InputError(f"select method must be 'facility' or 'kcenter', got '{method}'")


@step("select", multipass=True, primary="n", limits={"n": "[1, inf)", "max_clients": "[1, inf)"},
      choices={"method": ("facility", "kcenter")})
def select(records: Iterable[dict], ctx: StepContext, *, n: int, method: str = "facility",
           model: str = "all-minilm-l6-v2", seed: int = 0, max_clients: int = 4096) -> Iterator[dict]:
    """Keep a budget of `n` records that best covers the dataset in embedding space, in original order.

    `method`: "facility" (default; greedy facility location, which maximizes the mean similarity of every
    record to its closest kept one — the coverage reported; above `max_clients` records the objective is
    measured on a seeded sample of them) or "kcenter" (greedy k-center: spread, outliers first).
    Reports `coverage` (mean over ALL records of the cosine similarity to the closest kept record) beside
    `random_coverage`, the same for a seeded random sample of the same size. Each record not kept names
    the kept record closest to it (`duplicate_of`) and their similarity.
    """
    try:
        n = int(n)
    except (TypeError, ValueError):
        raise InputError(f"select needs a budget n (a number of records), got {n!r}") from None
    if n < 1:
        raise InputError(f"select budget must be >= 1, got {n}")
    ids, vecs = _embed_records(records, model, ctx.progress)
    chosen = select_indices(vecs, n, method=method, seed=seed, max_clients=max_clients)
    rnd = np.random.default_rng(seed).choice(len(ids), size=min(n, len(ids)), replace=False)
    ctx.metrics.update(budget=n, selected=len(chosen), method=method,
                       coverage=round(coverage(vecs, chosen), 4), random_coverage=round(coverage(vecs, rnd), 4))
    keep = set(chosen)
    near, sim = nearest_selected(vecs, chosen) if len(chosen) < len(ids) else (None, None)
    for i, rec in enumerate(records):
        if i in keep:
            yield rec
        else:
            ctx.remove(rec, "not_selected", duplicate_of=ids[int(near[i])], similarity=round(float(sim[i]), 4))
