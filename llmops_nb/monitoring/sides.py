"""The two sides of a monitor report, read from the generation log with paged SQL (never a full load of the log):
numeric columns of every row in a window are streamed for the operational figures, and the texts are read for a
seeded random sample of row ids only.

A side is a time window, a run's calls, a dataset's text field, or a list of strings (the last two have prompts
only, no outputs or timings).
"""
from __future__ import annotations

import datetime as _dt
import random
import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from ..display import fmt_time
from ..errors import InputError, NotFoundError, not_found
from ..tracking.runs import RUN_ID
from ..tracking.trace_query import parse_time, where_clause
from ..workspace import select_in, workspace

DAY = 86400.0
_SPAN = re.compile(r"^\s*\d+(?:\.\d+)?\s*[smhdw]\s*$", re.IGNORECASE)
STREAM_PAGE = 20_000  # rows fetched per round trip while streaming a window's numeric columns


@dataclass
class Side:
    """Where one side's items come from (`kind`: window | run | dataset | texts) and what was read of it."""

    kind: str
    label: str
    start: Optional[float] = None
    end: Optional[float] = None
    run: Optional[str] = None
    volume: int = 0
    models: List[str] = field(default_factory=list)
    ids: List[int] = field(default_factory=list)  # log row ids of the sample (log sides)
    prompts: List[str] = field(default_factory=list)
    outputs: Optional[List[str]] = None  # None: this side has no outputs (dataset, texts)
    without_text: int = 0  # rows logged under log_text="none" (counted, not sampled)
    numbers: Dict[str, np.ndarray] = field(default_factory=dict)  # ts, latency_s, error, out_chars, tokens_out, ...
    ended_at: Optional[float] = None  # a run side: when the run ended (or began, while it runs)

    @property
    def from_log(self) -> bool:
        return self.kind in ("window", "run")

    def describe(self) -> dict:
        return {"kind": self.kind, "label": self.label, "start": self.start, "end": self.end, "run": self.run,
                "volume": self.volume, "models": self.models, "sampled": len(self.prompts),
                "without_text": self.without_text}


def window(start: Optional[float], end: Optional[float], label: str = "") -> Side:
    if start is not None and end is not None and start >= end:
        raise InputError(f"a window must start before it ends ({fmt_time(start)} is not before {fmt_time(end)})")
    return Side("window", label or f"{fmt_time(start) if start else 'the start'} → {fmt_time(end) if end else 'now'}",
                start=start, end=end)


def run_side(run_id: str) -> Side:
    from ..tracking.runs import get_run

    run = get_run(run_id)
    side = Side("run", f"run {run.id} ({run.name})", run=run.id)
    side.ended_at = run.ended_at or run.started_at
    return side


def _filters(side: Side, model: Optional[str], tags: Optional[dict]) -> tuple:
    return where_clause(model, side.start, side.end, tags, side.run)


def read(side: Side, model: Optional[str], tags: Optional[dict], *, sample: int, seed: int = 0) -> Side:
    """Fill a log side: stream its numeric columns (every row), then read the texts of a random sample."""
    if not side.from_log:
        return side
    db = workspace().db
    where, params = _filters(side, model, tags)
    cols = ("id", "ts", "latency_s", "error IS NOT NULL", "length(output)", "length(trim(output)) = 0",
            "tokens_out", "context IS NOT NULL", "text_mode = 'none'")
    chunks: List[np.ndarray] = []
    cur = db.execute(f"SELECT {', '.join(cols)} FROM generations{where}", params)
    while True:
        page = cur.fetchmany(STREAM_PAGE)
        if not page:
            break
        chunks.append(np.array(page, dtype=np.float64))
    arr = np.vstack(chunks) if chunks else np.zeros((0, len(cols)))
    names = ["id", "ts", "latency_s", "error", "out_chars", "empty", "tokens_out", "has_context", "no_text"]
    side.numbers = {n: arr[:, i] for i, n in enumerate(names)}
    side.volume = len(arr)
    side.models = [r[0] for r in db.execute(f"SELECT DISTINCT model FROM generations{where} LIMIT 20", params)]
    texted = arr[(arr[:, 8] == 0)][:, 0].astype(np.uint64) if len(arr) else np.zeros(0, dtype=np.uint64)
    side.without_text = side.volume - len(texted)
    ids = stable_sample(texted, sample, seed)
    rows = {r[0]: r for r in select_in(db, "SELECT id, prompt, output FROM generations WHERE id IN ({ids})", ids)}
    side.ids = [i for i in ids if i in rows]
    side.prompts = [rows[i][1] for i in side.ids]
    side.outputs = [rows[i][2] for i in side.ids]
    return side


def stable_sample(ids: np.ndarray, k: int, seed: int = 0) -> List[int]:
    """The `k` ids with the smallest seeded hash (bottom-k sampling): random, yet a window that moves a little keeps
    almost the same sample, so a repeated report finds its texts in the embedding cache."""
    if len(ids) <= k:
        return sorted(int(i) for i in ids)
    with np.errstate(over="ignore"):  # the hash wraps around by design
        h = (ids + np.uint64((seed + 1) % (1 << 63))) * np.uint64(0x9E3779B97F4A7C15)
        h ^= h >> np.uint64(29)
        h *= np.uint64(0xBF58476D1CE4E5B9)
        h ^= h >> np.uint64(32)
    return sorted(int(i) for i in ids[np.argpartition(h, k)[:k]])


def texts_side(texts: Sequence[Any], *, sample: int, seed: int = 0, label: str = "") -> Side:
    if not len(texts):
        raise InputError("the reference list is empty; give at least 30 prompts, a run id or a dataset name")
    bad = [i for i, t in enumerate(texts) if not isinstance(t, str)]
    if bad:
        raise InputError(f"reference item {bad[0]} is a {type(texts[bad[0]]).__name__}, not a string; give a list "
                         "of prompt strings")
    texts = list(texts)
    picked = random.Random(seed).sample(texts, sample) if len(texts) > sample else texts
    return Side("texts", label or f"{len(texts)} given prompts", volume=len(texts), prompts=picked)


def dataset_side(ref: str, *, sample: int, seed: int = 0) -> Side:
    from ..data.datasets import dataset

    ds = dataset(ref)
    texts = [t for t in ds.texts() if isinstance(t, str)]
    side = texts_side(texts, sample=sample, seed=seed, label=f"dataset {ds.ref} ({ds.text_field})")
    side.kind = "dataset"
    return side


def is_span(text: str) -> bool:
    return bool(_SPAN.match(text))


def _is_time(x: Any) -> bool:
    return isinstance(x, (int, float, _dt.datetime, _dt.date)) and not isinstance(x, bool)


def _is_window(reference: Any) -> bool:
    """A (start, end) tuple, or a two-item list of times (a list of two strings is two prompts)."""
    if not isinstance(reference, (tuple, list)) or len(reference) != 2:
        return False
    return isinstance(reference, tuple) or all(_is_time(x) for x in reference)


def reference_side(reference: Any, current: Side, *, sample: int, seed: int = 0) -> Side:
    """The reference `reference` names: a (start, end) window or "START..END", a span like "7d" (that long, ending
    where the current window starts), a time (from then until the current window), a run or its id, a dataset
    name[@vN], or a list of strings."""
    if _is_window(reference):
        lo, hi = parse_time(reference[0], "reference start"), parse_time(reference[1], "reference end")
        return window(lo, hi)
    if isinstance(reference, (list, tuple)):
        return texts_side(reference, sample=sample, seed=seed)
    if _is_time(reference):
        return window(parse_time(reference, "reference"), current.start)
    if isinstance(getattr(reference, "id", None), str) and hasattr(reference, "started_at"):
        return run_side(reference.id)  # a Run object
    if not isinstance(reference, str) or not reference.strip():
        raise InputError(f"reference must be a window (start, end), a span like '7d', a run id, a dataset name or a "
                         f"list of prompts; got {type(reference).__name__}")
    return _named_reference(reference.strip(), current, sample=sample, seed=seed)


def _named_reference(text: str, current: Side, *, sample: int, seed: int) -> Side:
    if ".." in text:
        start, _, end = text.partition("..")
        return window(parse_time(start.strip(), "reference start"), parse_time(end.strip(), "reference end"))
    if is_span(text):
        end = current.start if current.start is not None else parse_time("0s", "reference")
        start = end - (parse_time("0s", "reference") - parse_time(text, "reference"))
        return window(start, end, f"{text} before the current window")
    try:
        return dataset_side(text, sample=sample, seed=seed)
    except NotFoundError:
        if "@" in text:
            raise  # an existing dataset's missing version: its message names the versions there are
    except InputError:
        pass  # not a dataset name at all (spaces, brackets ...)
    if RUN_ID.match(text.lower()):
        try:
            return run_side(text.lower())
        except NotFoundError:
            pass
    try:
        return window(parse_time(text, "reference"), current.start)
    except InputError:
        pass
    from ..data.datasets import datasets

    names = [d["name"] for d in datasets().rows]
    raise not_found("reference", text[:80], names, hint="give a run id, a dataset name[@vN], a span like '7d', a "
                                                        "window START..END, or (from Python) a list of prompts")


def latest_run(model: Optional[str], tags: Optional[dict], before: Optional[float] = None) -> Optional[Side]:
    """The run of the newest logged call (under the filters), optionally among calls before `before`; None when
    that call is not from a run."""
    where, params = where_clause(model, None, before, tags, None)
    row = workspace().db.execute(f"SELECT run_id FROM generations{where} ORDER BY ts DESC, id DESC LIMIT 1",
                                 params).fetchone()
    return run_side(row[0]) if row is not None and row[0] else None


def run_span(side: Side, model: Optional[str], tags: Optional[dict]) -> tuple:
    where, params = _filters(side, model, tags)
    return workspace().db.execute(f"SELECT min(ts), max(ts) FROM generations{where}", params).fetchone()


def default_sides(model: Optional[str], tags: Optional[dict]) -> tuple:
    """With neither `since` nor `reference`: the newest run that logged calls against the run before it; when the
    newest calls are not from a run, the last 24 hours against the 24 hours before."""
    current = latest_run(model, tags)
    if current is not None:
        first, _ = run_span(current, model, tags)
        previous = _previous_run(model, tags, current.run, first)
        if previous is not None:
            return current, previous
    now = parse_time("0s", "now")
    return window(now - DAY, None, "the last 24 hours"), window(now - 2 * DAY, now - DAY, "the 24 hours before")


def _previous_run(model, tags, run_id, before) -> Optional[Side]:
    where, params = where_clause(model, None, before, tags, None)
    row = workspace().db.execute(
        f"SELECT run_id FROM generations{where}{' AND' if where else ' WHERE'} run_id IS NOT NULL AND run_id != ? "
        "ORDER BY ts DESC, id DESC LIMIT 1", (*params, run_id)).fetchone()
    return run_side(row[0]) if row is not None else None


__all__ = ["Side", "dataset_side", "default_sides", "is_span", "latest_run", "read", "reference_side", "run_side",
           "run_span", "texts_side", "window"]
