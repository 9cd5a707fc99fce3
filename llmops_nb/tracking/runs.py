"""Run tracking, the functions: `start_run`, `active_run`, `record`, `get_run`, `runs`, and `query_runs` (one
page of runs, filtered and sorted, for the JupyterLab panel's REST API).

`Run` (run.py) holds what one run logged; `RunsTable` (table.py) shows many; liveness.py marks the runs of
killed processes as crashed when a workspace opens.
"""
from __future__ import annotations

import atexit
import json
import os
import re
import socket
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from ..checks import whole_number
from ..display import finite
from ..errors import InputError, not_found
from ..seeding import current_seed, on_seed, seed as seed_everything
from ..workspace import workspace
from ..workspace.processes import start_token
from .environment import environment
from .liveness import reap_crashed_runs
from .run import Run, any_open, check_key, decode, innermost_open, push_open
from .table import RunsTable

RUN_ENV_VAR = "LLMOPS_RUN_ID"  # set by run_notebook so a child kernel's record() lands on the parent's run
STATUSES = ("running", "finished", "failed", "interrupted", "crashed")

_auto_run: Optional[Run] = None

def start_run(name: str = "run", params: Optional[Dict[str, Any]] = None, *, tags: Optional[Dict[str, Any]] = None,
              kind: str = "run", seed: Optional[int] = None, ws=None) -> Run:
    """Start a tracked run; use it as a context manager so it ends as finished, failed or interrupted."""
    ws = ws if ws is not None else workspace()
    if seed is not None:
        seed_everything(seed)
    run_id = uuid.uuid4().hex[:12]
    parent = active_run()
    pid = os.getpid()
    ws.db.execute(
        "INSERT INTO runs (id, name, kind, status, started_at, pid, host, proc_token, parent_id, env) "
        "VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)",
        (run_id, str(name), kind, time.time(), pid, socket.gethostname(), start_token(pid),
         parent.id if parent is not None else None,
         json.dumps(environment(seed if seed is not None else current_seed()), default=str)))
    run = Run(run_id, ws, owned=True)
    if params:
        run.log_params(params)
    if seed is not None:
        run.log_param("seed", seed)
    for k, v in (tags or {}).items():
        run.set_tag(k, v)
    push_open(run)
    return run


def _forget_auto_run_after_fork() -> None:
    global _auto_run
    _auto_run = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_auto_run_after_fork)

_checked_env_runs: set = set()


def active_run() -> Optional[Run]:
    """The innermost open run of this process, else the run named by LLMOPS_RUN_ID (set by run_notebook)."""
    run_id = os.environ.get(RUN_ENV_VAR)
    if not run_id and _auto_run is None and not any_open():
        return None  # nothing can be active: do not open a workspace for it (seed() in a fresh process stays free)
    ws = workspace()
    run = innermost_open(ws.path)
    if run is not None:
        return run
    if run_id:
        return _env_run(ws, run_id)
    return _auto_run if _auto_run is not None and _auto_run._ws.path == ws.path else None


def _env_run(ws, run_id: str) -> Run:
    """The run LLMOPS_RUN_ID names, checked once per workspace: a stale or mistyped id is one clear line,
    not a foreign-key error at the first write."""
    key = (str(ws.path), run_id)
    if key not in _checked_env_runs:
        if ws.db.execute("SELECT 1 FROM runs WHERE id=?", (run_id,)).fetchone() is None:
            raise InputError(f"{RUN_ENV_VAR}={run_id!r} names no run in the workspace {ws.path} (run_notebook sets it "
                             f"for the kernels it starts); unset {RUN_ENV_VAR}, or use the workspace that holds the run")
        _checked_env_runs.add(key)
    return Run(run_id, ws)


@on_seed
def _log_seed(value: int) -> None:
    run = active_run()
    if run is not None:
        run.log_param("seed", value)


def record(name: str, value: Any) -> Any:
    """Store `value` under `name` on the current run (one is started for this process if none is open).

    Inside a notebook it is also displayed with the mime type application/vnd.llmops.record+json, so a
    papermill output notebook carries it.
    """
    global _auto_run
    run = active_run()
    if run is None:
        run = _auto_run = start_run(_default_run_name(), kind="auto")
        atexit.register(_finish_auto_run, run)
    run.record(name, value)
    _display_record(run.id, name, value)
    return value


def _finish_auto_run(run: Run) -> None:
    try:
        run.end("finished")
    except Exception:  # noqa: BLE001 - at interpreter exit the workspace may already be gone; nothing to tell
        pass


def _default_run_name() -> str:
    import sys

    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return Path(path).stem if path else "notebook"


MIME_RECORD = "application/vnd.llmops.record+json"


def _display_record(run_id: str, name: str, value: Any) -> None:
    """Put the value in the notebook's outputs when running in a kernel. IPython puts `get_ipython` in
    builtins while it runs a cell, so the core reaches the kernel without importing IPython."""
    import builtins

    get_ipython = getattr(builtins, "get_ipython", None)
    shell = get_ipython() if get_ipython is not None else None
    if shell is None or not hasattr(shell, "kernel") or getattr(shell, "display_pub", None) is None:
        return
    shell.display_pub.publish(data={MIME_RECORD: {"run_id": run_id, "name": name, "value": finite(value)},
                                    "text/plain": f"{name} = {value!r}"}, metadata={})


def get_run(run_id: str, ws=None) -> Run:
    """A run by id or unique id prefix."""
    ws = ws if ws is not None else workspace()
    run_id = str(run_id).strip()
    prefix = run_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")  # literal, not LIKE wildcards
    rows = ws.db.execute("SELECT id FROM runs WHERE id LIKE ? || '%' ESCAPE '\\' LIMIT 3", (prefix,)).fetchall()
    if len(rows) == 1 and run_id:
        return Run(rows[0]["id"], ws)
    if len(rows) > 1 and run_id:
        raise InputError(f"run id '{run_id}' is ambiguous ({', '.join(r['id'] for r in rows)}, ...); give more characters")
    if not run_id:
        raise InputError("give a run id (or a unique prefix of one); 'llmops runs' lists them")
    recent = [r["id"] for r in ws.db.execute("SELECT id FROM runs ORDER BY started_at DESC LIMIT 200")]
    raise not_found("run", run_id, recent, hint="" if recent else "no runs yet; start one with start_run()")


def runs(last: Optional[int] = None, *, name: Optional[str] = None, status: Optional[str] = None,
         kind: Optional[str] = None, ws=None) -> RunsTable:
    """Runs, newest first, with their params and latest metrics."""
    ws = ws if ws is not None else workspace()
    if last is not None:
        last = whole_number("--last", last, minimum=1, hint="it is how many of the newest runs to show")
    if status is not None and status not in STATUSES:
        raise InputError(f"unknown run status '{status}'; use one of {', '.join(STATUSES)}")
    where, args = [], []
    for col, val in (("name", name), ("status", status), ("kind", kind)):
        if val is not None:
            where.append(f"{col} = ?")
            args.append(str(val))
    selected = "SELECT id FROM runs" + (" WHERE " + " AND ".join(where) if where else "") + \
        " ORDER BY started_at DESC, rowid DESC" + (f" LIMIT {int(last)}" if last is not None else "")
    rows = ws.db.execute(f"SELECT id, name, kind, status, started_at, ended_at FROM runs WHERE id IN ({selected}) "
                         "ORDER BY started_at DESC, rowid DESC", args).fetchall()
    if not rows:
        return RunsTable([])
    scope = ("", []) if last is None and not where else (f" WHERE run_id IN ({selected})", args)
    params, metrics = _params_and_metrics(ws.db, *scope)
    now = time.time()
    out = []
    for run_id, rname, rkind, rstatus, started, ended in rows:
        end = ended if ended is not None else (now if rstatus == "running" else None)
        out.append({"id": run_id, "name": rname, "kind": rkind, "status": rstatus, "started_at": started,
                    "ended_at": ended, "duration_s": None if end is None else end - started,
                    "params": params.get(run_id, {}), "metrics": metrics.get(run_id, {})})
    return RunsTable(out)


def _params_and_metrics(db, scope: str, args: list):
    """Params and latest metric values of the runs `scope` (a WHERE clause on run_id) selects."""
    params: Dict[str, dict] = {}
    metrics: Dict[str, dict] = {}
    for run_id, key, value in db.execute(f"SELECT run_id, key, value FROM params{scope}", args):
        params.setdefault(run_id, {})[key] = json.loads(value) if value is not None else None
    for run_id, key, value in db.execute(
            f"SELECT run_id, key, value FROM metrics WHERE id IN (SELECT max(id) FROM metrics{scope} GROUP BY run_id, key)",
            args):
        metrics.setdefault(run_id, {})[key] = value
    return params, metrics


RUN_ID = re.compile(r"^[0-9a-fA-F]{1,32}$")
MAX_PAGE = 500
# what a page may be sorted by: request text only picks a key; the SQL is always one of these
SORT_KEYS = {"started_at": "started_at", "name": "name", "kind": "kind", "status": "status",
             "duration_s": "(coalesce(ended_at, CASE WHEN status = 'running' THEN ? END) - started_at)"}


def check_run_id(run_id: Any) -> str:
    """`run_id` (stripped, lower case) if it can be a run id or a prefix of one (hex digits, as start_run makes
    them), else one InputError."""
    text = run_id.strip() if isinstance(run_id, str) else ""
    if not RUN_ID.match(text):
        shown = repr(run_id if not isinstance(run_id, str) or len(run_id) <= 40 else run_id[:37] + "...")
        raise InputError(f"invalid run id {shown}: a run id is 12 hexadecimal characters (0-9, a-f), or a unique "
                         "prefix of one; 'llmops runs' lists them")
    return text.lower()


def _tag_filter(tag: str):
    """A WHERE clause (and its args) for one tag filter: 'KEY' (the run has the tag) or 'KEY=VALUE' (its value
    is VALUE as text, or the JSON literal VALUE, so 'epochs=3' and 'flag=true' match numbers and booleans)."""
    key, eq, value = str(tag).partition("=")
    key = check_key("tag", key.strip())
    if not eq:
        return "EXISTS (SELECT 1 FROM tags t WHERE t.run_id = runs.id AND t.key = ?)", [key]
    return ("EXISTS (SELECT 1 FROM tags t WHERE t.run_id = runs.id AND t.key = ? AND t.value IN (?, ?))",
            [key, json.dumps(value), value])


def _order_by(sort: Union[str, Sequence[str]], now: float):
    """ORDER BY text and its args for sort keys like '-started_at' or 'name,-duration_s'."""
    keys = [k.strip() for k in (sort.split(",") if isinstance(sort, str) else sort) if str(k).strip()]
    parts, args = [], []
    for key in keys or ["-started_at"]:
        desc = key.startswith("-")
        col = SORT_KEYS.get(key.lstrip("-+"))
        if col is None:
            raise InputError(f"cannot sort runs by '{key}'; use one of {', '.join(SORT_KEYS)} "
                             "(with '-' in front for descending)")
        parts.append(f"{col} IS NULL, {col} {'DESC' if desc else 'ASC'}")  # missing values last either way
        args += [now, now] if "?" in col else []
    return ", ".join(parts + ["started_at DESC", "rowid DESC"]), args


def query_runs(*, name: Optional[str] = None, status: Optional[str] = None, kind: Optional[str] = None,
               tags: Union[str, Sequence[str]] = (), sort: Union[str, Sequence[str]] = "-started_at", limit: int = 50,
               offset: int = 0, ws=None) -> Dict[str, Any]:
    """One page of runs: `{"version": 1, "total", "offset", "limit", "runs": [row]}`, each row `{"id", "name",
    "kind", "status", "started_at", "ended_at", "duration_s", "params", "metrics" (latest values), "tags",
    "parent_id"}`. Filters are exact; `tags` are 'KEY' or 'KEY=VALUE' (all must hold); `sort` keys are
    SORT_KEYS, '-' in front for descending; `total` counts every run the filters select."""
    ws = ws if ws is not None else workspace()
    limit = whole_number("limit", limit, minimum=1, maximum=MAX_PAGE, hint="it is how many runs one page holds")
    offset = whole_number("offset", offset, minimum=0, hint="it is how many runs to skip")
    if status is not None and status not in STATUSES:
        raise InputError(f"unknown run status '{status}'; use one of {', '.join(STATUSES)}")
    where: List[str] = []
    args: List[Any] = []
    for col, val in (("name", name), ("status", status), ("kind", kind)):
        if val is not None:
            where.append(f"{col} = ?")
            args.append(str(val))
    for tag in [tags] if isinstance(tags, str) else tags:
        clause, targs = _tag_filter(tag)
        where.append(clause)
        args += targs
    now = time.time()
    order, order_args = _order_by(sort, now)
    cond = " WHERE " + " AND ".join(where) if where else ""
    total = ws.db.execute(f"SELECT count(*) FROM runs{cond}", args).fetchone()[0]
    rows = ws.db.execute(f"SELECT id, name, kind, status, started_at, ended_at, parent_id FROM runs{cond} "
                         f"ORDER BY {order} LIMIT ? OFFSET ?", [*args, *order_args, limit, offset]).fetchall()
    ids = [r["id"] for r in rows]
    scope = (f" WHERE run_id IN ({','.join('?' * len(ids))})", ids)
    params, metrics = _params_and_metrics(ws.db, *scope) if ids else ({}, {})
    tag_values: Dict[str, dict] = {}
    for run_id, key, value in (ws.db.execute(f"SELECT run_id, key, value FROM tags{scope[0]} ORDER BY key", ids)
                               if ids else ()):
        tag_values.setdefault(run_id, {})[key] = decode(value)
    out = []
    for r in rows:
        end = r["ended_at"] if r["ended_at"] is not None else (now if r["status"] == "running" else None)
        out.append({"id": r["id"], "name": r["name"], "kind": r["kind"], "status": r["status"],
                    "started_at": r["started_at"], "ended_at": r["ended_at"],
                    "duration_s": None if end is None else end - r["started_at"], "params": params.get(r["id"], {}),
                    "metrics": metrics.get(r["id"], {}), "tags": tag_values.get(r["id"], {}),
                    "parent_id": r["parent_id"]})
    return {"version": 1, "total": total, "offset": offset, "limit": limit, "runs": finite(out)}


__all__ = ["MAX_PAGE", "MIME_RECORD", "RUN_ENV_VAR", "SORT_KEYS", "STATUSES", "Run", "RunsTable", "active_run",
           "check_run_id", "get_run", "query_runs", "reap_crashed_runs", "record", "runs", "start_run"]
