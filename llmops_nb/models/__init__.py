from . import finetuned as _finetuned  # noqa: E402,F401  (registers fine-tuned names with load_model/models)
from .loading import Embedder, LoadedModel, load_embedder, load_model, resolve_device
from .registry import BUILTINS, ModelsTable, models

__all__ = ["BUILTINS", "Embedder", "LoadedModel", "ModelsTable", "load_embedder", "load_model", "models",
           "resolve_device"]
