"""Charts as data: a Vega-Lite v5 spec (JupyterLab draws it natively, with tooltips, in the theme's colours)
with an SVG fallback for nbviewer, GitHub and VS Code, and a line of text.

The specs carry their data inline and name no colours, so JupyterLab's vega renderer follows the light or dark
theme. The SVG inside HTML takes its ink from the theme (`--jp-ui-font-color1`, else the surrounding text
colour); the standalone SVG (`image/svg+xml`, shown as an image where no CSS reaches it) follows the browser's
colour scheme.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Sequence, Tuple

from .display import esc, finite

VEGALITE_MIME = "application/vnd.vegalite.v5+json"
SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"


def svg_style(standalone: bool) -> str:
    """Ink and bar colours of our SVGs, from the theme's variables with neutral fallbacks."""
    ink = "#222" if standalone else "currentColor"
    css = (f"svg.llmops-chart .ink{{fill:var(--jp-ui-font-color1,{ink})}}"
           f"svg.llmops-chart .muted{{fill:var(--jp-ui-font-color2,{'#666' if standalone else ink})}}"
           f"svg.llmops-chart .rule{{stroke:var(--jp-ui-font-color1,{ink})}}"
           "svg.llmops-chart .bar{fill:var(--jp-brand-color1,#1976d2)}"
           "svg.llmops-chart .bar.base{fill-opacity:0.5}")
    if standalone:  # an <img> has no theme variables: follow the browser's scheme instead
        css += ("@media (prefers-color-scheme: dark){svg.llmops-chart .ink{fill:#ddd}"
                "svg.llmops-chart .muted{fill:#aaa}svg.llmops-chart .rule{stroke:#ddd}}")
    return f"<style>{css}</style>"


def svg_open(width: int, height: int, label: str, standalone: bool) -> str:
    ns = " xmlns='http://www.w3.org/2000/svg'"
    return (f"<svg class='llmops-chart'{ns} width='{width}' height='{height}' viewBox='0 0 {width} {height}' "
            f"font-family='sans-serif' font-size='12' role='img' aria-label='{esc(label)}'>{svg_style(standalone)}")


class ChartBundle:
    """The mime bundle every chart shares: Vega-Lite, the SVG fallback, a line of text."""

    def vegalite(self) -> dict:  # pragma: no cover - each chart defines it
        raise NotImplementedError

    def svg(self, *, standalone: bool = True) -> str:  # pragma: no cover
        raise NotImplementedError

    def _repr_svg_(self) -> str:
        return self.svg(standalone=True)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {VEGALITE_MIME: finite(self.vegalite()), "image/svg+xml": self.svg(standalone=True),
                "text/plain": str(self)}


@dataclass
class Chart(ChartBundle):
    """A metric by variant: means as bars with 95% CI whiskers; the baseline's bar is lighter."""

    metric: str
    bars: List[tuple]  # (variant, mean, lo, hi)
    baseline: str

    def to_dict(self) -> dict:
        return finite({"metric": self.metric, "baseline": self.baseline,
                       "bars": [{"variant": v, "mean": m, "low": lo, "high": hi} for v, m, lo, hi in self.bars]})

    def __str__(self) -> str:
        lines = [f"{self.metric} (mean, 95% CI)"]
        for v, m, lo, hi in self.bars:
            shown = "n/a" if math.isnan(m) else f"{m:.3f} [{lo:.3f}, {hi:.3f}]"
            lines.append(f"  {v}{' (baseline)' if v == self.baseline else ''}: {shown}")
        return "\n".join(lines)

    def vegalite(self) -> dict:
        values = [{**b, "baseline": b["variant"] == self.baseline} for b in self.to_dict()["bars"]]
        x = {"type": "quantitative", "title": f"{self.metric} (mean, 95% CI)"}
        tooltip = [{"field": "variant", "type": "nominal"}, {"field": "mean", "type": "quantitative", "format": ".3f"},
                   {"field": "low", "type": "quantitative", "format": ".3f", "title": "CI low"},
                   {"field": "high", "type": "quantitative", "format": ".3f", "title": "CI high"},
                   {"field": "baseline", "type": "nominal"}]
        return {
            "$schema": SCHEMA, "description": f"{self.metric} by variant, mean with 95% CI",
            "data": {"values": values}, "width": 360, "height": {"step": 24},
            "encoding": {"y": {"field": "variant", "type": "nominal", "sort": None, "title": None},
                         "tooltip": tooltip},
            "layer": [
                {"mark": {"type": "bar", "tooltip": True},
                 "encoding": {"x": {"field": "mean", **x},
                              "opacity": {"condition": {"test": "datum.baseline", "value": 0.5}, "value": 1}}},
                {"mark": {"type": "rule"}, "encoding": {"x": {"field": "low", **x}, "x2": {"field": "high"}}},
                {"mark": {"type": "text", "align": "left", "dx": 4},
                 "encoding": {"x": {"field": "high", **x}, "text": {"field": "mean", "format": ".3f"}}},
            ],
        }

    def svg(self, *, standalone: bool = True) -> str:
        w, row_h, left, right = 560, 26, 230, 60
        h = row_h * len(self.bars) + 34
        vals = [x for b in self.bars for x in b[1:] if math.isfinite(x)]
        scale = (w - left - right) / (max(vals + [1e-9]) * 1.05)
        parts = [svg_open(w, h, f"{self.metric} by variant", standalone),
                 f"<text class='muted' fill='currentColor' x='{left}' y='14'>{esc(self.metric)} (mean, 95% CI)</text>"]
        for i, (v, mean, lo, hi) in enumerate(self.bars):
            y = 22 + i * row_h
            parts.append(f"<text class='ink' fill='currentColor' x='{left - 6}' y='{y + 15}' text-anchor='end'>"
                         f"{esc(v[:34])}</text>")
            if not math.isfinite(mean):  # NaN (no score) or an infinity: a label without a bar
                continue
            lo, hi = (x if math.isfinite(x) else mean for x in (lo, hi))
            base = " base" if v == self.baseline else ""
            parts.append(f"<rect class='bar{base}' fill='#1976d2' x='{left}' y='{y + 4}' width='{mean * scale:.1f}' "
                         f"height='{row_h - 10}'><title>{esc(v)}: {mean:.3f} [{lo:.3f}, {hi:.3f}]</title></rect>")
            parts.append(f"<line class='rule' stroke='currentColor' x1='{left + lo * scale:.1f}' "
                         f"x2='{left + hi * scale:.1f}' y1='{y + row_h / 2:.1f}' y2='{y + row_h / 2:.1f}' "
                         "stroke-width='1.5'/>")
            parts.append(f"<text class='muted' fill='currentColor' x='{left + hi * scale + 4:.1f}' y='{y + 15}'>"
                         f"{mean:.3f}</text>")
        parts.append("</svg>")
        return "".join(parts)


@dataclass
class Funnel(ChartBundle):
    """Records left after each step of a curation, as a centred funnel."""

    stages: Sequence[Tuple[str, int]]
    title: str = "records after each step"

    def to_dict(self) -> dict:
        return {"title": self.title, "stages": [{"step": s, "records": int(n)} for s, n in self.stages]}

    def __str__(self) -> str:
        return f"{self.title}: " + " -> ".join(f"{s} {n:,}" for s, n in self.stages)

    def vegalite(self) -> dict:
        top = max((n for _, n in self.stages), default=0) or 1
        values = [{"step": s, "records": int(n), "order": i, "share": n / top,
                   "removed": (int(self.stages[i - 1][1]) - int(n)) if i else 0}
                  for i, (s, n) in enumerate(self.stages)]
        tooltip = [{"field": "step", "type": "nominal"}, {"field": "records", "type": "quantitative", "format": ","},
                   {"field": "removed", "type": "quantitative", "format": ","},
                   {"field": "share", "type": "quantitative", "format": ".1%", "title": "of input"}]
        y = {"field": "step", "type": "nominal", "sort": {"field": "order"}, "title": None}
        return {
            "$schema": SCHEMA, "description": self.title, "title": self.title,
            "data": {"values": values}, "width": 300, "height": {"step": 22},
            "encoding": {"y": y, "tooltip": tooltip},
            "layer": [
                {"mark": {"type": "bar", "tooltip": True},
                 "encoding": {"x": {"field": "records", "type": "quantitative", "title": "records"}}},
                {"mark": {"type": "text", "align": "left", "dx": 4},
                 "encoding": {"x": {"field": "records", "type": "quantitative"},
                              "text": {"field": "records", "format": ","}}},
            ],
        }

    def svg(self, *, standalone: bool = True, width: int = 360, bar: int = 18, gap: int = 5) -> str:
        top = max((n for _, n in self.stages), default=0) or 1
        label_w, count_w = 100, 56
        span = width - label_w - count_w
        h = len(self.stages) * (bar + gap) + gap
        parts = [svg_open(width, h, self.title, standalone).replace("class='llmops-chart'",
                                                                     "class='llmops-chart llmops-funnel'")]
        for i, (label, n) in enumerate(self.stages):
            y = gap + i * (bar + gap)
            w = max(1.0, span * n / top)
            x = label_w + (span - w) / 2
            base = " base" if i == 0 else ""
            parts.append(f"<text class='ink' fill='currentColor' x='{label_w - 6}' y='{y + bar * 0.72:.1f}' "
                         f"font-size='11' text-anchor='end'>{esc(label)}</text>"
                         f"<rect class='bar{base}' fill='#1976d2' x='{x:.1f}' y='{y}' width='{w:.1f}' height='{bar}' "
                         f"rx='3'><title>{esc(label)}: {n:,}</title></rect>"
                         f"<text class='ink' fill='currentColor' x='{label_w + span + 6}' y='{y + bar * 0.72:.1f}' "
                         f"font-size='11'>{n:,}</text>")
        parts.append("</svg>")
        return "".join(parts)


__all__ = ["SCHEMA", "VEGALITE_MIME", "Chart", "ChartBundle", "Funnel", "svg_open", "svg_style"]
