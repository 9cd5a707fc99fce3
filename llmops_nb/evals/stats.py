"""Statistics for comparisons: bootstrap CIs of means, paired tests against a baseline variant."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence, Tuple

import numpy as np

N_BOOT = 2000


def bootstrap_ci(values: Sequence[float], *, level: float = 0.95, n_boot: int = N_BOOT, seed: int = 0) -> Tuple[float, float, float]:
    """(mean, low, high) with a percentile bootstrap; NaNs are ignored."""
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    if x.size == 0:
        return (math.nan, math.nan, math.nan)
    if x.size == 1:
        return (float(x[0]), float(x[0]), float(x[0]))
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(n_boot, x.size))
    means = x[idx].mean(axis=1)
    alpha = (1 - level) / 2
    return float(x.mean()), float(np.quantile(means, alpha)), float(np.quantile(means, 1 - alpha))


@dataclass
class Paired:
    wins: int
    ties: int
    losses: int
    mean_diff: float
    ci_low: float
    ci_high: float
    p_bootstrap: float
    p_sign: float

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact binomial sign test (ties dropped)."""
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def paired(a: Sequence[float], b: Sequence[float], *, higher_is_better: bool = True, tol: float = 1e-9,
           n_boot: int = N_BOOT, seed: int = 0) -> Paired:
    """Compare variant `a` against baseline `b` on the same examples (pairs with a NaN are dropped)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    keep = ~(np.isnan(x) | np.isnan(y))
    d = x[keep] - y[keep]
    if not higher_is_better:
        d = -d
    wins, losses = int((d > tol).sum()), int((d < -tol).sum())
    ties = int(d.size - wins - losses)
    if d.size == 0:
        return Paired(0, 0, 0, math.nan, math.nan, math.nan, 1.0, 1.0)
    rng = np.random.default_rng(seed)
    boots = d[rng.integers(0, d.size, size=(n_boot, d.size))].mean(axis=1)
    mean = float(d.mean())
    # two-sided bootstrap p-value of "mean difference = 0": how often the recentred bootstrap is as extreme
    centred = boots - boots.mean()
    p_boot = float(min(1.0, (np.abs(centred) >= abs(mean)).mean())) if d.any() else 1.0
    lo, hi = np.quantile(boots, [0.025, 0.975])
    sign = 1 if higher_is_better else -1
    return Paired(wins, ties, losses, sign * mean, float(sign * lo if sign > 0 else sign * hi),
                  float(sign * hi if sign > 0 else sign * lo), p_boot, sign_test(wins, losses))
