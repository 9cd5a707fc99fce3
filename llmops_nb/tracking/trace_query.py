"""`traces(...)`: the generation log (the kit's own generations and the user's traced calls), newest first, one
page at a time (paged SQL, never a full load), as a `TracesTable`."""
from __future__ import annotations

import datetime as _dt
import json
import math
import numbers
import re
import time
from typing import Any, Dict, List, Optional, Union

import numpy as np

from ..checks import whole_number
from ..display import ResultTable, esc, fmt_time, html_table, text_table
from ..errors import InputError, not_found
from ..workspace import workspace
from .runs import check_run_id, get_run

TimeSpec = Union[None, int, float, str, _dt.datetime, _dt.date]
_AGO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)\s*$", re.IGNORECASE)
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
COLUMNS = ["id", "ts", "source", "model", "prompt", "output", "context", "latency_s", "tokens_in", "tokens_out",
           "error", "run_id", "tags", "text_mode"]


MAX_EPOCH = 1e11  # about the year 5138: anything further is a typo, and datetime cannot show it


def _finite_time(value: float, name: str, given: Any) -> float:
    if not math.isfinite(value) or abs(value) > MAX_EPOCH:
        raise InputError(f"{name} must be a time within the years 1-5000 (epoch seconds, a datetime, an ISO date or a "
                         f"span like '7d'); got {given!r}")
    return float(value)


def parse_time(value: TimeSpec, name: str = "since", now: Optional[float] = None) -> Optional[float]:
    """Epoch seconds from epoch seconds, a datetime/date, "7d"/"2h"/"30m"/"45s"/"1w" (that long ago) or an ISO
    date/time string. One-line InputError otherwise (NaN, infinities and absurd epochs included)."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        raise InputError(f"{name} must be a time, got {value!r}")
    if isinstance(value, numbers.Real):
        try:
            return _finite_time(float(value), name, value)
        except OverflowError:  # an int past a float's range
            return _finite_time(math.inf, name, value)
    if isinstance(value, _dt.datetime):
        return value.timestamp()
    if isinstance(value, _dt.date):
        return _dt.datetime(value.year, value.month, value.day).timestamp()
    if isinstance(value, str):
        m = _AGO.match(value)
        if m:
            ago = float(m.group(1)) * _UNIT_S[m.group(2).lower()]
            return _finite_time((time.time() if now is None else now) - ago, name, value)
        try:
            number = float(value)
        except ValueError:
            pass
        else:
            return _finite_time(number, name, value)
        try:
            return _dt.datetime.fromisoformat(value.strip()).timestamp()
        except ValueError:
            pass
    raise InputError(f"{name} must be epoch seconds, a datetime, an ISO date or a span like '7d', '2h', '30m'; "
                     f"got {value!r}")


def _tag_clause(key: str, value: Any) -> tuple:
    """One tag filter as SQL over json_each (any key, however quoted) and its parameters: None matches null, True
    and False (or the texts 'true'/'false' from a command line) match JSON booleans, lists and dicts match equal
    JSON, anything else matches the value's text (3 matches "3" and 3)."""
    each = "EXISTS (SELECT 1 FROM json_each(generations.tags) AS t WHERE t.key = ? AND {})"
    if value is None:
        cond, params = "t.type = 'null'", []
    elif isinstance(value, (bool, np.bool_)):
        cond, params = "t.type = ?", ["true" if value else "false"]
    elif isinstance(value, (list, tuple, dict)):
        cond, params = "t.type IN ('array', 'object') AND t.value = json(?)", [json.dumps(value, default=str)]
    elif isinstance(value, str) and value.lower() in ("true", "false"):
        cond, params = "(t.type = ? OR (t.type = 'text' AND t.value = ?))", [value.lower(), value]
    else:
        cond, params = "t.type NOT IN ('array', 'object', 'null') AND CAST(t.value AS TEXT) = ?", [str(value)]
    # a row whose tags are not valid JSON (none are written so, but a hand-edited one) is skipped, not an error
    return f"(CASE WHEN json_valid(generations.tags) THEN {each.format(cond)} ELSE 0 END)", [str(key), *params]


def where_clause(model, since, until, tags, run) -> tuple:
    clauses, params = [], []
    if model is not None:
        clauses.append("model = ?")
        params.append(str(model))
    if since is not None:
        clauses.append("ts >= ?")
        params.append(since)
    if until is not None:
        clauses.append("ts < ?")
        params.append(until)
    for key, value in (tags or {}).items():
        clause, extra = _tag_clause(key, value)
        clauses.append(clause)
        params += extra
    if run is not None:
        clauses.append("run_id = ?")
        params.append(str(getattr(run, "id", run)))
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def check_tags(tags) -> Optional[Dict[str, Any]]:
    if tags is None:
        return None
    if isinstance(tags, str):
        tags = [tags]
    if isinstance(tags, (list, tuple)):
        out = {}
        for item in tags:
            key, sep, value = str(item).partition("=")
            if not sep or not key:
                raise InputError(f"a tag filter is KEY=VALUE, got '{item}'")
            out[key] = value
        return out
    if not isinstance(tags, dict):
        raise InputError(f"tags must be a dict or KEY=VALUE strings, got {type(tags).__name__}")
    return tags


def _decode(row) -> dict:
    r = dict(row)
    r["context"] = json.loads(r["context"]) if r["context"] else None
    r["tags"] = json.loads(r["tags"]) if r["tags"] else {}
    return r


def check_model(model: Any) -> str:
    """`model` as a string when the log has calls of it; else NotFoundError naming the models it has."""
    name = str(model)
    db = workspace().db
    if db.execute("SELECT 1 FROM generations WHERE model = ? LIMIT 1", (name,)).fetchone() is None:
        seen = [r[0] for r in db.execute("SELECT DISTINCT model FROM generations LIMIT 1000")]
        shown = ", ".join(f"'{m}'" for m in seen[:10]) + (f" and {len(seen) - 10} more" if len(seen) > 10 else "")
        raise not_found("model", name, seen, hint=f"the log has calls of {shown}" if seen else "nothing is logged yet")
    return name


def traces(model: Optional[str] = None, since: TimeSpec = None, until: TimeSpec = None,
           tags: Optional[Dict[str, Any]] = None, run: Any = None, limit: int = 50, offset: int = 0) -> "TracesTable":
    """Logged generations and traced calls, newest first: `limit` rows from `offset`. `since`/`until`: epoch
    seconds, datetimes, ISO strings or spans like "7d" (that long ago). `tags`: {key: value} all of which a row
    must have. `run`: a run (or its id). An unknown model says which models the log has."""
    limit = whole_number("limit", limit, minimum=1)
    offset = whole_number("offset", offset, minimum=0)
    lo, hi = parse_time(since, "since"), parse_time(until, "until")
    if lo is not None and hi is not None and lo >= hi:
        raise InputError(f"since ({fmt_time(lo)}) must be before until ({fmt_time(hi)})")
    db = workspace().db
    if model is not None:
        model = check_model(model)
    if run is not None:
        run = get_run(check_run_id(str(getattr(run, "id", run)))).id  # a unique prefix names its run
    where, params = where_clause(model, lo, hi, check_tags(tags), run)
    rows = db.execute(f"SELECT {', '.join(COLUMNS)} FROM generations{where} ORDER BY ts DESC, id DESC "
                      "LIMIT ? OFFSET ?", (*params, limit, offset)).fetchall()
    total = db.execute(f"SELECT count(*) FROM generations{where}", params).fetchone()[0]
    return TracesTable([_decode(r) for r in rows], limit=limit, offset=offset, total=total)


def _context_text(context: Optional[list]) -> str:
    if not context:
        return ""
    return ", ".join(f"{i} ({s:.3f})" if isinstance(s, (int, float)) else str(i) for i, s in context)


class TracesTable(ResultTable):
    """Logged calls, newest first: prompt, retrieved ids with scores, output, timing, tokens, error, run, tags."""

    columns = ["id", "time", "source", "model", "prompt", "output", "context", "latency_s", "tokens_in", "tokens_out",
               "error", "run_id", "tags"]
    column_types = {"time": "time", "prompt": "longtext", "output": "longtext", "context": "text",
                    "error": "text", "tags": "json", "run_id": "text", "source": "text", "model": "text"}
    noun = "logged calls"
    caption = "logged calls, newest first (trace show ID for one in full)"

    def __init__(self, rows: List[dict], *, limit: int = 50, offset: int = 0, total: Optional[int] = None):
        super().__init__(rows)
        self.limit, self.offset = limit, offset
        self.total = len(rows) + offset if total is None else total  # calls the filters select, all pages

    @property
    def ids(self) -> List[int]:
        return [r["id"] for r in self.rows]

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame(self.rows, columns=COLUMNS)

    def display_rows(self) -> List[dict]:
        return [{"id": r["id"], "time": r["ts"], "source": r["source"], "model": r["model"], "prompt": r["prompt"],
                 "output": r["output"], "context": _context_text(r["context"]), "latency_s": round(r["latency_s"], 4),
                 "tokens_in": r["tokens_in"], "tokens_out": r["tokens_out"], "error": r["error"] or "",
                 "run_id": r["run_id"] or "", "tags": r["tags"] or ""} for r in self.rows]

    def __str__(self) -> str:
        if not self.rows:
            return "no logged calls"
        shown = [{**r, "time": fmt_time(r["time"])} for r in self.display_rows()]
        return text_table(shown, self.columns, max_width=self.max_width)

    def _repr_html_(self) -> str:
        if not self.rows:
            return f"<div class='llmops-muted'>{esc('no logged calls')}</div>"
        return html_table(self.display_rows(), self.columns, caption=self.caption, types=self.column_types)


__all__ = ["TracesTable", "check_model", "check_tags", "parse_time", "traces", "where_clause"]
