"""`monitor(...)`: the current window of the generation log against a reference, as a `MonitorReport`.

Windows (see sides.py): `since`/`until` pick the current window and the default reference is the window of equal
length just before it. With neither `since` nor `reference`, the newest run that logged calls is compared with the
run before it (so "run the comparison, change the template, run it again, monitor" needs no arguments); when the
newest calls are not from a run, the last 24 hours are compared with the 24 hours before. A run as reference with
no `since` compares what was logged after that run.

Texts are sampled (`sample` current items, twice that from the reference), embedded with MiniLM through the shared
content-hash cache, and tested with drift.py's permutation test. What is embedded is a compact view of each text:
chat-template markers removed, whitespace folded, and long texts cut to their head and tail, where a rendered
prompt keeps its instructions and its question.
"""
from __future__ import annotations

import re
import time
from typing import Any, Dict, List, Optional

from ..checks import real_number, whole_number
from ..display import fmt_time
from ..errors import InputError
from ..tracking.trace_query import check_model, check_tags, parse_time
from . import sides as S
from .charts import buckets
from .drift import ALPHA, MIN_ITEMS, drift_test, farthest
from .figures import add_groundedness, figures
from .report import DriftResult, MonitorReport
from .store import save_report

VIEW_CHARS = 300  # head and tail kept of a long text before embedding
MAX_SAMPLE = 5000  # current items per report (the reference gets twice as many): beyond, embedding takes minutes
MAX_PERMUTATIONS = 10_000
EXAMPLE_CHARS = 2000  # a farthest example (and its nearest reference text) as kept in the report
_MARKUP = re.compile(r"<\|[^|>]{1,40}\|>|<s>|</s>|\[/?INST\]")


def text_view(text: str) -> str:
    flat = " ".join(_MARKUP.sub(" ", text or "").split())
    if len(flat) > 2 * VIEW_CHARS + 5:
        flat = flat[:VIEW_CHARS] + " … " + flat[-VIEW_CHARS:]
    return flat or "(empty)"


def _clip(text: str) -> str:
    if len(text) <= EXAMPLE_CHARS:
        return text
    return text[:EXAMPLE_CHARS] + f"… ({len(text) - EXAMPLE_CHARS:,} more characters)"


def _sides(model, tags, lo, hi, reference, sample, seed):
    if lo is None and reference is None and hi is None:
        return S.default_sides(model, tags)
    if lo is None:
        if reference is not None:
            ref = S.reference_side(reference, S.window(None, hi), sample=2 * sample, seed=seed + 1)
            if ref.kind == "run":
                _, last = S.run_span(ref, None, None)
                last = last if last is not None else ref.ended_at
                cur = S.window(last + 1e-6 if last is not None else None, hi, f"after run {ref.run}")
            elif ref.kind == "window":
                cur = S.window(ref.end, hi, "after the reference window")
            else:
                cur = _default_current(model, tags, hi)
            return cur, ref
        lo = hi - S.DAY
    end = hi if hi is not None else time.time()
    if lo > end:
        raise InputError(f"since ({fmt_time(lo)}) is in the future; nothing is logged after now")
    cur = S.window(lo, hi)
    if reference is None:
        return cur, S.window(lo - (end - lo), lo, "the window of equal length before")
    return cur, S.reference_side(reference, cur, sample=2 * sample, seed=seed + 1)


def _default_current(model, tags, hi):
    run = S.latest_run(model, tags, hi)
    if run is not None:
        return run
    now = hi if hi is not None else time.time()
    return S.window(now - S.DAY, hi, "the last 24 hours")


def _drift(kind: str, cur: List[str], ref: Optional[List[str]], embed, *, alpha: float, permutations: int,
           seed: int) -> DriftResult:
    if ref is None:
        return DriftResult(kind, "not available", reason=f"the reference has no {kind}s (prompts only)")
    if len(cur) < MIN_ITEMS or len(ref) < MIN_ITEMS:
        return DriftResult(kind, "insufficient data", alpha=alpha, n_current=len(cur), n_reference=len(ref),
                           reason=f"{len(cur)} current and {len(ref)} reference {kind}s with text; "
                                  f"at least {MIN_ITEMS} on each side are needed for a verdict")
    cur_v, ref_v = embed([text_view(t) for t in cur]), embed([text_view(t) for t in ref])
    test = drift_test(cur_v, ref_v, alpha=alpha, permutations=permutations, seed=seed)
    examples = [{"index": i, "text": _clip(cur[i]), "distance": float(test.nearest_distance[i]),
                 "nearest": _clip(ref[int(test.nearest_index[i])])} for i in farthest(test, 5)]
    return DriftResult(kind, "ok", test.method, test.statistic, test.p_value, alpha, len(cur), len(ref),
                       null=[float(x) for x in test.null], examples=examples)


def _notes(model, cur: S.Side, ref: S.Side) -> List[str]:
    notes = []
    if model is None and len(set(cur.models) | set(ref.models)) > 1:
        notes.append(f"calls of several models are pooled ({', '.join(sorted(set(cur.models) | set(ref.models)))});"
                     " pass model= to monitor one")
    if ref.from_log and cur.models and ref.models and set(ref.models) != set(cur.models):
        notes.append(f"the reference comes from {', '.join(ref.models)}, the current window from "
                     f"{', '.join(cur.models)}")
    for side, name in ((cur, "current"), (ref, "reference")):
        if side.without_text:
            notes.append(f"{side.without_text:,} {name} calls were logged without text (log_text='none'): counted, "
                         "not tested for drift")
        if side.volume > len(side.prompts) + side.without_text:
            notes.append(f"{name}: texts of {len(side.prompts):,} of {side.volume:,} calls sampled")
    return notes


def monitor(model: Optional[str] = None, since: Any = None, until: Any = None, reference: Any = None,
            tags: Optional[Dict[str, Any]] = None, *, sample: int = 200, alpha: float = ALPHA,
            permutations: int = 500, seed: int = 0, save: bool = True) -> MonitorReport:
    """Operational figures and prompt/output drift of the current window against `reference` (see the module
    docstring for the defaults). `sample`: current items tested (the reference gets twice as many)."""
    started = time.perf_counter()
    sample = whole_number("sample", sample, minimum=MIN_ITEMS, maximum=MAX_SAMPLE, hint="e.g. 200")
    permutations = whole_number("permutations", permutations, minimum=99, maximum=MAX_PERMUTATIONS, hint="e.g. 500")
    alpha = real_number("alpha", alpha, above=0, below=1, hint="the p-value at which drift is flagged, e.g. 0.01")
    seed = whole_number("seed", seed)
    tags = check_tags(tags)
    if model is not None:
        model = check_model(model)
    lo, hi = parse_time(since, "since"), parse_time(until, "until")
    if lo is not None and hi is not None and lo >= hi:
        raise InputError(f"since ({fmt_time(lo)}) must be before until ({fmt_time(hi)})")
    cur, ref = _sides(model, tags, lo, hi, reference, sample, seed)
    S.read(cur, model, tags, sample=sample, seed=seed)
    S.read(ref, model, tags, sample=2 * sample, seed=seed + 1)
    if ref.kind == "run" and model is not None and ref.volume == 0:
        S.read(ref, None, tags, sample=2 * sample, seed=seed + 1)  # a run of another model: allowed, and noted
    fig_cur, fig_ref = figures(cur), figures(ref)
    notes = _notes(model, cur, ref)
    drift: Dict[str, DriftResult] = {}
    status = "ok"
    if cur.volume == 0:
        status = "no data"
        notes.insert(0, f"no calls{' of ' + model if model else ''} were logged in {cur.label}")
    else:
        from ..index.embeddings import embed

        def vectors(texts):
            return embed(texts, progress=False)

        kw = dict(alpha=float(alpha), permutations=permutations, seed=seed)
        drift["prompt"] = _drift("prompt", cur.prompts, ref.prompts, vectors, **kw)
        drift["output"] = _drift("output", cur.outputs or [], ref.outputs, vectors, **kw)
        if not any(d.status == "ok" for d in drift.values()):
            status = "insufficient data"
        add_groundedness(cur, fig_cur, vectors)
        add_groundedness(ref, fig_ref, vectors)
    timeline = buckets(cur.numbers["ts"], cur.numbers["latency_s"]) if cur.numbers else []
    report = MonitorReport(model, cur.describe(), ref.describe(), fig_cur, fig_ref, drift, status, notes, timeline)
    report.elapsed_s = time.perf_counter() - started
    if save:
        save_report(report)
    return report


__all__ = ["monitor", "text_view"]
