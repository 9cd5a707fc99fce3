"""The one place that connects to the workspace database and migrates it, plus the helpers every module
uses to write to it: `transaction(conn)` and the batched `select_in(conn, sql, ids)`.

Migrations are named, ordered functions registered with `@migration`; the modules in `migrations/` register
them, and applied names are recorded in `_migrations` (order: the name's numeric prefix). Higher layers that
must act when a workspace opens (tracking marks crashed runs) register with `on_open`, so this layer never
imports them.
"""
from __future__ import annotations

import contextlib
import sqlite3
import time
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Sequence

from ..errors import WorkspaceError

BUSY_TIMEOUT_S = 60.0
SQL_BATCH = 500  # ids per `IN (...)` list: far below SQLite's variable limit, big enough to amortize a query
_MIGRATIONS: Dict[str, Callable[[sqlite3.Connection], None]] = {}
_ON_OPEN: List[Callable[[sqlite3.Connection], None]] = []


def on_open(fn: Callable[[sqlite3.Connection], None]) -> Callable[[sqlite3.Connection], None]:
    """Register `fn(conn)` to run each time a process opens a workspace database (after migrating)."""
    if fn not in _ON_OPEN:
        _ON_OPEN.append(fn)
    return fn


def run_open_hooks(conn: sqlite3.Connection) -> None:
    for fn in list(_ON_OPEN):
        fn(conn)


class Connection(sqlite3.Connection):
    """A connection whose storage errors name the database file and say how to recover, in one line."""

    path: Path
    is_cache = False  # a cache database (embeddings): damage means delete it, not recover it

    def execute(self, sql: str, parameters: Any = ()) -> sqlite3.Cursor:  # type: ignore[override]
        try:
            return super().execute(sql, parameters)
        except sqlite3.DatabaseError as exc:
            raise storage_error(self.path, exc, cache=self.is_cache) from None

    def executemany(self, sql: str, seq: Iterable[Any]) -> sqlite3.Cursor:  # type: ignore[override]
        try:
            return super().executemany(sql, seq)
        except sqlite3.DatabaseError as exc:
            raise storage_error(self.path, exc, cache=self.is_cache) from None


# SQLite primary result codes -> what they mean for the user; the text is the fallback before Python 3.11
_KINDS = {11: "damaged", 26: "damaged", 10: "i/o", 8: "read-only", 14: "cannot open"}
_TEXTS = {"malformed": "damaged", "not a database": "damaged", "disk I/O": "i/o", "readonly": "read-only",
          "unable to open": "cannot open"}


def storage_kind(exc: sqlite3.DatabaseError) -> str:
    """'damaged', 'i/o', 'read-only', 'cannot open', or '' for an error that is not about the file."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return _KINDS.get(code & 0xFF, "")
    return next((kind for text, kind in _TEXTS.items() if text in str(exc)), "")


def storage_error(path: Path, exc: sqlite3.DatabaseError, *, cache: bool = False) -> Exception:
    """The one-line WorkspaceError for a damaged, unreadable, read-only or unopenable database; other errors
    unchanged. `cache`: the file is a cache (rebuilt on demand), so the advice is to delete it."""
    if isinstance(exc, (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError)):
        return exc
    kind = storage_kind(exc)
    what = "cache database" if cache else "workspace database"
    if kind == "damaged" and cache:
        return WorkspaceError(f"{what} {path} is damaged ({exc}); it only holds a cache: delete it and it is rebuilt "
                              "as needed")
    if kind == "damaged":
        return WorkspaceError(
            f"{what} {path} is damaged ({exc}); it was left untouched. To recover, stop other "
            f"processes using it and run: sqlite3 {path} .recover | sqlite3 {path.parent / 'recovered.db'}; then "
            f"move the damaged file aside and put recovered.db in its place as {path.name}")
    if kind == "i/o":
        return WorkspaceError(f"cannot read or write {what} {path} ({exc}); check the disk it is on (space, errors, a "
                              "network mount that went away) and retry")
    if kind == "read-only":
        return WorkspaceError(f"{what} {path} is read-only ({exc}); make it and its folder writable "
                              f"(chmod u+w {path} {path.parent}) or point LLMOPS_HOME at another folder")
    if kind == "cannot open":
        return WorkspaceError(f"cannot open {what} {path} ({exc}); check the folder exists and is writable")
    return exc


def open_cache_db(path: Path, *, first_pragmas: Sequence[str] = ()) -> sqlite3.Connection:
    """A connection to a cache database beside the workspace (WAL, busy timeout), whose storage errors name it.
    `first_pragmas` run before anything else (e.g. a page size, which only a new file takes)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False,
                           factory=Connection)
    conn.path, conn.is_cache = path, True
    for pragma in (*first_pragmas, f"busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}", "journal_mode = WAL",
                   "synchronous = NORMAL"):
        conn.execute(f"PRAGMA {pragma}")
    return conn


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """`with transaction(conn):` runs the block in one BEGIN IMMEDIATE ... COMMIT, rolled back on any error
    (KeyboardInterrupt included). IMMEDIATE takes the write lock up front, so two writers queue instead of
    failing halfway."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # SQLite may have rolled back on its own (e.g. a full disk); then the error stands
            conn.execute("ROLLBACK")
        raise


def select_in(conn: sqlite3.Connection, sql: str, ids: Sequence[Any], params: Sequence[Any] = ()) -> Iterator[Any]:
    """Rows of `sql` for every id, querying SQL_BATCH ids at a time. `sql` holds one `{ids}` where the
    `IN (...)` list goes; `params` are bound before the ids. Also for DELETE/UPDATE (rows are then empty)."""
    ids = list(ids)
    for i in range(0, len(ids), SQL_BATCH):
        part = ids[i:i + SQL_BATCH]
        yield from conn.execute(sql.format(ids=",".join("?" * len(part))), [*params, *part])


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
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False,
                               factory=Connection)
    except sqlite3.OperationalError as exc:
        raise WorkspaceError(f"cannot open workspace database {path}: {exc}; check the folder is writable") from None
    conn.path = path
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        if existed:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.row_factory = sqlite3.Row
        _migrate(conn)
    except (sqlite3.DatabaseError, WorkspaceError) as exc:
        conn.close()
        if isinstance(exc, sqlite3.DatabaseError):
            exc = storage_error(path, exc)
        raise exc from None
    return conn


def _migrate(conn: sqlite3.Connection) -> None:
    conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at REAL NOT NULL)")
    applied = {r[0] for r in conn.execute("SELECT name FROM _migrations")}
    pending = [n for n in sorted(_MIGRATIONS) if n not in applied]
    if not pending:
        return
    # BEGIN IMMEDIATE serializes concurrent first-openers; re-check inside the lock.
    with transaction(conn):
        applied = {r[0] for r in conn.execute("SELECT name FROM _migrations")}
        for name in sorted(_MIGRATIONS):
            if name in applied:
                continue
            _MIGRATIONS[name](conn)
            conn.execute("INSERT INTO _migrations (name, applied_at) VALUES (?, ?)", (name, time.time()))


def run_script(conn: sqlite3.Connection, sql: str) -> None:
    """Run DDL statement by statement (executescript would COMMIT the migration's transaction)."""
    for stmt in sql.split(";"):
        if stmt.strip():
            conn.execute(stmt)


def applied_migrations(conn: sqlite3.Connection) -> list:
    return [r[0] for r in conn.execute("SELECT name FROM _migrations ORDER BY name")]
