"""A snapshot's identity is its content: the same records from the same parent by the same operation are the
version already stored (so re-running load + curate reproduces `pydoc@v2`), anything else a new version."""
import json

import pytest

import llmops_nb as L
from llmops_nb.data.curation import CurationResult, curate
from llmops_nb.data.review import Review
from llmops_nb.errors import InputError

ROWS = [{"id": "a", "text": "Alpha is the first letter of the alphabet."},
        {"id": "b", "text": "Beta comes second in the alphabet, after alpha."},
        {"id": "c", "text": "Alpha is the first letter of the alphabet."}]


def _count(ws, table):
    return ws.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_loading_the_same_content_twice_gives_the_same_version(ws):
    first, again = L.load_dataset("pydoc"), L.load_dataset("pydoc")
    assert first.ref == again.ref == "pydoc@v1" and (first.reused, again.reused) == (False, True)
    assert again.id == first.id and again.path == first.path and _count(ws, "datasets") == 1
    assert "identical content was already stored as pydoc@v1; no new version was made" in str(again)
    assert "pydoc still means pydoc@v1" in str(again)
    assert "reused=True" in repr(again) and "reused" not in repr(first)
    assert again.to_dict()["reused"] is True and "already stored as pydoc@v1" in again._repr_html_()
    assert L.dataset("pydoc").ref == "pydoc@v1" and not L.dataset("pydoc").reused


def test_a_reused_older_version_says_which_one_the_bare_name_means(ws):
    # the rule changed: the bare name means the version made OR reused last (it said "still means abc@v2")
    L.load_dataset(ROWS, "abc")
    L.load_dataset(ROWS[:2], "abc")
    back = L.load_dataset(ROWS, "abc")
    assert back.ref == "abc@v1" and back.reused
    assert "abc now means abc@v1 again (it meant abc@v2)" in str(back)
    assert L.dataset("abc").ref == "abc@v1"


def test_the_bare_name_means_the_version_made_or_reused_last(ws):
    a, b = ROWS, ROWS[:2]
    assert [L.load_dataset(rows, "x").ref for rows in (a, b)] == ["x@v1", "x@v2"]
    again = L.load_dataset(a, "x")
    assert again.ref == "x@v1" and again.reused and again.replaced == "x@v2"
    assert L.dataset("x").ref == "x@v1" and not L.dataset("x").reused
    table = L.datasets()
    assert [(d["name"], d["version"]) for d in table] == [("x", "v1")] and "current" in table.caption
    assert [d["version"] for d in L.datasets(all_versions=True)] == ["v1", "v2"]  # numbered by creation, kept
    note = "identical content was already stored as x@v1; no new version was made; x now means x@v1 again"
    assert note in str(again) and note in again._repr_html_() and "current=True" in repr(again)
    assert again.to_dict()["current"] is True and note in again.to_dict()["note"]
    cur = curate("x", ["exact_dedup"])  # the bare name reaches curate, review, index build through dataset()
    assert cur.input.ref == "x@v1" and cur.dataset.ref == "x@v3" and L.dataset("x").ref == "x@v3"
    assert L.load_dataset(b, "x").ref == "x@v2" and L.dataset("x").ref == "x@v2"
    back = curate("x@v1", ["exact_dedup"])  # a reused curation is the current version again too
    assert back.reused and back.dataset.ref == "x@v3" and L.dataset("x").ref == "x@v3"
    assert "x now means x@v3 again (it meant x@v2)" in str(back) and "x@v3 again" in back.to_dict()["note"]
    assert [d["version"] for d in L.datasets()] == ["v3"]


def test_the_migration_keeps_each_name_meaning_its_newest_version(ws):
    from llmops_nb.workspace import reset_workspace, workspace

    L.load_dataset(ROWS, "old")
    L.load_dataset(ROWS[:2], "old")
    L.load_dataset(ROWS, "other")
    db = ws.db  # back to a workspace made before 0012_dataset_current
    db.execute("DROP INDEX datasets_current")
    db.execute("ALTER TABLE datasets DROP COLUMN current_seq")
    db.execute("DELETE FROM _migrations WHERE name='0012_dataset_current'")
    reset_workspace()
    db = workspace().db
    assert [tuple(r) for r in db.execute("SELECT id, current_seq FROM datasets ORDER BY id")] == [(1, 1), (2, 2), (3, 3)]
    assert L.dataset("old").ref == "old@v2" and [d["version"] for d in L.datasets()] == ["v2", "v1"]
    assert L.load_dataset(ROWS, "old").ref == "old@v1" and L.dataset("old").ref == "old@v1"
    assert db.execute("SELECT current_seq FROM datasets WHERE name='old' AND version=1").fetchone()[0] == 4


def test_a_curation_is_reused_only_with_the_same_steps_and_seed(ws):
    L.load_dataset(ROWS[:2], "x")  # no duplicates: exact_dedup changes nothing
    first = curate("x", ["normalize"], name="y")
    other = curate("x", ["normalize", "exact_dedup"], name="y")
    assert other.dataset.snapshot == first.dataset.snapshot and other.dataset.path == first.dataset.path
    assert other.dataset.ref == "y@v2" and not other.reused and other.curation_id != first.curation_id
    assert [r["step"] for r in other.report] == ["normalize", "exact_dedup"]
    assert [r["step"] for r in CurationResult.load("y@v2").report] == ["normalize", "exact_dedup"]
    stored = ws.db.execute("SELECT steps FROM curations WHERE id=?", (other.curation_id,)).fetchone()[0]
    assert [s["step"] for s in json.loads(stored)] == ["normalize", "exact_dedup"]
    seeded = curate("x", ["normalize"], name="y", seed=1)
    assert seeded.dataset.ref == "y@v3" and not seeded.reused
    again = curate("x", ["normalize"], name="y")
    assert again.reused and again.dataset.ref == "y@v1" and again.curation_id == first.curation_id
    assert [r["step"] for r in again.report] == ["normalize"] and L.dataset("y").ref == "y@v1"
    assert _count(ws, "curations") == 3


def test_a_review_is_reused_only_with_the_same_decisions(ws):
    L.load_dataset(ROWS, "r")
    review = Review("r")
    review.decide("c", "reject", note="a repeat")
    first = review.commit()
    review.decide("c", "reject", note="off topic")  # the same records, for another stated reason
    other = review.commit()
    assert other.snapshot == first.snapshot and (first.ref, other.ref) == ("r@v2", "r@v3") and not other.reused
    notes = [json.loads(r[0])["note"] for r in ws.db.execute(
        "SELECT c.detail FROM curation_changes c JOIN curations k ON k.id = c.curation_id "
        "WHERE k.output_id=? ORDER BY c.id", (other.id,))]
    assert notes == ["off topic"]
    review.decide("c", "reject", note="a repeat")
    back = review.commit()
    assert back.ref == "r@v2" and back.reused and L.dataset("r").ref == "r@v2"
    assert ws.db.execute("SELECT count(*) FROM curations WHERE op='review'").fetchone()[0] == 2


def test_rerunning_load_and_curate_reproduces_the_same_references(ws):
    first = curate(L.load_dataset("pydoc"))
    second = curate(L.load_dataset("pydoc"))
    assert first.dataset.ref == second.dataset.ref == "pydoc@v2"
    assert not first.reused and second.reused and second.dataset.id == first.dataset.id
    assert [d["version"] for d in L.datasets(all_versions=True)] == ["v1", "v2"]
    # one curation row, its changes stored once: no orphan row pointing at nothing
    assert _count(ws, "curations") == 1 and second.curation_id == first.curation_id
    assert ws.db.execute("SELECT count(*) FROM curations WHERE output_id IS NULL").fetchone()[0] == 0
    assert _count(ws, "curation_changes") == len(first.changes())
    assert json.loads(json.dumps(first.report)) == second.report
    assert second.removed.record_id.tolist() == first.removed.record_id.tolist()
    assert CurationResult.load("pydoc@v2").curation_id == first.curation_id
    assert "the same curation of pydoc@v1 was already stored as pydoc@v2" in str(second)
    assert "reused=True" in repr(second) and second.to_dict()["reused"] is True
    assert "already stored as pydoc@v2" in second._repr_html_()
    back = second.revert(["if"])
    assert back.ref == "pydoc@v3" and "if" in back.ids()


def test_other_content_or_another_operation_makes_a_new_version(ws):
    L.load_dataset(ROWS, "d")
    same_records = curate("d", ["normalize"])  # nothing changes, but a curation is not a load
    assert same_records.dataset.ref == "d@v2" and not same_records.reused
    assert same_records.dataset.snapshot == L.dataset("d@v1").snapshot
    dedup = curate("d@v1", ["exact_dedup"])
    assert dedup.dataset.ref == "d@v3" and not dedup.reused and dedup.removed.record_id.tolist() == ["c"]
    assert curate("d@v1", ["exact_dedup"]).dataset.ref == "d@v3"
    # the same content curated from another parent is its own version
    assert curate("d@v2", ["exact_dedup"]).dataset.ref == "d@v4"
    assert L.load_dataset(ROWS[:1], "d").ref == "d@v5"


def test_splits_and_reviews_resolve_to_the_stored_versions_too(ws):
    L.load_dataset("pydoc")
    a = curate("pydoc", ["exact_dedup"], split=0.25, seed=3)
    b = curate("pydoc@v1", ["exact_dedup"], split=0.25, seed=3)
    assert (b.splits.train.ref, b.splits.eval.ref) == (a.splits.train.ref, a.splits.eval.ref) == \
        ("pydoc-train@v1", "pydoc-eval@v1")
    assert b.splits.train.reused and b.splits.eval.ids() == a.splits.eval.ids()
    r = Review("pydoc@v2")
    r.decide("lambda", "reject")
    first = r.commit()
    again = Review("pydoc@v2").commit()  # the decisions are stored: committing them again is the same snapshot
    assert first.ref == again.ref == "pydoc@v3" and again.reused
    assert ws.db.execute("SELECT count(*) FROM curations WHERE op='review'").fetchone()[0] == 1


def test_names_over_the_length_limit_are_refused_before_any_work(ws):
    L.load_dataset(ROWS, "d")
    with pytest.raises(InputError, match=r"dataset name '.*' is 101 characters long"):
        curate("d", ["normalize"], name="x" * 101)
    with pytest.raises(InputError, match=r"dataset name '.*' is 101 characters long"):
        curate("d", ["normalize"], name="x" * 95, split=0.5)  # x...-train would not fit
    assert [d["version"] for d in L.datasets(all_versions=True)] == ["v1"]
