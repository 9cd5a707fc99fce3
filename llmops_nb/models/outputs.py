"""What `generate` returns: one Generation per prompt, and Generations, the list-like result of a call."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import List, Optional, Sequence

from ..display import html_table, text_table


@dataclass(frozen=True)
class Generation:
    prompt: str
    text: str
    tokens_in: int
    tokens_out: int
    latency_s: float
    cached: bool = False
    finish: str = "stop"  # "stop" (end-of-sequence token) or "length" (max_new_tokens reached)

    def to_dict(self) -> dict:
        return asdict(self)


class Generations(Sequence):
    """The outputs of one `generate` call, in the order of the prompts. List-like; `.texts` for the strings."""

    columns = ["prompt", "text", "tokens_in", "tokens_out", "latency_s", "cached"]

    def __init__(self, items: List[Generation], *, model: str = "", params: Optional[dict] = None,
                 wall_s: float = 0.0):
        self.items = list(items)
        self.model = model
        self.params = dict(params or {})
        self.wall_s = wall_s

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Generations(self.items[i], model=self.model, params=self.params)
        return self.items[i]

    def __iter__(self):
        return iter(self.items)

    @property
    def texts(self) -> List[str]:
        return [g.text for g in self.items]

    @property
    def n_cached(self) -> int:
        return sum(g.cached for g in self.items)

    @property
    def tokens_out(self) -> int:
        return sum(g.tokens_out for g in self.items)

    @property
    def tokens_per_s(self) -> Optional[float]:
        """Generated tokens per second of this call's wall time, over the examples actually generated."""
        fresh = sum(g.tokens_out for g in self.items if not g.cached)
        return fresh / self.wall_s if fresh and self.wall_s > 0 else None

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame([g.to_dict() for g in self.items],
                            columns=["prompt", "text", "tokens_in", "tokens_out", "latency_s", "cached", "finish"])

    def to_dict(self) -> dict:
        return {"model": self.model, "params": self.params, "wall_s": self.wall_s,
                "generations": [g.to_dict() for g in self.items]}

    def _summary(self) -> str:
        tps = self.tokens_per_s
        return (f"{len(self)} generations from {self.model}, {self.n_cached} from cache, "
                f"{self.tokens_out} tokens out" + (f", {tps:.1f} tok/s" if tps else ""))

    def _rows(self) -> List[dict]:
        return [{"prompt": g.prompt[-200:], "text": g.text, "tokens_in": g.tokens_in, "tokens_out": g.tokens_out,
                 "latency_s": round(g.latency_s, 3), "cached": g.cached} for g in self.items]

    def __str__(self) -> str:
        return self._summary() + "\n" + text_table(self._rows(), self.columns, max_width=60)

    def __repr__(self) -> str:
        return f"Generations({len(self)} from {self.model!r}, cached={self.n_cached})"

    def _repr_html_(self) -> str:
        return html_table(self._rows(), self.columns, caption=self._summary())


__all__ = ["Generation", "Generations"]
