"""`curate`: run curation steps over a snapshot and store the result as a new snapshot, with every removal
kept in the workspace (reason, what it duplicates, the record itself) so any of them can be reverted.

The snapshot, its curation row and every change are stored in one transaction (`commits.store_curation`): a
curation that fails or is interrupted leaves nothing behind, neither rows nor files; a killed one leaves no rows
and only temp files named with its pid, removed when a workspace next opens (killed in the instant between
putting its snapshot file in place and committing, it leaves that file, which no row refers to). Re-running a
curation with the same steps and seed that yields the same records from the same input gives back the stored
result. Each curation is a tracked run of kind "curate" (see `tracked`): its steps, seed, what each step removed,
and the snapshot it made or reused.

Planning lives in `planning`, the streaming plumbing in `streaming`, the result and its rendering in
`curation_result`, reverting in `revert`, splits in `split`; this module re-exports their public names.
"""
from __future__ import annotations

import time
from typing import Dict, List, Optional, Sequence, Union

from ..errors import InputError
from ..tracking.run import Run
from ..workspace import check_name, workspace
from .commits import store_curation
from .curation_result import CurationResult, funnel_svg
from .datasets import Dataset, EmptySnapshotError, dataset, write_snapshot
from .planning import DEFAULT_STEPS, PlannedStep, StepLike, parse_step, plan
from .revert import revert
from .split import Split, split_dataset, split_names
from .streaming import StepChain
from .tracked import record_snapshot, step_run


def curate(data: Union[str, Dataset], steps: Optional[Sequence[StepLike]] = None, *,
           near_threshold: Optional[float] = None, pii: Optional[str] = None, select: Optional[int] = None,
           split: Optional[float] = None, name: Optional[str] = None, seed: int = 0,
           progress: bool = True) -> CurationResult:
    """Curate a snapshot into a new one (op "curate", parent = the input), named `name` or, by default, the
    input's name (a new version; nothing is overwritten).

    `steps`: names, "name:params" strings, (name, params) pairs or per-record functions, run in order.
    Default: normalize, exact_dedup, near_dedup, quality, pii (redact). `near_threshold` sets near_dedup's
    Jaccard threshold; `pii` its mode (redact/drop/flag/off; added if absent); `select=N` appends a
    coverage selection of N records; `split=F` also writes NAME-train and NAME-eval snapshots with a
    seeded fraction F for eval. Every removal is stored with its reason and the record itself:
    `result.removed` shows them, `result.revert(ids)` restores them. The same curation (steps and seed) of
    the same input run again gives back the version already stored (`result.reused`), which the bare name
    then means again.
    """
    src = dataset(data)
    target = check_name("dataset", name or src.name)
    planned = plan(steps, near_threshold=near_threshold, pii=pii, select=select, columns=src.columns)
    workspace().require_writable()  # before any step runs: the result could not be stored
    if split is not None:
        split = _eval_fraction(split)
        split_names(target)
    params = {"input": src.ref, "name": target, "steps": [p.describe() for p in planned], "seed": seed,
              "split": split}
    with step_run("curate", target, params) as run:
        result = _curate(src, target, planned, seed=seed, split=split, progress=progress)
        _track(run, result)
    return result


def _curate(src: Dataset, target: str, planned: List[PlannedStep], *, seed: int, split: Optional[float],
            progress: bool) -> CurationResult:
    t0 = time.time()
    with StepChain(src, planned, workspace().dir("datasets"), seed=seed, progress=progress) as chain:
        try:
            stored = write_snapshot(chain.records(), name=target, parent=src)
        except EmptySnapshotError:
            raise _removed_everything(src, chain.report()) from None
        described = [p.describe() for p in planned]
        out, cid, report = store_curation("curate", src, target, stored, steps=described, report=chain.report(),
                                          params={"steps": described, "seed": seed}, same_params=("steps", "seed"),
                                          changes=chain.changes, seconds=time.time() - t0)
    splits = split_dataset(out, eval_fraction=split, seed=seed) if split is not None else None
    return CurationResult(out, src, cid, report, time.time() - t0, splits=splits)


def _track(run: Run, result: CurationResult) -> None:
    """A curation's counts on its run: records in and out, and what each step removed (a step named twice is
    counted as `removed/filter`, `removed/filter#2`)."""
    run.log_metrics({"records_in": len(result.input), "records_out": len(result.dataset)})
    seen: Dict[str, int] = {}
    for row in result.report:
        seen[row["step"]] = seen.get(row["step"], 0) + 1
        key = row["step"] + (f"#{seen[row['step']]}" if seen[row["step"]] > 1 else "")
        run.log_metric(f"removed/{key}", row["in"] - row["out"])
    record_snapshot(run, result.dataset)
    run.set_tag("curation_id", result.curation_id)  # what result.revert() and review look up; not a metric
    if result.splits is not None:
        run.record("splits", [result.splits.train.ref, result.splits.eval.ref])


def _eval_fraction(split: object) -> float:
    try:
        value = float(split)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        value = float("nan")
    if isinstance(split, bool) or not 0 < value < 1:
        raise InputError(f"split is the eval fraction, between 0 and 1 (got {split!r})")
    return value


def _removed_everything(src: Dataset, report: List[dict]) -> EmptySnapshotError:
    lost = ", ".join(f"{r['step']} -{r['in'] - r['out']}" for r in report if r["in"] != r["out"])
    return EmptySnapshotError(f"curation removed all {len(src)} records of {src.ref} ({lost}); nothing was stored; "
                              "loosen the steps (e.g. a lower quality bar or a higher near_threshold)")


__all__ = ["CurationResult", "DEFAULT_STEPS", "Split", "curate", "funnel_svg", "parse_step", "plan", "revert",
           "split_dataset"]
