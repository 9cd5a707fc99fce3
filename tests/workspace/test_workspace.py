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


def test_readonly_workspace_folder(tmp_path):
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from cli_helpers import cli, unprivileged

    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o500)
    proc = cli("workspace", env={"LLMOPS_HOME": str(d)}, prefix=unprivileged())
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"workspace folder {d} is not writable" in proc.stderr


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


# ---- transactions and batched selects -------------------------------------------------------------------
def test_transaction_commits_or_rolls_back_everything(ws):
    from llmops_nb.workspace import transaction

    db = ws.db
    db.execute("CREATE TABLE t (x INTEGER)")
    with transaction(db):
        db.execute("INSERT INTO t VALUES (1)")
        db.execute("INSERT INTO t VALUES (2)")
    with pytest.raises(KeyboardInterrupt):
        with transaction(db):
            db.execute("INSERT INTO t VALUES (3)")
            raise KeyboardInterrupt
    assert [r[0] for r in db.execute("SELECT x FROM t ORDER BY x")] == [1, 2]
    assert not db.in_transaction


def test_a_failed_commit_rolls_back_and_releases_the_write_lock(ws):
    import sqlite3 as sq

    from llmops_nb.workspace import transaction

    db = ws.db
    with pytest.raises(sq.IntegrityError):
        with transaction(db):
            db.execute("PRAGMA defer_foreign_keys = ON")  # the violation below is found at COMMIT
            db.execute("INSERT INTO params (run_id, key, value) VALUES ('no-such-run', 'k', '1')")
    assert not db.in_transaction
    with transaction(db):  # the connection can write again
        db.execute("CREATE TABLE t (x INTEGER)")
    assert db.execute("SELECT count(*) FROM params").fetchone()[0] == 0


def test_select_in_batches_any_number_of_ids(ws):
    from llmops_nb.workspace import select_in

    db = ws.db
    db.execute("CREATE TABLE t (x INTEGER, tag TEXT)")
    db.executemany("INSERT INTO t VALUES (?, ?)", [(i, "a" if i % 2 else "b") for i in range(5000)])
    wanted = list(range(0, 5000, 3))
    got = sorted(r[0] for r in select_in(db, "SELECT x FROM t WHERE tag = ? AND x IN ({ids})", wanted, ["a"]))
    assert got == [i for i in wanted if i % 2]


# ---- names --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, says", [
    ("_private", "it starts with '_'"), ("a b", "it contains ' '"), ("a/b", "it contains '/'"),
    ("x" * 300, "is 300 characters long"), ("", "give the dataset a name")])
def test_one_name_rule_says_what_is_wrong(name, says):
    from llmops_nb.errors import InputError
    from llmops_nb.workspace import check_name

    with pytest.raises(InputError) as err:
        check_name("dataset", name, origin="from the file name _private.jsonl")
    msg = str(err.value)
    assert says in msg and "\n" not in msg
    assert "starts with a letter or digit" in msg and "at most 100 characters" in msg
    assert check_name("index", "pydoc-v2.1_x") == "pydoc-v2.1_x"


# ---- nothing orphaned by a crash ----------------------------------------------------------------------
def _dead_pid() -> int:
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_temp_files_of_dead_processes_are_removed_on_open_and_live_ones_kept(tmp_path):
    import socket
    import time

    d = tmp_path / "ws"
    Workspace(d).close()
    dead, live = _dead_pid(), os.getpid()
    conn = sqlite3.connect(d / "llmops.db")  # run r1's process was killed while it copied an artifact
    conn.execute("INSERT INTO runs (id, name, kind, status, started_at, pid, host) VALUES ('r1', 'x', 'run', "
                 "'running', ?, ?, ?)", (time.time(), dead, socket.gethostname()))
    conn.commit()
    conn.close()
    leftovers = [d / "datasets" / f".incoming-{dead}-123.parquet", d / "datasets" / f".spill-{dead}-9.pkl",
                 d / "indexes" / "pydoc" / f".abc.usearch.{dead}-x1y2.tmp", d / "artifacts" / "r1" / f".out.tmp-{dead}"]
    in_flight = [d / "datasets" / f".incoming-{live}-456.parquet", d / "indexes" / "pydoc" / f".abc.usearch.{live}-q.tmp"]
    user_files = [d / "datasets" / "notes.txt", d / "models" / "m" / ".hidden-but-mine"]
    for p in leftovers + in_flight + user_files:
        p.parent.mkdir(parents=True, exist_ok=True)
        if p.name.startswith(".out.tmp"):
            p.mkdir()
            (p / "part").write_text("half")
        else:
            p.write_text("x")
    w = Workspace(d)
    assert [p for p in leftovers if p.exists()] == []
    assert all(p.exists() for p in in_flight + user_files), "a live process's temp files and the user's own stay"
    assert w.db.execute("SELECT status FROM runs WHERE id='r1'").fetchone()[0] == "crashed"
    w.close()


def test_a_folder_swap_cut_short_is_recovered_on_open(tmp_path):
    """A kill between atomic_dir's two renames leaves no target, the old folder and the finished new one."""
    import subprocess
    import sys

    from llmops_nb.workspace import files as F

    d = tmp_path / "ws"
    Workspace(d).close()
    target = d / "models" / "m" / "checkpoint"
    code = textwrap.dedent(f"""
        import os
        from llmops_nb.workspace import atomic_dir, files
        target = {str(target)!r}
        with atomic_dir(target) as tmp:
            open(os.path.join(tmp, "step"), "w").write("10")
        real, calls = os.replace, []
        def replace(src, dst):
            calls.append(dst)
            if len(calls) == 2:
                os._exit(9)  # killed between the two renames: no cleanup runs
            real(src, dst)
        files.os.replace = replace
        with atomic_dir(target) as tmp:
            open(os.path.join(tmp, "step"), "w").write("20")
    """)
    proc = subprocess.run([sys.executable, "-c", code], timeout=120)
    assert proc.returncode == 9
    assert not target.exists() and len(list(target.parent.iterdir())) == 2
    Workspace(d).close()
    assert (target / "step").read_text() == "20", "the newer complete folder is put in place"
    assert sorted(p.name for p in target.parent.iterdir()) == ["checkpoint"], "and nothing else is left"
    assert not (target / F.COMPLETE_MARK).exists()


def test_an_error_between_the_renames_puts_the_original_back(tmp_path, monkeypatch):
    from llmops_nb.workspace import atomic_dir, files as F

    target = tmp_path / "checkpoint"
    with atomic_dir(target) as tmp:
        (tmp / "step").write_text("10")
    real, calls = os.replace, []

    def replace(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real(src, dst)

    monkeypatch.setattr(F.os, "replace", replace)
    with pytest.raises(OSError):
        with atomic_dir(target) as tmp:
            (tmp / "step").write_text("20")
    assert (target / "step").read_text() == "10"
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint"]


# ---- storage errors are one line ---------------------------------------------------------------------------
def test_damaged_metrics_pages_are_one_line_naming_the_file(tmp_path):
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from cli_helpers import cli

    import llmops_nb as L

    d = tmp_path / "ws"
    reset_workspace()
    workspace(d)
    with L.start_run("many") as run:
        run.log_metrics({f"m{i}": i for i in range(200)})
        for step in range(150):
            run.log_metric("loss", 1.0 / (step + 1))
    for i in range(30):
        with L.start_run(f"r{i}", params={"i": i}) as r:
            r.log_metrics({f"m{j}": j for j in range(100)})
    reset_workspace()
    db = d / "llmops.db"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    page = conn.execute("PRAGMA page_size").fetchone()[0]
    leaves = [r[0] for r in conn.execute("SELECT pageno FROM dbstat WHERE name = 'metrics' AND pagetype = 'leaf'")]
    conn.close()
    assert len(leaves) > 10
    data = bytearray(db.read_bytes())
    for p in leaves[len(leaves) // 2:]:  # half of the metrics table's leaf pages get garbage headers
        start = (p - 1) * page
        data[start:start + 16] = b"\xff" * 16
    db.write_bytes(bytes(data))
    damaged = db.read_bytes()
    assert cli("run", "show", run.id, env={"LLMOPS_HOME": str(d)}).returncode == 0, "the runs table itself is whole"
    proc = cli("runs", env={"LLMOPS_HOME": str(d)})
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert str(db) in proc.stderr and "damaged" in proc.stderr and ".recover" in proc.stderr
    assert db.read_bytes() == damaged, "the damaged file is never overwritten"


def test_read_only_database_is_one_line(tmp_path):
    import subprocess
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from cli_helpers import cli, unprivileged

    d = tmp_path / "ws"
    subprocess.run([sys.executable, "-c", "import llmops_nb as L\nwith L.start_run('a') as r: r.log_metric('x', 1)\n"
                    "L.load_dataset([{'text': 'some words here'}], name='docs')"],
                   env={**os.environ, "LLMOPS_HOME": str(d)}, check=True, timeout=120)
    (d / "llmops.db").chmod(0o444)
    src = tmp_path / "notes.jsonl"
    src.write_text('{"text": "hello"}\n')
    env = {"LLMOPS_HOME": str(d)}
    assert "finished" in cli("runs", env=env, prefix=unprivileged(), check=0).stdout, "reading still works"
    proc = cli("data", "load", str(src), "--name", "notes", env=env, prefix=unprivileged())
    assert proc.returncode == 1 and "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert "is read-only" in proc.stderr and str(d / "llmops.db") in proc.stderr and "chmod u+w" in proc.stderr
    # long work is refused before it starts, not after: no model is loaded, nothing is embedded or written
    proc = cli("index", "build", "docs", "--name", "docs-ix", env=env, prefix=unprivileged())
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1
    assert "is read-only, so nothing could be stored" in proc.stderr
    assert not (d / "indexes").exists() or not any((d / "indexes").iterdir())


def test_recovery_never_takes_a_live_writers_folder(tmp_path):
    """Between another process's two renames, a reader sees no target: it must wait, not move that work."""
    import subprocess
    import sys

    from llmops_nb.workspace import files as F, recover_dir
    from llmops_nb.workspace.processes import process_start_time

    writer = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time_ok = process_start_time(writer.pid)
        target = tmp_path / "checkpoint"
        done = tmp_path / f".checkpoint.{writer.pid}-abc.tmp"
        old = tmp_path / f".checkpoint.old-{writer.pid}"
        for folder, step in ((done, "20"), (old, "10")):
            folder.mkdir()
            (folder / "step").write_text(step)
        (done / F.COMPLETE_MARK).touch()
        for folder in (done, old):  # a renamed folder keeps the old mtime it had (copytree copies it too)
            os.utime(folder, (time_ok - 86400, time_ok - 86400))
        assert recover_dir(target) is False and done.exists() and old.exists() and not target.exists()
        assert F.clean_stale([(tmp_path, 0)]) == [] and done.exists() and old.exists()
    finally:
        writer.kill()
        writer.wait()
    assert recover_dir(target) is True and (target / "step").read_text() == "20"


def test_a_shared_cache_keeps_young_leftovers_whose_writer_may_run_elsewhere(tmp_path):
    from llmops_nb.workspace import files as F

    cache = tmp_path / "cache-models"
    cache.mkdir()
    young = cache / f".smollm2.{_dead_pid()}-ab.tmp"  # a pid this machine does not see: maybe another container
    young.mkdir()
    assert F.clean_stale([(cache, 0)], shared=(cache,)) == [] and young.exists()
    assert F.clean_stale([(cache, 0)]) == [young], "in a workspace's own folder, a dead pid's leftover goes at once"
