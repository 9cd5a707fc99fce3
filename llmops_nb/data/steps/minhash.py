"""`near_dedup`: MinHash signatures over word n-grams, LSH banding, verified pairs, one record kept per cluster.

Defaults (documented in `near_dedup`): 5-word shingles, 112 permutations in 14 bands x 8 rows (as in
datatrove), Jaccard threshold 0.8, candidates verified by the exact Jaccard of their shingle sets.

Speed comes from hashing in bulk with numpy: every word is hashed once (cached), shingles are combined
from word hashes with array arithmetic over a whole batch of documents, and all permutations of all
shingles of a batch are one (num_perm x shingles) multiply-add whose per-document minima are one
`minimum.reduceat`. There is no per-document Python loop over permutations.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from ...errors import InputError
from . import StepContext, step

_WORD = re.compile(r"\w+")
_WORD_BYTES = b"abcdefghijklmnopqrstuvwxyz0123456789_"
_ASCII_SPLIT = {c: " " for c in range(128) if c not in _WORD_BYTES}
_IS_WORD = np.zeros(256, dtype=bool)
_IS_WORD[np.frombuffer(_WORD_BYTES, dtype=np.uint8)] = True
_IS_WORD[128:] = True  # UTF-8 bytes of non-ASCII words (non-ASCII text is re-joined from regex words first)
_P = np.uint64(0x100000001B3)  # odd: invertible mod 2^64
_P_INV = np.uint64(pow(int(_P), -1, 1 << 64))
_U64 = np.uint64
_MAX64 = np.iinfo(np.uint64).max
_CHUNK = 1 << 16  # shingles hashed per numpy block: num_perm x 65536 x 8 bytes ~ 59 MB at 112 permutations
_BATCH_CHARS = 1 << 18  # text per batch: ~40k words, ~35k shingles
_SET_BUDGET = 16_000_000  # shingle hashes (8 bytes each) kept for exact verification; beyond this the
#                          candidates' shingles are rebuilt in a second pass over the texts


def words(text: str) -> List[str]:
    """Lower-cased word tokens (letters, digits, underscore); punctuation and spacing do not count.
    (MinHasher tokenizes the same way, on bytes, without making these strings.)"""
    text = text.lower()
    if text.isascii():
        return text.translate(_ASCII_SPLIT).split()  # no regex engine: same tokens for ASCII
    return _WORD.findall(text)


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finalizer, in place: decorrelates the linear n-gram combination."""
    x ^= x >> _U64(30)
    x *= _U64(0xBF58476D1CE4E5B9)
    x ^= x >> _U64(27)
    x *= _U64(0x94D049BB133111EB)
    x ^= x >> _U64(31)
    return x


class MinHasher:
    """MinHash signatures of word n-gram sets, num_perm permutations h(x) = (a*x + b) mod 2^64 >> 32
    (multiply-add-shift) over 64-bit shingle hashes; a and b are drawn from `seed`."""

    def __init__(self, *, num_perm: int = 112, ngram: int = 5, seed: int = 1):
        if num_perm < 1 or ngram < 1:
            raise InputError(f"num_perm and ngram must be >= 1 (got {num_perm}, {ngram})")
        self.num_perm, self.ngram = num_perm, ngram
        rng = np.random.default_rng(seed)
        self.a = (rng.integers(0, _MAX64, num_perm, dtype=np.uint64, endpoint=True) | _U64(1))[:, None]
        self.b = rng.integers(0, _MAX64, num_perm, dtype=np.uint64, endpoint=True)[:, None]
        self.mult = rng.integers(0, _MAX64, ngram, dtype=np.uint64, endpoint=True) | _U64(1)
        self._pow = self._pow_inv = np.zeros(0, dtype=np.uint64)
        self._buf = np.empty((num_perm, 0), dtype=np.uint64)

    # ---- hashing -------------------------------------------------------------------------
    def _powers(self, n: int) -> Tuple[np.ndarray, np.ndarray]:
        """P^i and P^-i (mod 2^64) for i < n, grown on demand and reused across batches."""
        if len(self._pow) < n:
            m = max(n, 2 * len(self._pow), 1 << 16)
            pw = np.empty(m, dtype=np.uint64)
            pw[0] = 1
            pw[1:] = np.cumprod(np.full(m - 1, _P, dtype=np.uint64))
            pi = np.empty(m, dtype=np.uint64)
            pi[0] = 1
            pi[1:] = np.cumprod(np.full(m - 1, _P_INV, dtype=np.uint64))
            self._pow, self._pow_inv = pw, pi
        return self._pow[:n], self._pow_inv[:n]

    def _word_hashes(self, texts: Sequence[str]) -> Tuple[np.ndarray, np.ndarray]:
        """(64-bit hash of every word of every text, words per text) for a batch, on bytes with numpy.

        A word's hash is the polynomial sum(byte_t * P^(len-1-t)) mod 2^64, read off prefix sums of
        byte * P^-i, so equal words hash equally wherever they are and no per-word string is made.
        """
        parts = []
        for t in texts:
            t = t.lower()
            parts.append(t.encode("utf-8", "surrogatepass") if t.isascii() else
                         " ".join(_WORD.findall(t)).encode("utf-8", "surrogatepass"))
        sizes = np.fromiter((len(b) for b in parts), dtype=np.int64, count=len(parts))
        B = np.frombuffer(b" ".join(parts), dtype=np.uint8)
        if not len(B):
            return np.zeros(0, dtype=np.uint64), np.zeros(len(parts), dtype=np.int64)
        isw = _IS_WORD[B]
        edge = np.diff(np.concatenate(([False], isw, [False])).astype(np.int8))
        s = np.flatnonzero(edge == 1)
        e = np.flatnonzero(edge == -1)
        pw, pinv = self._powers(len(B))
        G = np.cumsum((B.astype(np.uint64) + _U64(1)) * pinv)
        Gs = G[np.maximum(s - 1, 0)]
        Gs[s == 0] = 0
        W = pw[e - 1] * (G[e - 1] - Gs)
        doc_starts = np.zeros(len(parts), dtype=np.int64)
        np.cumsum(sizes[:-1] + 1, out=doc_starts[1:])
        doc = np.searchsorted(doc_starts, s, side="right") - 1
        return W, np.bincount(doc, minlength=len(parts)).astype(np.int64)

    def _shingles(self, texts: Sequence[str]) -> Tuple[np.ndarray, np.ndarray]:
        """(shingle hashes, owning text index) for a batch; a text shorter than n words is one shingle."""
        k = self.ngram
        W, lens = self._word_hashes(texts)
        starts = np.zeros(len(lens), dtype=np.int64)
        np.cumsum(lens[:-1], out=starts[1:])
        counts = np.where(lens >= k, lens - k + 1, (lens > 0).astype(np.int64))
        n_sh = int(counts.sum())
        doc = np.repeat(np.arange(len(lens), dtype=np.int64), counts)
        if n_sh == 0:
            return np.zeros(0, dtype=np.uint64), doc
        offs = np.zeros(len(lens), dtype=np.int64)
        np.cumsum(counts[:-1], out=offs[1:])
        pos = starts[doc] + (np.arange(n_sh, dtype=np.int64) - offs[doc])
        H = np.zeros(n_sh, dtype=np.uint64)
        short = lens[doc] < k
        if not short.any():
            for j in range(k):
                H += W[pos + j] * self.mult[j]
        else:
            span = np.minimum(lens[doc], k)  # words in each shingle (k, or fewer for a short text)
            for j in range(k):
                take = span > j
                H[take] += W[pos[take] + j] * self.mult[j]
        return _mix64(H), doc

    def shingle_set(self, text: str) -> frozenset:
        sh, _ = self._shingles([text])
        return frozenset(sh.tolist())

    def _signature_block(self, sh: np.ndarray, doc: np.ndarray, n_docs: int) -> np.ndarray:
        sig = np.full((self.num_perm, n_docs), _MAX64, dtype=np.uint64)
        if self._buf.shape[1] < min(len(sh), _CHUNK):
            self._buf = np.empty((self.num_perm, min(max(len(sh), 4096), _CHUNK)), dtype=np.uint64)
        for c0 in range(0, len(sh), _CHUNK):
            x = sh[c0:c0 + _CHUNK]
            d = doc[c0:c0 + _CHUNK]
            h = self._buf[:, :len(x)]  # reused: a fresh 30 MB array per block costs page faults
            np.multiply(self.a, x[None, :], out=h)
            h += self.b
            seg = np.flatnonzero(np.r_[True, d[1:] != d[:-1]])
            mins = np.minimum.reduceat(h, seg, axis=1)
            owners = d[seg]
            sig[:, owners] = np.minimum(sig[:, owners], mins)
        return (sig >> _U64(32)).astype(np.uint32).T

    def signatures(self, texts: Iterable[str], *, keep_shingles: bool = False,
                   budget: int = _SET_BUDGET) -> "Signatures":
        """Signatures of every text (one streaming pass); optionally keeps each text's shingle hashes
        (up to `budget` of them in all) for exact verification."""
        blocks: List[np.ndarray] = []
        n_shingles: List[np.ndarray] = []
        store: Optional[List[Tuple[int, np.ndarray, np.ndarray]]] = [] if keep_shingles else None
        held = 0
        base = 0
        batch: List[str] = []
        batch_chars = 0

        def flush():
            nonlocal held, store, base
            if not batch:
                return
            sh, doc = self._shingles(batch)
            blocks.append(self._signature_block(sh, doc, len(batch)))
            n_shingles.append(np.bincount(doc, minlength=len(batch)))
            if store is not None:
                held += len(sh)
                if held > budget:
                    store = None  # too big to hold: candidates' shingles are rebuilt in a second pass
                else:
                    store.append((base, sh, np.searchsorted(doc, np.arange(len(batch) + 1))))
            base += len(batch)
            batch.clear()

        for text in texts:
            batch.append(text)
            batch_chars += len(text) + 1
            if batch_chars >= _BATCH_CHARS:
                flush()
                batch_chars = 0
        flush()
        sig = np.vstack(blocks) if blocks else np.zeros((0, self.num_perm), dtype=np.uint32)
        counts = np.concatenate(n_shingles) if n_shingles else np.zeros(0, dtype=np.int64)
        return Signatures(sig, counts, store)


@dataclass
class Signatures:
    sig: np.ndarray  # (n, num_perm) uint32
    n_shingles: np.ndarray  # (n,) shingles per text; 0 = empty text (never a duplicate)
    store: Optional[List[Tuple[int, np.ndarray, np.ndarray]]] = None  # (first doc, shingles, bounds) per batch

    def shingle_sets(self, indices: Iterable[int]) -> Optional[Dict[int, frozenset]]:
        if self.store is None:
            return None
        firsts = [b for b, _, _ in self.store]
        out: Dict[int, frozenset] = {}
        for i in indices:
            k = int(np.searchsorted(firsts, i, side="right")) - 1
            b, sh, bounds = self.store[k]
            out[i] = frozenset(sh[bounds[i - b]:bounds[i - b + 1]].tolist())
        return out


# ---- LSH ------------------------------------------------------------------------------------
def candidate_probability(s: float, bands: int, rows: int) -> float:
    return 1.0 - (1.0 - s ** rows) ** bands


def choose_bands(threshold: float, num_perm: int, *, min_recall: float = 0.9) -> Tuple[int, int]:
    """(bands, rows) with bands*rows <= num_perm that make a pair at `threshold` a candidate with
    probability >= min_recall while letting the fewest dissimilar pairs through (area under the
    S-curve below the threshold). 112 permutations at 0.8 gives 14 x 8."""
    grid = np.linspace(0.0, threshold, 200)
    best, best_fp = None, math.inf
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        if bands < 1:
            break
        if candidate_probability(threshold, bands, rows) < min_recall:
            continue
        fp = float(np.trapezoid(1.0 - (1.0 - grid ** rows) ** bands, grid))
        if fp < best_fp:
            best, best_fp = (bands, rows), fp
    return best or (num_perm, 1)


def _band_keys(sig: np.ndarray, band: int, rows: int, mult: np.ndarray) -> np.ndarray:
    block = sig[:, band * rows:(band + 1) * rows].astype(np.uint64)
    key = np.zeros(len(sig), dtype=np.uint64)
    for t in range(rows):
        key += block[:, t] * mult[t]
        key ^= key >> _U64(29)
    return key


def lsh_pairs(sig: np.ndarray, bands: int, rows: int, *, valid: Optional[np.ndarray] = None,
              max_bucket: int = 50) -> np.ndarray:
    """Candidate pairs (i < j), unique, as an (m, 2) int64 array: documents that agree on every row of
    at least one band. A bucket larger than `max_bucket` pairs each member with its first member only."""
    n = len(sig)
    if bands * rows > sig.shape[1]:
        raise InputError(f"bands x rows = {bands * rows} exceeds num_perm = {sig.shape[1]}")
    idx_all = np.arange(n, dtype=np.int64) if valid is None else np.flatnonzero(valid)
    mult = np.random.default_rng(12345).integers(0, _MAX64, rows, dtype=np.uint64, endpoint=True) | _U64(1)
    found: List[np.ndarray] = []
    for b in range(bands):
        keys = _band_keys(sig[idx_all], b, rows, mult)
        order = np.argsort(keys, kind="stable")
        ks = keys[order]
        members = idx_all[order]
        brk = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1], True])
        starts, sizes = brk[:-1], np.diff(brk)
        multi = sizes >= 2
        starts, sizes = starts[multi], sizes[multi]
        if not len(starts):
            continue
        for m in np.unique(sizes):
            st = starts[sizes == m]
            if m <= max_bucket:
                groups = members[st[:, None] + np.arange(m)[None, :]]  # (g, m), ascending index within
                iu, ju = np.triu_indices(m, 1)
                found.append(np.stack([groups[:, iu].ravel(), groups[:, ju].ravel()], axis=1))
            else:
                for s in st:
                    g = np.sort(members[s:s + m])
                    found.append(np.stack([np.full(m - 1, g[0]), g[1:]], axis=1))
    if not found:
        return np.zeros((0, 2), dtype=np.int64)
    pairs = np.concatenate(found)
    lo, hi = np.minimum(pairs[:, 0], pairs[:, 1]), np.maximum(pairs[:, 0], pairs[:, 1])
    code = np.unique(lo * n + hi)
    return np.stack([code // n, code % n], axis=1)


def estimated_jaccard(sig: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    out = np.empty(len(pairs), dtype=np.float64)
    for c in range(0, len(pairs), 65536):
        p = pairs[c:c + 65536]
        out[c:c + 65536] = (sig[p[:, 0]] == sig[p[:, 1]]).mean(axis=1)
    return out


def exact_jaccard(sets: Dict[int, frozenset], pairs: np.ndarray) -> np.ndarray:
    out = np.empty(len(pairs), dtype=np.float64)
    for k, (i, j) in enumerate(pairs.tolist()):
        a, b = sets[i], sets[j]
        inter = len(a & b) if len(a) < len(b) else len(b & a)
        union = len(a) + len(b) - inter
        out[k] = inter / union if union else 0.0
    return out


class UnionFind:
    def __init__(self):
        self.parent: Dict[int, int] = {}

    def find(self, x: int) -> int:
        p = self.parent
        root = x
        while p.get(root, root) != root:
            root = p[root]
        while p.get(x, x) != root:
            p[x], x = root, p[x]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if ra < rb:
                self.parent[rb] = ra
            else:
                self.parent[ra] = rb

    def groups(self) -> Dict[int, List[int]]:
        out: Dict[int, List[int]] = {}
        for x in list(self.parent):
            out.setdefault(self.find(x), []).append(x)
        for root, members in out.items():
            if root not in members:
                members.append(root)
            members.sort()
        return out


@dataclass
class Duplicates:
    """Clusters found among n texts: `kept[i]` is the index of the record that represents text i (itself if kept)."""

    n: int
    pairs: np.ndarray  # verified pairs (i, j)
    similarity: np.ndarray  # their Jaccard (exact or estimated, see `verify`)
    candidates: int
    clusters: List[List[int]]
    representative: Dict[int, int]  # removed index -> kept index
    detail: Dict[int, dict] = field(default_factory=dict)
    params: Dict[str, object] = field(default_factory=dict)

    @property
    def removed(self) -> List[int]:
        return sorted(self.representative)


def cluster_pairs(n: int, pairs: np.ndarray, sim: np.ndarray, *, keep: str = "first",
                  sizes: Optional[np.ndarray] = None,
                  similarity: Optional[Callable[[int, int], float]] = None) -> Tuple[List[List[int]], Dict[int, int], Dict[int, dict]]:
    """Union-find over verified pairs; one representative per cluster (the first, or the longest text);
    for every other member: the representative, its best-matching neighbour and similarity to both."""
    uf = UnionFind()
    best: Dict[int, Tuple[float, int]] = {}
    direct: Dict[Tuple[int, int], float] = {}
    for (i, j), s in zip(pairs.tolist(), sim.tolist()):
        uf.union(i, j)
        direct[(i, j)] = s
        for a, b in ((i, j), (j, i)):
            if a not in best or s > best[a][0]:
                best[a] = (s, b)
    clusters = sorted(uf.groups().values())
    rep_of: Dict[int, int] = {}
    detail: Dict[int, dict] = {}
    for members in clusters:
        if keep == "longest" and sizes is not None:
            rep = max(members, key=lambda m: (sizes[m], -m))
        else:
            rep = members[0]
        for m in members:
            if m == rep:
                continue
            rep_of[m] = rep
            key = (min(m, rep), max(m, rep))
            to_kept = direct.get(key)
            if to_kept is None and similarity is not None:
                to_kept = similarity(m, rep)
            s, nb = best[m]
            detail[m] = {"similarity_to_kept": None if to_kept is None else round(float(to_kept), 4),
                         "matched": nb, "similarity": round(float(s), 4), "cluster_size": len(members)}
    return clusters, rep_of, detail


def find_near_duplicates(texts: Union[Sequence[str], Callable[[], Iterable[str]]], *, threshold: float = 0.8,
                         ngram: int = 5, num_perm: int = 112, bands: Optional[int] = None,
                         rows: Optional[int] = None, verify: str = "exact", keep: str = "first", seed: int = 1,
                         max_bucket: int = 50) -> Duplicates:
    """Near-duplicate clusters among texts. `texts` is a sequence or a function returning a fresh iterator
    (read twice at most: once to hash, once more only if the candidates' shingle sets did not fit in memory)."""
    if not 0.0 < threshold <= 1.0:
        raise InputError(f"near-dup threshold must be in (0, 1], got {threshold}")
    if verify not in ("exact", "minhash", "none"):
        raise InputError(f"verify must be 'exact', 'minhash' or 'none', got '{verify}'")
    if keep not in ("first", "longest"):
        raise InputError(f"keep must be 'first' or 'longest', got '{keep}'")
    if bands is None and rows is None:
        bands, rows = (14, 8) if (num_perm == 112 and abs(threshold - 0.8) < 1e-9) else choose_bands(threshold, num_perm)
    elif bands is None:
        bands = num_perm // rows
    elif rows is None:
        rows = num_perm // bands
    if bands * rows > num_perm or bands < 1 or rows < 1:
        raise InputError(f"bands x rows = {bands} x {rows} must be >= 1 and fit in num_perm = {num_perm}")
    source = texts if callable(texts) else (lambda: iter(texts))
    hasher = MinHasher(num_perm=num_perm, ngram=ngram, seed=seed)
    sg = hasher.signatures(source(), keep_shingles=(verify == "exact"))
    n = len(sg.sig)
    pairs = lsh_pairs(sg.sig, bands, rows, valid=sg.n_shingles > 0, max_bucket=max_bucket)
    n_candidates = len(pairs)
    sets: Dict[int, frozenset] = {}
    if verify == "exact" and len(pairs):
        need = np.unique(pairs)
        held = sg.shingle_sets(need.tolist())
        if held is not None:
            sets = held
        else:
            want = set(need.tolist())
            for i, text in enumerate(source()):
                if i in want:
                    sets[i] = hasher.shingle_set(text)
        sim = exact_jaccard(sets, pairs)
    else:
        sim = estimated_jaccard(sg.sig, pairs)
    if verify != "none":
        ok = sim >= threshold - 1e-12
        pairs, sim = pairs[ok], sim[ok]

    def similarity(i: int, j: int) -> float:
        if sets:
            return float(exact_jaccard(sets, np.array([[i, j]]))[0])
        return float(estimated_jaccard(sg.sig, np.array([[i, j]]))[0])

    clusters, rep_of, detail = cluster_pairs(n, pairs, sim, keep=keep, sizes=sg.n_shingles, similarity=similarity)
    return Duplicates(n, pairs, sim, n_candidates, clusters, rep_of, detail,
                      {"bands": bands, "rows": rows, "num_perm": num_perm, "ngram": ngram, "threshold": threshold,
                       "verify": verify})


class _Reiterable:
    """Texts of a re-iterable record source; remembers ids on the first pass."""

    def __init__(self, records):
        self.records = records
        self.ids: List[str] = []
        self._first = True

    def __call__(self) -> Iterator[str]:
        first = self._first
        self._first = False
        for rec in self.records:
            if first:
                self.ids.append(str(rec["id"]))
            yield rec["text"]


@step("near_dedup", multipass=True, primary="threshold",
      limits={"threshold": "(0, 1]", "ngram": "[1, inf)", "num_perm": "[1, inf)", "bands": "[1, inf)",
              "rows": "[1, inf)", "max_bucket": "[1, inf)"},
      choices={"verify": ("exact", "minhash", "none"), "keep": ("first", "longest")})
def near_dedup(records: Iterable[dict], ctx: StepContext, *, threshold: float = 0.8, ngram: int = 5,
               num_perm: int = 112, bands: Optional[int] = None, rows: Optional[int] = None, verify: str = "exact",
               keep: str = "first", seed: int = 1, max_bucket: int = 50) -> Iterator[dict]:
    """Remove near-duplicates: records whose sets of word `ngram`-grams (lower-cased, punctuation ignored)
    have Jaccard similarity >= `threshold`, keeping ONE record per cluster.

    Defaults: 5-grams, 112 permutations in 14 bands x 8 rows (datatrove's setting; a pair at Jaccard 0.8
    becomes a candidate with probability 0.92, at 0.85 with 0.99), threshold 0.8. For another threshold or
    num_perm, bands x rows is chosen so a pair at the threshold is a candidate with probability >= 0.9.
    `verify`: "exact" (default) keeps a candidate pair only if the exact Jaccard of the two shingle sets
    reaches the threshold; "minhash" uses the signature estimate; "none" keeps every LSH candidate.
    Clusters are the connected components of verified pairs (union-find); `keep` = "first" (default) or
    "longest" picks the representative. Each removed record names the kept one (`duplicate_of`) with
    its similarity to it and to the neighbour that matched.
    """
    src = _Reiterable(records)
    dup = find_near_duplicates(src, threshold=threshold, ngram=ngram, num_perm=num_perm, bands=bands, rows=rows,
                               verify=verify, keep=keep, seed=seed, max_bucket=max_bucket)
    ids = src.ids
    ctx.metrics.update(candidate_pairs=dup.candidates, verified_pairs=int(len(dup.pairs)),
                       clusters=len(dup.clusters), bands=dup.params["bands"], rows=dup.params["rows"])
    rep = dup.representative
    for i, rec in enumerate(records):
        if i in rep:
            d = dict(dup.detail[i])
            d["matched"] = ids[d["matched"]]
            ctx.remove(rec, "near_duplicate", duplicate_of=ids[rep[i]], **d)
        else:
            yield rec
