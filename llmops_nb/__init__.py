"""llmops-nb: notebook-native LLMOps for small LLMs.

`%load_ext llmops_nb` registers the `%llmops` magics. The Python API is re-exported here; heavy parts
(torch, transformers, usearch) load only when first used.
"""
from __future__ import annotations

__version__ = "0.1.0"

from .errors import InputError, LlmopsError, NotFoundError, WorkspaceError  # noqa: E402
from .models.loading import load_embedder, load_model  # noqa: E402
from .models.registry import models  # noqa: E402
from .seeding import seed  # noqa: E402
from .tracking.runs import active_run, get_run, record, runs, start_run  # noqa: E402
from .workspace import workspace  # noqa: E402


def load_ipython_extension(ipython):
    from .magics import load_ipython_extension as _load

    _load(ipython)


__all__ = ["InputError", "LlmopsError", "NotFoundError", "WorkspaceError", "active_run", "get_run", "load_embedder",
           "load_model", "models", "record", "runs", "seed", "start_run", "workspace"]
