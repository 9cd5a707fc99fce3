"""The recall self-check: how often HNSW finds the true k nearest neighbours, with stored vectors (sampled) as
queries and exact search as the truth, and what to change when it falls short."""
from __future__ import annotations

import time
from dataclasses import KW_ONLY, dataclass, field
from typing import List, Optional, Tuple

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
    target: Optional[float] = None  # set by recall(target=...): the breadth chosen to reach it
    tried: List[Tuple[int, float]] = field(default_factory=list)  # (expansion_search, recall) measured on the way
    stored: bool = False  # the chosen expansion_search is now the index's own

    @property
    def speedup(self) -> float:
        return self.hnsw_qps / self.exact_qps if self.exact_qps else float("inf")

    @property
    def advice(self) -> str:
        if self.target is not None:
            return ""
        if self.recall < 0.95:
            return (f"to raise recall, raise expansion_search (e.g. index.expansion_search = {self.expansion_search * 2}"
                    f"; try it first with recall(expansion_search={self.expansion_search * 2}))")
        return ""

    def to_dict(self) -> dict:
        return {"index": self.index, f"recall@{self.k}": self.recall, "recall": self.recall, "k": self.k,
                "sample": self.sample, "size": self.size, "expansion_search": self.expansion_search,
                "dtype": self.dtype, "hnsw_qps": self.hnsw_qps, "exact_qps": self.exact_qps, "speedup": self.speedup,
                "advice": self.advice or None, "target": self.target, "tried": [list(t) for t in self.tried],
                "stored": self.stored}

    def __str__(self) -> str:
        if self.target is not None:
            kept = "stored: later searches use it" if self.stored else "not stored"
            return (f"index {self.index}: expansion_search {self.expansion_search} is the smallest reaching recall@{self.k}"
                    f" >= {self.target:g} ({self.recall:.3f} on {self.sample} sampled vectors of {self.size}; HNSW "
                    f"{self.hnsw_qps:,.0f} q/s vs exact {self.exact_qps:,.0f} q/s, {self.speedup:.1f}x; {self.dtype}); "
                    f"{kept}")
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
                                                   "expansion_search": self.expansion_search, "dtype": self.dtype,
                                                   **({"target": f"{self.target:g} (stored: {self.stored})"}
                                                      if self.target is not None else {})})


MAX_TUNED_EXPANSION = 4096  # the widest search breadth `recall(target=...)` tries


class _Trial:
    """Sampled stored vectors as queries and their exact k nearest neighbours (each query's own key left out),
    computed once; `run(expansion_search)` measures HNSW against them at one search breadth."""

    def __init__(self, usearch_ix, *, index: str, sample: int, k: int, seed: int):
        n = int(usearch_ix.size)
        if n < 2:
            raise InputError(f"index '{index}' has {n} vectors; recall needs at least 2")
        self.ix, self.k = usearch_ix, min(k, n - 1)
        self.size = n
        keys = np.asarray(usearch_ix.keys, dtype=np.uint64)
        self.pick = keys[np.random.default_rng(seed).choice(len(keys), size=min(sample, len(keys)), replace=False)]
        self.queries = np.vstack(usearch_ix.get(self.pick, dtype=np.float32))
        t = time.perf_counter()
        truth = usearch_ix.search(self.queries, self.k + 1, exact=True)
        self.exact_qps = len(self.pick) / max(time.perf_counter() - t, 1e-9)
        self.truth = self._without_own(truth)

    def _without_own(self, found) -> list:
        return [set([x for x in found.keys[i][:found.counts[i]] if x != own][:self.k]) for i, own in enumerate(self.pick)]

    def run(self, expansion_search: int) -> tuple:
        """(recall, HNSW queries/s) at this breadth; the index's own breadth is restored after."""
        old = self.ix.expansion_search
        self.ix.expansion_search = expansion_search
        try:
            t = time.perf_counter()
            approx = self.ix.search(self.queries, self.k + 1)
            el = time.perf_counter() - t
        finally:
            self.ix.expansion_search = old
        hits = sum(len(a & e) for a, e in zip(self._without_own(approx), self.truth))
        return hits / (len(self.pick) * self.k), len(self.pick) / max(el, 1e-9)

    def report(self, index: str, dtype: str, expansion_search: int, recall: float, hnsw_qps: float) -> RecallReport:
        return RecallReport(index, recall=recall, k=self.k, sample=len(self.pick), expansion_search=expansion_search,
                            dtype=dtype, hnsw_qps=hnsw_qps, exact_qps=self.exact_qps, size=self.size)


def measure_recall(usearch_ix, *, index: str, dtype: str, current_expansion_search: int, sample: int = 1000,
                   k: int = 10, expansion_search: Optional[int] = None, seed: int = 0) -> RecallReport:
    """recall@k of `usearch_ix` (index `index`); `expansion_search` tries another search breadth for this
    measurement only. Each query's own vector is left out of both answers."""
    k = positive_int("k", k)
    sample = positive_int("sample", sample)
    if expansion_search is not None:
        expansion_search = int_in_range("expansion_search", expansion_search, 1)
    trial = _Trial(usearch_ix, index=index, sample=sample, k=k, seed=seed)
    es = expansion_search or current_expansion_search
    return trial.report(index, dtype, es, *trial.run(es))


def check_target(target) -> float:
    """`target` as a float in (0, 1], else one InputError."""
    if isinstance(target, bool) or not isinstance(target, (int, float, np.floating, np.integer)) \
            or not 0 < float(target) <= 1:
        raise InputError(f"target must be a recall between 0 and 1 (at most 1, above 0), e.g. 0.95; got {target!r}")
    return float(target)


def tune_expansion(usearch_ix, *, index: str, dtype: str, target: float, sample: int = 1000, k: int = 10,
                   max_expansion: int = MAX_TUNED_EXPANSION, seed: int = 0) -> RecallReport:
    """The smallest expansion_search whose recall@k on sampled stored vectors reaches `target` (exact truth
    computed once): doubling from k until it is met, then bisecting down to within 1/8. Measures only; the
    caller stores the choice. A target not met even at `max_expansion` is one InputError."""
    target = check_target(target)
    k = positive_int("k", k)
    sample = positive_int("sample", sample)
    max_expansion = int_in_range("max_expansion", max_expansion, 1)
    trial = _Trial(usearch_ix, index=index, sample=sample, k=k, seed=seed)
    tried = {}

    def meets(es: int) -> bool:
        tried[es] = trial.run(es)
        return tried[es][0] >= target

    # usearch searches at least k wide whatever expansion_search says, so k is the narrowest worth storing
    hi = max(1, min(trial.k, max_expansion))
    lo = hi - 1
    while not meets(hi):
        if hi >= max_expansion:
            rec = tried[hi][0]
            raise InputError(f"index '{index}' reaches recall@{trial.k} {rec:.3f} at expansion_search {hi} (the "
                             f"largest tried), below the target {target:g}; nothing stored: rebuild it with a higher "
                             f"connectivity or expansion_add, or aim lower")
        lo, hi = hi, min(hi * 2, max_expansion)
    while hi - lo > max(1, lo // 8):
        mid = (lo + hi) // 2
        if meets(mid):
            hi = mid
        else:
            lo = mid
    rep = trial.report(index, dtype, hi, *tried[hi])
    rep.target = target
    rep.tried = sorted((es, r) for es, (r, _) in tried.items())
    return rep


__all__ = ["MAX_TUNED_EXPANSION", "RecallReport", "check_target", "measure_recall", "tune_expansion"]
