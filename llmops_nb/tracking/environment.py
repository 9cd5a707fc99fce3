"""The environment record stored on every run: enough to tell why two runs differ."""
from __future__ import annotations

import functools
import os
import platform
import subprocess
import sys
from importlib import metadata
from typing import Dict, Optional

PACKAGES = ("llmops-nb", "torch", "transformers", "sentence-transformers", "peft", "usearch", "numpy",
            "pandas", "pyarrow", "papermill", "dask", "accelerate", "gguf")


@functools.lru_cache(maxsize=1)
def package_versions() -> Dict[str, Optional[str]]:
    """Read once per process: parsing 13 packages' metadata costs ~7 ms (far more on a busy machine), paid by
    every run, and every load, curate and index build is one. A package upgraded mid-session is not what this
    process has imported anyway."""
    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_commit(cwd: Optional[str] = None) -> Optional[str]:
    try:
        res = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd or os.getcwd(), capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if res.returncode != 0:
        return None
    commit = res.stdout.strip()
    try:
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd or os.getcwd(),
                               capture_output=True, text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        dirty = ""
    return commit + ("-dirty" if dirty else "")


def detect_device() -> str:
    """'cuda' or 'cpu' without importing torch when it is not loaded yet (importing it costs seconds)."""
    torch = sys.modules.get("torch")
    if torch is not None:
        try:
            return "cuda" if torch.cuda.is_available() else "cpu"
        except Exception:
            return "cpu"
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) == "":
        return "cpu"
    return "cuda" if os.path.exists("/dev/nvidia0") else "cpu"


def environment(seed: Optional[int] = None) -> dict:
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "host": platform.node(),
        "cwd": os.getcwd(),
        "argv": sys.argv[:8],
        "packages": dict(package_versions()),
        "git_commit": git_commit(),
        "device": detect_device(),
        "seed": seed,
    }
