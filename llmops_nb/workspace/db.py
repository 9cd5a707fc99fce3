"""The one place that connects to the workspace database and migrates it.

Migrations are named, ordered functions registered with `@migration`; applied names are recorded in
`_migrations`. Later modules (data, index, models, evals) add their own migrations by importing
`migration` and registering — the order is the registration name's numeric prefix.
"""
from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Callable, Dict

from ..errors import WorkspaceError

BUSY_TIMEOUT_S = 60.0
_MIGRATIONS: Dict[str, Callable[[sqlite3.Connection], None]] = {}


def migration(name: str):
    """Register a migration. Names sort in application order: '0001_runs', '0002_datasets', ..."""

    def deco(fn):
        if name in _MIGRATIONS:
            raise ValueError(f"migration {name} registered twice")
        _MIGRATIONS[name] = fn
        return fn

    return deco


def open_db(path: Path) -> sqlite3.Connection:
    """Connect (WAL, busy timeout, foreign keys) and apply pending migrations.

    A file that is not a SQLite database is refused with its name; it is never overwritten.
    """
    from .migrations import load_all

    load_all()

    path = Path(path)
    existed = path.exists() and path.stat().st_size > 0
    try:
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False)
    except sqlite3.OperationalError as exc:
        raise WorkspaceError(f"cannot open workspace database {path}: {exc}; check the folder is writable") from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        if existed:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.row_factory = sqlite3.Row
        _migrate(conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        if "not a database" in str(exc) or "malformed" in str(exc) or "corrupt" in str(exc):
            raise WorkspaceError(
                f"workspace database {path} is not a readable SQLite database ({exc}); "
                "it was left untouched: move it aside or point LLMOPS_HOME at another folder"
            ) from None
        if "readonly" in str(exc) or "unable to open" in str(exc):
            raise WorkspaceError(f"cannot write workspace database {path} ({exc}); check permissions") from None
        raise
    return conn


def _migrate(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
    applied = {r[0] for r in conn.execute("SELECT name FROM _migrations")}
    pending = [n for n in sorted(_MIGRATIONS) if n not in applied]
    if not pending:
        return
    # BEGIN IMMEDIATE serializes concurrent first-openers; re-check inside the lock.
    conn.execute("BEGIN IMMEDIATE")
    try:
        applied = {r[0] for r in conn.execute("SELECT name FROM _migrations")}
        for name in sorted(_MIGRATIONS):
            if name in applied:
                continue
            _MIGRATIONS[name](conn)
            conn.execute("INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", (name, time.time()))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def run_script(conn: sqlite3.Connection, sql: str) -> None:
    """Run DDL statement by statement (executescript would COMMIT the migration's transaction)."""
    for stmt in sql.split(";"):
        if stmt.strip():
            conn.execute(stmt)


def applied_migrations(conn: sqlite3.Connection) -> list:
    return [r[0] for r in conn.execute("SELECT name FROM _migrations ORDER BY name")]
