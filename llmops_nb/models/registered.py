"""Fine-tuned models registered in the workspace (table registered_models): the FineTunedModel record and
looking one up by name. Loading, listing and exporting them is in finetuned.py.

Fine-tuned embedders (finetune_embedder) share the table with method "embedding": this module tells
`load_embedder` where their folder is and `load_model` that they are no language models."""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from ..display import fmt_time, html_kv
from ..errors import InputError, WorkspaceError, not_found
from ..workspace import recover_dir, workspace
from .loading import load_embedder, load_model
from .registry import BUILTINS, RegisteredEmbedder, register_embedder_lookup

EMBEDDING = "embedding"  # the method of a fine-tuned embedder


@dataclass
class FineTunedModel:
    """A fine-tuned model registered in the workspace: `load_model(name)` loads it; `export()` merges it."""

    name: str
    base: str
    method: str
    path: Path  # adapter folder (lora) or model folder (full)
    sha256: str = ""
    dataset_ref: Optional[str] = None
    dataset_snapshot: Optional[str] = None
    run_id: Optional[str] = None
    params: Dict[str, Any] = field(default_factory=dict)
    metrics: Dict[str, Any] = field(default_factory=dict)
    created_at: Optional[float] = None

    @property
    def adapter(self) -> Optional[Path]:
        return self.path if self.method == "lora" else None

    @property
    def kind(self) -> str:
        """"embedding" for a fine-tuned embedder, else its base's kind ("chat" or "causal-lm"), as models() lists it."""
        return model_kind(self.method, self.base)

    def load(self, *, device: str = "auto", fresh: bool = False):
        """The loaded model: an Embedder for a fine-tuned embedder, else a LoadedModel."""
        if self.kind == EMBEDDING:
            return load_embedder(self.name, device=device)
        return load_model(self.name, device=device, fresh=fresh)

    def to_dict(self) -> dict:
        return {"name": self.name, "base": self.base, "method": self.method, "path": str(self.path),
                "sha256": self.sha256, "dataset_ref": self.dataset_ref, "dataset_snapshot": self.dataset_snapshot,
                "run_id": self.run_id, "params": self.params, "metrics": self.metrics,
                "created_at": self.created_at}

    def __repr__(self) -> str:
        return f"FineTunedModel({self.name!r}, base={self.base!r}, method={self.method!r}, data={self.dataset_ref!r})"

    def _summary(self) -> Dict[str, Any]:
        m = self.metrics
        return {"name": self.name, "base": self.base, "method": self.method, "dataset": self.dataset_ref,
                "steps": m.get("steps"), "train loss": m.get("train_loss"), "eval loss": m.get("eval_loss"),
                "time": f"{m['train_time_s']:.1f}s" if m.get("train_time_s") is not None else None,
                "run": self.run_id, "path": str(self.path), "created": fmt_time(self.created_at)}

    def __str__(self) -> str:
        return "\n".join(f"{k}: {v}" for k, v in self._summary().items() if v is not None)

    def _repr_html_(self) -> str:
        return html_kv(f"fine-tuned model {self.name}", {k: v for k, v in self._summary().items() if v is not None})


def model_kind(method: str, base: str) -> str:
    """The kind models() lists a registered model under, as the built-ins' ("embedding", "chat", "causal-lm"): a
    fine-tuned embedder is an embedding model, a LoRA/full fine-tune has its base's kind."""
    if method == EMBEDDING:
        return EMBEDDING
    spec = BUILTINS.get(base)
    return spec.kind if spec is not None and spec.kind != EMBEDDING else "causal-lm"


def describe_registered(row: sqlite3.Row) -> str:
    """What a registered model is, for messages: "a fine-tuned embedder (kind embedding, fine-tune of BASE)" or
    "a lora fine-tune of BASE (kind chat)"."""
    kind = model_kind(row["method"], row["base"])
    if row["method"] == EMBEDDING:
        return f"a fine-tuned embedder (kind {kind}, fine-tune of {row['base']})"
    return f"a {row['method']} fine-tune of {row['base']} (kind {kind})"


def refuse_other_kind(row: Optional[sqlite3.Row], *, embedder: bool) -> None:
    """Refuse to register a fine-tuned embedder over a language-model fine-tune's name, or the other way round:
    replacing one kind with the other would break what uses the name (indexes, comparisons, load_model)."""
    if row is None or (row["method"] == EMBEDDING) == embedder:
        return
    new = "a fine-tuned embedder" if embedder else "a language-model fine-tune"
    extra = ", not even with overwrite=True" if embedder else ""
    raise InputError(f"'{row['name']}' is already registered as {describe_registered(row)}; {new} cannot replace "
                     f"it{extra}: choose another name (name=... / --as NAME)")


def from_row(row: sqlite3.Row) -> FineTunedModel:
    """The record of a registered_models row. Its folder is put back in place first if a kill cut short the
    folder swap that wrote it."""
    path = workspace().path / row["path"]
    recover_dir(path)
    return FineTunedModel(row["name"], row["base"], row["method"], path, row["sha256"] or "",
                          row["dataset_ref"], row["dataset_snapshot"], row["run_id"], json.loads(row["params"]),
                          json.loads(row["metrics"]), row["created_at"])


def registered_row(name: str) -> Optional[sqlite3.Row]:
    """The registered_models row of `name`, or None when no fine-tune has that name."""
    return workspace().db.execute("SELECT * FROM registered_models WHERE name=?", (str(name),)).fetchone()


def registered_model(name: str) -> FineTunedModel:
    row = registered_row(name)
    if row is None:
        names = [r[0] for r in workspace().db.execute("SELECT name FROM registered_models ORDER BY name")]
        raise not_found("fine-tuned model", name, names, hint="" if names else "train one with finetune(base, dataset)")
    return from_row(row)


def registered_models() -> List[FineTunedModel]:
    return [from_row(r) for r in workspace().db.execute("SELECT * FROM registered_models ORDER BY created_at")]


def _embedder_lookup(name: Any):
    """name -> RegisteredEmbedder, the kind of a registered model that is no embedder, or None."""
    if not isinstance(name, str) or name in BUILTINS or not name or "/" in name or name.startswith("."):
        return None
    try:
        row = registered_row(name)
    except WorkspaceError:  # no readable workspace here: nothing is registered
        return None
    if row is None:
        return None
    if row["method"] != EMBEDDING:
        return f"fine-tuned language model ({row['method']} of {row['base']})"
    path = workspace().path / row["path"]
    recover_dir(path)
    return RegisteredEmbedder(row["name"], path, row["sha256"] or "")


register_embedder_lookup(_embedder_lookup)


__all__ = ["EMBEDDING", "FineTunedModel", "describe_registered", "from_row", "model_kind", "refuse_other_kind",
           "registered_model", "registered_models", "registered_row"]
