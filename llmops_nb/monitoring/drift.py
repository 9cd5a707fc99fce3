"""Two-sample drift tests on unit-normalised embeddings, each with a permutation null, so a p-value means what it
says: under no drift, p <= alpha in at most a share alpha of reports.

The default test ("nn") looks for local novelty rather than a moved mean: for every current item, its cosine
distance to the nearest reference item; the statistic is the mean of the largest `tail` share of those distances.
A new topic that makes up a fifth of the traffic barely moves the centroid or a global kernel statistic, but its
items sit far from anything in the reference, and the tail mean sees them. The null distribution comes from
re-splitting the pooled items at random (sizes kept) `permutations` times.

"mmd" (a Gaussian-kernel MMD with the median heuristic, as alibi-detect does) and "centroid" (distance between the
means, as Phoenix plots) are kept as named baselines for the calibration benchmark (benchmarks/bench_monitor.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Dict, List

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


def _centroid(s: np.ndarray, cur: np.ndarray, ref: np.ndarray) -> float:
    # ||mean(cur) - mean(ref)||^2 from the Gram matrix
    return float(s[np.ix_(cur, cur)].mean() + s[np.ix_(ref, ref)].mean() - 2 * s[np.ix_(cur, ref)].mean())


def _mmd_kernel(s: np.ndarray) -> np.ndarray:
    d2 = np.maximum(2.0 - 2.0 * s, 0.0)
    off = d2[~np.eye(len(d2), dtype=bool)]
    h = float(np.median(off[off > 0])) if (off > 0).any() else 1.0
    return np.exp(-d2 / h)


def _mmd(k: np.ndarray, cur: np.ndarray, ref: np.ndarray) -> float:
    return float(k[np.ix_(cur, cur)].mean() + k[np.ix_(ref, ref)].mean() - 2 * k[np.ix_(cur, ref)].mean())


METHODS: Dict[str, str] = {
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


def drift_test(current: np.ndarray, reference: np.ndarray, *, method: str = "nn", alpha: float = ALPHA,
               permutations: int = PERMUTATIONS, seed: int = 0) -> DriftTest:
    """Test whether `current` (n, d) comes from the distribution of `reference` (m, d); rows unit-normalised."""
    if method not in METHODS:
        raise InputError(f"unknown drift method '{method}'; use one of {', '.join(METHODS)}")
    cur_v, ref_v = np.asarray(current, dtype=np.float32), np.asarray(reference, dtype=np.float32)
    if len(cur_v) < 2 or len(ref_v) < 2:
        raise InputError("a drift test needs at least 2 items on each side")
    pooled = np.vstack([cur_v, ref_v])
    s = np.clip(pooled @ pooled.T, -1.0, 1.0)
    n, m = len(cur_v), len(ref_v)
    stat: Callable[[np.ndarray, np.ndarray], float]
    if method == "nn":
        stat = lambda c, r: _nn(s, c, r)  # noqa: E731
    elif method == "centroid":
        stat = lambda c, r: _centroid(s, c, r)  # noqa: E731
    else:
        k = _mmd_kernel(s)
        stat = lambda c, r: _mmd(k, c, r)  # noqa: E731
    idx = np.arange(n + m)
    observed = stat(idx[:n], idx[n:])
    rng = np.random.default_rng(seed)
    null = np.empty(permutations)
    for b in range(permutations):
        p = rng.permutation(n + m)
        null[b] = stat(p[:n], p[n:])
    p_value = (1.0 + float((null >= observed - 1e-12).sum())) / (permutations + 1.0)
    cross = s[:n, n:]
    nearest = cross.argmax(axis=1)
    return DriftTest(method, observed, p_value, null, 1.0 - cross[np.arange(n), nearest], nearest, alpha)


def farthest(test: DriftTest, k: int = 5) -> List[int]:
    """Indices of the `k` current items farthest from everything in the reference, farthest first."""
    order = np.argsort(-test.nearest_distance, kind="stable")
    return [int(i) for i in order[:k]]


__all__ = ["ALPHA", "METHODS", "MIN_ITEMS", "PERMUTATIONS", "TAIL", "DriftTest", "drift_test", "farthest"]
