"""`Run`: one tracked run and what it logged (params, metrics with steps, tags, artifacts, recorded values).

Each write is one autocommitted statement, so a crash loses at most the write in flight; WAL and the
busy timeout let many processes (parallel notebooks) log to one workspace at once.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
import threading
import time
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

from ..display import STYLE, esc, finite, fmt_duration, fmt_time, html_table, jsonable
from ..errors import InputError, LlmopsWarning, not_found
from ..workspace import atomic_copy, atomic_dir, check_name, workspace
from ..workspace.names import MAX_NAME

MAX_KEY = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_key(kind: str, key: Any) -> str:
    """A metric, param, tag or record name: any text a table can show (spaces, '/', ':' are fine), but not empty,
    not over MAX_KEY characters and without control characters."""
    text = str(key)
    if not text.strip():
        raise InputError(f"a {kind} needs a name (got {key!r}); e.g. 'accuracy' or 'loss/train'")
    if len(text) > MAX_KEY:
        raise InputError(f"{kind} name '{text[:37]}...' is {len(text)} characters long; use at most {MAX_KEY}")
    if _CONTROL.search(text):
        raise InputError(f"{kind} name {text!r} holds a control character (newline, tab, ...); use plain text")
    return text


def encode(value: Any, what: str) -> str:
    """JSON for a stored value. NaN becomes null (missing); +-inf is kept (Python's JSON reads it back)."""
    try:
        return json.dumps(jsonable(value), allow_nan=True)
    except (TypeError, ValueError):
        raise InputError(
            f"{what}: a value of type {type(value).__name__} cannot be stored; "
            "pass a number, string, bool, list or dict (convert with float(), str() or .tolist())") from None


_warned_nan: set = set()
_warned_lock = threading.Lock()


def _has_nan(value: Any) -> bool:
    if isinstance(value, float):
        return math.isnan(value)
    if _is_np_number(value) or (type(value).__module__ == "numpy" and hasattr(value, "dtype")):
        return value.dtype.kind == "f" and bool(__import__("numpy").isnan(value).any())
    if isinstance(value, (list, tuple)):
        return any(_has_nan(v) for v in value[:10_000])
    if isinstance(value, dict):
        return any(_has_nan(v) for v in list(value.values())[:10_000])
    return False


def _say_nan_once(name: str, what: str, value: Any) -> None:
    """NaN has no JSON form: it is stored as null. Say so, once per name and process."""
    if not _has_nan(value):
        return
    with _warned_lock:
        if name in _warned_nan:
            return
        _warned_nan.add(name)
    warnings.warn(f"{what}: NaN is stored as null (a missing value)", LlmopsWarning, stacklevel=4)


# the runs this process opened and has not ended, innermost last
_open: List["Run"] = []
_open_lock = threading.Lock()


def push_open(run: "Run") -> None:
    with _open_lock:
        _open.append(run)


def any_open() -> bool:
    return bool(_open)


def innermost_open(workspace_path: Path) -> Optional["Run"]:
    """The innermost run this process opened in the workspace at `workspace_path` and has not ended (runs
    opened in another workspace before a switch are not where new work belongs)."""
    with _open_lock:
        return next((r for r in reversed(_open) if r._ws.path == workspace_path), None)


def _forget_open_after_fork() -> None:
    """A forked child (a Dask worker of `sweep`) starts with no open runs of its own."""
    global _open_lock
    _open.clear()
    _open_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_open_after_fork)


def decode(text: Optional[str]) -> Any:
    return None if text is None else json.loads(text)


class Run:
    """A tracked run. Use as a context manager (`with start_run(...) as run:`) or read one with get_run(id)."""

    def __init__(self, run_id: str, ws=None, *, owned: bool = False):
        self.id = run_id
        self._ws = ws if ws is not None else workspace()
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
        return decode(self._row()["env"]) or {}

    @property
    def params(self) -> Dict[str, Any]:
        return {r["key"]: decode(r["value"]) for r in
                self._ws.db.execute("SELECT key, value FROM params WHERE run_id=? ORDER BY key", (self.id,))}

    @property
    def tags(self) -> Dict[str, Any]:
        return {r["key"]: decode(r["value"]) for r in
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
        return {r["name"]: decode(r["value"]) for r in rows}

    @property
    def artifacts(self) -> Dict[str, Path]:
        return {r["name"]: self._ws.path / r["path"] for r in self._ws.db.execute(
            "SELECT name, path FROM artifacts WHERE run_id=? ORDER BY name", (self.id,))}

    # ---- writing ---------------------------------------------------------------------------
    def log_param(self, key: str, value: Any) -> None:
        self._ws.db.execute("INSERT OR REPLACE INTO params (run_id, key, value) VALUES (?, ?, ?)",
                            (self.id, check_key("param", key), encode(value, f"param '{key}'")))

    def log_params(self, params: Dict[str, Any]) -> None:
        rows = [(self.id, check_key("param", k), encode(v, f"param '{k}'")) for k, v in (params or {}).items()]
        self._ws.db.executemany("INSERT OR REPLACE INTO params (run_id, key, value) VALUES (?, ?, ?)", rows)

    def log_metric(self, key: str, value: float, step: Optional[int] = None) -> None:
        key = check_key("metric", key)
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise InputError(f"metric '{key}': {value!r} is not a number; use record() for other values") from None
        if math.isnan(value):
            _say_nan_once(str(key), f"metric '{key}'", value)
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
                            (self.id, check_key("tag", key), encode(value, f"tag '{key}'")))

    def log_artifact(self, path: Union[str, os.PathLike], name: Optional[str] = None) -> Path:
        """Copy a file or folder into the workspace (atomically) and attach it to this run. `name` (default: the
        file's own name, made safe) is a plain name, never a path: it cannot place the copy elsewhere."""
        src = Path(path)
        if not src.exists():
            raise InputError(f"artifact {src} does not exist; pass the path of a file or folder")
        if name is None:
            name = re.sub(r"[^A-Za-z0-9_.\-]+", "-", src.name).lstrip("-.")[:MAX_NAME] or "artifact"
        name = check_name("artifact", name)
        rel = Path("artifacts") / self.id / name
        dest = self._ws.path / rel
        digest = hashlib.sha256()
        if src.is_dir():
            with atomic_dir(dest) as tmp:
                shutil.copytree(src, tmp, dirs_exist_ok=True)
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
        name = check_key("record", name)
        encoded = encode(value, f"record('{name}')")
        _say_nan_once(str(name), f"record('{name}')", value)
        self._ws.db.execute("INSERT INTO records (run_id, name, value, ts) VALUES (?, ?, ?, ?)",
                            (self.id, str(name), encoded, time.time()))
        if isinstance(value, (int, float)) and not isinstance(value, bool) or _is_np_number(value):
            self.log_metric(name, float(value))
        return value

    def end(self, status: str = "finished", error: Optional[str] = None) -> None:
        self._ws.db.execute("UPDATE runs SET status=?, ended_at=?, error=? WHERE id=? AND status='running'",
                            (status, time.time(), error, self.id))
        with _open_lock:
            if self in _open:
                _open.remove(self)

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
                "env": decode(row["env"])}

    def detail(self) -> dict:
        """Everything the run logged, as the JupyterLab contract's RunDetail: the runs-table row (id, name,
        kind, status, times, params, latest metrics, tags, parent_id) plus `history` ({metric: [[step, value,
        time], ...]}), `artifacts` ({name: path relative to the workspace}), `environment`, `records`, `error`,
        `notebook` (the output notebook's path relative to the workspace, or None) and `comparison` (whether
        it holds a saved comparison)."""
        row = self._row()
        history: Dict[str, list] = {}
        for r in self._ws.db.execute("SELECT key, step, value, ts FROM metrics WHERE run_id=? ORDER BY key, step, id",
                                     (self.id,)):
            history.setdefault(r["key"], []).append([r["step"], r["value"], r["ts"]])
        artifacts = {r["name"]: _relative(r["path"], self._ws.path) for r in self._ws.db.execute(
            "SELECT name, path FROM artifacts WHERE run_id=? ORDER BY name", (self.id,))}
        notebook = next((p for n, p in artifacts.items() if n.startswith("output-") and n.endswith(".ipynb")), None)
        return finite({
            "version": 1, "id": self.id, "name": row["name"], "kind": row["kind"], "status": row["status"],
            "started_at": row["started_at"], "ended_at": row["ended_at"], "duration_s": self.duration,
            "params": self.params, "metrics": self.metrics, "tags": self.tags, "parent_id": row["parent_id"],
            "history": history, "artifacts": artifacts, "environment": decode(row["env"]) or {},
            "records": self.records, "error": row["error"], "notebook": notebook,
            "comparison": "comparison.json" in artifacts})

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


def _relative(stored: str, root: Path) -> Optional[str]:
    """An artifact's stored path as a path relative to the workspace (None if it lies outside it)."""
    path = Path(stored)
    if not path.is_absolute():
        return path.as_posix()
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return None
