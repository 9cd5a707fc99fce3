"""`RunsTable`: the runs of a workspace as a table (text, escaped HTML, pandas)."""
from __future__ import annotations

from typing import Any, Dict, Iterator, List

from ..display import fmt_duration, fmt_time, html_table, table_bundle, text_table

RUN_COLUMNS = ["id", "name", "kind", "status", "started", "duration", "params", "metrics"]


class RunsTable:
    """The runs of a workspace, newest first. `.to_pandas()` for analysis; renders as an HTML table."""

    def __init__(self, rows: List[dict]):
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict]:
        return iter(self.rows)

    def __getitem__(self, i):
        return self.rows[i]

    @property
    def ids(self) -> List[str]:
        return [r["id"] for r in self.rows]

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame(self.rows, columns=["id", "name", "kind", "status", "started_at", "ended_at",
                                                "duration_s", "params", "metrics"])

    def to_dict(self) -> list:
        return self.rows

    def _display_rows(self, limit: int) -> List[dict]:
        out = []
        for r in self.rows[:limit]:
            out.append({"id": r["id"], "name": r["name"], "kind": r["kind"], "status": r["status"],
                        "started": fmt_time(r["started_at"]), "duration": fmt_duration(r["duration_s"]),
                        "params": _compact(r["params"]), "metrics": _compact(r["metrics"])})
        return out

    def __str__(self) -> str:
        if not self.rows:
            return "no runs yet"
        text = text_table(self._display_rows(50), RUN_COLUMNS)
        if len(self.rows) > 50:
            text += f"\n... {len(self.rows) - 50} older runs (use --last N)"
        return text

    def __repr__(self) -> str:
        return f"RunsTable({len(self.rows)} runs)"

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        """The Table payload (raw times and durations, for the extension to sort and format) beside HTML and text."""
        return table_bundle(self.rows, ["id", "name", "kind", "status", "started_at", "duration_s", "params", "metrics"],
                            types={"started_at": "time", "duration_s": "number", "params": "json", "metrics": "json"},
                            html=self._repr_html_(), text=str(self), title="runs")

    def _repr_html_(self) -> str:
        if not self.rows:
            return "<div class='llmops-muted'>no runs yet</div>"
        return html_table(self._display_rows(50), RUN_COLUMNS, caption=f"{len(self.rows)} runs", total=len(self.rows))


def _compact(d: Dict[str, Any], limit: int = 4) -> str:
    items = [f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in list(d.items())[:limit]]
    return ", ".join(items) + (", …" if len(d) > limit else "")
