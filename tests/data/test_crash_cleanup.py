"""A load or curation cut short leaves nothing behind: an interrupt or a failed registration cleans up at once
(temp files, and a stored snapshot file no row refers to); a kill leaves temp files named with the writer's pid,
which the next workspace open removes; the database never holds half of one."""
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import llmops_nb as L
from llmops_nb.data.datasets import BATCH
from llmops_nb.data.steps import RecordChange
from llmops_nb.data.storage import SnapshotWriter
from llmops_nb.data.streaming import ChangeLog, Spill
from llmops_nb.workspace import reset_workspace, workspace


def _temp_files(ws):
    return sorted(p.name for p in (ws.path / "datasets").rglob(".*"))


def _reopen():
    """What a fresh process sees: the workspace opened anew (LLMOPS_HOME still points at the test's)."""
    reset_workspace()
    ws = workspace()
    assert ws.path.parent.name.startswith("test_")  # never the checkout's own .llmops
    return ws


def _integrity(ws):
    return ws.db.execute("PRAGMA integrity_check").fetchone()[0]


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _rows(n):
    return [{"id": str(i), "text": f"record number {i} with a few words"} for i in range(n)]


def test_an_interrupted_load_stores_nothing_and_leaves_no_file(ws, monkeypatch):
    writes = []
    original = SnapshotWriter.write

    def write_then_interrupt(self, rows):
        original(self, rows)
        writes.append(len(rows))
        if len(writes) == 2:
            raise KeyboardInterrupt  # Ctrl-C in the notebook, after the second batch reached the file

    with monkeypatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(SnapshotWriter, "write", write_then_interrupt)
        L.load_dataset(_rows(3 * BATCH), "big")
    assert writes == [BATCH, BATCH]
    assert _temp_files(ws) == [] and len(L.datasets()) == 0
    ws = _reopen()
    assert _integrity(ws) == "ok" and ws.db.execute("SELECT count(*) FROM datasets").fetchone()[0] == 0
    assert len(L.load_dataset(_rows(10), "big")) == 10


def test_a_killed_writers_temp_file_goes_at_the_next_open_but_a_live_ones_stays(ws, monkeypatch):
    # a kill runs no cleanup: the file the writer was filling stays where it was, named with the writer's pid
    original = SnapshotWriter.write

    def write_then_die(self, rows):
        original(self, rows)
        raise KeyboardInterrupt

    with monkeypatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(SnapshotWriter, "write", write_then_die)
        patch.setattr(SnapshotWriter, "abort", lambda self: self.writer.close())
        L.load_dataset(_rows(100), "cut")
    (left,) = _temp_files(ws)
    assert left.startswith(f".incoming-{os.getpid()}-") and left.endswith(".parquet")
    ws = _reopen()
    assert _temp_files(ws) == [left]  # this process still runs: its file may be work in flight
    dead = ws.path / "datasets" / left.replace(f"-{os.getpid()}-", f"-{_dead_pid()}-")
    (ws.path / "datasets" / left).rename(dead)
    ws = _reopen()
    assert _temp_files(ws) == [] and _integrity(ws) == "ok"


def test_spill_and_change_log_files_carry_the_pid_that_cleanup_knows(ws):
    folder = ws.dir("datasets")
    spill = Spill(iter(_rows(5000)), folder)
    assert len(spill) == 5000
    log = ChangeLog(folder)
    for i in range(5000):  # past one batch, so the log spills to its file
        log.add(RecordChange(str(i), "step", "removed", "why", None, {}, {"id": str(i), "text": "t"}))
    live = sorted(p.name for p in (spill.path, log.path))
    assert all(name.startswith(f".spill-{os.getpid()}-") and name.endswith(".pkl") for name in live)
    dead_pid = _dead_pid()
    for p in (spill.path, log.path):
        (folder / p.name.replace(f"-{os.getpid()}-", f"-{dead_pid}-")).write_bytes(p.read_bytes())
    assert len(_temp_files(ws)) == 4
    ws = _reopen()
    assert _temp_files(ws) == live  # the dead process's copies went, the live ones stayed
    spill.close()
    log.close()
    assert _temp_files(ws) == []


def _kill_when_writing(cmd, env, folder, timeout=120.0):
    """Start `cmd`, wait until it is writing a snapshot (its .incoming file exists), SIGKILL it; the file name."""
    child = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + timeout
    try:
        while time.time() < deadline:
            found = list(folder.glob(f".incoming-{child.pid}-*.parquet")) if folder.exists() else []
            if found and found[0].stat().st_size > 0:
                time.sleep(0.3)  # a few more batches
                assert child.poll() is None, child.communicate()  # still mid-way when killed
                os.kill(child.pid, signal.SIGKILL)
                child.wait()
                return found[0].name
            if child.poll() is not None:
                pytest.fail(f"child ended before it was killed: {child.communicate()}")
            time.sleep(0.02)
        pytest.fail("the child never started writing its snapshot")
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


@pytest.mark.slow
def test_a_load_killed_with_sigkill_leaves_no_orphan_after_the_next_open(ws, tmp_path):
    src = tmp_path / "big.jsonl"
    with open(src, "w") as fh:
        for i in range(300_000):
            fh.write(json.dumps({"id": i, "text": f"record number {i} with a few more words in it"}) + "\n")
    env = {**os.environ, "LLMOPS_HOME": str(ws.path)}
    code = f"import llmops_nb as L; L.load_dataset({str(src)!r}, 'big')"
    orphan = _kill_when_writing([sys.executable, "-c", code], env, ws.path / "datasets")
    assert orphan in _temp_files(ws)  # the kill left it: nothing ran to remove it
    ws = _reopen()
    assert _temp_files(ws) == [] and _integrity(ws) == "ok"
    assert ws.db.execute("SELECT count(*) FROM datasets").fetchone()[0] == 0
    assert len(L.load_dataset(src, "big")) == 300_000


@pytest.mark.slow
def test_a_curation_killed_with_sigkill_leaves_no_rows_and_no_orphan(ws):
    # half the records repeat: exact_dedup's removals fill the change log's spill file while kept ones stream out
    L.load_dataset([{"id": str(i), "text": f"record {i // 2} of a corpus with repeats"} for i in range(40_000)],
                   "rep")
    env = {**os.environ, "LLMOPS_HOME": str(ws.path)}
    code = textwrap.dedent("""
        import time, llmops_nb as L
        def slow(rec):
            time.sleep(0.0002)
            return True
        L.curate("rep", ["exact_dedup", slow])
    """)
    _kill_when_writing([sys.executable, "-c", code], env, ws.path / "datasets")
    assert any(name.startswith(".spill-") for name in _temp_files(ws))  # the changes had not reached the database
    ws = _reopen()
    assert _temp_files(ws) == [] and _integrity(ws) == "ok"
    assert ws.db.execute("SELECT count(*) FROM curations").fetchone()[0] == 0
    assert ws.db.execute("SELECT count(*) FROM curation_changes").fetchone()[0] == 0
    assert [d["version"] for d in L.datasets(all_versions=True)] == ["v1"]


def _snapshot_files(ws):
    return sorted(p.name for p in (ws.path / "datasets").rglob("*.parquet") if not p.name.startswith("."))


def test_a_registration_that_fails_removes_the_file_it_stored(ws, monkeypatch):
    import llmops_nb.data.datasets as D
    from llmops_nb.data.review import Review

    def interrupted():
        raise KeyboardInterrupt  # Ctrl-C inside the transaction that registers the snapshot

    with monkeypatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(D, "active_run", interrupted)
        L.load_dataset(_rows(10), "cut")
    assert _snapshot_files(ws) == [] and _temp_files(ws) == [] and len(L.datasets()) == 0
    kept = L.load_dataset(_rows(20), "kept")
    with monkeypatch.context() as patch, pytest.raises(RuntimeError, match="disk gone"):
        patch.setattr(ChangeLog, "insert", lambda self, db, cid: (_ for _ in ()).throw(RuntimeError("disk gone")))
        L.curate("kept", ["exact_dedup", "filter:id != '3'"])
    assert _snapshot_files(ws) == [kept.path.name] and _temp_files(ws) == []
    review = Review("kept")
    review.decide("3", "reject")
    with monkeypatch.context() as patch, pytest.raises(RuntimeError, match="disk gone"):
        patch.setattr(ChangeLog, "insert", lambda self, db, cid: (_ for _ in ()).throw(RuntimeError("disk gone")))
        review.commit()
    assert _snapshot_files(ws) == [kept.path.name] and _temp_files(ws) == []
    assert ws.db.execute("SELECT count(*) FROM curations").fetchone()[0] == 0
    # the same content failing under another name leaves the file the first name's row refers to
    with monkeypatch.context() as patch, pytest.raises(KeyboardInterrupt):
        patch.setattr(D, "active_run", interrupted)
        L.load_dataset(_rows(20), "again")
    assert _snapshot_files(ws) == [kept.path.name] and len(L.dataset("kept").ids()) == 20
    assert [d["name"] for d in L.datasets()] == ["kept"] and review.commit().ref == "kept@v2"


def test_a_failed_registration_never_removes_a_file_another_writer_relies_on(ws, monkeypatch):
    # two writers of the same content: the second finds the first's file; the first then fails. The content
    # file is put in place and removed only under the write lock, so the second still registers a readable file
    import llmops_nb.data.datasets as D

    first = D.write_snapshot(_rows(10), name="a")
    second = D.write_snapshot(_rows(10), name="b")
    assert first.digest == second.digest
    with pytest.raises(KeyboardInterrupt), D.registering(ws.db, first):
        raise KeyboardInterrupt
    assert not first.target.exists() and not first.tmp.exists()
    with D.registering(ws.db, second):
        ds = D.register_snapshot(ws.db, "b", second, parent=None, op="load")
    assert ds.ref == "b@v1" and len(ds.ids()) == 10 and _temp_files(ws) == []
