"""Records into an index: from a Dataset, a dataset reference, a DataFrame, a list of dicts or of strings,
to the rows and vectors that build, add and upsert store (chunked and embedded, or one given vector each)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple

import numpy as np

from ..data.datasets import Dataset, dataset, record_id
from ..errors import InputError
from ..models.loading import load_embedder
from .chunking import ChunkStats, chunk_records
from .embeddings import EmbedStats, embed


def as_records(source: Any) -> Tuple[Iterable[dict], Optional[Dataset]]:
    """(records, dataset or None). Records get an 'id' (the text's hash when missing) and a str 'text'."""
    if isinstance(source, (str, Dataset)):
        ds = dataset(source)
        return normalize_records(ds.records()), ds
    try:
        import pandas as pd

        if isinstance(source, pd.DataFrame):
            source = source.to_dict("records")
    except ImportError:  # pragma: no cover
        pass
    if isinstance(source, dict):
        source = [source]
    if not isinstance(source, Iterable):
        raise InputError(f"cannot index a {type(source).__name__}; pass a dataset name, a Dataset, a DataFrame "
                         "or a list of dicts with 'id' and 'text'")
    return normalize_records(source), None


def normalize_records(items: Iterable[Any]) -> Iterator[dict]:
    for i, rec in enumerate(items):
        if isinstance(rec, str):
            rec = {"text": rec}
        if not isinstance(rec, dict):
            raise InputError(f"record {i} is a {type(rec).__name__}; records are dicts with 'id' and 'text'")
        if "text" not in rec:
            raise InputError(f"record {i} has no 'text' field (fields: {', '.join(map(str, rec)) or 'none'}); "
                             "records are dicts with 'id' and 'text'")
        text = rec["text"]
        text = "" if text is None or (isinstance(text, float) and text != text) else str(text)
        rid = rec.get("id")
        rid = record_id(text) if rid is None or rid == "" else str(rid)
        yield {**rec, "id": rid, "text": text}


def meta_json(rec: dict) -> str:
    return json.dumps({k: v for k, v in rec.items() if k not in ("id", "text")}, default=str, ensure_ascii=False)


@dataclass
class Prepared:
    """Rows and vectors ready to go into an index: what add, upsert and build share."""

    records: List[Tuple[str, str, str]] = field(default_factory=list)  # (record_id, text, meta json)
    chunks: List[Tuple[str, int, int, int]] = field(default_factory=list)  # (record_id, chunk, start, end)
    vectors: Optional[np.ndarray] = None
    stats: ChunkStats = field(default_factory=ChunkStats)
    embed_stats: Optional[EmbedStats] = None
    all_ids: List[str] = field(default_factory=list)  # every record given, those skipped for empty text too

    def __repr__(self) -> str:
        return f"Prepared(records={len(self.records)}, chunks={len(self.chunks)})"


class _UniqueIds:
    """Records pass through, each id noted; an id seen twice is refused."""

    def __init__(self, out: Prepared, where: str):
        self.out, self.where, self.seen = out, where, set()

    def __call__(self, rec: dict) -> dict:
        if rec["id"] in self.seen:
            raise InputError(f"record id '{rec['id']}' appears twice in {self.where}; record ids must be unique")
        self.seen.add(rec["id"])
        self.out.all_ids.append(rec["id"])
        return rec


def prepare(records: Iterable[dict], *, model: Optional[str], chunk_tokens: int, overlap: int,
            vectors: Optional[np.ndarray], dim: Optional[int], progress: bool, where: str,
            pre_embed: Optional[Callable[[Any, List[str]], int]] = None) -> Prepared:
    """Chunk and embed records, or take one given vector per record (unchunked) when `vectors` is given.
    `dim` is the index's dimension when adding to one; `where` names the records in messages. `pre_embed(emb,
    texts)`, when given, fills the embedding cache first (on a Dask cluster) and returns how many it embedded."""
    out = Prepared()
    track = _UniqueIds(out, where)
    if vectors is not None:
        return _with_given_vectors(out, [track(r) for r in records], vectors, dim)
    emb = load_embedder(model)
    if dim is not None and emb.dim != dim:
        raise InputError(f"dimension mismatch: the index holds {dim}-d vectors but {emb.name} gives {emb.dim}-d ones; "
                         "rebuild the index with build_index(...)")
    kept: Dict[str, dict] = {}

    def keep(rec: dict) -> dict:
        kept[rec["id"]] = rec
        return rec

    texts: List[str] = []
    for c in chunk_records((keep(track(r)) for r in records), emb.tokenizer, chunk_tokens=chunk_tokens,
                           overlap=overlap, max_tokens=emb.max_seq_length - 2, stats=out.stats):
        out.chunks.append((c.record_id, c.chunk, c.start, c.end))
        texts.append(c.text)
    chunked = {rid for rid, *_ in out.chunks}
    out.records = [(rid, rec["text"], meta_json(rec)) for rid, rec in kept.items() if rid in chunked]
    out.embed_stats = EmbedStats()
    elsewhere = pre_embed(emb, texts) if pre_embed is not None and texts else 0
    out.vectors = embed(texts, emb, progress=progress, stats=out.embed_stats)
    out.embed_stats.embedded += elsewhere  # embedded on the cluster, then read here from the cache
    out.embed_stats.cached -= elsewhere
    return out


def _with_given_vectors(out: Prepared, recs: List[dict], vectors: Any, dim: Optional[int]) -> Prepared:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(vectors) != len(recs):
        raise InputError(f"vectors must be a 2-d array with one row per record ({len(recs)} records, "
                         f"got shape {vectors.shape})")
    if dim is not None and vectors.shape[1] != dim:
        raise InputError(f"dimension mismatch: the index holds {dim}-d vectors, got {vectors.shape[1]}-d ones")
    for r in recs:
        out.records.append((r["id"], r["text"], meta_json(r)))
        out.chunks.append((r["id"], 0, 0, len(r["text"])))
    out.stats.records = out.stats.chunks = len(recs)
    out.vectors = np.ascontiguousarray(vectors)
    return out


__all__ = ["Prepared", "as_records", "meta_json", "normalize_records", "prepare"]
