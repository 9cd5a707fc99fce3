"""curate(): new snapshot with lineage, per-step report, every removal stored with its record, revert, display."""
import itertools
import json
import tracemalloc

import pytest

import llmops_nb as L
from llmops_nb.data.curation import CurationResult, curate, parse_step, plan, revert, split_dataset
from llmops_nb.data.steps import StepContext
from llmops_nb.data.steps.text import exact_dedup
from llmops_nb.errors import InputError, NotFoundError


@pytest.fixture
def pydoc(ws):
    return L.load_dataset("pydoc")


def test_default_curation_of_pydoc(pydoc, ws):
    res = curate("pydoc")
    ds = res.dataset
    assert ds.ref == "pydoc@v2" and ds.op == "curate" and ds.parent.ref == "pydoc@v1"
    assert [s["step"] for s in ds.params["steps"]] == ["normalize", "exact_dedup", "near_dedup", "quality", "pii"]
    assert L.dataset("pydoc@v1").path.exists() and len(L.dataset("pydoc@v1")) == 79  # input untouched
    rep = {r["step"]: r for r in res.report}
    assert rep["normalize"]["in"] == 79 and rep["normalize"]["edited"]["normalized"] > 0
    assert rep["exact_dedup"]["removed"] == {"exact_duplicate": 1}
    for a, b in zip(res.report, res.report[1:]):
        assert a["out"] == b["in"]
        assert a["in"] - a["out"] == sum(a["removed"].values())
    assert res.report[-1]["out"] == len(ds) == 79 - res.removed_count
    removed = res.removed
    row = removed[removed.record_id == "if"].iloc[0]
    assert row.step == "exact_dedup" and row.duplicate_of == "else" and row.duplicate_text == row.text
    assert row.record["text"].startswith('The "if" statement')
    # stored in the workspace: snapshot produced, record id, step, reason, duplicate_of, detail, the record
    db = ws.db
    stored = db.execute("SELECT k.output_id, c.* FROM curation_changes c JOIN curations k ON k.id = c.curation_id "
                        "WHERE c.action='removed' ORDER BY c.id").fetchall()
    assert len(stored) == res.removed_count and all(r["output_id"] == ds.id for r in stored)
    assert {r["reason"] for r in stored} >= {"exact_duplicate"} and json.loads(stored[0]["record"])["id"] == "if"
    assert "if" not in ds.ids()
    # reload from the snapshot alone
    again = CurationResult.load("pydoc@v2")
    assert again.report == res.report and again.removed_count == res.removed_count


def test_revert_restores_removed_records_as_a_new_version(pydoc):
    res = curate("pydoc", ["normalize", "exact_dedup", "filter:n_words < 2000"])
    gone = res.removed.record_id.tolist()
    assert "if" in gone and len(gone) >= 3
    back = res.revert(["if", gone[-1]])
    assert back.ref == "pydoc@v3" and back.op == "revert" and back.parent.ref == "pydoc@v2"
    assert len(back) == len(res.dataset) + 2 and {"if", gone[-1]} <= set(back.ids())
    restored = {r["id"]: r for r in back.records()}["if"]
    assert restored["topic"] == "if"
    # the lineage is searched: a removal two versions back can still be reverted
    again = revert("pydoc", [gone[1]])
    assert gone[1] in again.ids()
    with pytest.raises(NotFoundError, match="unknown removed record 'iff'.*did you mean 'if'"):
        revert(res, ["iff"])


def test_step_forms_names_strings_tuples_and_functions(pydoc):
    def shout(rec):
        return rec["text"].upper() if rec["id"] == "pass" else True

    res = curate("pydoc", ["exact_dedup", ("filter", "n_words > 150"), "sample:n=20", shout], name="small", seed=1)
    assert res.dataset.ref == "small@v1" and len(res.dataset) == 20
    assert [r["step"] for r in res.report] == ["exact_dedup", "filter", "sample", "shout"]
    assert res.report[2]["params"] == {"n": 20}
    texts = {r["id"]: r["text"] for r in res.dataset.records()}
    if "pass" in texts:
        assert texts["pass"].isupper()
    assert parse_step("near_dedup:threshold=0.85,ngram=3") == ("near_dedup", {"threshold": 0.85, "ngram": 3})
    assert parse_step("pii:drop") == ("pii", {"mode": "drop"})
    assert parse_step("filter:lang == 'en'") == ("filter", {"expr": "lang == 'en'"})
    assert parse_step("select:200") == ("select", {"n": 200})
    with pytest.raises(InputError, match="has no parameter 'treshold'.*did you mean 'threshold'"):
        parse_step("near_dedup:treshold=0.9")
    steps = plan(None, near_threshold=0.9, pii="drop")
    assert [(p.name, p.params) for p in steps if p.name in ("near_dedup", "pii")] == [
        ("near_dedup", {"threshold": 0.9}), ("pii", {"mode": "drop"})]
    assert "pii" not in [p.name for p in plan(None, pii="off")]
    assert [p.name for p in plan(["normalize"], pii="flag")] == ["normalize", "pii"]
    with pytest.raises(InputError, match="near_dedup is not among the steps"):
        plan(["normalize"], near_threshold=0.9)
    with pytest.raises(InputError, match="custom step forgot_return returned NoneType"):
        curate("pydoc", [forgot_return], name="x")


def forgot_return(rec):
    rec["text"].upper()


def test_flags_column_and_near_dup_after_a_streaming_step(ws):
    base = ("Curation keeps the records that matter and removes the copies that do not add anything new "
            "to the dataset, so that the model sees each idea once and the evaluation stays honest. ")
    rows = [{"id": "a", "text": base * 3}, {"id": "b", "text": (base * 3).replace("honest", "fair", 1)},
            {"id": "c", "text": "Reach me at someone@example.com about the dataset and the model and the rest."}]
    rows += [{"id": f"x{i}", "text": f"Unrelated record number {i} with some words that are not the same as the others."}
             for i in range(30)]
    L.load_dataset(rows, "mail")
    res = curate("mail", ["normalize", "near_dedup", "pii:flag"])
    assert res.removed.record_id.tolist() == ["b"] and res.removed.duplicate_of.tolist() == ["a"]
    recs = {r["id"]: r for r in res.dataset.records()}
    assert json.loads(recs["c"]["_flags"]) == ["pii:email"] and recs["a"]["_flags"] is None
    assert res.report[2]["flagged"] == {"email": 1}


def test_split_writes_train_and_eval_snapshots(pydoc):
    res = curate("pydoc", ["exact_dedup"], split=0.25, seed=7)
    sp = res.splits
    assert (sp.train.ref, sp.eval.ref) == ("pydoc-train@v1", "pydoc-eval@v1")
    assert len(sp.eval) == round(78 * 0.25) and len(sp.train) + len(sp.eval) == 78
    assert not set(sp.train.ids()) & set(sp.eval.ids())
    assert sp.train.parent.ref == res.dataset.ref and sp.train.op == "split"
    same = split_dataset(res.dataset, 0.25, seed=7, name="again")
    assert same.eval.ids() == sp.eval.ids()
    with pytest.raises(InputError, match="both sides need at least one record"):
        split_dataset(res.dataset, eval_size=78)


def test_curation_that_removes_everything_stores_nothing(ws):
    L.load_dataset([{"text": "tiny"}, {"text": "small"}], "tiny")
    with pytest.raises(InputError, match=r"curation removed all 2 records of tiny@v1 \(quality -2\).*nothing was stored"):
        curate("tiny", ["quality"])
    assert [d["version"] for d in L.datasets(all_versions=True)] == ["v1"]
    assert ws.db.execute("SELECT count(*) FROM curations").fetchone()[0] == 0
    assert ws.db.execute("SELECT count(*) FROM curation_changes").fetchone()[0] == 0


def test_very_long_and_empty_records_go_through_every_cheap_step(ws):
    long_text = " ".join(f"token{i % 5000} the of and" for i in range(60_000))  # ~1.4M chars, 240k words
    rows = [{"id": "long", "text": long_text}, {"id": "long2", "text": long_text + " end"}, {"id": "empty", "text": ""},
            {"id": "ok", "text": "A normal sentence that has the words to pass the quality bar easily."}]
    L.load_dataset(rows, "odd")
    res = curate("odd", ["normalize", "exact_dedup", "near_dedup", ("quality", {"max_words": 200_000}), "pii"])
    reasons = dict(zip(res.removed.record_id, res.removed.reason))
    assert reasons == {"long2": "near_duplicate", "empty": "too_few_words", "long": "too_many_words"}
    assert res.dataset.ids() == ["ok"]


def test_exact_dedup_streams_and_holds_only_digests():
    # an endless input: the step yields as it reads (islice stops it), it never collects texts first
    endless = ({"id": str(i), "text": f"record {i % 1000}"} for i in itertools.count())
    ctx = StepContext("exact_dedup")
    first = list(itertools.islice(exact_dedup(endless, ctx), 1000))
    assert len(first) == 1000 and first[-1]["id"] == "999"
    # 100 MB of distinct text through the step: memory stays at the digest table, far below the text
    ctx = StepContext("exact_dedup", sink=lambda ch: None)
    texts = ({"id": str(i), "text": f"{i} " + ("lorem ipsum dolor sit amet " * 185).strip()} for i in range(20_000))
    tracemalloc.start()
    kept = sum(1 for _ in exact_dedup(texts, ctx))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert kept == 20_000 and peak < 10e6, peak


def test_report_display_is_escaped_and_has_a_funnel(ws):
    evil = "<script>alert(1)</script> & <b>bold</b> text that repeats itself"
    L.load_dataset([{"id": "<img src=x>", "text": evil}, {"id": "dup", "text": evil + " "}], "evil")
    res = curate("evil", ["normalize", "exact_dedup"])
    html = res._repr_html_()
    assert "<script>" not in html and "<img src=x>" not in html
    assert "&lt;script&gt;" in html and "<svg" in html and html.count("<rect") == 3
    text = str(res)
    assert "exact_dedup" in text and "evil@v1 -> evil@v2: 2 -> 1 records" in text
    d = res.to_dict()
    json.dumps(d)
    assert d["records_in"] == 2 and d["records_out"] == 1 and d["steps"][1]["removed"] == {"exact_duplicate": 1}
    assert d["examples"][0]["duplicate_of"] == "<img src=x>"


def test_data_core_never_imports_ipython_or_widgets(tmp_path):
    import os
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import sys, llmops_nb as L
        import llmops_nb.data.review, llmops_nb.data.steps, llmops_nb.data.diff, llmops_nb.data.synthetic
        L.load_dataset("pydoc")
        res = L.curate("pydoc", ["normalize", "exact_dedup", "near_dedup", "quality", "pii", "filter:n_words > 5"])
        str(res); res._repr_html_(); res.removed
        r = llmops_nb.data.review.Review(res.dataset); r.decide("lambda", "reject"); r.commit()
        print(",".join(m for m in ("IPython", "ipywidgets", "anywidget", "traitlets") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "LLMOPS_HOME": str(tmp_path / "w")}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""
