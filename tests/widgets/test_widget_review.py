"""The review widget: its mime bundle (live view + static snapshot), the snapshot following decisions and the
commit, the heading after Commit, hand-rejected records counted as rejected, the commit tracked as a run, and
the front-end's click-selects-record behaviour (its real review.js under node with a minimal DOM)."""
import json
import subprocess
from pathlib import Path

import pytest

import llmops_nb as L
from llmops_nb.widgets.review import MIME, ReviewWidget, review
from llmops_nb.widgets.snapshot import WIDGET_VIEW

HERE = Path(__file__).resolve().parent
JS = Path(L.__file__).parent / "widgets" / "review.js"
XSS = "<img src=x onerror=alert(1)>"
RECORDS = [{"id": "evil", "text": f"{XSS} is just text here, with enough words to stay."}] + [
    {"id": f"r{i}", "text": f"Record number {i} says something useful about the topic.\n  indented line"}
    for i in range(1, 6)]


@pytest.fixture
def notes(ws):
    return L.load_dataset(RECORDS, "notes")


def bundle(w):
    data, meta = w._repr_mimebundle_()
    assert isinstance(meta, dict)
    return data


def test_bundle_holds_the_widget_view_and_a_readable_snapshot(notes):
    w = review(notes, page_size=4)
    data = bundle(w)
    assert set(data) == {WIDGET_VIEW, MIME, "text/html", "text/plain"}
    assert data[WIDGET_VIEW]["model_id"] == w.model_id  # anywidget's own view entry, untouched
    snap = data[MIME]
    assert snap["version"] == 1 and snap["dataset"] == "notes@v1" and snap["committed"] is None
    assert snap["summary"]["total"] == 6 and snap["summary"]["pending"] == 6 and snap["summary"]["accepted"] == 0
    assert [i["id"] for i in snap["items"]] == ["evil", "r1", "r2", "r3"] and snap["pages"] == 2
    assert all(i["decision"] is None for i in snap["items"])
    assert json.loads(json.dumps(snap)) == snap
    text = data["text/plain"]
    assert text.startswith("review notes@v1: 6 records, 0 accepted, 0 rejected, 0 edited, 6 pending")
    assert "[pending] r1: Record number 1" in text and "ReviewWidget(" not in text
    html = data["text/html"]
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "var(--jp-" in html and "data-llmops-id='r1'" in html


def test_snapshot_follows_decisions_and_the_commit(notes):
    w = review(notes, page_size=4)
    w.decide("r1", "accept")
    w.decide("r2", "reject")
    w.decide("r3", "edit", "Record three, edited.")
    snap = bundle(w)[MIME]
    assert snap["summary"] == {**snap["summary"], "accepted": 1, "rejected": 1, "edited": 1, "pending": 3}
    by_id = {i["id"]: i for i in snap["items"]}
    assert by_id["r1"]["decision"] == "accepted" and by_id["r2"]["decision"] == "rejected"
    assert by_id["r3"]["decision"] == "edited" and by_id["r3"]["edited_text"] == "Record three, edited."
    assert "[rejected] r2" in bundle(w)["text/plain"]
    assert w.heading == "Review notes@v1"
    w.commit_request = 1  # the Commit button
    assert w.committed == "notes@v2"
    assert w.heading == "Committed notes@v2 (5 records) from notes@v1"  # not "Review notes@v1" any more
    data = bundle(w)
    assert data[MIME]["committed"] == "notes@v2" and data[MIME]["heading"] == w.heading
    assert "Committed notes@v2 (5 records) from notes@v1" in data["text/plain"]
    assert "Committed notes@v2 (5 records) from notes@v1" in data["text/html"]
    w.decide("r4", "reject")  # reviewing goes on: the heading says the commit is behind
    assert "changed since the commit of notes@v2" in w.heading


def test_hand_rejected_records_are_rejected_not_removed_by_curation(notes):
    w = review(notes)
    w.decide("r2", "reject")
    assert "1 rejected by review" in w.counts and "0 removed by curation" in w.counts
    new = w.commit()
    again = review(new)  # reviewing the committed snapshot: r2 is there as rejected by the earlier review
    assert again.summary["removed"] == 0 and again.summary["rejected_by_review"] == 1
    assert "1 rejected by an earlier review" in again.counts and "0 removed by curation" in again.counts
    assert "1 rejected by review" in str(again.core) and "0 removed by curation" in str(again.core)
    assert ["rejected", "rejected", 1] in again.filters
    again.filter = "rejected"
    assert [(i["id"], i["status"]) for i in again.items] == [("r2", "rejected")]
    assert bundle(again)[MIME]["summary"]["rejected_by_review"] == 1
    again.decide("r2", "accept")  # accepting it restores it
    assert "r2" in again.commit().ids()


def test_commit_is_tracked_as_a_review_run_even_when_it_reuses_the_snapshot(notes):
    w = review(notes)
    w.decide("r1", "accept")
    w.decide("r2", "reject")
    w.decide("r3", "edit", "Record three, edited.")
    ds = w.commit()
    runs = [r for r in L.runs().to_dict() if r["kind"] == "review"]
    assert len(runs) == 1
    run = L.get_run(runs[0]["id"])
    assert run.kind == "review" and run.status == "finished" and run.name == "review notes@v1"
    assert run.params["source"] == "notes@v1" and run.params["accepted"] == 1 and run.params["rejected"] == 1
    assert run.params["edited"] == 1 and run.params["effects"] == {"rejected": 1, "edited": 1, "restored": 0}
    m = run.metrics
    assert (m["accepted"], m["rejected"], m["edited"], m["records_in"], m["records_out"]) == (1, 1, 1, 6, 5)
    assert run.records["dataset"] == ds.ref == "notes@v2" and run.tags["dataset"] == "notes@v2"
    same = ReviewWidget("notes@v1").commit()  # the same decisions again: the snapshot is reused, the run recorded
    assert same.ref == "notes@v2" and same.reused
    runs = [r for r in L.runs().to_dict() if r["kind"] == "review"]
    assert len(runs) == 2
    second = L.get_run(runs[0]["id"]) if runs[0]["id"] != run.id else L.get_run(runs[1]["id"])
    assert second.records["dataset"] == "notes@v2" and second.tags.get("reused") is True
    assert second.metrics["records_out"] == 5


def test_a_refused_commit_records_no_run(notes):
    w = review(notes)
    w.commit_request = 1
    assert w.status.startswith("error: nothing to commit") and w.committed == ""
    assert not [r for r in L.runs().to_dict() if r["kind"] == "review"]


CLICK = """
import { installDom, makeModel } from "%(dom)s";
installDom();
const model = makeModel(JSON.parse(process.argv[2]));
const mod = await import("%(js)s");
const el = new (await import("%(dom)s")).Node("DIV");
mod.default.render({ model, el });
const items = el.byClass("lr-item");
const ids = items.map((n) => n.getAttribute("data-llmops-id"));
// click the third record's Reject button, then press "a": the key must act on that same record
items[2].byClass("lr-reject")[0].click();
const selectedAfterClick = el.byClass("lr-selected").map((n) => n.getAttribute("data-llmops-id"));
el.dispatch("keydown", { key: "a" });
// a change from the kernel (the decision saved) re-renders: the selection stays on the clicked record
model.update("items", model.get("items"));
const selectedAfterUpdate = el.byClass("lr-selected").map((n) => n.getAttribute("data-llmops-id"));
model.update("heading", "Committed notes@v2 (5 records) from notes@v1");
console.log(JSON.stringify({ ids, selectedAfterClick, selectedAfterUpdate, focused: document.activeElement === el,
  sent: model.sent.filter(([k]) => k === "decision").map(([, v]) => [v.id, v.decision]),
  title: el.byClass("lr-title")[0].textContent, summary: el.byClass("lr-summary")[0].textContent,
  buttons: ["lr-accept", "lr-reject", "lr-edit", "lr-commit"].map((c) => el.byClass(c).length) }));
"""


@pytest.mark.usefixtures("node")
def test_clicking_a_records_button_selects_that_record(notes, tmp_path):
    w = review(notes, page_size=4)
    state = {k: getattr(w, k) for k in ("dataset_ref", "filter", "query", "page", "page_size", "total", "items",
                                        "filters", "summary", "status", "commit_request", "heading", "counts")}
    script = tmp_path / "click.mjs"
    script.write_text(CLICK % {"dom": (HERE / "minidom.mjs").as_uri(), "js": JS.as_uri()})
    p = subprocess.run(["node", str(script), json.dumps(state)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["ids"] == ["evil", "r1", "r2", "r3"]
    assert out["selectedAfterClick"] == ["r2"] and out["selectedAfterUpdate"] == ["r2"] and out["focused"]
    assert out["sent"] == [["r2", "reject"], ["r2", "accept"]]
    assert out["title"] == "Committed notes@v2 (5 records) from notes@v1"
    assert out["summary"] == w.counts and "removed by curation" in out["summary"]
    assert out["buttons"] == [4, 4, 4, 1]


def test_in_a_shell_without_a_kernel_showing_and_deciding_just_work(ipy, notes):
    ipy.run("from llmops_nb.widgets.review import review\nw = review('notes')\nw")  # _ipython_display_ path
    w = ipy.ns["w"]
    assert w.display_id.startswith("llmops-") and w.display_id == w.display_id
    w.decide("r1", "reject")
    assert w.refresh_snapshot() is False  # no kernel to send an update to: nothing printed again
    assert w.summary["reject"] == 1
