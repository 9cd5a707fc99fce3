"""nb run / nb sweep / nb reproduce."""
from __future__ import annotations

from ..commands import arg, command, group

group("nb", "run parameterized notebooks (papermill) as tracked runs, sweeps on Dask")


@command("nb run", "execute a notebook with papermill as a tracked run",
         arg("notebook", help="path to the .ipynb (its parameters come from the cell tagged 'parameters')"),
         arg("-p", "--param", nargs=2, action="append", metavar=("KEY", "VALUE"), default=[],
             help="set a parameter (repeatable); values are coerced to the declared type"),
         arg("--device", default="auto", choices=["auto", "cpu", "cuda"], help="device for the notebook"),
         arg("--kernel", default=None, help="kernel name (default python3)"),
         arg("--timeout", type=int, default=None, help="seconds per cell"),
         arg("--check-reproducible", action="store_true",
             help="run it a second time and report which recorded values changed"))
def _nb_run(ns, ctx):
    from ..batch.notebooks import reproduce, run_notebook

    params = dict(ns.param)
    result = run_notebook(ns.notebook, params, device=ns.device, kernel=ns.kernel, timeout=ns.timeout,
                          progress=not ctx.quiet)
    if ns.check_reproducible and result.ok:
        return reproduce(result.run_id, kernel=ns.kernel, timeout=ns.timeout, progress=not ctx.quiet)
    return result


@command("nb reproduce", "re-run a finished notebook run with the same parameters; report what changed",
         arg("run_id", help="id (or prefix) of a notebook run"))
def _nb_reproduce(ns, ctx):
    from ..batch.notebooks import reproduce

    return reproduce(ns.run_id, progress=not ctx.quiet)


@command("nb sweep", "run a notebook over a parameter grid in parallel (Dask LocalCluster or --scheduler)",
         arg("notebook"),
         arg("--grid", action="append", default=[], metavar="KEY=V1,V2", required=True,
             help="values for one parameter (repeat for a cartesian product)"),
         arg("-p", "--param", nargs=2, action="append", metavar=("KEY", "VALUE"), default=[],
             help="a fixed parameter for every run"),
         arg("--workers", type=int, default=None, help="local Dask workers (default: min(runs, cores))"),
         arg("--scheduler", default=None, metavar="ADDR", help="an existing Dask scheduler, e.g. tcp://host:8786"),
         arg("--device", default="auto", choices=["auto", "cpu", "cuda"]),
         arg("--metric", default=None, help="recorded value that picks the best run (default: the first numeric)"),
         arg("--mode", default="max", choices=["max", "min"]))
def _nb_sweep(ns, ctx):
    from ..batch.sweep import sweep

    return sweep(ns.notebook, ns.grid, workers=ns.workers, scheduler=ns.scheduler, parameters=dict(ns.param),
                 device=ns.device, metric=ns.metric, mode=ns.mode)
