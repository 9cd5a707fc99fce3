"""Data steps are tracked: load, curate and index build each record a run of their kind (params, counts as
metrics, what they made as records), in the real workspace database, with real files and the real embedder."""
import json

import numpy as np
import pandas as pd
import pytest

import llmops_nb as L
from llmops_nb.data.datasets import EmptySnapshotError
from llmops_nb.errors import InputError, NotFoundError

NOTES = [{"id": f"n{i}", "text": f"note {i}: {'cats purr softly' if i % 2 else 'dogs bark loudly'} number {i}",
          "topic": "cats" if i % 2 else "dogs"} for i in range(6)]


def write_jsonl(path, rows, bad_lines=0):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows) + "{not json\n" * bad_lines)
    return path


def only_run(kind):
    rows = L.runs(kind=kind)
    assert len(rows) == 1, [r["name"] for r in rows]
    return L.get_run(rows[0]["id"])


def parent_of(ws, run_id):
    return ws.db.execute("SELECT parent_id FROM runs WHERE id=?", (run_id,)).fetchone()[0]


def test_load_records_a_run_with_its_source_counts_and_snapshot(ws, tmp_path):
    path = write_jsonl(tmp_path / "notes.jsonl", NOTES, bad_lines=2)
    ds = L.load_dataset(str(path), name="notes", on_error="skip")
    run = only_run("load")
    assert (run.name, run.kind, run.status, run.error) == ("load notes", "load", "finished", None)
    assert run.params == {"source": str(path), "name": "notes", "on_error": "skip", "text_field_used": "text"}
    m = run.metrics
    assert (m["records_in"], m["records_out"], m["skipped_lines"], m["duplicate_ids"]) == (8, 6, 2, 0)
    assert m["seconds"] >= 0
    assert run.records == {"dataset": "notes@v1", "snapshot": ds.snapshot, "reused": False}
    assert run.tags == {"dataset": "notes@v1"}
    assert ds.run_id == run.id, "the snapshot names the run that made it"
    assert L.active_run() is None, "the load's run is over: record() will not write to it"


def test_each_source_kind_is_described_not_stored(ws):
    L.load_dataset(pd.DataFrame(NOTES[:2]), name="df")
    L.load_dataset(NOTES[:3], name="dicts")
    L.load_dataset(["just one string"], name="one")
    L.load_dataset("pydoc", name="pydoc")
    sources = {r["name"]: r["params"]["source"] for r in L.runs(kind="load")}
    assert sources == {"load df": "DataFrame (2 rows)", "load dicts": "list of 3 dicts", "load one": "list of 1 string",
                       "load pydoc": "pydoc"}


def test_a_reused_snapshot_still_records_a_run_that_says_so(ws):
    first = L.load_dataset(NOTES, name="notes")
    again = L.load_dataset(NOTES, name="notes")
    assert again.reused and again.ref == first.ref == "notes@v1"
    newest, oldest = [L.get_run(r["id"]) for r in L.runs(kind="load")]
    assert oldest.records["reused"] is False and "reused" not in oldest.tags
    assert newest.records == {"dataset": "notes@v1", "snapshot": first.snapshot, "reused": True}
    assert newest.tags == {"dataset": "notes@v1", "reused": True}
    assert newest.metrics["records_out"] == 6


def test_curate_records_its_steps_seed_and_what_each_step_removed(ws):
    L.load_dataset(NOTES + [dict(NOTES[0], id="copy")], name="notes")
    res = L.curate("notes", ["exact_dedup", "filter:topic == 'cats'", "filter:id != 'n1'"], seed=3, progress=False)
    run = only_run("curate")
    assert (run.name, run.status) == ("curate notes", "finished")
    assert run.params["input"] == "notes@v1" and run.params["name"] == "notes" and run.params["seed"] == 3
    assert [s["step"] for s in run.params["steps"]] == ["exact_dedup", "filter", "filter"]
    assert run.params["steps"][1]["params"] == {"expr": "topic == 'cats'"}
    assert run.metrics == {"records_in": 7, "records_out": 2, "removed/exact_dedup": 1, "removed/filter": 3,
                           "removed/filter#2": 1, "seconds": pytest.approx(run.metrics["seconds"])}
    assert run.records == {"dataset": "notes@v2", "snapshot": res.dataset.snapshot, "reused": False}
    assert run.tags == {"dataset": "notes@v2", "curation_id": res.curation_id}
    again = L.curate("notes@v1", ["exact_dedup", "filter:topic == 'cats'", "filter:id != 'n1'"], seed=3,
                     progress=False)
    assert again.reused
    assert L.get_run(L.runs(kind="curate", last=1)[0]["id"]).records["reused"] is True


def test_curate_with_a_split_records_the_split_snapshots_under_its_run(ws):
    L.load_dataset(NOTES, name="notes")
    res = L.curate("notes", ["exact_dedup"], split=0.5, name="clean", progress=False)
    run = only_run("curate")
    assert run.params["split"] == 0.5 and run.records["splits"] == ["clean-train@v1", "clean-eval@v1"]
    assert res.splits.train.run_id == run.id == res.dataset.run_id


def test_a_failing_step_ends_its_run_failed_and_raises_the_same_error(ws, tmp_path):
    path = write_jsonl(tmp_path / "broken.jsonl", NOTES, bad_lines=1)
    with pytest.raises(InputError) as err:
        L.load_dataset(str(path), name="broken")
    run = only_run("load")
    assert run.status == "failed" and run.error == f"InputError: {err.value}" and "line 7" in run.error
    assert run.records == {} and L.datasets().rows == []
    L.load_dataset(NOTES, name="notes")
    with pytest.raises(EmptySnapshotError) as err:
        L.curate("notes", ["filter:topic == 'fish'"], progress=False)
    run = only_run("curate")
    assert run.status == "failed" and run.error == f"EmptySnapshotError: {err.value}"
    with pytest.raises(InputError, match="one row per record") as err:  # found while preparing the records
        L.build_index(NOTES, name="short", vectors=np.ones((2, 4), np.float32), model=None, progress=False)
    run = only_run("index")
    assert (run.name, run.status, run.error) == ("index short", "failed", f"InputError: {err.value}")
    assert L.active_run() is None, "a failed step leaves no run open"


def test_a_refusal_before_any_work_records_no_run(ws, tmp_path):
    with pytest.raises(InputError, match="no such file"):
        L.load_dataset(str(tmp_path / "missing.jsonl"), name="x")
    with pytest.raises(InputError, match="invalid dataset name"):
        L.load_dataset(NOTES, name="a/b")
    L.load_dataset(NOTES, name="notes")
    with pytest.raises(NotFoundError):
        L.curate("nope")
    with pytest.raises(InputError):
        L.curate("notes", ["no_such_step"])
    with pytest.raises(InputError, match="unknown dtype"):
        L.build_index("notes", name="ix", dtype="f64")
    with pytest.raises(NotFoundError):
        L.build_index("notes", name="ix", model="no-such-embedder")
    assert [r["kind"] for r in L.runs()] == ["load"], "only the load that ran"


def test_a_step_inside_a_run_is_its_child_and_record_still_writes_to_the_outer_run(ws):
    with L.start_run("prepare") as outer:
        ds = L.load_dataset(NOTES, name="notes")
        L.record("n_records", len(ds))
        res = L.curate("notes", ["exact_dedup"], progress=False)
        assert L.active_run() == outer
    load, cur = only_run("load"), only_run("curate")
    assert parent_of(ws, load.id) == outer.id == parent_of(ws, cur.id)
    assert outer.records == {"n_records": 6} and "n_records" not in load.records
    assert ds.run_id == load.id and res.dataset.run_id == cur.id
    assert parent_of(ws, outer.id) is None


def test_a_step_in_a_notebook_kernel_is_a_child_of_the_notebook_run(ws, monkeypatch):
    # what run_notebook does for the kernel it starts: LLMOPS_RUN_ID names the notebook's run
    nb_run = L.start_run("train", kind="notebook")
    nb_run.end("finished")  # opened by another process in real life: not an open run of this one
    monkeypatch.setenv("LLMOPS_RUN_ID", nb_run.id)
    L.load_dataset(NOTES, name="notes")
    L.record("loaded", True)
    assert parent_of(ws, only_run("load").id) == nb_run.id
    assert nb_run.records == {"loaded": True}, "record() after the step lands on the notebook's run"


def test_index_build_records_its_model_settings_counts_and_index(ws):
    ds = L.load_dataset(NOTES[:4], name="notes")
    ix = L.build_index("notes", name="notes-idx", chunk_tokens=16, overlap=4, dtype="f16", progress=False)
    run = only_run("index")
    assert (run.name, run.kind, run.status) == ("index notes-idx", "index", "finished")
    assert run.params == {"dataset": "notes@v1", "name": "notes-idx", "model": "all-minilm-l6-v2", "chunk_tokens": 16,
                          "overlap": 4, "dtype": "f16", "metric": "cos", "connectivity": 16, "expansion_add": 128,
                          "expansion_search": 64, "dim": 384}
    m = run.metrics
    assert (m["records_in"], m["records"], m["chunks"], m["vectors"]) == (4, 4, ix.n_chunks, len(ix))
    assert m["embedded"] + m["from_cache"] == ix.n_chunks and m["seconds"] > 0
    assert run.records == {"index": "notes-idx", "dataset": "notes@v1", "snapshot": ds.snapshot}
    assert run.tags == {"index": "notes-idx"}
    vec = L.build_index(NOTES[:3], name="given", vectors=np.eye(3, 8, dtype=np.float32), model=None, progress=False)
    run = L.get_run(L.runs(kind="index", last=1)[0]["id"])
    assert run.params["dataset"] == "list of 3 dicts" and run.params["model"] == "given vectors"
    assert "chunk_tokens" not in run.params and run.records == {"index": "given"} and len(vec) == 3


def test_cli_runs_lists_load_curate_and_index_in_order(run_cli, tmp_path):
    path = write_jsonl(tmp_path / "notes.jsonl", NOTES)
    run_cli("data", "load", str(path), "--name", "notes", check=0)
    run_cli("curate", "notes", "--steps", "exact_dedup", "filter:topic == 'cats'", check=0)
    run_cli("index", "build", "notes", "--name", "notes-idx", "--chunk-tokens", "16", "--overlap", "4", "-q", check=0)
    rows = json.loads(run_cli("runs", "--json", check=0).stdout)
    rows = rows["runs"] if isinstance(rows, dict) else rows
    assert [(r["name"], r["kind"], r["status"]) for r in rows] == [
        ("index notes-idx", "index", "finished"), ("curate notes", "curate", "finished"),
        ("load notes", "load", "finished")]
    assert rows[1]["metrics"]["records_out"] == 3 and rows[2]["params"]["source"] == str(path)
    text = run_cli("runs", check=0).stdout
    assert "load notes" in text and "curate notes" in text and "index notes-idx" in text
    shown = run_cli("run", "show", rows[1]["id"], check=0).stdout
    assert "dataset = notes@v2" in shown and "removed/filter = 3" in shown


def test_runs_kind_filters_in_the_cli_and_the_magic(run_cli, ipy):
    L.load_dataset(NOTES, name="notes")
    L.curate("notes", ["exact_dedup"], progress=False)
    rows = json.loads(run_cli("runs", "--kind", "curate", "--json", check=0).stdout)
    rows = rows["runs"] if isinstance(rows, dict) else rows
    assert [r["name"] for r in rows] == ["curate notes"]
    table = ipy.line("runs --kind load")
    assert [r["name"] for r in table] == ["load notes"]
