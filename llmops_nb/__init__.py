"""llmops-nb: notebook-native LLMOps for small LLMs.

`%load_ext llmops_nb` registers the `%llmops` magics. The Python API is re-exported here lazily, so
`import llmops_nb` stays fast and heavy parts (torch, transformers, usearch) load only when first used.
"""
from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

from . import models as _models_pkg  # noqa: E402,F401  (first, so the `models` function below wins the name)
from .display import register_widget as _register_widget  # noqa: E402
from .errors import InputError, LlmopsError, NotFoundError, WorkspaceError  # noqa: E402
from .models.registry import models  # noqa: E402
from .seeding import seed  # noqa: E402
from .tracking.runs import active_run, get_run, record, runs, start_run  # noqa: E402
from .workspace import workspace  # noqa: E402

# the core names widget kinds; this root (above every layer) says which face draws them
_register_widget("review", "llmops_nb.widgets.review:review")
_register_widget("explore", "llmops_nb.widgets.explore:explore")
_register_widget("comparison", "llmops_nb.widgets.comparison:ComparisonWidget")

# name -> module that defines it (imported on first access)
_LAZY = {
    "load_model": "llmops_nb.models.loading",
    "load_embedder": "llmops_nb.models.loading",
    "use_device": "llmops_nb.models.loading",
    "load_dataset": "llmops_nb.data.datasets",
    "dataset": "llmops_nb.data.datasets",
    "datasets": "llmops_nb.data.datasets",
    "Dataset": "llmops_nb.data.datasets",
    "curate": "llmops_nb.data.curation",
    "CurationResult": "llmops_nb.data.curation",
    "revert": "llmops_nb.data.curation",
    "split_dataset": "llmops_nb.data.curation",
    "review": "llmops_nb.widgets.review",
    "build_index": "llmops_nb.index.vector",
    "load_index": "llmops_nb.index.vector",
    "indexes": "llmops_nb.index.vector",
    "search": "llmops_nb.index.vector",
    "VectorIndex": "llmops_nb.index.vector",
    "SearchResults": "llmops_nb.index.vector",
    "retrieve": "llmops_nb.index.retrieval",
    "evaluate_retrieval": "llmops_nb.index.retrieval_eval",
    "RetrievalReport": "llmops_nb.index.retrieval_eval",
    "explore": "llmops_nb.widgets.explore",
    "register_prompt": "llmops_nb.models.prompts",
    "prompts": "llmops_nb.models.prompts",
    "prompt": "llmops_nb.models.prompts",
    "generate": "llmops_nb.models.generation",
    "finetune": "llmops_nb.models.finetune",
    "finetune_embedder": "llmops_nb.models.embedder_finetune",
    "FineTunedModel": "llmops_nb.models.finetune",
    "export": "llmops_nb.models.finetune",
    "compare": "llmops_nb.evals.compare",
    "Comparison": "llmops_nb.evals.compare",
    "Variant": "llmops_nb.evals.variants",
    "run_notebook": "llmops_nb.batch.notebooks",
    "reproduce": "llmops_nb.batch.notebooks",
    "sweep": "llmops_nb.batch.sweep",
    "trace": "llmops_nb.tracking.tracer",
    "traces": "llmops_nb.tracking.trace_query",
    "TracesTable": "llmops_nb.tracking.trace_query",
    "monitor": "llmops_nb.monitoring",
    "MonitorReport": "llmops_nb.monitoring",
    "monitored_models": "llmops_nb.monitoring",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'llmops_nb' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


def _jupyter_labextension_paths():
    """Where JupyterLab finds the prebuilt front-end (`jupyter labextension develop .` links it)."""
    return [{"src": "labextension", "dest": "llmops-nb"}]


def _jupyter_server_extension_points():
    """The REST API under /llmops/api/ (llmops_nb.server), enabled by jupyter-config/server-config."""
    return [{"module": "llmops_nb.server"}]


def load_ipython_extension(ipython):
    from .magics import load_ipython_extension as _load

    _load(ipython)


__all__ = ["InputError", "LlmopsError", "NotFoundError", "WorkspaceError", "active_run", "get_run", "record",
           "models", "runs", "seed", "start_run", "workspace", *_LAZY]
