"""What the response cache knows a model by: the content of its folder (and its adapter's), not its Python
object, so a cached answer is reused exactly when the same weights would give it."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Dict, Optional, Tuple, Union

from .loading import LoadedModel, folder_for
from .registered import registered_row

GEN_VERSION = 1  # bump when decoding changes what a cached output would be

_fingerprints: Dict[Tuple, str] = {}


def folder_fingerprint(folder: Union[str, Path]) -> str:
    """A content hash of a model folder that is cheap for big weights: every file's name and size, small files
    whole, and the first and last MiB of big ones. Survives copying the folder to another machine."""
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")
                   and not p.name.endswith(".lock"))
    stamp = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    if stamp in _fingerprints:
        return _fingerprints[stamp]
    h = hashlib.sha256()
    for p in files:
        size = p.stat().st_size
        h.update(f"{p.relative_to(folder)}:{size}\n".encode())
        with open(p, "rb") as fh:
            if size <= 4 << 20:
                h.update(fh.read())
            else:
                h.update(fh.read(1 << 20))
                fh.seek(size - (1 << 20))
                h.update(fh.read())
    digest = h.hexdigest()[:16]
    _fingerprints[stamp] = digest
    return digest


def model_identity(model: Any) -> Optional[str]:
    """What the cache knows a model by: its folder's content (and its adapter's), not its Python object.

    None for an in-memory model without a folder: such outputs are not cached.
    """
    if isinstance(model, LoadedModel):
        ident = model.info.get("identity")
        if ident:
            return ident
        if model.path is None:
            return None
        ident = f"{model.name}:{folder_fingerprint(model.path)}"
        if model.adapter is not None:
            ident += f"+adapter:{folder_fingerprint(model.adapter)}"
        return ident
    name = str(model)
    ident = registered_identity(name)
    if ident is not None:
        return ident
    return f"{name}:{folder_fingerprint(folder_for(name))}"


def registered_identity(name: str) -> Optional[str]:
    """The identity of a registered fine-tune: its base's identity plus the weights' content hash (None when
    `name` is not registered)."""
    row = registered_row(name)
    if row is None:
        return None
    return f"ft:{row['name']}:{row['method']}:{row['sha256']}<{model_identity(row['base'])}>"


def cache_key(identity: str, device: str, dtype: str, prompt: str, params: dict) -> str:
    """The response-cache key of one prompt: model identity, device type, dtype, prompt and decoding params."""
    payload = json.dumps({"v": GEN_VERSION, "model": identity, "device": device.split(":")[0], "dtype": dtype,
                          "prompt": prompt, **params}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


__all__ = ["GEN_VERSION", "cache_key", "folder_fingerprint", "model_identity", "registered_identity"]
