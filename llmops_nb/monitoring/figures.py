"""Operational figures of one side of a monitor report (every row, not the sample): volume, latency, errors,
output lengths, empty answers; and groundedness on the sampled rows whose context names an index's records."""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import List, Optional

import numpy as np

from ..workspace import select_in, workspace
from .sides import Side

GROUNDED_SAMPLE = 40  # sampled rows with retrieved context scored for groundedness per side (it embeds sentences)


@dataclass
class Figures:
    volume: int
    latency_p50: Optional[float] = None
    latency_p95: Optional[float] = None
    error_rate: Optional[float] = None
    empty_share: Optional[float] = None
    output_chars_p5: Optional[float] = None
    output_chars_p50: Optional[float] = None
    output_chars_p95: Optional[float] = None
    output_chars_mean: Optional[float] = None
    tokens_out_mean: Optional[float] = None
    with_context: Optional[float] = None
    groundedness: Optional[float] = None
    grounded_n: int = 0

    def to_dict(self) -> dict:
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in asdict(self).items()}


LABELS = {"volume": "calls", "latency_p50": "latency p50 (ms)", "latency_p95": "latency p95 (ms)",
          "error_rate": "error rate", "empty_share": "empty answers", "output_chars_p50": "output chars p50",
          "output_chars_p95": "output chars p95", "tokens_out_mean": "tokens out (mean)",
          "with_context": "calls with retrieved context", "groundedness": "groundedness (sampled)"}


SHOWN_IN_MS = ("latency_p50", "latency_p95")  # kept in seconds, shown in milliseconds (traced calls take microseconds)


def figures(side: Side) -> Figures:
    if not side.from_log:
        return Figures(volume=side.volume)
    n = side.numbers
    if side.volume == 0:
        return Figures(volume=0)
    ok = (n["error"] == 0) & (n["no_text"] == 0)
    chars = n["out_chars"][ok]
    latency = n["latency_s"][np.isfinite(n["latency_s"])]  # a user's t.log(latency_s=...) may have been anything
    q = (lambda a, p: float(np.percentile(a, p)) if len(a) else None)
    return Figures(
        volume=side.volume, latency_p50=q(latency, 50), latency_p95=q(latency, 95),
        error_rate=float(n["error"].mean()), empty_share=float(n["empty"][ok].mean()) if ok.any() else None,
        output_chars_p5=q(chars, 5), output_chars_p50=q(chars, 50), output_chars_p95=q(chars, 95),
        output_chars_mean=float(chars.mean()) if len(chars) else None,
        tokens_out_mean=float(n["tokens_out"].mean()), with_context=float(n["has_context"].mean()))


def _passages(rows: List[tuple]) -> List[tuple]:
    """(output, context text) for rows whose tags name an index holding every context id."""
    from ..index.catalog import load_index

    indexes, out = {}, []
    for output, context, tags in rows:
        try:
            name = (json.loads(tags) if tags else {}).get("index")
            ids = [i for i, _ in json.loads(context)]
        except (ValueError, TypeError, AttributeError):
            continue
        if not name or not ids:
            continue
        if name not in indexes:
            try:
                indexes[name] = load_index(str(name))
            except Exception:  # an index since deleted or renamed: these rows are not scored
                indexes[name] = None
        ix = indexes[name]
        if ix is None:
            continue
        try:
            text = "\n\n".join(ix.record(str(i))["text"] for i in ids)
        except Exception:  # an id the index no longer holds
            continue
        out.append((output, text))
    return out


def add_groundedness(side: Side, fig: Figures, embed) -> None:
    """Score groundedness on up to GROUNDED_SAMPLE sampled rows that carry context from a named index."""
    if not side.from_log or not side.ids:
        return
    rows = list(select_in(workspace().db, "SELECT output, context, tags FROM generations WHERE id IN ({ids}) AND "
                                          "context IS NOT NULL AND error IS NULL", side.ids))
    pairs = _passages(rows[:GROUNDED_SAMPLE * 2])[:GROUNDED_SAMPLE]
    if not pairs:
        return
    from ..evals.metrics import groundedness

    scores = [s for s in groundedness([o for o, _ in pairs], [c for _, c in pairs], embed) if math.isfinite(s)]
    if scores:
        fig.groundedness, fig.grounded_n = float(np.mean(scores)), len(scores)


__all__ = ["Figures", "GROUNDED_SAMPLE", "LABELS", "SHOWN_IN_MS", "add_groundedness", "figures"]
