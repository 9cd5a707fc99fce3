"""The monitor's pictures, as Vega-Lite with an SVG fallback (see llmops_nb/charts.py): calls and median latency
over time, and a drift statistic against its permutation null."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Sequence

import numpy as np

from ..charts import SCHEMA, ChartBundle, svg_open
from ..display import esc, fmt_time


def buckets(ts: np.ndarray, latency: np.ndarray, n: int = 24) -> List[dict]:
    """Calls and median latency in `n` equal time buckets spanning `ts` (empty buckets kept, latency None)."""
    if len(ts) == 0:
        return []
    lo, hi = float(ts.min()), float(ts.max())
    width = max((hi - lo) / n, 1e-9)
    which = np.minimum(((ts - lo) / width).astype(np.int64), n - 1)
    out = []
    finite = np.isfinite(latency)
    for b in range(n):
        sel = which == b
        lat = latency[sel & finite]
        out.append({"t": lo + b * width, "calls": int(sel.sum()),
                    "latency_p50": float(np.median(lat)) if len(lat) else None})
    return out


@dataclass
class Timeline(ChartBundle):
    """Calls per time bucket (bars) and their median latency (line)."""

    points: Sequence[dict]  # {"t", "calls", "latency_p50"}
    title: str = "calls and median latency over time"

    def to_dict(self) -> dict:
        return {"title": self.title, "points": list(self.points)}

    def __str__(self) -> str:
        calls = sum(p["calls"] for p in self.points)
        return f"{self.title}: {calls:,} calls in {len(self.points)} buckets"

    def vegalite(self) -> dict:
        values = [{**p, "time": p["t"] * 1000} for p in self.points]
        x = {"field": "time", "type": "temporal", "title": None}
        return {
            "$schema": SCHEMA, "description": self.title, "title": self.title, "data": {"values": values},
            "width": 360, "height": 120, "encoding": {"x": x},
            "layer": [
                {"mark": {"type": "bar", "tooltip": True, "opacity": 0.6},
                 "encoding": {"y": {"field": "calls", "type": "quantitative", "title": "calls"}}},
                {"mark": {"type": "line", "point": True, "tooltip": True},
                 "encoding": {"y": {"field": "latency_p50", "type": "quantitative", "title": "latency p50 (s)"}}},
            ],
            "resolve": {"scale": {"y": "independent"}},
        }

    def svg(self, *, standalone: bool = True) -> str:
        w, h, left, bottom = 460, 150, 20, 22
        pts = list(self.points)
        parts = [svg_open(w, h, self.title, standalone),
                 f"<text class='muted' fill='currentColor' x='{left}' y='12'>{esc(self.title)}</text>"]
        if not pts:
            return "".join(parts) + "</svg>"
        top = max(p["calls"] for p in pts) or 1
        lat = [p["latency_p50"] for p in pts if p["latency_p50"] is not None]
        lat_top = max(lat) if lat else 1.0
        bw = (w - left - 10) / len(pts)
        plot_h = h - bottom - 20
        line = []
        for i, p in enumerate(pts):
            x, bh = left + i * bw, plot_h * p["calls"] / top
            parts.append(f"<rect class='bar base' fill='#1976d2' x='{x:.1f}' y='{20 + plot_h - bh:.1f}' "
                         f"width='{max(bw - 1, 1):.1f}' height='{bh:.1f}'><title>{esc(fmt_time(p['t']))}: "
                         f"{p['calls']} calls</title></rect>")
            if p["latency_p50"] is not None and lat_top > 0:
                line.append(f"{x + bw / 2:.1f},{20 + plot_h * (1 - p['latency_p50'] / lat_top):.1f}")
        if line:
            parts.append(f"<polyline class='rule' stroke='currentColor' fill='none' points='{' '.join(line)}'/>")
        parts.append(f"<text class='muted' fill='currentColor' x='{left}' y='{h - 6}' font-size='10'>"
                     f"from {esc(fmt_time(pts[0]['t']))} · bars: calls (max {top}) · line: latency p50 "
                     f"(max {lat_top * 1000:.3g} ms)</text></svg>")
        return "".join(parts)


@dataclass
class NullChart(ChartBundle):
    """A drift statistic (a rule) against the histogram of its permutation null."""

    kind: str
    statistic: float
    null: Sequence[float]
    p_value: float

    @property
    def title(self) -> str:
        return f"{self.kind} drift: statistic vs its null (p = {self.p_value:.3g})"

    def to_dict(self) -> dict:
        return {"kind": self.kind, "statistic": self.statistic, "p_value": self.p_value, "bins": self.bins()}

    def bins(self, n: int = 30) -> List[dict]:
        vals = np.asarray(self.null, dtype=float)
        lo = float(min(vals.min(), self.statistic)) if len(vals) else self.statistic
        hi = float(max(vals.max(), self.statistic)) if len(vals) else self.statistic + 1e-9
        counts, edges = np.histogram(vals, bins=n, range=(lo, hi if hi > lo else lo + 1e-9))
        return [{"low": float(a), "high": float(b), "count": int(c)} for a, b, c in zip(edges[:-1], edges[1:], counts)]

    def __str__(self) -> str:
        return self.title

    def vegalite(self) -> dict:
        x = {"type": "quantitative", "title": f"{self.kind} drift statistic"}
        return {
            "$schema": SCHEMA, "description": self.title, "title": self.title, "width": 360, "height": 110,
            "layer": [
                {"data": {"values": self.bins()}, "mark": {"type": "bar", "tooltip": True, "opacity": 0.6},
                 "encoding": {"x": {"field": "low", **x}, "x2": {"field": "high"},
                              "y": {"field": "count", "type": "quantitative", "title": "permutations"}}},
                {"data": {"values": [{"statistic": self.statistic}]}, "mark": {"type": "rule", "size": 2},
                 "encoding": {"x": {"field": "statistic", **x}}},
            ],
        }

    def svg(self, *, standalone: bool = True) -> str:
        w, h, left, bottom = 420, 140, 20, 22
        bins = self.bins()
        parts = [svg_open(w, h, self.title, standalone),
                 f"<text class='muted' fill='currentColor' x='{left}' y='12'>{esc(self.title)}</text>"]
        top = max((b["count"] for b in bins), default=1) or 1
        lo, hi = bins[0]["low"], bins[-1]["high"]
        span = (hi - lo) or 1.0
        plot_w, plot_h = w - 2 * left, h - bottom - 20

        def xof(v: float) -> float:
            return left + plot_w * (v - lo) / span

        for b in bins:
            bh = plot_h * b["count"] / top
            parts.append(f"<rect class='bar base' fill='#1976d2' x='{xof(b['low']):.1f}' y='{20 + plot_h - bh:.1f}' "
                         f"width='{max(xof(b['high']) - xof(b['low']) - 1, 1):.1f}' height='{bh:.1f}'/>")
        if math.isfinite(self.statistic):
            x = xof(self.statistic)
            parts.append(f"<line class='rule' stroke='currentColor' stroke-width='2' x1='{x:.1f}' x2='{x:.1f}' y1='18' "
                         f"y2='{20 + plot_h}'><title>observed {self.statistic:.4g}</title></line>")
        parts.append(f"<text class='muted' fill='currentColor' x='{left}' y='{h - 6}' font-size='10'>bars: null "
                     f"(re-split at random) · line: observed {self.statistic:.4g}</text></svg>")
        return "".join(parts)


__all__ = ["NullChart", "Timeline", "buckets"]
