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

# Colours come only from JupyterLab's theme variables, each with a neutral fallback for nbviewer, GitHub and
# VS Code. JupyterLab right-aligns and vertically centres every output table cell with
# `:not(.jp-RenderedMarkdown).jp-RenderedHTMLCommon td` (specificity 0,2,1), and centres the table itself: each
# rule is given twice, plainly and under `.jp-RenderedHTMLCommon table.llmops-t` (0,2,2), which outranks it
# without !important.
_T = ("table.llmops-t", ".jp-RenderedHTMLCommon table.llmops-t")


def _rule(suffixes, body: str) -> str:
    suffixes = (suffixes,) if isinstance(suffixes, str) else suffixes
    return ",".join(t + x for t in _T for x in suffixes) + "{" + body + "}"


STYLE = (
    "<style>"
    + _rule("", "border-collapse:collapse;font-size:12px;margin:0 0 6px 0;table-layout:auto")
    + _rule((" th", " td"), "padding:2px 8px;border:none;border-bottom:1px solid var(--jp-border-color2,#ddd);text-align:left;"
      "vertical-align:top;white-space:pre-wrap;max-width:60em;line-height:1.35")
    + _rule(" th", "background:var(--jp-layout-color2,#eee);color:var(--jp-ui-font-color1,#222);font-weight:600;"
                   "white-space:nowrap")
    + _rule(" .llmops-num", "text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap")
    + _rule(" .llmops-json", "font-family:var(--jp-code-font-family,monospace);font-size:11px")
    + ".llmops-cap{font-weight:600;margin:4px 0}"
    ".llmops-muted{color:var(--jp-ui-font-color2,#777)}"
    ".llmops-warn{color:var(--jp-ui-font-color1,inherit);border-left:3px solid var(--jp-warn-color1,#f57c00);padding:1px 6px;margin:2px 0}"
    ".llmops-hint{color:var(--jp-ui-font-color2,#777);font-family:var(--jp-code-font-family,monospace);"
    "font-size:11px;margin:2px 0}"
    "mark.llmops-hl{background:var(--jp-search-selected-match-background-color,#f5c800);"
    "color:var(--jp-search-selected-match-color,#000)}"
    "</style>"
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


COLUMN_TYPES = ("text", "longtext", "number", "time", "json")
_CELL_CLASS = {"number": " class='llmops-num'", "json": " class='llmops-json'", "time": " class='llmops-num'"}


def column_type(values: Iterable[Any]) -> str:
    """The contract's type of a column, read from its values: numbers, JSON objects/lists, text with line
    breaks or past 80 characters (longtext), else text. `time` is never guessed (an epoch is a number too)."""
    seen = [v for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if seen and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in seen):
        return "number"
    if seen and all(isinstance(v, (dict, list, tuple)) for v in seen):
        return "json"
    if any(isinstance(v, str) and ("\n" in v or len(v) > 80) for v in seen):
        return "longtext"
    return "text"


def column_types(rows: Sequence[Mapping[str, Any]], columns: Sequence[str],
                 declared: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    declared = declared or {}
    return {c: declared.get(c) or column_type(r.get(c) for r in rows) for c in columns}


def _cell(value: Any, kind: str) -> str:
    if kind == "time" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return esc(fmt_time(value))
    return esc(value)


def html_table(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, caption: str = "",
               max_rows: int = 50, total: Optional[int] = None, raw_html_columns: Iterable[str] = (),
               types: Optional[Mapping[str, str]] = None) -> str:
    """An escaped HTML table: text left-aligned with its line breaks and indentation kept, numbers right-aligned
    in tabular figures. `types` (column -> a COLUMN_TYPES name) overrides what the values suggest."""
    raw = set(raw_html_columns)
    total = len(rows) if total is None else total
    kinds = column_types(rows[:max_rows], columns, types)
    out: List[str] = [STYLE]
    if caption:
        out.append(f"<div class='llmops-cap'>{esc(caption)}</div>")
    out.append("<table class='llmops-t'><thead><tr>")
    out.extend(f"<th{_CELL_CLASS['number'] if kinds[c] == 'number' else ''}>{esc(c)}</th>" for c in columns)
    out.append("</tr></thead><tbody>")
    for row in rows[:max_rows]:
        out.append("<tr>" + "".join(
            f"<td{_CELL_CLASS.get(kinds[c], '')}>{row.get(c, '') if c in raw else _cell(row.get(c), kinds[c])}</td>"
            for c in columns) + "</tr>")
    out.append("</tbody></table>")
    if total > min(len(rows), max_rows):
        out.append(f"<div class='llmops-muted'>showing {min(len(rows), max_rows)} of {total} rows</div>")
    return "".join(out)


def table_payload(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, title: str = "",
                  types: Optional[Mapping[str, str]] = None, total: Optional[int] = None,
                  max_rows: Optional[int] = None) -> dict:
    """The contract's `Table` shape (application/vnd.llmops.table+json): typed columns and JSON-native rows."""
    shown = rows if max_rows is None else rows[:max_rows]
    kinds = column_types(shown, columns, types)
    return {"version": 1, "title": title, "columns": [{"name": c, "type": kinds[c]} for c in columns],
            "rows": [{c: finite(r.get(c)) for c in columns} for r in shown],
            "total": len(rows) if total is None else total}


TABLE_MIME = "application/vnd.llmops.table+json"


def table_bundle(rows: Sequence[Mapping[str, Any]], columns: Sequence[str], *, html: str, text: str,
                 title: str = "", types: Optional[Mapping[str, str]] = None, total: Optional[int] = None,
                 max_rows: Optional[int] = 500) -> dict:
    """A full mime bundle for a table: the Table payload, its HTML and its plain text."""
    return {TABLE_MIME: table_payload(rows, columns, title=title, types=types, total=total, max_rows=max_rows),
            "text/html": html, "text/plain": text}


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


def finite(value: Any) -> Any:
    """`jsonable(value)` with +-inf as None too: strict JSON for a mime payload or a REST answer (NaN and
    infinities are never sent; a kernel would otherwise warn and send them as the strings 'inf')."""
    value = jsonable(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [finite(v) for v in value]
    return value


class ResultTable:
    """A list of row dicts shown as a table: iterate, `.names`, `.to_pandas()`, plain text, escaped HTML, and the
    contract's Table payload in its mime bundle.

    Subclasses set `columns`, `noun` (plural, for "no X yet"), `caption`, and `column_types` for the columns
    whose type the values do not say ({"template": "longtext", "created_at": "time"}; others are read from the
    values: numbers, JSON, text). `display_rows()` is what the views show (default: the rows).
    """

    columns: Sequence[str] = ()
    column_types: Mapping[str, str] = {}
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

    def display_rows(self) -> List[dict]:
        return self.rows

    def __str__(self) -> str:
        return text_table(self.rows, self.columns, max_width=self.max_width) if self.rows else f"no {self.noun} yet"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({len(self.rows)} {self.noun})"

    def _repr_html_(self) -> str:
        if not self.rows:
            return f"<div class='llmops-muted'>no {esc(self.noun)} yet</div>"
        return html_table(self.rows, self.columns, caption=self.caption, types=self.column_types)

    def table_payload(self) -> dict:
        return table_payload(self.display_rows(), self.columns, title=self.caption or self.noun,
                             types=self.column_types)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {TABLE_MIME: self.table_payload(), "text/html": self._repr_html_(), "text/plain": str(self)}
