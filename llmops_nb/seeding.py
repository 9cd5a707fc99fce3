"""One call that makes a run reproducible: seeds Python, numpy and torch (CPU and CUDA).

Imports nothing from the package: tracking registers an `on_seed` hook that records the seed on the open run.
"""
from __future__ import annotations

import importlib.util
import os
import random
from typing import Callable, List, Optional

_seed: Optional[int] = None
_ON_SEED: List[Callable[[int], None]] = []


def on_seed(fn: Callable[[int], None]) -> Callable[[int], None]:
    """Register `fn(seed)` to run after every `seed()` call."""
    if fn not in _ON_SEED:
        _ON_SEED.append(fn)
    return fn


def seed(value: int = 0, *, deterministic: bool = True) -> int:
    """Seed python, numpy and torch; record the seed on the current run. Returns the seed."""
    global _seed
    value = int(value)
    random.seed(value)
    os.environ["PYTHONHASHSEED"] = str(value)  # inherited by child processes (workers, kernels)
    try:
        import numpy as np

        np.random.seed(value % (2**32))
    except ImportError:
        pass
    if importlib.util.find_spec("torch") is not None:
        import torch

        torch.manual_seed(value)
        if torch.cuda.is_available():
            torch.cuda.manual_seed_all(value)
        if deterministic:
            torch.backends.cudnn.deterministic = True
            torch.backends.cudnn.benchmark = False
    _seed = value
    for fn in list(_ON_SEED):
        fn(value)
    return value


def current_seed() -> Optional[int]:
    return _seed
