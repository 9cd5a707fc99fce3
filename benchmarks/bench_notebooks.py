"""Notebooks: per-notebook overhead of `run_notebook` (tracked run, parameter check, artifact) vs bare
`papermill.execute_notebook` on the same trivial notebook (target < 10% more), and a sweep of 8 notebooks
on a Dask LocalCluster with 2 workers vs running them one after another (target >= 1.7x on 2 cores)."""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

from .common import Row


def _make(path: Path, work_s: float) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    p = nbformat.v4.new_code_cell(f"seed = 0\nwork_s = {work_s}")
    p.metadata["tags"] = ["parameters"]
    body = ("import time, llmops_nb\n"
            "t = time.process_time()\nx = 0\n"
            "while time.process_time() - t < work_s:\n    x += 1\n"  # CPU-bound work, like a real notebook
            "llmops_nb.record('seed_out', seed)")
    nb.cells = [p, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))
    return path


def run(quick: bool = False):
    import papermill

    import llmops_nb as L

    tmp = Path(tempfile.mkdtemp(prefix="bench-nb-"))
    trivial = _make(tmp / "trivial.ipynb", 0.0)
    reps = 3 if quick else 7
    bare, ours = [], []
    for i in range(reps):  # interleaved, so drift hits both alike
        t = time.perf_counter()
        papermill.execute_notebook(str(trivial), str(tmp / f"bare-{i}.ipynb"), parameters={"seed": i},
                                   kernel_name="python3", language="python", progress_bar=False)
        bare.append(time.perf_counter() - t)
        t = time.perf_counter()
        res = L.run_notebook(trivial, {"seed": i}, progress=False)
        ours.append(time.perf_counter() - t)
        assert res.ok and res.records["seed_out"] == i
    b, o = statistics.median(bare), statistics.median(ours)
    rows = [Row("run one trivial notebook", "papermill.execute_notebook", b, o, "s", higher_is_better=False,
                target="< 10% more", note=f"{(o / b - 1) * 100:+.1f}% ({(o - b) * 1e3:+.0f} ms)")]

    n, work = (4, 2.0) if quick else (8, 6.0)
    busy = _make(tmp / "busy.ipynb", work)
    t = time.perf_counter()
    for i in range(n):
        assert L.run_notebook(busy, {"seed": i}, progress=False).ok
    seq = time.perf_counter() - t
    t = time.perf_counter()
    sw = L.sweep(busy, {"seed": list(range(n))}, workers=2)
    par = time.perf_counter() - t
    assert not sw.failed
    rows.append(Row(f"sweep of {n} notebooks ({work:.0f}s CPU each), 2 workers", "sequential run_notebook",
                    seq, par, "s", higher_is_better=False, target=">= 1.7x",
                    note="includes LocalCluster start-up (workers forked on Linux)"))
    return rows
