"""The recall self-check: how often HNSW finds the true k nearest neighbours, with stored vectors (sampled) as
queries and exact search as the truth, and what to change when it falls short."""
from __future__ import annotations

import time
from dataclasses import KW_ONLY, dataclass
from typing import Optional

import numpy as np

from ..display import html_kv
from ..errors import InputError
from .params import int_in_range, positive_int


@dataclass
class RecallReport:
    """recall@k of HNSW against exact search on sampled stored vectors."""

    index: str
    _: KW_ONLY
    recall: float
    k: int
    sample: int
    expansion_search: int
    dtype: str
    hnsw_qps: float
    exact_qps: float
    size: int

    @property
    def speedup(self) -> float:
        return self.hnsw_qps / self.exact_qps if self.exact_qps else float("inf")

    @property
    def advice(self) -> str:
        if self.recall < 0.95:
            return (f"to raise recall, raise expansion_search (e.g. index.expansion_search = {self.expansion_search * 2}"
                    f"; try it first with recall(expansion_search={self.expansion_search * 2}))")
        return ""

    def to_dict(self) -> dict:
        return {"index": self.index, f"recall@{self.k}": self.recall, "recall": self.recall, "k": self.k,
                "sample": self.sample, "size": self.size, "expansion_search": self.expansion_search,
                "dtype": self.dtype, "hnsw_qps": self.hnsw_qps, "exact_qps": self.exact_qps, "speedup": self.speedup,
                "advice": self.advice or None}

    def __str__(self) -> str:
        advice = f"\n{self.advice}" if self.advice else ""
        return (f"index {self.index}: recall@{self.k} = {self.recall:.3f} on {self.sample} sampled vectors of {self.size} "
                f"(HNSW {self.hnsw_qps:,.0f} q/s vs exact {self.exact_qps:,.0f} q/s, {self.speedup:.1f}x; "
                f"expansion_search={self.expansion_search}, {self.dtype}){advice}")

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return html_kv(f"recall of {self.index}", {f"recall@{self.k}": f"{self.recall:.3f}", "sample": self.sample,
                                                   "vectors": self.size, "HNSW q/s": f"{self.hnsw_qps:,.0f}",
                                                   "exact q/s": f"{self.exact_qps:,.0f}",
                                                   "speedup": f"{self.speedup:.1f}x",
                                                   "expansion_search": self.expansion_search, "dtype": self.dtype})


def measure_recall(usearch_ix, *, index: str, dtype: str, current_expansion_search: int, sample: int = 1000,
                   k: int = 10, expansion_search: Optional[int] = None, seed: int = 0) -> RecallReport:
    """recall@k of `usearch_ix` (index `index`); `expansion_search` tries another search breadth for this
    measurement only. Each query's own vector is left out of both answers."""
    k = positive_int("k", k)
    sample = positive_int("sample", sample)
    if expansion_search is not None:
        expansion_search = int_in_range("expansion_search", expansion_search, 1)
    n = int(usearch_ix.size)
    if n < 2:
        raise InputError(f"index '{index}' has {n} vectors; recall needs at least 2")
    k = min(k, n - 1)
    keys = np.asarray(usearch_ix.keys, dtype=np.uint64)
    pick = keys[np.random.default_rng(seed).choice(len(keys), size=min(sample, len(keys)), replace=False)]
    queries = np.vstack(usearch_ix.get(pick, dtype=np.float32))
    old = usearch_ix.expansion_search
    if expansion_search is not None:
        usearch_ix.expansion_search = expansion_search
    try:
        t = time.perf_counter()
        approx = usearch_ix.search(queries, k + 1)
        t_hnsw = time.perf_counter() - t
        t = time.perf_counter()
        truth = usearch_ix.search(queries, k + 1, exact=True)
        t_exact = time.perf_counter() - t
    finally:
        usearch_ix.expansion_search = old
    hits = 0
    for i, own in enumerate(pick):
        a = [x for x in approx.keys[i][:approx.counts[i]] if x != own][:k]
        e = [x for x in truth.keys[i][:truth.counts[i]] if x != own][:k]
        hits += len(set(a) & set(e))
    return RecallReport(index, recall=hits / (len(pick) * k), k=k, sample=len(pick),
                        expansion_search=expansion_search or current_expansion_search, dtype=dtype,
                        hnsw_qps=len(pick) / max(t_hnsw, 1e-9), exact_qps=len(pick) / max(t_exact, 1e-9), size=n)


__all__ = ["RecallReport", "measure_recall"]
