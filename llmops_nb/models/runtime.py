"""What every model module shares: torch on demand, transformers and peft kept quiet, and the per-process memo
of loaded models (so a second `load_model` of the same name on the same device is free)."""
from __future__ import annotations

import contextlib
import threading
import warnings
from typing import Any, Callable, Dict, Hashable, Iterator, List, Optional

from ..errors import MissingDependencyError


def require_torch():
    """The torch module, or a one-line MissingDependencyError saying how to install it."""
    try:
        import torch
    except ImportError:
        raise MissingDependencyError("torch is not installed; run: pip install torch==2.13.0") from None
    return torch


def quiet_transformers() -> None:
    """transformers' own progress bars and warnings are noise for our users; ours report progress."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:
        return
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


@contextlib.contextmanager
def quiet_warnings() -> Iterator[None]:
    """peft/transformers warnings that are noise here (GPT-2's Conv1D layout, a deprecated property they read)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*fan_in_fan_out.*")
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
        yield


# ------------------------------------------------------------------------------------------------
# Loaded models and embedders, shared within a process. Keys are tuples whose first item says what kind of
# thing it is: ("lm", name, device), ("emb", name, device), ("ft", name, sha256, device).

_memo: Dict[Hashable, Any] = {}
_memo_lock = threading.Lock()


def recall(key: Hashable) -> Optional[Any]:
    """The object remembered under `key`, else None."""
    with _memo_lock:
        return _memo.get(key)


def remember(key: Hashable, value: Any) -> Any:
    """Keep `value` under `key` for this process; returns it."""
    with _memo_lock:
        _memo[key] = value
    return value


def forget(match: Optional[Callable[[Hashable], bool]] = None) -> int:
    """Drop remembered objects whose key `match`es (all when match is None). Returns how many went."""
    with _memo_lock:
        keys = [k for k in _memo if match is None or match(k)]
        for k in keys:
            del _memo[k]
    return len(keys)


def remembered() -> List[Hashable]:
    """The keys remembered now."""
    with _memo_lock:
        return list(_memo)


__all__ = ["forget", "quiet_transformers", "quiet_warnings", "recall", "remember", "remembered", "require_torch"]
