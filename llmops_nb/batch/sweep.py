"""Sweeps: the cartesian product of a parameter grid, each point a tracked notebook run, in parallel on a
Dask LocalCluster (default) or an existing Dask cluster (`scheduler="tcp://host:port"`)."""
from __future__ import annotations

import itertools
import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from ..config import progress_disabled
from ..display import STYLE, esc, fmt, fmt_duration, html_table, text_table
from ..errors import InputError, LlmopsError
from ..tracking.runs import start_run

SCHEDULER_TIMEOUT_S = 5


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
        key = (lambda r: _num(r["records"][metric]))
        return max(ok, key=key) if self.mode == "max" else min(ok, key=key)

    def _default_metric(self) -> Optional[str]:
        for r in self.results:
            for k, v in r["records"].items():
                if _num(v) is not None:
                    return k
        return None

    @property
    def failed(self) -> List[dict]:
        return [r for r in self.results if r["status"] != "finished"]

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
        return head + "\n" + text_table(rows, self._columns(rows))

    def _repr_html_(self) -> str:
        rows = self._rows()
        best = self.best
        cols = self._columns(rows)
        for row in rows:
            for c in cols:
                row.setdefault(c, "")
            if best and row["run"] == best["run_id"]:
                row["run"] = f"<b style='background:#dafbe1'>★ {esc(row['run'])}</b>"
            else:
                row["run"] = esc(row["run"])
        cap = esc(str(self).splitlines()[0])
        return html_table(rows, cols, caption=cap, raw_html_columns=["run"])


def _num(v: Any) -> Optional[float]:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return None if isinstance(v, float) and math.isnan(v) else float(v)


def _client(workers: int, scheduler: Optional[str]):
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise LlmopsError("dask[distributed] is not installed; run: pip install 'dask[distributed]'") from None
    if scheduler:
        try:
            return Client(scheduler, timeout=f"{SCHEDULER_TIMEOUT_S}s"), None
        except (OSError, TimeoutError) as exc:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler} within {SCHEDULER_TIMEOUT_S}s "
                             f"({type(exc).__name__}); check the address, or omit --scheduler for a local cluster") from None
    import dask

    # Linux: fork the workers from this process, which has papermill and nbformat imported already (~4 s a
    # worker with spawn). Workers only drive kernels, which are fresh processes; workspace and run state
    # inherited from here is dropped in the child (see workspace._forget_after_fork). Elsewhere: spawn.
    method = "fork" if sys.platform.startswith("linux") else "spawn"
    import papermill  # noqa: F401  (what the workers need, imported once here)

    with dask.config.set({"distributed.worker.multiprocessing-method": method}):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=50)
    return Client(cluster), cluster


def sweep(path: Union[str, os.PathLike], grid: Union[Mapping[str, Sequence[Any]], Sequence[str]], *,
          workers: Optional[int] = None, scheduler: Optional[str] = None,
          parameters: Optional[Mapping[str, Any]] = None, device: str = "auto", metric: Optional[str] = None,
          mode: str = "max") -> Sweep:
    """Run a notebook over the cartesian product of `grid`, each point a tracked run, in parallel on Dask.

    A failing notebook fails its run, not the sweep. Returns a `Sweep` table with the best run highlighted.
    """
    from .notebooks import _resolve
    from .params import check_parameters
    from ..workspace import workspace

    nb = _resolve(path)
    grid = parse_grid(grid)
    if mode not in ("max", "min"):
        raise InputError(f"mode must be 'max' or 'min', got '{mode}'")
    base = dict(parameters or {})
    points = [{**base, **p} for p in grid_points(grid)]
    checked = [check_parameters(nb, p) for p in points]  # refuse bad names/types before starting anything
    if workers is not None and int(workers) < 1:
        raise InputError(f"--workers must be at least 1, got {workers}")
    n_workers = int(workers) if workers else max(1, min(len(points), os.cpu_count() or 1))
    ws = workspace()
    t0 = time.time()
    with start_run(f"sweep:{nb.stem}", params={"grid": grid, "workers": n_workers, "scheduler": scheduler or "local"},
                   kind="sweep", tags={"notebook": str(nb)}) as parent:
        client, cluster = _client(n_workers, scheduler)
        try:
            from dask.distributed import as_completed
            from tqdm.auto import tqdm

            futures = [client.submit(run_point, str(nb), p, str(ws.path), device, parent.id, pure=False)
                       for p in checked]
            results = []
            bar = tqdm(total=len(futures), desc=f"sweep {nb.name}", disable=progress_disabled())
            for fut in as_completed(futures):
                try:
                    results.append(fut.result())
                except Exception as exc:  # a worker died: that point fails, the sweep goes on
                    idx = futures.index(fut)
                    results.append({"run_id": None, "status": "failed", "params": checked[idx], "records": {},
                                    "error": f"{type(exc).__name__}: {exc}", "duration_s": 0.0})
                bar.update(1)
            bar.close()
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
        results.sort(key=lambda r: next((i for i, p in enumerate(checked) if p == r["params"]), 0))
        result = Sweep(parent.id, nb.name, grid, results, time.time() - t0, metric, mode,
                       scheduler or "LocalCluster", n_workers)
        best = result.best
        parent.log_metric("runs", len(results))
        parent.log_metric("failed", len(result.failed))
        if best:
            parent.set_tag("best_run", best["run_id"])
    return result
