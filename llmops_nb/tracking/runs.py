"""Run tracking: params, metrics (with steps), tags, artifacts, recorded values, environment, status.

Each write is one autocommitted statement, so a crash loses at most the write in flight; WAL and the
busy timeout let many processes (parallel notebooks) log to one workspace at once.
"""
from __future__ import annotations

import atexit
import hashlib
import json
import math
import os
import shutil
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Union

from ..display import esc, fmt_duration, fmt_time, html_table, jsonable, STYLE, text_table
from ..errors import InputError, not_found
from ..seeding import on_seed
from ..workspace import on_open

RUN_ENV_VAR = "LLMOPS_RUN_ID"  # set by run_notebook so a child kernel's record() lands on the parent's run

_stack: List["Run"] = []
_stack_lock = threading.Lock()
_auto_run: Optional["Run"] = None


def _ws(ws=None):
    from ..workspace import workspace

    return ws if ws is not None else workspace()


def _proc_token(pid: int) -> Optional[str]:
    """Process start time from /proc, so a reused pid is not mistaken for the run's process."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            data = fh.read().decode(errors="replace")
        return data.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _alive(pid: int, token: Optional[str]) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if token is not None:
        current = _proc_token(pid)
        if current is not None and current != token:
            return False
    return True


@on_open
def reap_crashed_runs(conn) -> int:
    """Mark 'running' runs whose process on this host is gone as 'crashed'. Returns how many."""
    host = socket.gethostname()
    rows = conn.execute("SELECT id, pid, host, proc_token FROM runs WHERE status = 'running'").fetchall()
    dead = [r["id"] for r in rows if r["host"] == host and r["pid"] and not _alive(r["pid"], r["proc_token"])]
    for run_id in dead:
        last = conn.execute(
            "SELECT max(ts) FROM (SELECT max(ts) ts FROM metrics WHERE run_id=? UNION ALL "
            "SELECT max(ts) FROM records WHERE run_id=?)", (run_id, run_id)).fetchone()[0]
        conn.execute("UPDATE runs SET status='crashed', ended_at=?, error=? WHERE id=? AND status='running'",
                     (last or time.time(), "the process ended without closing the run (killed or crashed)", run_id))
    return len(dead)


def _encode(value: Any, what: str) -> str:
    try:
        return json.dumps(jsonable(value), allow_nan=False)
    except (TypeError, ValueError):
        raise InputError(
            f"{what}: a value of type {type(value).__name__} cannot be stored; "
            "pass a number, string, bool, list or dict (convert with float(), str() or .tolist())") from None


def _decode(text: Optional[str]) -> Any:
    return None if text is None else json.loads(text)


class Run:
    """A tracked run. Use as a context manager (`with start_run(...) as run:`) or read one with get_run(id)."""

    def __init__(self, run_id: str, ws=None, *, owned: bool = False):
        self.id = run_id
        self._ws = _ws(ws)
        self._owned = owned
        self._steps: Dict[str, int] = {}

    # ---- reading ---------------------------------------------------------------------------
    def _row(self):
        row = self._ws.db.execute("SELECT * FROM runs WHERE id = ?", (self.id,)).fetchone()
        if row is None:
            raise not_found("run", self.id, [])
        return row

    @property
    def name(self) -> str:
        return self._row()["name"]

    @property
    def kind(self) -> str:
        return self._row()["kind"]

    @property
    def status(self) -> str:
        return self._row()["status"]

    @property
    def started_at(self) -> float:
        return self._row()["started_at"]

    @property
    def ended_at(self) -> Optional[float]:
        return self._row()["ended_at"]

    @property
    def duration(self) -> Optional[float]:
        row = self._row()
        end = row["ended_at"] or (time.time() if row["status"] == "running" else None)
        return None if end is None else end - row["started_at"]

    @property
    def error(self) -> Optional[str]:
        return self._row()["error"]

    @property
    def env(self) -> dict:
        return _decode(self._row()["env"]) or {}

    @property
    def params(self) -> Dict[str, Any]:
        return {r["key"]: _decode(r["value"]) for r in
                self._ws.db.execute("SELECT key, value FROM params WHERE run_id=? ORDER BY key", (self.id,))}

    @property
    def tags(self) -> Dict[str, Any]:
        return {r["key"]: _decode(r["value"]) for r in
                self._ws.db.execute("SELECT key, value FROM tags WHERE run_id=? ORDER BY key", (self.id,))}

    @property
    def metrics(self) -> Dict[str, float]:
        """Latest value of each metric."""
        rows = self._ws.db.execute(
            "SELECT key, value FROM metrics WHERE id IN (SELECT max(id) FROM metrics WHERE run_id=? GROUP BY key) "
            "ORDER BY key", (self.id,))
        return {r["key"]: r["value"] for r in rows}

    def history(self, key: str) -> List[tuple]:
        """[(step, value, timestamp), ...] of one metric."""
        return [(r["step"], r["value"], r["ts"]) for r in self._ws.db.execute(
            "SELECT step, value, ts FROM metrics WHERE run_id=? AND key=? ORDER BY step, id", (self.id, key))]

    @property
    def records(self) -> Dict[str, Any]:
        """Latest value of each `record()`ed name."""
        rows = self._ws.db.execute(
            "SELECT name, value FROM records WHERE id IN (SELECT max(id) FROM records WHERE run_id=? GROUP BY name) "
            "ORDER BY name", (self.id,))
        return {r["name"]: _decode(r["value"]) for r in rows}

    @property
    def artifacts(self) -> Dict[str, Path]:
        return {r["name"]: self._ws.path / r["path"] for r in self._ws.db.execute(
            "SELECT name, path FROM artifacts WHERE run_id=? ORDER BY name", (self.id,))}

    # ---- writing ---------------------------------------------------------------------------
    def log_param(self, key: str, value: Any) -> None:
        self._ws.db.execute("INSERT OR REPLACE INTO params (run_id, key, value) VALUES (?, ?, ?)",
                            (self.id, str(key), _encode(value, f"param '{key}'")))

    def log_params(self, params: Dict[str, Any]) -> None:
        rows = [(self.id, str(k), _encode(v, f"param '{k}'")) for k, v in (params or {}).items()]
        self._ws.db.executemany("INSERT OR REPLACE INTO params (run_id, key, value) VALUES (?, ?, ?)", rows)

    def log_metric(self, key: str, value: float, step: Optional[int] = None) -> None:
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise InputError(f"metric '{key}': {value!r} is not a number; use record() for other values") from None
        if step is None:
            step = self._steps.get(key, -1) + 1
        self._steps[key] = max(step, self._steps.get(key, -1))
        self._ws.db.execute("INSERT INTO metrics (run_id, key, value, step, ts) VALUES (?, ?, ?, ?, ?)",
                            (self.id, str(key), None if math.isnan(value) else value, int(step), time.time()))

    def log_metrics(self, metrics: Dict[str, float], step: Optional[int] = None) -> None:
        for k, v in metrics.items():
            self.log_metric(k, v, step=step)

    def set_tag(self, key: str, value: Any = True) -> None:
        self._ws.db.execute("INSERT OR REPLACE INTO tags (run_id, key, value) VALUES (?, ?, ?)",
                            (self.id, str(key), _encode(value, f"tag '{key}'")))

    def log_artifact(self, path: Union[str, os.PathLike], name: Optional[str] = None) -> Path:
        """Copy a file or folder into the workspace (atomically) and attach it to this run."""
        from ..workspace import atomic_copy

        src = Path(path)
        if not src.exists():
            raise InputError(f"artifact {src} does not exist; pass the path of a file or folder")
        name = name or src.name
        rel = Path("artifacts") / self.id / name
        dest = self._ws.path / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        if src.is_dir():
            tmp = dest.with_name(f".{dest.name}.tmp-{os.getpid()}")
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.copytree(src, tmp)
            if dest.exists():
                shutil.rmtree(dest)
            os.replace(tmp, dest)
            size = sum(p.stat().st_size for p in dest.rglob("*") if p.is_file())
        else:
            atomic_copy(src, dest)
            with open(dest, "rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
            size = dest.stat().st_size
        self._ws.db.execute(
            "INSERT OR REPLACE INTO artifacts (run_id, name, path, size, sha256, created_at) VALUES (?,?,?,?,?,?)",
            (self.id, name, str(rel), size, digest.hexdigest() if src.is_file() else None, time.time()))
        return dest

    def record(self, name: str, value: Any) -> Any:
        """Store a named value on this run (numbers also become a metric)."""
        encoded = _encode(value, f"record('{name}')")
        self._ws.db.execute("INSERT INTO records (run_id, name, value, ts) VALUES (?, ?, ?, ?)",
                            (self.id, str(name), encoded, time.time()))
        if isinstance(value, (int, float)) and not isinstance(value, bool) or _is_np_number(value):
            self.log_metric(name, float(value))
        return value

    def end(self, status: str = "finished", error: Optional[str] = None) -> None:
        self._ws.db.execute("UPDATE runs SET status=?, ended_at=?, error=? WHERE id=? AND status='running'",
                            (status, time.time(), error, self.id))
        with _stack_lock:
            if self in _stack:
                _stack.remove(self)

    def __enter__(self) -> "Run":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.end("finished")
        elif issubclass(exc_type, KeyboardInterrupt):
            self.end("interrupted", "KeyboardInterrupt")
        else:
            self.end("failed", f"{exc_type.__name__}: {exc}")

    def __eq__(self, other) -> bool:
        return isinstance(other, Run) and other.id == self.id

    def __hash__(self) -> int:
        return hash(self.id)

    # ---- results protocol --------------------------------------------------------------------
    def to_dict(self) -> dict:
        row = self._row()
        return {"id": self.id, "name": row["name"], "kind": row["kind"], "status": row["status"],
                "started_at": row["started_at"], "ended_at": row["ended_at"], "duration_s": self.duration,
                "error": row["error"], "params": self.params, "metrics": self.metrics, "records": self.records,
                "tags": self.tags, "artifacts": {k: str(v) for k, v in self.artifacts.items()},
                "env": _decode(row["env"])}

    def __repr__(self) -> str:
        row = self._row()
        return f"Run(id={self.id!r}, name={row['name']!r}, status={row['status']!r})"

    def __str__(self) -> str:
        d = self.to_dict()
        lines = [f"run {d['id']}  {d['name']}  [{d['status']}]  started {fmt_time(d['started_at'])}"
                 f"  duration {fmt_duration(d['duration_s'])}"]
        if d["error"]:
            lines.append(f"error: {d['error']}")
        for section in ("params", "metrics", "records", "tags", "artifacts"):
            if d[section]:
                lines.append(f"{section}:")
                lines += [f"  {k} = {json.dumps(v, default=str) if not isinstance(v, str) else v}"
                          for k, v in d[section].items()]
        env = d["env"] or {}
        if env:
            pk = ", ".join(f"{k} {v}" for k, v in (env.get("packages") or {}).items() if v)
            lines.append(f"env: python {env.get('python')} on {env.get('device')}, git {env.get('git_commit')}, "
                         f"seed {env.get('seed')}; {pk}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        d = self.to_dict()
        head = (f"<div class='llmops-cap'>Run {esc(d['id'])} · {esc(d['name'])} · "
                f"<span class='llmops-status-{esc(d['status'])}'>{esc(d['status'])}</span> · "
                f"{esc(fmt_time(d['started_at']))} · {esc(fmt_duration(d['duration_s']))}</div>")
        parts = [STYLE, head]
        if d["error"]:
            parts.append(f"<pre>{esc(d['error'])}</pre>")
        for section in ("params", "metrics", "records", "tags", "artifacts"):
            if d[section]:
                rows = [{"name": k, "value": v} for k, v in d[section].items()]
                parts.append(html_table(rows, ["name", "value"], caption=section))
        return "".join(parts)


def _is_np_number(value: Any) -> bool:
    return type(value).__module__ == "numpy" and hasattr(value, "dtype") and getattr(value, "ndim", 1) == 0 \
        and value.dtype.kind in "iuf"


def start_run(name: str = "run", params: Optional[Dict[str, Any]] = None, *, tags: Optional[Dict[str, Any]] = None,
              kind: str = "run", seed: Optional[int] = None, ws=None) -> Run:
    """Start a tracked run; use it as a context manager so it ends as finished, failed or interrupted."""
    from ..seeding import current_seed, seed as _seed_all
    from .environment import environment

    ws = _ws(ws)
    if seed is not None:
        _seed_all(seed)
    run_id = uuid.uuid4().hex[:12]
    parent = active_run()
    pid = os.getpid()
    ws.db.execute(
        "INSERT INTO runs (id, name, kind, status, started_at, pid, host, proc_token, parent_id, env) "
        "VALUES (?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)",
        (run_id, str(name), kind, time.time(), pid, socket.gethostname(), _proc_token(pid),
         parent.id if parent is not None else None,
         json.dumps(environment(seed if seed is not None else current_seed()), default=str)))
    run = Run(run_id, ws, owned=True)
    if params:
        run.log_params(params)
    if seed is not None:
        run.log_param("seed", seed)
    for k, v in (tags or {}).items():
        run.set_tag(k, v)
    with _stack_lock:
        _stack.append(run)
    return run


def _forget_runs_after_fork() -> None:
    """A forked child (a Dask worker of `sweep`) starts with no open runs of its own."""
    global _auto_run, _stack_lock
    _stack.clear()
    _stack_lock = threading.Lock()
    _auto_run = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_runs_after_fork)


def active_run() -> Optional[Run]:
    """The innermost open run of this process, else the run named by LLMOPS_RUN_ID (set by run_notebook)."""
    with _stack_lock:
        if _stack:
            return _stack[-1]
    run_id = os.environ.get(RUN_ENV_VAR)
    if run_id:
        return Run(run_id)
    return _auto_run


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
        atexit.register(_finish_auto_run)
    run.record(name, value)
    _display_record(run.id, name, value)
    return value


def _finish_auto_run() -> None:
    if _auto_run is not None:
        try:
            _auto_run.end("finished")
        except Exception:
            pass


def _default_run_name() -> str:
    import sys

    main = sys.modules.get("__main__")
    path = getattr(main, "__file__", None)
    return Path(path).stem if path else "notebook"


MIME_RECORD = "application/vnd.llmops.record+json"


def _display_record(run_id: str, name: str, value: Any) -> None:
    import sys

    if "IPython" not in sys.modules:  # never import IPython from the core
        return
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None or not hasattr(shell, "kernel"):
        return
    from IPython.display import display

    display({MIME_RECORD: {"run_id": run_id, "name": name, "value": jsonable(value)},
             "text/plain": f"{name} = {value!r}"}, raw=True)


def get_run(run_id: str, ws=None) -> Run:
    """A run by id or unique id prefix."""
    ws = _ws(ws)
    run_id = str(run_id).strip()
    rows = ws.db.execute("SELECT id FROM runs WHERE id LIKE ? || '%' LIMIT 3", (run_id,)).fetchall()
    if len(rows) == 1 and run_id:
        return Run(rows[0]["id"], ws)
    if len(rows) > 1:
        raise InputError(f"run id '{run_id}' is ambiguous ({', '.join(r['id'] for r in rows)}, ...); give more characters")
    recent = [r["id"] for r in ws.db.execute("SELECT id FROM runs ORDER BY started_at DESC LIMIT 200")]
    raise not_found("run", run_id, recent, hint="" if recent else "no runs yet; start one with start_run()")


RUN_COLUMNS = ["id", "name", "kind", "status", "started", "duration", "params", "metrics"]


class RunsTable:
    """The runs of a workspace, newest first. `.to_pandas()` for analysis; renders as an HTML table."""

    def __init__(self, rows: List[dict]):
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict]:
        return iter(self.rows)

    def __getitem__(self, i):
        return self.rows[i]

    @property
    def ids(self) -> List[str]:
        return [r["id"] for r in self.rows]

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame(self.rows, columns=["id", "name", "kind", "status", "started_at", "ended_at",
                                                "duration_s", "params", "metrics"])

    def to_dict(self) -> list:
        return self.rows

    def _display_rows(self, limit: int) -> List[dict]:
        out = []
        for r in self.rows[:limit]:
            out.append({"id": r["id"], "name": r["name"], "kind": r["kind"], "status": r["status"],
                        "started": fmt_time(r["started_at"]), "duration": fmt_duration(r["duration_s"]),
                        "params": _compact(r["params"]), "metrics": _compact(r["metrics"])})
        return out

    def __str__(self) -> str:
        if not self.rows:
            return "no runs yet"
        text = text_table(self._display_rows(50), RUN_COLUMNS)
        if len(self.rows) > 50:
            text += f"\n... {len(self.rows) - 50} older runs (use --last N)"
        return text

    def __repr__(self) -> str:
        return f"RunsTable({len(self.rows)} runs)"

    def _repr_html_(self) -> str:
        if not self.rows:
            return "<div class='llmops-muted'>no runs yet</div>"
        return html_table(self._display_rows(50), RUN_COLUMNS, caption=f"{len(self.rows)} runs", total=len(self.rows))


def _compact(d: Dict[str, Any], limit: int = 4) -> str:
    items = [f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in list(d.items())[:limit]]
    return ", ".join(items) + (", …" if len(d) > limit else "")


def runs(last: Optional[int] = None, *, name: Optional[str] = None, status: Optional[str] = None,
         kind: Optional[str] = None, ws=None) -> RunsTable:
    """Runs, newest first, with their params and latest metrics."""
    ws = _ws(ws)
    if last is not None and int(last) <= 0:
        raise InputError(f"--last must be a positive number of runs, got {last}")
    where, args = [], []
    for col, val in (("name", name), ("status", status), ("kind", kind)):
        if val is not None:
            where.append(f"{col} = ?")
            args.append(val)
    sql = "SELECT id, name, kind, status, started_at, ended_at FROM runs"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY started_at DESC, rowid DESC"
    if last is not None:
        sql += f" LIMIT {int(last)}"
    db = ws.db
    rows = db.execute(sql, args).fetchall()
    if not rows:
        return RunsTable([])
    ids = [r[0] for r in rows]
    params: Dict[str, dict] = {}
    metrics: Dict[str, dict] = {}
    scope = "" if last is None and not where else f" WHERE run_id IN ({','.join('?' * len(ids))})"
    scope_args = [] if not scope else ids
    for run_id, key, value in db.execute(f"SELECT run_id, key, value FROM params{scope}", scope_args):
        params.setdefault(run_id, {})[key] = json.loads(value) if value is not None else None
    for run_id, key, value in db.execute(
            "SELECT run_id, key, value FROM metrics WHERE id IN (SELECT max(id) FROM metrics"
            f"{scope} GROUP BY run_id, key)", scope_args):
        metrics.setdefault(run_id, {})[key] = value
    now = time.time()
    out = []
    for run_id, rname, rkind, rstatus, started, ended in rows:
        end = ended if ended is not None else (now if rstatus == "running" else None)
        out.append({"id": run_id, "name": rname, "kind": rkind, "status": rstatus, "started_at": started,
                    "ended_at": ended, "duration_s": None if end is None else end - started,
                    "params": params.get(run_id, {}), "metrics": metrics.get(run_id, {})})
    return RunsTable(out)
