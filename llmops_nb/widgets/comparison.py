"""Page through a comparison's examples: every variant's answer to one question, side by side.

An anywidget: the front-end (comparison.js / comparison.css) writes `position` and `order`; Python answers
with `current` (the question, the reference and each variant's answer with its score). Answers keep their
line breaks and indentation. Beside the live view the mime bundle carries the comparison's static form
(`application/vnd.llmops.comparison+json`, `Comparison.to_dict()` plus the example on screen), refreshed
whenever the example changes, so a saved notebook shows the leaderboard and the last answers read.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

import anywidget
import traitlets as t

from .snapshot import Snapshotted, esc, frame

HERE = Path(__file__).resolve().parent
MIME = "application/vnd.llmops.comparison+json"
EVAL_ORDER = "eval order"


class ComparisonWidget(Snapshotted, anywidget.AnyWidget):
    """Prev/next over eval examples; an order (eval order, or worst first for one variant's primary metric)."""

    _esm = HERE / "comparison.js"
    _css = HERE / "comparison.css"
    snapshot_mime = MIME

    variants = t.List(t.Unicode()).tag(sync=True)
    metric = t.Unicode("").tag(sync=True)
    count = t.Int(0).tag(sync=True)
    position = t.Int(0).tag(sync=True)  # written by the front-end (prev/next/slider)
    order = t.Unicode(EVAL_ORDER).tag(sync=True)  # written by the front-end
    orders = t.List(t.Unicode()).tag(sync=True)
    current = t.Dict().tag(sync=True)  # {"example", "question", "reference", "answers": [{variant, output, score}]}

    def __init__(self, comparison: Any, **kwargs: Any):
        self.comparison = comparison
        self.examples: List[Any] = sorted({r["example"] for r in comparison.rows}, key=str)
        self.by_example: Dict[Any, Dict[str, dict]] = {}
        for r in comparison.rows:
            self.by_example.setdefault(r["example"], {})[r["variant"]] = r
        super().__init__(variants=list(comparison.variants), metric=comparison.primary_metric,
                         count=len(self.examples), orders=[EVAL_ORDER] + [f"worst first: {v}" for v in comparison.variants],
                         **kwargs)
        self._render()

    @t.observe("order")
    def _resort(self, change) -> None:
        if self.order == EVAL_ORDER or not self.order.startswith("worst first: "):
            self.examples.sort(key=str)
        else:
            variant = self.order.split(": ", 1)[1]
            self.examples.sort(key=lambda e: _num(self.by_example[e].get(variant, {}).get(self.metric)))
        if self.position != 0:
            self.position = 0  # renders through _moved
        else:
            self._render()

    @t.observe("position")
    def _moved(self, change) -> None:
        clamped = max(0, min(len(self.examples) - 1, self.position))
        if clamped != self.position:
            self.position = clamped
            return
        self._render()

    def step(self, delta: int) -> None:
        """What the prev/next buttons do."""
        self.position = max(0, min(len(self.examples) - 1, self.position + delta))

    def _render(self) -> None:
        if not self.examples:
            self.current = {}
        else:
            ex = self.examples[max(0, min(self.position, len(self.examples) - 1))]
            rows = self.by_example[ex]
            first = next(iter(rows.values()))
            answers = [{"variant": v, "output": "" if rows[v].get("output") is None else str(rows[v]["output"]),
                        "score": _plain(rows[v].get(self.metric))} for v in self.comparison.variants if v in rows]
            self.current = {"example": str(ex), "question": str(first.get("question", "")),
                            "reference": str(first.get("reference", "")), "answers": answers}
        self.refresh_snapshot()

    # ---- snapshot (saved with the notebook) -------------------------------------------------------
    def snapshot(self) -> dict:
        """`Comparison.to_dict()`, plus the example on screen under "view"."""
        snap = dict(self.comparison.to_dict())
        snap.setdefault("version", 1)
        snap["view"] = {"position": self.position, "count": self.count, "order": self.order, "example": self.current}
        return snap

    def snapshot_text(self) -> str:
        lines = [str(self.comparison)]
        cur = self.current
        if cur:
            lines += ["", f"example {self.position + 1} of {self.count} ({self.order}): {cur['example']}",
                      f"Q: {cur['question']}", f"reference: {cur['reference']}"]
            for a in cur["answers"]:
                score = "" if a["score"] is None else f" ({self.metric} {a['score']:.2f})"
                lines.append(f"--- {a['variant']}{score}")
                lines.append(a["output"])
        return "\n".join(lines)

    def snapshot_html(self) -> str:
        snap = self.comparison.to_dict()
        metrics = [m for m in snap.get("metrics") or [] if isinstance(m, str)]
        head = "".join(f"<th>{esc(m)}</th>" for m in metrics)
        board = []
        for row in snap.get("leaderboard") or []:
            cells = "".join(f"<td class='ls-num'>{esc(_mean(row.get(m)))}</td>" for m in metrics)
            board.append(f"<tr data-llmops-variant='{esc(row.get('variant'))}'><td>{esc(row.get('variant'))}</td>{cells}</tr>")
        body = (f"<table class='ls-t'><thead><tr><th>variant</th>{head}</tr></thead><tbody>{''.join(board)}</tbody></table>")
        for w in snap.get("warnings") or []:
            body += f"<div class='ls-error'>{esc(w)}</div>"
        cur = self.current
        if cur:
            answers = "".join(
                f"<tr data-llmops-variant='{esc(a['variant'])}'><td>{esc(a['variant'])}<br><span class='ls-muted'>"
                f"{esc(self.metric)} {esc(_fmt(a['score']))}</span></td><td class='ls-pre'>{esc(a['output'])}</td></tr>"
                for a in cur["answers"])
            body += (f"<div class='ls-title'>example {self.position + 1} of {self.count}: {esc(cur['example'])}</div>"
                     f"<div class='ls-pre'><b>Q:</b> {esc(cur['question'])}</div>"
                     f"<div class='ls-pre'><b>reference:</b> {esc(cur['reference'])}</div>"
                     f"<table class='ls-t'><tbody>{answers}</tbody></table>")
        best = snap.get("best")
        title = f"comparison {snap.get('run_id') or ''}".strip() + (f": best {best}" if best else "")
        return frame("comparison", title, body, str(snap.get("hint") or ""))

    def __repr__(self) -> str:
        return f"ComparisonWidget({len(self.examples)} examples x {len(self.variants)} variants)"


def _num(x: Any) -> float:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return float("inf")
    return float("inf") if x != x else x


def _plain(x: Any) -> Any:
    """A score for the front-end: a float, or None for missing/NaN (never NaN in JSON)."""
    v = _num(x)
    return None if v == float("inf") else v


def _fmt(x: Any) -> str:
    return "" if x is None else f"{x:.2f}"


def _mean(cell: Any) -> str:
    if isinstance(cell, dict):
        cell = cell.get("mean")
    v = _plain(cell)
    return "" if v is None else f"{v:.3f}"
