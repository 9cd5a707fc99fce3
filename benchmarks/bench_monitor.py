"""Monitor: are drift alarms calibrated, and how fast is a report over a large log?

Calibration: pools of real texts that ship with Python (benchmarks/prompt_pools.py: first sentences of the
docstrings of the files/OS modules, 489; of the network/email modules, 660; of the numbers modules, 297), embedded
with MiniLM. Null splits: 100 current vs 200 reference texts drawn disjointly from ONE pool (files and net in turn);
alternatives: the same, but 10%, 20% or 30% of the current texts come from ANOTHER pool (an unseen topic), in three
directions. The network pool is broad (sockets and mailboxes read and write files too), so files-and-OS texts hidden
in a network reference are the hard case; network or numbers texts in a files-and-OS reference are the plain one. Every test uses a permutation null
(500 re-splits) and flags at p <= 0.01, the monitor's default. Ours is the default "omnibus" test
(llmops_nb/monitoring/drift.py: the larger of a nearest-reference tail statistic and an MMD, each standardised, one
permutation null), also shown is its nearest-neighbour half alone ("nn"); the baselines are a global Gaussian-kernel MMD (alibi-detect's test; also at its
own p < 0.05) and the distance between centroids (what Phoenix plots, given a permutation null here so it has a
threshold at all).

Scale: 100,000 logged calls (real traced-call rows, 14 days of timestamps, prompts drawn from both pools with a
ticket number so every text is new), `monitor(model, since="7d")` cold (its samples embedded for the first time)
and warm (a second report: the content-hash cache answers), beside reading the whole log into pandas, which any
report that does not page and sample would do before its first embedding.
"""
from __future__ import annotations

import os
import time
from typing import Dict, List

import numpy as np

from .common import Row

METHODS = ("omnibus", "nn", "mmd", "centroid")
ALPHA = 0.01


DIRECTIONS = (("files", "net"), ("net", "files"), ("files", "numbers"))  # (reference pool, unseen-topic pool)


def _vectors():
    from llmops_nb.index.embeddings import embed

    from .prompt_pools import pool

    return {f: embed(list(pool(f)), progress=False) for f in ("files", "net", "numbers")}


def _trial(rng, home: np.ndarray, other: np.ndarray, share: float) -> tuple:
    p = rng.permutation(len(home))
    novel = int(round(100 * share))
    ref = home[p[:200]]
    cur = home[p[200:300 - novel]]
    if novel:
        cur = np.vstack([cur, other[rng.choice(len(other), novel, replace=False)]])
    return cur, ref


def _pvalues(rng, home, other, share, trials, permutations) -> Dict[str, List[float]]:
    from llmops_nb.monitoring.drift import drift_test

    ps: Dict[str, List[float]] = {m: [] for m in METHODS}
    for _ in range(trials):
        cur, ref = _trial(rng, home, other, share)
        seed = int(rng.integers(1 << 31))
        for m in METHODS:
            ps[m].append(drift_test(cur, ref, method=m, permutations=permutations, seed=seed).p_value)
    return ps


def calibration(trials_null: int, trials_alt: int, permutations: int) -> Dict[tuple, Dict[str, List[float]]]:
    """p-values by (reference pool, unseen pool or None for null splits, share) and method."""
    vecs = _vectors()
    rng = np.random.default_rng(2026)
    out: Dict[tuple, Dict[str, List[float]]] = {}
    for home in ("files", "net"):
        out[(home, None, 0.0)] = _pvalues(rng, vecs[home], vecs[home], 0.0, trials_null // 2, permutations)
    for home, other in DIRECTIONS:
        for share in (0.1, 0.2, 0.3):
            out[(home, other, share)] = _pvalues(rng, vecs[home], vecs[other], share, trials_alt, permutations)
    return out


def _rate(ps: List[float], alpha: float = ALPHA) -> float:
    return float(np.mean(np.asarray(ps) <= alpha))


_LAST: Dict[str, str] = {}


def _calibration_rows(cal, trials_null: int, trials_alt: int) -> List[Row]:
    null = {m: [p for (h, o, s), ps in cal.items() if o is None for p in ps[m]] for m in METHODS}
    rows = [Row(f"false alarms, {len(null['nn'])} null splits (100 vs 200)", "global MMD", _rate(null["mmd"]),
                _rate(null["omnibus"]), "share flagged", higher_is_better=False, target="<= 0.05",
                note=f"nn alone {_rate(null['nn']):.3f}; centroid {_rate(null['centroid']):.3f}; MMD at p<0.05 "
                     f"{_rate(null['mmd'], 0.05):.3f}")]
    for (home, other, share), ps in cal.items():
        if other is None or share < 0.2:
            continue
        rows.append(Row(f"power, {share:.0%} from {other} into a {home} reference ({trials_alt} trials)",
                        "global MMD", _rate(ps["mmd"]), _rate(ps["omnibus"]), "share flagged", target=">= 0.8",
                        note=f"nn alone {_rate(ps['nn']):.2f}; centroid {_rate(ps['centroid']):.2f}; MMD at p<0.05 "
                             f"{_rate(ps['mmd'], 0.05):.2f}"))
    lines = ["| reference pool | unseen topic | share | ours: omnibus (p<=0.01) | nn alone (p<=0.01) | "
             "global MMD (p<=0.01) | global MMD (p<0.05) | centroid distance (p<=0.01) |",
             "|---|---|---|---|---|---|---|---|"]
    for (home, other, share), ps in cal.items():
        lines.append(f"| {home} | {other or '(null split: false alarms)'} | {share:.0%} | {_rate(ps['omnibus']):.3f} | {_rate(ps['nn']):.3f} | "
                     f"{_rate(ps['mmd']):.3f} | {_rate(ps['mmd'], 0.05):.3f} | {_rate(ps['centroid']):.3f} |")
    _LAST["calibration"] = "\n".join(lines)
    return rows


def _fill_log(n: int) -> None:
    """n traced-call rows over 14 days, written as the tracer writes them (trace_row), in batches."""
    from llmops_nb.tracking.trace_log import INSERT, trace_row
    from llmops_nb.workspace import transaction, workspace

    from .prompt_pools import pool

    texts = list(pool("files")) + list(pool("net"))
    rng = np.random.default_rng(7)
    now = time.time()
    ts = np.sort(now - rng.uniform(0, 14 * 86400, n))
    db = workspace().db
    for lo in range(0, n, 10_000):
        rows = [trace_row(model="support-bot", prompt=f"{texts[int(rng.integers(len(texts)))]} (ticket {i})",
                          output=f"Here is what I found for ticket {i}: {texts[int(rng.integers(len(texts)))]}",
                          latency_s=float(rng.gamma(2.0, 0.2)), run_id=None, tokens_in=20, tokens_out=30,
                          ts=float(ts[i])) for i in range(lo, min(n, lo + 10_000))]
        with transaction(db):
            db.executemany(INSERT, rows)


def _scale_rows(n: int) -> List[Row]:
    import pandas as pd

    import llmops_nb as L
    from llmops_nb.workspace import workspace

    _fill_log(n)
    t = time.perf_counter()
    full = pd.read_sql_query("SELECT * FROM generations", workspace().db)
    load_s = time.perf_counter() - t
    del full
    t = time.perf_counter()
    cold = L.monitor(model="support-bot", since="7d")
    cold_s = time.perf_counter() - t
    t = time.perf_counter()
    L.monitor(model="support-bot", since="7d")
    warm_s = time.perf_counter() - t
    note = (f"{cold.volume:,} calls in the window, {cold.baseline.volume:,} in the reference; verdict "
            f"'{cold.verdict}'; {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    return [Row(f"monitor report over {n:,} logged calls, cold embeddings", "read the whole log into pandas",
                load_s, cold_s, "s", higher_is_better=False, target="<= 10 s", note=note),
            Row(f"monitor report over {n:,} logged calls, embeddings cached", "read the whole log into pandas",
                load_s, warm_s, "s", higher_is_better=False, target="<= 10 s", note="second report, same windows")]


def run(quick: bool = False) -> List[Row]:
    trials_null, trials_alt, perms = (20, 6, 199) if quick else (200, 60, 500)
    rows = _calibration_rows(calibration(trials_null, trials_alt, perms), trials_null, trials_alt)
    rows += _scale_rows(10_000 if quick else 100_000)
    return rows


def extra() -> str:
    """Markdown printed under the table: every method's alarm rate by share."""
    return _LAST.get("calibration", "")
