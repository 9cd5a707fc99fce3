"""Sweeps: the cartesian product of a parameter grid, each point a tracked notebook run, in parallel on a
Dask LocalCluster (default) or an existing Dask cluster (`scheduler="tcp://host:port"`)."""
from __future__ import annotations

import itertools
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from ..checks import whole_number
from ..cluster import check_scheduler, start_client
from ..config import progress_disabled
from ..display import esc, fmt_duration, html_table, text_table
from ..errors import InputError, LlmopsError
from ..tracking.runs import start_run
from ..workspace import workspace
from .notebooks import resolve_notebook
from .params import check_parameters, recorded_names


def parse_grid(items: Union[Mapping[str, Sequence[Any]], Sequence[str]]) -> Dict[str, List[Any]]:
    """{'lr': [1e-4, 3e-4]} as is, or CLI strings 'lr=1e-4,3e-4' (values coerced later by the notebook's types)."""
    if isinstance(items, Mapping):
        grid = {str(k): list(v) if isinstance(v, (list, tuple, range)) else [v] for k, v in items.items()}
    else:
        grid = {}
        for item in items:
            if "=" not in item:
                raise InputError(f"--grid expects KEY=V1,V2,..., got '{item}'")
            key, values = item.split("=", 1)
            vals = [v.strip() for v in values.split(",") if v.strip()]
            if not key.strip() or not vals:
                raise InputError(f"--grid expects KEY=V1,V2,..., got '{item}'")
            grid.setdefault(key.strip(), []).extend(vals)
    if not grid:
        raise InputError("the grid is empty; give at least one --grid KEY=V1,V2")
    empty = [k for k, v in grid.items() if not v]
    if empty:
        raise InputError(f"grid parameter '{empty[0]}' has no values")
    return grid


def grid_points(grid: Mapping[str, Sequence[Any]]) -> List[Dict[str, Any]]:
    keys = list(grid)
    return [dict(zip(keys, combo)) for combo in itertools.product(*(grid[k] for k in keys))]


def run_point(notebook: str, params: Dict[str, Any], workspace_path: str, device: str, parent_id: str) -> dict:
    """Executed in a Dask worker process (an importable entry point, so spawned workers find it too)."""
    os.environ["LLMOPS_HOME"] = workspace_path
    os.environ.setdefault("LLMOPS_QUIET", "1")
    from ..workspace import reset_workspace

    reset_workspace()
    from .notebooks import run_notebook

    try:
        res = run_notebook(notebook, params, device=device, parent_id=parent_id, progress=False)
    except LlmopsError as exc:
        return {"run_id": None, "status": "failed", "params": params, "records": {}, "error": str(exc),
                "duration_s": 0.0}
    return {"run_id": res.run_id, "status": res.status, "params": params, "records": res.records,
            "error": res.error, "duration_s": res.duration_s}


@dataclass
class Sweep:
    """Results across a sweep: parameters x recorded values, best run highlighted."""

    sweep_id: str
    notebook: str
    grid: Dict[str, List[Any]]
    results: List[dict]
    duration_s: float
    metric: Optional[str] = None
    mode: str = "max"
    scheduler: str = "local"
    workers: int = 1

    @property
    def best(self) -> Optional[dict]:
        metric = self.metric or self._default_metric()
        ok = [r for r in self.results if r["status"] == "finished" and _num(r["records"].get(metric)) is not None]
        if not ok:
            return None
        top = self._top(ok, metric)
        return top[0] if len(top) == 1 else None  # a tie names no best run (note says which tie)

    def _top(self, ok: List[dict], metric: str) -> List[dict]:
        values = [_num(r["records"][metric]) for r in ok]
        edge = max(values) if self.mode == "max" else min(values)
        return [r for r, v in zip(ok, values) if v == edge]

    def _default_metric(self) -> Optional[str]:
        for r in self.results:
            for k, v in r["records"].items():
                if _num(v) is not None:
                    return k
        return None

    @property
    def failed(self) -> List[dict]:
        return [r for r in self.results if r["status"] != "finished"]

    @property
    def note(self) -> str:
        """Why no best run can be named, when the asked metric was recorded by no run."""
        if self.metric and not any(self.metric in r["records"] for r in self.results):
            seen = sorted({k for r in self.results for k in r["records"]})
            return f"no run recorded '{self.metric}'; recorded: {', '.join(seen) or 'nothing'}"
        metric = self.metric or self._default_metric()
        ok = [r for r in self.results if r["status"] == "finished" and _num(r["records"].get(metric)) is not None]
        top = self._top(ok, metric) if ok else []
        if len(top) > 1:
            return f"{len(top)} runs tie on {metric} ({', '.join(r['run_id'] for r in top)}); no best run"
        return ""

    @property
    def failed_work(self) -> bool:
        """A failing point fails its run, not the sweep; a metric no run recorded fails the sweep's purpose."""
        return bool(self.metric) and not any(self.metric in r["records"] for r in self.results)

    def _rows(self) -> List[dict]:
        rows = []
        for r in self.results:
            row = {"run": r["run_id"] or "", "status": r["status"], **{f"{k}": v for k, v in r["params"].items()}}
            for k, v in r["records"].items():
                if _num(v) is not None or isinstance(v, str):
                    row[k] = v
            if r["error"]:
                row["error"] = r["error"][:80]
            rows.append(row)
        return rows

    def _columns(self, rows: List[dict]) -> List[str]:
        cols: Dict[str, None] = {"run": None, "status": None}
        for row in rows:
            cols.update(dict.fromkeys(row))
        return list(cols)

    def to_pandas(self):
        import pandas as pd

        rows = self._rows()
        return pd.DataFrame(rows, columns=self._columns(rows))

    def to_dict(self) -> dict:
        best = self.best
        return {"sweep_id": self.sweep_id, "notebook": self.notebook, "grid": self.grid, "results": self.results,
                "best_run": best["run_id"] if best else None, "metric": self.metric or self._default_metric(),
                "duration_s": self.duration_s, "scheduler": self.scheduler, "workers": self.workers}

    def __str__(self) -> str:
        rows = self._rows()
        best = self.best
        head = (f"sweep {self.sweep_id}: {self.notebook}, {len(self.results)} runs on {self.scheduler} "
                f"({self.workers} workers) in {fmt_duration(self.duration_s)}, {len(self.failed)} failed")
        if best:
            head += f"; best {best['run_id']} by {self.metric or self._default_metric()} ({self.mode})"
        if self.note:
            head += f"; {self.note}"
        return head + "\n" + text_table(rows, self._columns(rows))

    def _repr_html_(self) -> str:
        rows = self._rows()
        best = self.best
        cols = self._columns(rows)
        for row in rows:
            for c in cols:
                row.setdefault(c, "")
            if best and row["run"] == best["run_id"]:
                row["run"] = f"<b class='llmops-best'>★ {esc(row['run'])}</b>"  # theme colours: no fixed background
            else:
                row["run"] = esc(row["run"])
        cap = str(self).splitlines()[0]  # html_table escapes its caption
        return html_table(rows, cols, caption=cap, raw_html_columns=["run"])


def _num(v: Any) -> Optional[float]:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return None if isinstance(v, float) and math.isnan(v) else float(v)


def _client(workers: int, scheduler: Optional[str]):
    # papermill and nbformat imported here once: forked workers inherit them; they only drive kernels, which are
    # fresh processes
    return start_client(workers, scheduler, preload=("papermill",))


@dataclass
class _Plan:
    """A sweep checked before anything runs: the notebook, its points and how to run them."""

    notebook: Path
    grid: Dict[str, List[Any]]
    points: List[Dict[str, Any]]
    workers: int


def _plan(path, grid, *, workers, scheduler, parameters, metric, mode) -> _Plan:
    """Every check that can fail, before any worker starts: bad names, types, counts, addresses, metric."""
    nb = resolve_notebook(path)
    grid = parse_grid(grid)
    if mode not in ("max", "min"):
        raise InputError(f"mode must be 'max' or 'min', got '{mode}'")
    base = dict(parameters or {})
    points = [check_parameters(nb, {**base, **p}) for p in grid_points(grid)]
    if workers is not None:
        workers = whole_number("--workers", workers, minimum=1)
    if scheduler:
        check_scheduler(scheduler)
    if metric is not None:
        names, complete = recorded_names(nb)
        if complete and metric not in names:
            from ..errors import did_you_mean

            raise InputError(f"--metric '{metric}': {nb.name} records no value of that name"
                             f"{did_you_mean(metric, names)}; it records {', '.join(sorted(names)) or 'nothing'}")
    n_workers = int(workers) if workers else max(1, min(len(points), os.cpu_count() or 1))
    return _Plan(nb, grid, points, n_workers)


def _gather(client, plan: _Plan, workspace_path: str, device: str, parent_id: str) -> List[dict]:
    from dask.distributed import as_completed

    from ..progress import progress as progress_bar

    futures = [client.submit(run_point, str(plan.notebook), p, workspace_path, device, parent_id, pure=False)
               for p in plan.points]
    results = []
    with progress_bar(total=len(futures), desc=f"sweep {plan.notebook.name}", unit="run",
                      disable=progress_disabled()) as bar:
        for fut in as_completed(futures):
            try:
                results.append(fut.result())
            except Exception as exc:  # noqa: BLE001 - a worker died: that point fails, the sweep goes on
                idx = futures.index(fut)
                results.append({"run_id": None, "status": "failed", "params": plan.points[idx], "records": {},
                                "error": f"{type(exc).__name__}: {exc}", "duration_s": 0.0})
            bar.update(1)
    results.sort(key=lambda r: next((i for i, p in enumerate(plan.points) if p == r["params"]), 0))
    return results


def sweep(path: Union[str, os.PathLike], grid: Union[Mapping[str, Sequence[Any]], Sequence[str]], *,
          workers: Optional[int] = None, scheduler: Optional[str] = None,
          parameters: Optional[Mapping[str, Any]] = None, device: str = "auto", metric: Optional[str] = None,
          mode: str = "max") -> Sweep:
    """Run a notebook over the cartesian product of `grid`, each point a tracked run, in parallel on Dask.

    A failing notebook fails its run, not the sweep. Returns a `Sweep` table with the best run highlighted.
    """
    plan = _plan(path, grid, workers=workers, scheduler=scheduler, parameters=parameters, metric=metric, mode=mode)
    ws = workspace()
    t0 = time.time()
    client, cluster = _client(plan.workers, scheduler)
    try:
        with start_run(f"sweep:{plan.notebook.stem}", kind="sweep", tags={"notebook": str(plan.notebook)},
                       params={"grid": plan.grid, "workers": plan.workers, "scheduler": scheduler or "local"}) as parent:
            results = _gather(client, plan, str(ws.path), device, parent.id)
            result = Sweep(parent.id, plan.notebook.name, plan.grid, results, time.time() - t0, metric, mode,
                           scheduler or "LocalCluster", plan.workers)
            best = result.best
            parent.log_metric("runs", len(results))
            parent.log_metric("failed", len(result.failed))
            if best:
                parent.set_tag("best_run", best["run_id"])
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return result
