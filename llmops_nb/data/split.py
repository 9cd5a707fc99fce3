"""Seeded train/eval splits of a snapshot: NAME-train and NAME-eval, both children of the source."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Union

from ..display import STYLE, esc
from ..workspace import check_name
from .datasets import Dataset, create_snapshot, dataset


@dataclass
class Split:
    """A seeded train/eval split: two snapshots, NAME-train and NAME-eval, both children of the source."""

    train: Dataset
    eval: Dataset
    source: Dataset
    seed: int

    def to_dict(self) -> dict:
        return {"source": self.source.ref, "train": self.train.ref, "eval": self.eval.ref,
                "train_records": len(self.train), "eval_records": len(self.eval), "seed": self.seed}

    def __str__(self) -> str:
        return (f"split {self.source.ref} (seed {self.seed}): {self.train.ref} {len(self.train)} records, "
                f"{self.eval.ref} {len(self.eval)} records")

    def __repr__(self) -> str:
        return f"Split(train={self.train.ref!r}, eval={self.eval.ref!r})"

    def _repr_html_(self) -> str:
        return f"{STYLE}<div class='llmops-cap'>{esc(str(self))}</div>"


def split_names(base: str) -> tuple:
    """NAME-train and NAME-eval, checked (the suffixes must still fit the name rule)."""
    return tuple(check_name("dataset", f"{base}-{side}") for side in ("train", "eval"))


def split_dataset(data: Union[str, Dataset], eval_fraction: Optional[float] = 0.1, *, eval_size: Optional[int] = None,
                  seed: int = 0, name: Optional[str] = None) -> Split:
    """Write NAME-train and NAME-eval (NAME = `name` or the dataset's name): a seeded permutation puts exactly
    round(n * eval_fraction) records (or `eval_size`) in eval; records keep their order within each side."""
    from .steps.subset import split_assignment

    src = dataset(data)
    names = dict(zip(("train", "eval"), split_names(check_name("dataset", name or src.name))))
    mask = split_assignment(len(src), eval_fraction=eval_fraction, eval_size=eval_size, seed=seed)
    params = {"eval_fraction": eval_fraction, "eval_size": int(mask.sum()), "seed": seed}
    sides = {}
    for side, want in (("train", False), ("eval", True)):
        recs = (r for i, r in enumerate(src.records(raw=True)) if bool(mask[i]) == want)
        sides[side] = create_snapshot(names[side], recs, parent=src, op="split", source=src.ref,
                                      params={**params, "side": side})
    return Split(sides["train"], sides["eval"], src, seed)


__all__ = ["Split", "split_dataset", "split_names"]
