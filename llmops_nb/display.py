"""Small, dependency-free renderers shared by result objects: escaped HTML tables and plain-text tables,
plus the registry through which core results and commands reach the notebook widgets (`widget(kind, ...)`):
widgets are a face above the core, so the core names a widget kind and the package root says which class
draws it.

Every piece of user text goes through `esc` before it lands in HTML.
"""
from __future__ import annotations

import datetime as _dt
import html
import importlib
import json
import math
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

_WIDGETS: Dict[str, str] = {}  # kind -> "module:attribute"


def register_widget(kind: str, target: str) -> None:
    """Say which callable ("package.module:name") makes the widget for `kind` ("review", "comparison", ...)."""
    _WIDGETS[kind] = target


def widget(kind: str, *args: Any, **kwargs: Any) -> Any:
    """Make the registered widget for `kind`; its module is imported on first use."""
    target = _WIDGETS.get(kind)
    if target is None:
        raise LookupError(f"no widget registered for {kind!r}; import llmops_nb first")
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)(*args, **kwargs)

STYLE = (
    "<style>.llmops-t{border-collapse:collapse;font-size:12px}"
    ".llmops-t th,.llmops-t td{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}"
    ".llmops-t th{background:#f4f4f6}.llmops-cap{font-weight:600;margin:4px 0}"
    ".llmops-muted{color:#888}mark.llmops-hl{background:#ffe58a}</style>"
)


def esc(value: Any) -> str:
    return html.escape(fmt(value), quote=True)


def fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-3):
            return f"{value:.3g}"
        return f"{value:.4g}"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=str, ensure_ascii=False)
    return str(value)


def fmt_time(ts: Optional[float]) -> str:
    if ts is None or (isinstance(ts, float) and math.isnan(ts)):
        return ""
    return _dt.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S")


def fmt_duration(seconds: Optional[float]) -> str:
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s"
    if seconds < 3600:
        return f"{int(seconds // 60)}m{int(seconds % 60):02d}s"
    return f"{int(seconds // 3600)}h{int(seconds % 3600 // 60):02d}m"


def html_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, caption: str = "",
               max_rows: int = 50, total: Optional[int] = None, raw_html_columns: Iterable[str] = ()) -> str:
    raw = set(raw_html_columns)
    total = len(rows) if total is None else total
    out: List[str] = [STYLE]
    if caption:
        out.append(f"<div class='llmops-cap'>{esc(caption)}</div>")
    out.append("<table class='llmops-t'><thead><tr>")
    out.extend(f"<th>{esc(c)}</th>" for c in columns)
    out.append("</tr></thead><tbody>")
    for row in rows[:max_rows]:
        out.append("<tr>" + "".join(
            f"<td>{row.get(c, '') if c in raw else esc(row.get(c))}</td>" for c in columns) + "</tr>")
    out.append("</tbody></table>")
    if total > min(len(rows), max_rows):
        out.append(f"<div class='llmops-muted'>showing {min(len(rows), max_rows)} of {total} rows</div>")
    return "".join(out)


def html_kv(title: str, items: Mapping[str, Any]) -> str:
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in items.items())
    return f"{STYLE}<div class='llmops-cap'>{esc(title)}</div><table class='llmops-t'>{rows}</table>"


def text_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, max_rows: Optional[int] = None,
               max_width: int = 48) -> str:
    shown = rows if max_rows is None else rows[:max_rows]

    def cell(v: Any) -> str:
        s = fmt(v).replace("\n", " ")
        return s if len(s) <= max_width else s[: max_width - 1] + "…"

    body = [[cell(r.get(c)) for c in columns] for r in shown]
    widths = [max([len(c)] + [len(b[i]) for b in body]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(v.ljust(w) for v, w in zip(b, widths)).rstrip() for b in body]
    if len(shown) < len(rows):
        lines.append(f"... {len(rows) - len(shown)} more rows")
    return "\n".join(lines)


def jsonable(value: Any) -> Any:
    """Convert numpy scalars/arrays and other common types to JSON-native ones."""
    if isinstance(value, (str, int, bool)) or value is None:
        return value
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy
        return jsonable(value.tolist())
    if hasattr(value, "item"):
        return jsonable(value.item())
    return value


class ResultTable:
    """A list of row dicts shown as a table: iterate, `.names`, `.to_pandas()`, plain text, escaped HTML.

    Subclasses set `columns`, `noun` (plural, for "no X yet") and `caption`.
    """

    columns: Sequence[str] = ()
    noun = "rows"
    caption = ""
    max_width = 48

    def __init__(self, rows: List[dict]):
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    @property
    def names(self) -> List[str]:
        return [r["name"] for r in self.rows]

    def to_dict(self) -> list:
        return self.rows

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame(self.rows, columns=list(self.columns))

    def __str__(self) -> str:
        return text_table(self.rows, self.columns, max_width=self.max_width) if self.rows else f"no {self.noun} yet"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.rows)} {self.noun})"

    def _repr_html_(self) -> str:
        if not self.rows:
            return f"<div class='llmops-muted'>no {esc(self.noun)} yet</div>"
        return html_table(self.rows, self.columns, caption=self.caption)
