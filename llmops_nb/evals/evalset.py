"""Eval sets: the shipped pydoc Q&A, a workspace dataset, a JSONL path, a DataFrame or a list of dicts."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, List, Optional, Tuple

from ..data.loaders import read_jsonl_file
from ..errors import InputError

BUILTIN_EVAL = "pydoc-qa"
BUILTIN_POOL = "pydoc-train"


def _jsonl(path: Path) -> List[dict]:
    return read_jsonl_file(path, what="eval set")


def builtin_path(name: str) -> Path:
    from ..data import eval as shipped

    return Path(shipped.eval_set_path() if name == BUILTIN_EVAL else shipped.train_set_path())


def load_rows(source: Any) -> Tuple[List[dict], str]:
    """(rows, description) of an eval set or few-shot pool."""
    if isinstance(source, (str, os.PathLike)):
        text = str(source)
        if text in (BUILTIN_EVAL, BUILTIN_POOL):
            return _jsonl(builtin_path(text)), text
        path = Path(text).expanduser()
        if path.suffix in (".jsonl", ".ndjson") and path.exists():
            return _jsonl(path), str(path)
        from ..data.datasets import dataset

        ds = dataset(text)
        return list(ds.records()), ds.ref
    if hasattr(source, "records") and hasattr(source, "ref"):
        return list(source.records()), source.ref
    if hasattr(source, "to_dict") and hasattr(source, "columns"):
        return source.to_dict("records"), "DataFrame"
    if isinstance(source, (list, tuple)):
        return [dict(r) for r in source], "list"
    raise InputError(f"cannot use a {type(source).__name__} as an eval set; give 'pydoc-qa', a dataset name, a .jsonl path, "
                     "a DataFrame or a list of dicts")


def pick_field(rows: List[dict], wanted: Optional[str], candidates: Tuple[str, ...], role: str, desc: str) -> str:
    fields = list(rows[0]) if rows else []
    if wanted:
        missing = [i for i, r in enumerate(rows) if wanted not in r]
        if missing:
            raise InputError(f"eval set {desc} has no '{wanted}' field (row {missing[0]}); fields present: {', '.join(fields)}; "
                             f"pass the {role} field name")
        return wanted
    for c in candidates:
        if rows and all(c in r for r in rows):
            return c
    raise InputError(f"eval set {desc} has no {role} field ({'/'.join(candidates)}); fields present: "
                     f"{', '.join(fields) or 'none'}; pass {role}_field=NAME (--{role}-field)")
