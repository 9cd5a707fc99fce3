"""Metadata filters on an index (`search(where=...)`): the chunks' columns as a DataFrame, the masks of recent
filters (llmops_nb.filters: parsed, never run as Python), and the filtered search itself.

A narrow filter is searched exactly over the chunks it matches (numpy); a broad one asks HNSW for more than
k neighbours and keeps the matching ones, widening until k match.
"""
from __future__ import annotations

import json
import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import numpy as np

from ..filters import parse_filter

EXACT_SUBSET_MAX = 20_000  # a filter matching at most this many chunks is searched exactly (numpy)
EXACT_SUBSET_FRACTION = 0.02  # ... as is one matching under 2% of the index
_MASKS_KEPT = 8
_HIDDEN = ("key",)  # in the frame for the masks, not a column users filter on


@dataclass(eq=False)
class Match:
    """The chunks one filter keeps: a mask over usearch keys, the keys, and (once needed) their vectors."""

    mask: np.ndarray
    keys: np.ndarray
    vectors: Optional[np.ndarray] = field(default=None, repr=False)

    @property
    def n(self) -> int:
        return int(len(self.keys))

    def __repr__(self) -> str:
        return f"Match(n={self.n})"


def metric_distances(metric: str, vectors: np.ndarray, q: np.ndarray) -> np.ndarray:
    """The metric's distances from q to each row, as usearch computes them."""
    if metric == "l2sq":
        diff = vectors - q
        return np.einsum("ij,ij->i", diff, diff)
    dots = vectors @ q
    if metric == "ip":
        return 1.0 - dots
    norms = np.linalg.norm(vectors, axis=1) * (np.linalg.norm(q) or 1.0)
    norms[norms == 0] = 1.0
    return 1.0 - dots / norms


class MetadataFilters:
    """One index's chunk metadata and filter masks; rebuilt whenever the index changes."""

    def __init__(self, db, index_id: int, next_key: int, metric: str, dim: int):
        self.db, self.index_id, self.next_key, self.metric, self.dim = db, index_id, next_key, metric, dim
        self._frame = None
        self._matches: "OrderedDict[str, Match]" = OrderedDict()

    def frame(self):
        """key, id, chunk and metadata columns of every chunk: what `where` filters see."""
        if self._frame is None:
            import pandas as pd

            metas = {rid: json.loads(meta) for rid, meta in
                     self.db.execute("SELECT record_id, meta FROM index_records WHERE index_id=?", (self.index_id,))}
            rows = self.db.execute("SELECT key, record_id, chunk FROM index_chunks WHERE index_id=? ORDER BY key",
                                   (self.index_id,)).fetchall()
            frame = pd.DataFrame({"key": np.array([r[0] for r in rows], dtype=np.int64),
                                  "id": [r[1] for r in rows], "chunk": np.array([r[2] for r in rows], dtype=np.int64)})
            cols: Dict[str, None] = {}
            for m in metas.values():
                cols.update(dict.fromkeys(m))
            for c in cols:
                if c not in frame.columns:
                    frame[c] = [metas[r[1]].get(c) for r in rows]
            self._frame = frame
        return self._frame

    @property
    def columns(self) -> List[str]:
        return [c for c in self.frame().columns if c not in _HIDDEN]

    def match(self, where: str) -> Match:
        """The chunks `where` keeps (cached for the last few filters). A bad filter is one FilterError."""
        cached = self._matches.get(where)
        if cached is not None:
            self._matches.move_to_end(where)
            return cached
        columns = self.columns
        frame = self.frame()
        selected = parse_filter(where, columns=columns).mask(frame, columns=columns)
        keys = frame["key"].to_numpy()[selected]
        mask = np.zeros(self.next_key + 1, dtype=bool)
        mask[keys] = True
        found = self._matches[where] = Match(mask, keys)
        if len(self._matches) > _MASKS_KEPT:
            self._matches.popitem(last=False)
        return found

    def _vectors(self, usearch_ix, found: Match) -> np.ndarray:
        if found.vectors is None:
            got = usearch_ix.get(found.keys.astype(np.uint64), dtype=np.float32)
            found.vectors = np.vstack(got) if len(got) else np.zeros((0, self.dim), np.float32)
        return found.vectors

    def _exact(self, usearch_ix, vec: np.ndarray, k: int, found: Match) -> Tuple[np.ndarray, np.ndarray]:
        d = metric_distances(self.metric, self._vectors(usearch_ix, found), vec.astype(np.float32))
        top = np.argpartition(d, k - 1)[:k] if k < len(d) else np.arange(len(d))
        top = top[np.argsort(d[top], kind="stable")]
        return found.keys[top], d[top]

    def search(self, usearch_ix, vec: np.ndarray, k: int, where: str, exact: bool):
        """(keys, distances, note, method) of the k nearest chunks that `where` keeps."""
        found = self.match(where)
        n, size = found.n, int(usearch_ix.size)
        note = ""
        if n == 0:
            return np.zeros(0, np.uint64), np.zeros(0), f"no chunks match {where}", "filtered"
        if k > n:
            note = f"only {n} chunks match {where}; returned all {n}"
            k = n
        if exact or n <= EXACT_SUBSET_MAX or n < EXACT_SUBSET_FRACTION * size:
            keys, d = self._exact(usearch_ix, vec, k, found)
            return keys, d, note, "exact over filtered subset"
        # a broad filter: ask HNSW for more than k and keep the matching ones (oversample by 2/selectivity)
        count = min(size, max(4 * k, int(math.ceil(2 * k * size / n))))
        while True:
            m = usearch_ix.search(vec, count)
            keys = np.asarray(m.keys, dtype=np.int64)
            keep = found.mask[keys]
            if keep.sum() >= k or count >= size:
                break
            count = min(size, count * 4)
        if keep.sum() < k:
            keys, d = self._exact(usearch_ix, vec, k, found)
            return keys, d, note, "exact over filtered subset"
        return keys[keep][:k], np.asarray(m.distances)[keep][:k], note, f"hnsw, filtered from {count}"


__all__ = ["EXACT_SUBSET_FRACTION", "EXACT_SUBSET_MAX", "Match", "MetadataFilters", "metric_distances"]
