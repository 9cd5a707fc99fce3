"""Foundation: what `%llmops runs` adds over the core `runs()` call on a 10,000-run workspace (target: < 5 ms),
and the time to open a workspace (connect + migrate check + crash reaping)."""
from __future__ import annotations

import json
import time
import uuid

from .common import Row, timeit


def _paired(a, b, repeat: int):
    """Medians of a() and b() timed alternately (order flipped each round), each after a full collection
    with the collector paused: timed in blocks, a gen-2 collection of 10,000 runs' dicts landing in one
    block or the other swung the difference by +-80 ms."""
    import gc
    import statistics

    ta, tb = [], []
    a(), b()  # warm up
    for i in range(repeat):
        for fn, out in (((a, ta), (b, tb)) if i % 2 == 0 else ((b, tb), (a, ta))):
            gc.collect()
            gc.disable()
            try:
                t = time.perf_counter()
                fn()
                out.append(time.perf_counter() - t)
            finally:
                gc.enable()
    return statistics.median(ta), statistics.median(tb)


def _fill(ws, n: int) -> None:
    now = time.time()
    db = ws.db
    db.execute("BEGIN")
    for i in range(n):
        rid = uuid.uuid4().hex[:12]
        db.execute("INSERT INTO runs (id, name, kind, status, started_at, ended_at, env) VALUES (?,?,?,?,?,?,?)",
                   (rid, f"run-{i % 50}", "run", "finished", now - n + i, now - n + i + 1, json.dumps({})))
        db.execute("INSERT INTO params (run_id, key, value) VALUES (?, 'lr', ?)", (rid, json.dumps(1e-4 * (i % 7))))
        db.execute("INSERT INTO metrics (run_id, key, value, step, ts) VALUES (?, 'f1', ?, 0, ?)", (rid, i / n, now))
    db.execute("COMMIT")


def run(quick: bool = False):
    from IPython.testing.globalipapp import start_ipython

    import llmops_nb as L
    from llmops_nb.workspace import Workspace

    n = 2000 if quick else 10_000
    ws = L.workspace()
    _fill(ws, n)
    shell = start_ipython()
    shell.run_line_magic("load_ext", "llmops_nb")
    assert len(shell.run_line_magic("llmops", "runs")) == n
    core, magic = _paired(lambda: L.runs(), lambda: shell.run_line_magic("llmops", "runs"), 15)
    added_ms = (magic - core) * 1e3
    rows = [Row(f"`%llmops runs` on {n:,} runs", "core runs()", core * 1e3, magic * 1e3, "ms/call",
                higher_is_better=False, target="magic adds < 5 ms",
                note=f"magic adds {added_ms:.2f} ms")]
    core_last, magic_last = _paired(lambda: L.runs(last=20), lambda: shell.run_line_magic("llmops", "runs --last 20"), 30)
    rows.append(Row("`%llmops runs --last 20`", "core runs(last=20)", core_last * 1e3, magic_last * 1e3, "ms/call",
                    higher_is_better=False, target="magic adds < 5 ms",
                    note=f"magic adds {(magic_last - core_last) * 1e3:.2f} ms"))

    path = ws.path

    def open_ws():
        w = Workspace(path)
        w.close()

    import sqlite3

    def bare_open():
        c = sqlite3.connect(str(path / "llmops.db"))
        c.execute("SELECT count(*) FROM sqlite_master").fetchone()
        c.close()

    t_open = timeit(open_ws, repeat=20)
    t_bare = timeit(bare_open, repeat=20)
    rows.append(Row("open workspace (WAL, migrations check, crash reaping)", "bare sqlite3.connect + query",
                    t_bare * 1e3, t_open * 1e3, "ms", higher_is_better=False,
                    note=f"{t_open * 1e3:.2f} ms to open a {n:,}-run workspace"))
    return rows
