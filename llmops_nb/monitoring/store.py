"""Saved monitor verdicts (table monitor_reports) and the per-model overview the panel shows."""
from __future__ import annotations

import json
import sqlite3
from typing import Any, Dict, List, Optional

from ..display import ResultTable, fmt_time, html_table, text_table
from ..errors import WorkspaceError
from ..workspace import transaction, workspace

KEEP_PER_MODEL = 200  # older saved reports of a model are pruned past this many


def save_report(report) -> Optional[int]:
    """Store the report's verdict; a workspace that cannot be written keeps the report unsaved (noted on it)."""
    d = report.to_dict()
    p = {k: (v.p_value if v.status == "ok" else None) for k, v in report.drift.items()}
    try:
        db = workspace().db
        with transaction(db):
            cur = db.execute(
                "INSERT INTO monitor_reports (ts, model, current, reference, volume, status, prompt_p, output_p, "
                "flagged, report) VALUES (?,?,?,?,?,?,?,?,?,?)",
                (report.created_at, report.model, report.current_side["label"], report.reference_side["label"],
                 report.volume, report.status, p.get("prompt"), p.get("output"), int(report.flagged),
                 json.dumps(d)))
            db.execute("DELETE FROM monitor_reports WHERE id IN (SELECT id FROM monitor_reports WHERE model IS ? "
                       "ORDER BY ts DESC LIMIT -1 OFFSET ?)", (report.model, KEEP_PER_MODEL))
        return cur.lastrowid
    except (sqlite3.Error, WorkspaceError, OSError) as exc:
        report.notes.append(f"not saved to the workspace ({type(exc).__name__}: {exc})")
        return None


def last_report(model: Optional[str]) -> Optional[Dict[str, Any]]:
    row = workspace().db.execute("SELECT report FROM monitor_reports WHERE model IS ? ORDER BY ts DESC, id DESC "
                                 "LIMIT 1", (model,)).fetchone()
    return json.loads(row[0]) if row else None


class MonitoredModels(ResultTable):
    """Every model in the generation log: calls, last call, and the verdict of its last saved monitor report."""

    columns = ["model", "calls", "last_call", "errors", "verdict", "prompt_p", "output_p", "checked_at"]
    column_types = {"last_call": "time", "checked_at": "time", "model": "text", "verdict": "text"}
    noun = "logged models"
    caption = "monitored models"

    @property
    def names(self) -> List[str]:
        return [r["model"] for r in self.rows]

    def display_rows(self) -> List[dict]:
        return [{**r, "prompt_p": None if r["prompt_p"] is None else round(r["prompt_p"], 4),
                 "output_p": None if r["output_p"] is None else round(r["output_p"], 4)} for r in self.rows]

    def __str__(self) -> str:
        if not self.rows:
            return "no logged models yet"
        shown = [{**r, "last_call": fmt_time(r["last_call"]), "checked_at": fmt_time(r["checked_at"]),
                  "verdict": r["verdict"] or "not checked"} for r in self.display_rows()]
        return text_table(shown, self.columns)

    def _repr_html_(self) -> str:
        if not self.rows:
            return "<div class='llmops-muted'>no logged models yet</div>"
        return html_table(self.display_rows(), self.columns, caption=self.caption, types=self.column_types)


def monitored_models() -> MonitoredModels:
    db = workspace().db
    rows = []
    for model, calls, last, errors in db.execute(
            "SELECT model, count(*), max(ts), sum(error IS NOT NULL) FROM generations GROUP BY model "
            "ORDER BY max(ts) DESC"):
        rep = db.execute("SELECT ts, status, prompt_p, output_p, flagged FROM monitor_reports WHERE model = ? "
                         "ORDER BY ts DESC, id DESC LIMIT 1", (model,)).fetchone()
        verdict = None
        if rep is not None:
            verdict = ("drift" if rep[4] else "no drift") if rep[1] == "ok" else rep[1]
        rows.append({"model": model, "calls": calls, "last_call": last, "errors": errors, "verdict": verdict,
                     "prompt_p": rep[2] if rep else None, "output_p": rep[3] if rep else None,
                     "checked_at": rep[0] if rep else None})
    return MonitoredModels(rows)


__all__ = ["KEEP_PER_MODEL", "MonitoredModels", "last_report", "monitored_models", "save_report"]
