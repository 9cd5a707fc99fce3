"""The workspace: one folder holding everything a user makes (database, snapshots, indexes, models)."""
from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Dict, Optional, Union

from ..config import load_settings
from ..errors import WorkspaceError
from .db import on_open, open_db, run_open_hooks, select_in, storage_error, storage_kind, transaction
from .files import atomic_copy, atomic_dir, atomic_path, atomic_write_bytes, atomic_write_text, clean_stale, recover_dir
from .names import check_name

DB_NAME = "llmops.db"
_SUBDIRS = ("datasets", "indexes", "models", "artifacts", "notebooks")


class Workspace:
    """A workspace folder and its database connection (one per process and thread)."""

    def __init__(self, path: Union[str, os.PathLike]):
        self.path = Path(path).expanduser().resolve()
        self._local = threading.local()
        self._prepare()
        self.db  # open now so a bad workspace fails here, not at first use
        self.clean_stale()

    def _prepare(self) -> None:
        p = self.path
        if p.exists() and not p.is_dir():
            raise WorkspaceError(f"workspace path {p} is a file, not a folder; choose a folder path (e.g. {p.parent / '.llmops'})")
        try:
            p.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise WorkspaceError(f"cannot create workspace folder {p}: {exc.strerror}; choose a writable folder") from None
        if not os.access(p, os.W_OK | os.X_OK):
            raise WorkspaceError(f"workspace folder {p} is not writable; choose a writable folder or fix its permissions")

    @property
    def db(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None or getattr(self._local, "pid", None) != os.getpid():
            conn = open_db(self.path / DB_NAME)
            self._local.conn, self._local.pid = conn, os.getpid()
            run_open_hooks(conn)
        return conn

    def clean_stale(self) -> list:
        """Remove temp files a killed process left behind (finishing any folder swap it cut short). Only where
        temp files are made: snapshots in datasets/, index files in indexes/NAME/, model folders in models/NAME/
        and the converted-model cache; a crashed run's artifacts are cleaned when tracking marks it crashed."""
        cache = load_settings().cache
        cache_models = (Path(cache).expanduser() if cache else self.path / "cache") / "models"
        places = [(self.path / "datasets", 0), (self.path / "artifacts", 0), (self.path / "indexes", 1),
                  (self.path / "models", 1), (cache_models, 0)]
        shared = (cache_models,) if cache else ()  # LLMOPS_CACHE may be shared beyond this machine's pids
        return clean_stale([(f, depth) for f, depth in places if f.is_dir()], shared=shared)

    def require_writable(self) -> None:
        """Refuse before long work (embedding, training, curating) when its result could not be stored: the
        database file or the folder is read-only (a chmod, a read-only mount)."""
        db = self.path / DB_NAME
        if not os.access(db, os.W_OK) or not os.access(self.path, os.W_OK | os.X_OK):
            raise WorkspaceError(f"workspace database {db} is read-only, so nothing could be stored; make it and its "
                                 f"folder writable (chmod u+w {db} {self.path}) or point LLMOPS_HOME at another folder")

    def dir(self, name: str) -> Path:
        """A subfolder of the workspace, created on first use."""
        d = self.path / name
        d.mkdir(parents=True, exist_ok=True)
        return d

    @property
    def cache_dir(self) -> Path:
        """Shared cache (LLMOPS_CACHE) if set, else the workspace's own cache folder."""
        cache = load_settings().cache
        d = Path(cache).expanduser() if cache else self.path / "cache"
        d.mkdir(parents=True, exist_ok=True)
        return d

    def counts(self) -> Dict[str, int]:
        out = {}
        tables = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        for label, table in (("runs", "runs"), ("datasets", "datasets"), ("indexes", "indexes"),
                             ("prompts", "prompts"), ("models", "registered_models")):
            if table in tables:
                out[label] = self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        return out

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    # results protocol -----------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"path": str(self.path), "counts": self.counts()}

    def __repr__(self) -> str:
        counts = ", ".join(f"{k}={v}" for k, v in self.counts().items())
        return f"Workspace({str(self.path)!r}, {counts})"

    __str__ = __repr__

    def _repr_html_(self) -> str:
        from ..display import html_kv

        return html_kv("Workspace", {"path": str(self.path), **self.counts()})


_lock = threading.Lock()
_current: Optional[Workspace] = None
_explicit = False


def workspace(path: Union[str, os.PathLike, None] = None) -> Workspace:
    """Return the current workspace, or switch to `path` (created if missing).

    Without `path`: the one set earlier in this process, else LLMOPS_HOME, else `[tool.llmops] workspace`
    in the nearest pyproject.toml, else ./.llmops.
    """
    global _current, _explicit
    with _lock:
        if path is not None:
            new = Workspace(path)
            if _current is not None and _current.path != new.path:
                _current.close()
            _current, _explicit = new, True
            return new
        wanted = Path(load_settings().workspace).expanduser().resolve()
        if _current is None or (not _explicit and _current.path != wanted):
            _current = Workspace(wanted)
        return _current


_inherited: list = []  # what a forked child got from its parent: SQLite forbids using or closing it there


def _forget_after_fork() -> None:
    global _current, _explicit
    if _current is not None:
        _inherited.append(_current)  # kept referenced, so its connections are never closed in the child
    _current, _explicit = None, False


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


def storage_error_while_reading(exc: sqlite3.DatabaseError) -> Exception:
    """A one-line WorkspaceError for a storage error raised while rows were being read (past the `execute` that
    names its file), else `exc` itself. Which file failed is found by a read-only quick_check of the workspace
    database (only on this error path); if that one is whole, a cache was."""
    if not storage_kind(exc):
        return exc
    db_path = _current.path / DB_NAME if _current is not None else None
    if db_path is not None and not _quick_check_ok(db_path):
        return storage_error(db_path, exc)
    where = f" of the workspace {_current.path}" if _current is not None else ""
    return WorkspaceError(f"a cache database{where} failed while its rows were read ({exc}); the workspace database "
                          "itself is whole: delete the embedding cache under LLMOPS_CACHE (it is rebuilt as needed)")


def _quick_check_ok(path: Path) -> bool:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return conn.execute("PRAGMA quick_check").fetchall() == [("ok",)]
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return False


def reset_workspace() -> None:
    """Forget the current workspace (tests, or after changing LLMOPS_HOME)."""
    global _current, _explicit
    with _lock:
        if _current is not None:
            _current.close()
        _current, _explicit = None, False


__all__ = ["Workspace", "workspace", "reset_workspace", "open_db", "on_open", "transaction", "select_in", "check_name",
           "atomic_path", "atomic_dir", "atomic_write_bytes", "atomic_write_text", "atomic_copy", "recover_dir"]
