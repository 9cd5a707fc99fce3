"""Data steps as tracked runs: `load_dataset`, `curate` and `build_index` each do their work inside a run of
their own kind (`load`, `curate`, `index`), so `runs()`, `llmops runs` and the panel show the whole history of
a dataset, not only the compares and fine-tunes made from it.

The run starts once the call's arguments are checked and the workspace is known to be writable (a refusal is
not history), holds the step's params, its counts as metrics and what it made as records (`dataset` and
`snapshot`, or `index`), and ends failed with the error when the step fails; the caller still gets the same
exception. Inside another run (a papermill notebook, the user's `start_run`) it is that run's child.
"""
from __future__ import annotations

import contextlib
import os
import time
from typing import Any, Dict, Iterator

from ..tracking.run import Run
from ..tracking.runs import start_run


def describe_source(source: Any) -> str:
    """What a step read, in a run's params: a path as the user gave it, "pydoc", "DataFrame (79 rows)",
    "list of 79 dicts", never the data itself."""
    if isinstance(source, (str, os.PathLike)):
        return os.fspath(source) if not isinstance(source, str) else source
    if hasattr(source, "to_dict") and hasattr(source, "columns") and hasattr(source, "iterrows"):
        return f"DataFrame ({len(source)} rows)"
    if type(source).__module__.startswith("datasets") and hasattr(source, "column_names"):
        return f"datasets.Dataset ({len(source)} rows)"
    if isinstance(source, (list, tuple)):
        kinds = {type(r) for r in source}
        noun = {frozenset({dict}): "dict", frozenset({str}): "string"}.get(frozenset(kinds), "item")
        return f"{type(source).__name__} of {len(source)} {noun}{'' if len(source) == 1 else 's'}"
    return type(source).__name__


@contextlib.contextmanager
def step_run(kind: str, name: str, params: Dict[str, Any]) -> Iterator[Run]:
    """`with step_run("load", "pydoc", {...}) as run:` a run named "load pydoc" of kind "load" with `params`
    (None values left out); `seconds` is logged when the step succeeds."""
    t0 = time.perf_counter()
    with start_run(f"{kind} {name}", params={k: v for k, v in params.items() if v is not None}, kind=kind) as run:
        yield run
        run.log_metric("seconds", round(time.perf_counter() - t0, 4))


def record_snapshot(run: Run, ds: Any) -> None:
    """What a data step made, as records: the snapshot's ref and content hash, and whether it was an existing
    version given back (`reused`: the same content was already stored, no new version was made). The ref is also
    a tag (as review commits set it), so runs can be filtered by the dataset they made."""
    run.record("dataset", ds.ref)
    run.record("snapshot", ds.snapshot)
    run.record("reused", bool(ds.reused))
    run.set_tag("dataset", ds.ref)
    if ds.reused:
        run.set_tag("reused", True)


__all__ = ["describe_source", "record_snapshot", "step_run"]
