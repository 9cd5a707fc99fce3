"""Page through a comparison's examples: every variant's answer to one question, side by side."""
from __future__ import annotations

import html

import ipywidgets as W


class ComparisonWidget(W.VBox):
    """Prev/next over eval examples; a variant filter for the sort order (worst first for that variant)."""

    def __init__(self, comparison):
        self.comparison = comparison
        self.examples = sorted({r["example"] for r in comparison.rows}, key=str)
        self.by_example = {}
        for r in comparison.rows:
            self.by_example.setdefault(r["example"], {})[r["variant"]] = r
        self.position = W.IntSlider(min=0, max=max(0, len(self.examples) - 1), description="example",
                                    continuous_update=False)
        self.sort = W.Dropdown(options=["eval order"] + [f"worst first: {v}" for v in comparison.variants],
                               description="order")
        self.prev = W.Button(description="◀ prev", layout=W.Layout(width="80px"))
        self.next = W.Button(description="next ▶", layout=W.Layout(width="80px"))
        self.body = W.HTML()
        self.prev.on_click(lambda _: self._step(-1))
        self.next.on_click(lambda _: self._step(1))
        self.position.observe(lambda _: self._render(), "value")
        self.sort.observe(lambda _: self._resort(), "value")
        super().__init__([W.HBox([self.prev, self.next, self.position, self.sort]), self.body])
        self._render()

    def _resort(self):
        metric = self.comparison.primary_metric
        if self.sort.value == "eval order":
            self.examples.sort(key=str)
        else:
            variant = self.sort.value.split(": ", 1)[1]
            self.examples.sort(key=lambda e: _num(self.by_example[e].get(variant, {}).get(metric)))
        self.position.value = 0
        self._render()

    def _step(self, delta: int):
        self.position.value = max(0, min(len(self.examples) - 1, self.position.value + delta))

    def _render(self):
        if not self.examples:
            self.body.value = "<i>no examples</i>"
            return
        ex = self.examples[self.position.value]
        rows = self.by_example[ex]
        first = next(iter(rows.values()))
        metric = self.comparison.primary_metric
        parts = [f"<div><b>Q:</b> {html.escape(str(first['question']))}</div>",
                 f"<div><b>reference:</b> {html.escape(str(first['reference']))}</div>",
                 "<table style='border-collapse:collapse;margin-top:6px'>"]
        for v in self.comparison.variants:
            r = rows.get(v)
            if r is None:
                continue
            score = r.get(metric)
            parts.append(f"<tr><td style='padding:3px 8px;vertical-align:top'><b>{html.escape(v)}</b><br>"
                         f"<span style='color:#888'>{html.escape(metric)} {'' if score is None else f'{score:.2f}'}</span></td>"
                         f"<td style='padding:3px 8px;border-left:2px solid #ddd'>{html.escape(str(r['output']))}</td></tr>")
        parts.append("</table>")
        self.body.value = "".join(parts)


def _num(x) -> float:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return float("inf")
    return float("inf") if x != x else x
