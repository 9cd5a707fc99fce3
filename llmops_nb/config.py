"""Settings: built-in defaults < `[tool.llmops]` in the nearest pyproject.toml < environment variables.

Environment: LLMOPS_HOME (workspace folder), LLMOPS_CACHE (shared cache for converted models and
embeddings), LLMOPS_QUIET (no progress bars), LLMOPS_LOG_TEXT (full/redacted/none: the log's text),
LLMOPS_EMBED_BACKEND (torch/onnx/onnx-int8: what runs the embedder). The magic's `%config LlmopsMagics.<name>` settings are
applied on top by the magic itself.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Dict, Optional

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = None  # type: ignore


@dataclass
class Settings:
    workspace: str = ".llmops"
    cache: Optional[str] = None
    quiet: bool = False
    default_model: str = "smollm2-135m-instruct"
    default_embedder: str = "all-minilm-l6-v2"
    device: str = "auto"
    embed_backend: str = "torch"  # what runs the embedder: torch, onnx (fp32) or onnx-int8 (index/onnx_embed.py)
    log_text: str = "full"  # what the generation/trace log keeps of prompts and outputs: full, redacted or none
    source: Dict[str, str] = field(default_factory=dict)  # setting -> where it came from


def find_pyproject(start: Optional[Path] = None) -> Optional[Path]:
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


_table_memo: Dict[tuple, Dict[str, Any]] = {}


def _pyproject_table(path: Optional[Path]) -> Dict[str, Any]:
    """The [tool.llmops] table, parsed once per file version (workspace() is on every command's path)."""
    if path is None or tomllib is None:
        return {}
    try:
        key = (str(path), path.stat().st_mtime_ns)
    except OSError:
        return {}
    if key not in _table_memo:
        _table_memo[key] = _parse_table(path)
    return dict(_table_memo[key])


def _parse_table(path: Path) -> Dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, ValueError):
        return {}
    table = data.get("tool", {}).get("llmops", {})
    return table if isinstance(table, dict) else {}


def load_settings(start: Optional[Path] = None) -> Settings:
    settings = Settings()
    known = {f.name for f in fields(Settings)} - {"source"}
    pyproject = find_pyproject(start)
    for key, value in _pyproject_table(pyproject).items():
        key = key.replace("-", "_")
        if key in known:
            if key == "workspace" and pyproject is not None and not os.path.isabs(str(value)):
                value = str(pyproject.parent / str(value))
            setattr(settings, key, value)
            settings.source[key] = str(pyproject)
    env = {
        "workspace": os.environ.get("LLMOPS_HOME"),
        "cache": os.environ.get("LLMOPS_CACHE"),
        "quiet": os.environ.get("LLMOPS_QUIET"),
        "log_text": os.environ.get("LLMOPS_LOG_TEXT"),
        "embed_backend": os.environ.get("LLMOPS_EMBED_BACKEND"),
    }
    for key, value in env.items():
        if value:
            setattr(settings, key, value if key != "quiet" else value.lower() not in ("0", "false", "no"))
            settings.source[key] = "environment"
    return settings


def progress_disabled() -> bool:
    """Progress bars are silent under --quiet/LLMOPS_QUIET and in CI logs."""
    if os.environ.get("LLMOPS_QUIET", "").lower() not in ("", "0", "false", "no"):
        return True
    return bool(os.environ.get("CI"))


LOG_TEXT_MODES = ("full", "redacted", "none")


def log_text_mode(start: Optional[Path] = None) -> str:
    """The `log_text` setting (full, redacted or none); an unknown value counts as "redacted" (the safe reading of
    a typo)."""
    value = str(load_settings(start).log_text).strip().lower()
    return value if value in LOG_TEXT_MODES else "redacted"
