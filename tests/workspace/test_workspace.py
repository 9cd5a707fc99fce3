import os
import sqlite3
import textwrap
from pathlib import Path

import pytest

from llmops_nb.errors import WorkspaceError
from llmops_nb.workspace import Workspace, atomic_path, atomic_write_text, reset_workspace, workspace
from llmops_nb.workspace.db import _MIGRATIONS, applied_migrations, migration, open_db


def test_default_workspace_is_dot_llmops_in_cwd(tmp_path, monkeypatch):
    monkeypatch.delenv("LLMOPS_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    reset_workspace()
    try:
        w = workspace()
        assert w.path == (tmp_path / ".llmops").resolve()
        assert (w.path / "llmops.db").exists()
    finally:
        reset_workspace()


def test_env_var_and_explicit_path(tmp_path, monkeypatch):
    monkeypatch.setenv("LLMOPS_HOME", str(tmp_path / "a"))
    reset_workspace()
    try:
        assert workspace().path == (tmp_path / "a").resolve()
        w = workspace(tmp_path / "b")
        assert w.path == (tmp_path / "b").resolve()
        assert workspace().path == (tmp_path / "b").resolve(), "an explicit switch sticks for the session"
    finally:
        reset_workspace()


def test_pyproject_tool_table_sets_workspace(tmp_path, monkeypatch):
    monkeypatch.delenv("LLMOPS_HOME", raising=False)
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent("""
        [tool.llmops]
        workspace = "store/ws"
    """))
    sub = tmp_path / "notebooks"
    sub.mkdir()
    monkeypatch.chdir(sub)
    reset_workspace()
    try:
        assert workspace().path == (tmp_path / "store" / "ws").resolve()
    finally:
        reset_workspace()


def test_wal_mode_and_migrations_recorded_once(tmp_path):
    conn = open_db(tmp_path / "x.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    names = applied_migrations(conn)
    assert names == sorted(names) and "0001_runs" in names
    conn.close()
    conn = open_db(tmp_path / "x.db")
    assert applied_migrations(conn) == names


def test_new_migration_is_applied_in_order_to_existing_db(tmp_path):
    conn = open_db(tmp_path / "x.db")
    conn.execute("INSERT INTO runs (id, name, status, started_at) VALUES ('r1', 'keep', 'finished', 0)")
    conn.close()

    @migration("9999_test_extra")
    def _extra(c):
        c.execute("CREATE TABLE extra_test (x INTEGER)")

    try:
        conn = open_db(tmp_path / "x.db")
        assert applied_migrations(conn)[-1] == "9999_test_extra"
        conn.execute("INSERT INTO extra_test VALUES (1)")
        assert conn.execute("SELECT name FROM runs").fetchone()[0] == "keep"
    finally:
        del _MIGRATIONS["9999_test_extra"]


def test_workspace_path_that_is_a_file(tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    with pytest.raises(WorkspaceError, match="is a file"):
        Workspace(f)
    assert f.read_text() == "x"


def test_workspace_under_a_file_cannot_be_created(tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    with pytest.raises(WorkspaceError, match="cannot create workspace folder"):
        Workspace(f / "ws")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write to read-only folders; covered by the file cases above")
def test_readonly_workspace_folder(tmp_path):
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o500)
    with pytest.raises(WorkspaceError, match="not writable"):
        Workspace(d)


def test_corrupt_database_is_named_and_never_overwritten(tmp_path):
    d = tmp_path / "ws"
    d.mkdir()
    garbage = b"this is not sqlite at all " * 100
    (d / "llmops.db").write_bytes(garbage)
    with pytest.raises(WorkspaceError) as err:
        Workspace(d)
    assert str(d / "llmops.db") in str(err.value)
    assert "untouched" in str(err.value)
    assert (d / "llmops.db").read_bytes() == garbage


def test_atomic_write_keeps_old_file_on_failure(tmp_path):
    target = tmp_path / "f.txt"
    atomic_write_text(target, "old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half-written")
            raise RuntimeError("crash mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"], "no temp files left behind"
    atomic_write_text(target, "new")
    assert target.read_text() == "new"


def test_counts(ws):
    from llmops_nb import start_run

    with start_run("a"):
        pass
    assert ws.counts()["runs"] == 1
    assert "runs=1" in repr(ws)
