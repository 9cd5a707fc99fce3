"""`MonitorReport`: what `monitor()` found, as an object with numbers, plain text, escaped HTML with inline charts,
and the contract's `application/vnd.llmops.monitor+json` payload (extension/CONTRACT.md), so a saved notebook
shows it with no kernel."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from ..display import STYLE, esc, finite, html_table, text_table
from .charts import NullChart, Timeline
from .figures import LABELS, SHOWN_IN_MS, Figures

MONITOR_MIME = "application/vnd.llmops.monitor+json"


@dataclass
class DriftResult:
    """Drift of one kind of text ("prompt" or "output") between the windows. `status` is "ok" when tested;
    otherwise ("insufficient data", "not available") `reason` says why and there is no verdict."""

    kind: str
    status: str
    method: str = "nn"
    statistic: Optional[float] = None
    p_value: Optional[float] = None
    alpha: float = 0.01
    n_current: int = 0
    n_reference: int = 0
    reason: str = ""
    null: List[float] = field(default_factory=list)
    examples: List[dict] = field(default_factory=list)  # farthest current items: text, distance, nearest

    @property
    def flagged(self) -> bool:
        return self.status == "ok" and self.p_value is not None and self.p_value <= self.alpha

    @property
    def verdict(self) -> str:
        if self.status != "ok":
            return f"{self.status}: {self.reason}" if self.reason else self.status
        return f"{'DRIFT' if self.flagged else 'no drift'} (p = {self.p_value:.3g})"

    def chart(self) -> Optional[NullChart]:
        return NullChart(self.kind, self.statistic, self.null, self.p_value) if self.status == "ok" else None

    def to_dict(self) -> dict:
        return finite({"kind": self.kind, "status": self.status, "method": self.method, "statistic": self.statistic,
                       "p_value": self.p_value, "alpha": self.alpha, "flagged": self.flagged, "verdict": self.verdict,
                       "n_current": self.n_current, "n_reference": self.n_reference, "reason": self.reason or None,
                       "null": self.chart().bins() if self.status == "ok" else [], "examples": self.examples})

    def __repr__(self) -> str:
        return f"DriftResult({self.kind}: {self.verdict})"


@dataclass
class MonitorReport:
    """The current window against a reference: `.volume`, operational figures (`.current`, `.baseline`),
    `.drift["prompt"]` / `.drift["output"]` (`.statistic`, `.p_value`, `.flagged`), `.flagged`, `.notes`."""

    model: Optional[str]
    current_side: Dict[str, Any]
    reference_side: Dict[str, Any]
    current: Figures
    baseline: Figures
    drift: Dict[str, DriftResult]
    status: str = "ok"  # ok | no data | insufficient data
    notes: List[str] = field(default_factory=list)
    timeline: List[dict] = field(default_factory=list)
    created_at: float = field(default_factory=time.time)
    elapsed_s: float = 0.0

    @property
    def volume(self) -> int:
        return self.current.volume

    @property
    def latency_p50(self) -> Optional[float]:
        return self.current.latency_p50

    @property
    def latency_p95(self) -> Optional[float]:
        return self.current.latency_p95

    @property
    def error_rate(self) -> Optional[float]:
        return self.current.error_rate

    @property
    def flagged(self) -> bool:
        return any(d.flagged for d in self.drift.values())

    @property
    def verdict(self) -> str:
        if self.status != "ok":
            return self.status
        kinds = [k for k, d in self.drift.items() if d.flagged]
        return f"drift in {' and '.join(kinds)}" if kinds else "no drift detected"

    def to_dict(self) -> dict:
        return finite({"version": 1, "model": self.model, "status": self.status, "verdict": self.verdict,
                       "flagged": self.flagged, "current_side": self.current_side,
                       "reference_side": self.reference_side, "current": self.current.to_dict(),
                       "reference": self.baseline.to_dict(), "drift": {k: d.to_dict() for k, d in self.drift.items()},
                       "notes": self.notes, "timeline": self.timeline, "created_at": self.created_at,
                       "elapsed_s": self.elapsed_s})

    def _figure_rows(self) -> List[dict]:
        rows = []
        for key, label in LABELS.items():
            a, b = getattr(self.current, key), getattr(self.baseline, key)
            if a is None and b is None:
                continue
            scale = 1000.0 if key in SHOWN_IN_MS else 1.0
            rows.append({"figure": label, "current": _num(a, scale), "reference": _num(b, scale)})
        return rows

    def _drift_rows(self) -> List[dict]:
        return [{"text": k, "verdict": d.verdict, "statistic": _num(d.statistic), "p_value": _num(d.p_value),
                 "threshold": d.alpha, "current n": d.n_current, "reference n": d.n_reference}
                for k, d in self.drift.items()]

    def _title(self) -> str:
        who = self.model or "all models"
        return (f"monitor {who}: {self.current_side['label']} ({self.current.volume:,} calls) vs "
                f"{self.reference_side['label']} ({self.reference_side['volume']:,})")

    def __str__(self) -> str:
        lines = [self._title(), f"verdict: {self.verdict}"]
        lines += [f"note: {n}" for n in self.notes]
        if self.status == "no data":
            return "\n".join(lines)
        lines += ["", text_table(self._figure_rows(), ["figure", "current", "reference"]), ""]
        lines.append(text_table(self._drift_rows(), ["text", "verdict", "statistic", "p_value", "current n",
                                                     "reference n"], max_width=60))
        for k, d in self.drift.items():
            if d.flagged and d.examples:
                lines.append(f"\n{k}s farthest from the reference:")
                lines += [f"  {e['distance']:.3f}  {_short(e['text'])}" for e in d.examples]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"MonitorReport({self.model or 'all models'}: {self.verdict}, volume={self.volume})"

    def _repr_html_(self) -> str:
        parts = [STYLE, f"<div class='llmops-cap'>{esc(self._title())}</div>",
                 f"<div class='{'llmops-warn' if self.flagged else 'llmops-muted'}'>verdict: {esc(self.verdict)}</div>"]
        parts += [f"<div class='llmops-muted'>{esc(n)}</div>" for n in self.notes]
        if self.status == "no data":
            return "".join(parts)
        parts.append(html_table(self._figure_rows(), ["figure", "current", "reference"], caption="operations"))
        parts.append(html_table(self._drift_rows(), ["text", "verdict", "statistic", "p_value", "threshold",
                                                     "current n", "reference n"], caption="drift"))
        charts = [Timeline(self.timeline)] if self.timeline else []
        charts += [c for c in (d.chart() for d in self.drift.values()) if c is not None]
        parts += [c.svg(standalone=False) for c in charts]
        for k, d in self.drift.items():
            if d.examples:
                rows = [{"distance": round(e["distance"], 4), k: e["text"], "nearest in reference": e["nearest"]}
                        for e in d.examples]
                parts.append(html_table(rows, ["distance", k, "nearest in reference"],
                                        caption=f"current {k}s farthest from the reference",
                                        types={k: "longtext", "nearest in reference": "longtext"}))
        return "".join(parts)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {MONITOR_MIME: self.to_dict(), "text/html": self._repr_html_(), "text/plain": str(self)}


def _num(v: Any, scale: float = 1.0) -> Any:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return None
    if isinstance(v, float):
        v *= scale
        return float(f"{v:.3g}") if abs(v) < 1 else round(v, 3)
    return v


def _short(text: str, width: int = 100) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= width else flat[:width - 1] + "…"


__all__ = ["MONITOR_MIME", "DriftResult", "MonitorReport"]
