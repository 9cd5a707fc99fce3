"""Two-sample drift tests on unit-normalised embeddings, each with a permutation null, so a p-value means what it
says: under no drift, p <= alpha in at most a share alpha of reports.

Two kinds of change need two kinds of statistic:
- local novelty ("nn"): a new topic that makes up a fifth of the traffic barely moves the centroid or a global
  kernel statistic, but its items sit far from anything in the reference. For every current item, its cosine
  distance to the nearest reference item; the statistic is the mean of the largest `TAIL` share of them.
- a shift of everything ("mmd"): a changed prompt template moves every prompt a little, each staying closest to its
  own old version, which the nearest-neighbour statistic cannot see (its value even drops); a Gaussian-kernel MMD
  (median heuristic, as alibi-detect uses) sees it at once.
The default, "omnibus", is a min-p combination: each statistic's p-value among the same re-splits, the smaller of
the two as -log10, and that calibrated against the re-splits once more, so one p-value covers both and stays exact
(the price of looking twice is small: about what a test at half the threshold loses). The null distribution comes from
re-splitting the pooled items at random (sizes kept) `permutations` times; the kernel statistics are computed for
all re-splits in a few matrix products.

"centroid" (the distance between the means, what Phoenix plots) is kept as a named baseline for the calibration
benchmark (benchmarks/bench_monitor.py), as are "nn" and "mmd" on their own.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List

import numpy as np

from ..errors import InputError

ALPHA = 0.01  # default threshold: flag when p <= ALPHA (benchmarks/results.md, section monitor, for its calibration)
PERMUTATIONS = 500
TAIL = 0.2  # share of current items whose nearest-reference distances the "nn" statistic averages
MIN_ITEMS = 30  # fewer items than this on either side: "insufficient data", never a verdict


def _nn(s: np.ndarray, cur: np.ndarray, ref: np.ndarray, tail: float = TAIL) -> float:
    d = 1.0 - s[np.ix_(cur, ref)].max(axis=1)
    k = max(1, int(round(len(d) * tail)))
    return float(np.partition(d, len(d) - k)[len(d) - k:].mean())


def _mmd_kernel(s: np.ndarray) -> np.ndarray:
    d2 = np.maximum(2.0 - 2.0 * s, 0.0)
    off = d2[~np.eye(len(d2), dtype=bool)]
    h = float(np.median(off[off > 0])) if (off > 0).any() else 1.0
    return np.exp(-d2 / h)


METHODS: Dict[str, str] = {
    "omnibus": "-log10 of the smaller of the nn and mmd permutation p-values, calibrated on the same re-splits",
    "nn": "mean of the largest 20% nearest-reference cosine distances, permutation null",
    "mmd": "Gaussian-kernel MMD (median heuristic), permutation null",
    "centroid": "squared distance between the mean embeddings, permutation null",
}


@dataclass
class DriftTest:
    """What one test found: the statistic, its permutation p-value and null, and per current item the distance to
    (and index of) its nearest reference item."""

    method: str
    statistic: float
    p_value: float
    null: np.ndarray
    nearest_distance: np.ndarray
    nearest_index: np.ndarray
    alpha: float = ALPHA
    extra: dict = field(default_factory=dict)

    @property
    def flagged(self) -> bool:
        return self.p_value <= self.alpha


def _quadratic(k: np.ndarray, splits: List[np.ndarray], n: int) -> np.ndarray:
    """s' K s for every split (first n indices current): the MMD with kernel k, or with the Gram matrix the
    squared centroid distance, for all splits in a few matrix products."""
    total = len(k)
    out = np.empty(len(splits))
    for lo in range(0, len(splits), 128):
        part = splits[lo:lo + 128]
        w = np.full((total, len(part)), -1.0 / (total - n))
        for j, idx in enumerate(part):
            w[idx[:n], j] = 1.0 / n
        out[lo:lo + len(part)] = np.einsum("ij,ij->j", k @ w, w)
    return out


def _tail_ranks(values: np.ndarray) -> np.ndarray:
    """For each entry, the share of all entries at least as large (its permutation p-value among them)."""
    order = np.sort(values)
    return (len(values) - np.searchsorted(order, values - 1e-12, side="left")) / len(values)


def drift_test(current: np.ndarray, reference: np.ndarray, *, method: str = "omnibus", alpha: float = ALPHA,
               permutations: int = PERMUTATIONS, seed: int = 0) -> DriftTest:
    """Test whether `current` (n, d) comes from the distribution of `reference` (m, d); rows unit-normalised."""
    if method not in METHODS:
        raise InputError(f"unknown drift method '{method}'; use one of {', '.join(METHODS)}")
    cur_v, ref_v = np.asarray(current, dtype=np.float64), np.asarray(reference, dtype=np.float64)
    if len(cur_v) < 2 or len(ref_v) < 2:
        raise InputError("a drift test needs at least 2 items on each side")
    pooled = np.vstack([cur_v, ref_v])
    s = np.clip(pooled @ pooled.T, -1.0, 1.0)
    n, m = len(cur_v), len(ref_v)
    rng = np.random.default_rng(seed)
    splits = [np.arange(n + m)] + [rng.permutation(n + m) for _ in range(permutations)]  # splits[0]: observed
    parts = {}
    if method in ("nn", "omnibus"):
        parts["nn"] = np.array([_nn(s, idx[:n], idx[n:]) for idx in splits])
    if method in ("mmd", "omnibus"):
        parts["mmd"] = _quadratic(_mmd_kernel(s), splits, n)
    if method == "centroid":
        parts["centroid"] = _quadratic(s, splits, n)
    if method == "omnibus":  # min-p: each part's p-value within the re-splits, the smaller one, -log10
        values = -np.log10(np.minimum(_tail_ranks(parts["nn"]), _tail_ranks(parts["mmd"])))
    else:
        values = parts[method]
    observed, null = float(values[0]), values[1:]
    p_value = (1.0 + float((null >= observed - 1e-12).sum())) / (permutations + 1.0)
    cross = s[:n, n:]
    nearest = cross.argmax(axis=1)
    extra = {k: float(v[0]) for k, v in parts.items()}
    return DriftTest(method, observed, p_value, null, 1.0 - cross[np.arange(n), nearest], nearest, alpha, extra)


def farthest(test: DriftTest, k: int = 5) -> List[int]:
    """Indices of the `k` current items farthest from everything in the reference, farthest first."""
    order = np.argsort(-test.nearest_distance, kind="stable")
    return [int(i) for i in order[:k]]


__all__ = ["ALPHA", "METHODS", "MIN_ITEMS", "PERMUTATIONS", "TAIL", "DriftTest", "drift_test", "farthest"]
