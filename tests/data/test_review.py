"""Review: decisions persist as they are made (a new widget after a 'restart' sees them), commit applies them,
duplicate pairs come with a word diff, and the front-end's keyboard flow produces the decisions Python stores."""
import json
import subprocess
import textwrap
from pathlib import Path

import pytest

import llmops_nb as L
from llmops_nb.data.curation import curate
from llmops_nb.data.diff import diff_html, word_diff
from llmops_nb.data.review import Review
from llmops_nb.errors import InputError, NotFoundError
from llmops_nb.widgets.review import ReviewWidget, review

JS = Path(L.__file__).parent / "widgets" / "review.js"


@pytest.fixture
def curated(ws):
    L.load_dataset("pydoc")
    return curate("pydoc", ["normalize", "exact_dedup", "quality"])


def test_word_diff_marks_changed_words_only():
    a, b = word_diff("the quick brown fox", "the quick red fox jumps")
    assert a == [("the quick ", "eq"), ("brown", "del"), (" fox", "eq")]
    assert b == [("the quick ", "eq"), ("red", "ins"), (" fox ", "eq"), ("jumps", "ins")]
    assert "".join(t for t, _ in b) == "the quick red fox jumps"
    assert diff_html([("<b>", "ins"), (" x", "eq")]) == "<mark class='llmops-hl'>&lt;b&gt;</mark> x"


def test_decisions_survive_a_new_widget_and_commit_applies_them(curated, ws):
    w = review(curated.dataset)
    assert w.dataset_ref == "pydoc@v2" and w.total == 79 and len(w.items) == 10
    assert ["removed", "removed", 4] in w.filters and ["reason:exact_duplicate", "reason: exact_duplicate", 1] in w.filters
    # what the front-end does: set the synced `decision` trait (a new seq each time)
    w.decision = {"id": "if", "decision": "accept", "text": None, "seq": 1}  # restore a removed duplicate
    w.decision = {"id": "assert", "decision": "reject", "text": None, "seq": 2}
    w.decision = {"id": "pass", "decision": "edit", "text": "The pass statement does nothing.", "seq": 3}
    w.decision = {"id": "nope", "decision": "reject", "text": None, "seq": 4}
    assert w.status.startswith("error: unknown record 'nope'")
    assert w.summary["accept"] == 1 and w.summary["reject"] == 1 and w.summary["edit"] == 1
    del w  # the kernel restarts: only the workspace remains
    from llmops_nb.workspace import reset_workspace

    reset_workspace()
    w2 = ReviewWidget("pydoc@v2")
    assert {k: v["decision"] for k, v in w2.core.decisions().items()} == {"if": "accept", "assert": "reject",
                                                                          "pass": "edit"}
    w2.filter = "decided"
    assert sorted(i["id"] for i in w2.items) == ["assert", "if", "pass"]
    w2.commit_request = 1  # the Commit button
    new = L.dataset(w2.committed)
    assert new.ref == "pydoc@v3" and new.op == "review" and new.parent.ref == "pydoc@v2"
    assert new.params["rejected"] == 1 and new.params["edited"] == 1 and new.params["restored"] == 1
    texts = {r["id"]: r["text"] for r in new.records()}
    assert "assert" not in texts and texts["pass"] == "The pass statement does nothing." and "if" in texts
    # the rejected record is stored like a curation removal, so it can be reverted too
    from llmops_nb.data.curation import revert

    assert "assert" in revert(new, ["assert"]).ids()


def test_review_pages_filters_search_and_duplicate_pairs(curated):
    r = Review(curated.dataset)
    total, items = r.page("removed")
    assert total == curated.removed_count
    dup = next(i for i in items if i["id"] == "if")
    assert dup["duplicate_of"] == "else" and dup["status"] == "removed" and dup["reason"] == "exact_duplicate"
    assert dup["diff"]["kept"] and all(op == "eq" for _, op in dup["diff"]["this"])
    total, items = r.page("all", query="LAMBDA", limit=100)
    full = {rec["id"]: rec["text"] for rec in curated.dataset.records()}
    assert 1 <= total == len(items) and all("lambda" in (full[i["id"]] + i["id"]).lower() for i in items)
    assert total == sum("lambda" in (t + k).lower() for k, t in full.items())
    total, page2 = r.page("all", offset=10, limit=10)
    assert total == 79 and len(page2) == 10
    with pytest.raises(InputError, match="unknown review filter 'weird'"):
        r.page("weird")
    for bad in (0, -1, 2.5, "ten"):
        with pytest.raises(InputError, match="page size must be a whole number of at least 1"):
            r.page("all", limit=bad)
    with pytest.raises(InputError, match="an edit needs the new text"):
        r.decide("pass", "edit")
    with pytest.raises(InputError, match="unknown decision 'maybe'"):
        r.decide("pass", "maybe")
    with pytest.raises(NotFoundError, match="did you mean 'pass'"):
        r.decide("pas", "reject")
    with pytest.raises(InputError, match="nothing to commit"):
        r.commit()
    r.decide("pass", "reject")
    r.decide("pass", "clear")
    assert r.decisions() == {}


def test_flagged_records_are_filterable(ws):
    L.load_dataset([{"id": "a", "text": "Mail me at a@example.com about the dataset and the rest of it."},
                    {"id": "b", "text": "Nothing personal in this one, just the words and the rest."}], "mails")
    res = curate("mails", ["pii:flag"])
    w = review(res.dataset)
    assert ["flag:pii:email", "flag: pii:email", 1] in w.filters
    w.filter = "flag:pii:email"
    assert [i["id"] for i in w.items] == ["a"] and w.items[0]["flags"] == ["pii:email"]
    assert "review of mails@v2" in str(w) and w.to_dict()["flagged"] == 1


def test_front_end_never_uses_innerhtml_for_text():
    import re

    src = JS.read_text()
    assert not re.search(r"\.(innerHTML|outerHTML|insertAdjacentHTML)\b", src) and "textContent" in src
    assert "export default" in src and (JS.parent / "review.css").exists()


HARNESS = textwrap.dedent("""
    // Minimal DOM for running the widget's render() under node (no browser on the test machines).
    class Node {
      constructor(tag) { this.tagName = tag; this.children = []; this._text = ""; this.listeners = {}; this.attrs = {};
        this.className = ""; this.value = ""; this.disabled = false; this.title = "";
        this.classList = { add: (c) => { this.className = (this.className + " " + c).trim(); },
                           contains: (c) => this.className.split(" ").includes(c) }; }
      set textContent(t) { this.children = []; this._text = String(t); }
      get textContent() { return this._text + this.children.map((c) => c.textContent).join(""); }
      appendChild(c) { this.children.push(c); return c; }
      append(...cs) { cs.forEach((c) => this.appendChild(c)); }
      replaceChildren(...cs) { this.children = []; this.append(...cs); }
      addEventListener(t, f) { (this.listeners[t] ||= []).push(f); }
      removeEventListener(t, f) { this.listeners[t] = (this.listeners[t] || []).filter((g) => g !== f); }
      dispatch(t, ev) { for (const f of this.listeners[t] || []) f({ target: this, preventDefault() {}, stopPropagation() {}, ...ev }); }
      focus() { globalThis.document.activeElement = this; }
      setAttribute(k, v) { this.attrs[k] = v; }
      click() { this.dispatch("click", {}); }
      find(pred) { if (pred(this)) return this; for (const c of this.children) { const r = c.find && c.find(pred); if (r) return r; } return null; }
    }
    globalThis.document = { createElement: (t) => new Node(t.toUpperCase()),
      createTextNode: (t) => { const n = new Node("#text"); n.textContent = t; return n; }, activeElement: null };
    const state = JSON.parse(process.argv[2]);
    const handlers = {};
    const sent = [];
    const model = { get: (k) => state[k], set: (k, v) => { state[k] = v; if (k === "decision") sent.push(v); },
      save_changes() {}, on: (e, f) => { (handlers[e] ||= []).push(f); }, off() {} };
    const mod = await import(process.argv[3]);
    const el = new Node("DIV");
    const cleanup = mod.default.render({ model, el });
    const key = (k, extra = {}) => el.dispatch("keydown", { key: k, ...extra });
    key("j"); key("r");                     // move to the second item, reject it
    key("k"); key("a");                     // back to the first, accept it
    key("j"); key("e");                     // edit the second one
    const area = el.find((n) => n.tagName === "TEXTAREA");
    area.value = "edited in the browser";
    area.dispatch("keydown", { key: "Enter", ctrlKey: true });
    const texts = el.textContent;
    cleanup();
    console.log(JSON.stringify({ sent, hasDiff: texts.includes("kept: "), title: texts.includes("Review "),
                                 suppress: el.attrs["data-lm-suppress-shortcuts"] }));
""")


@pytest.mark.usefixtures("node")
def test_keyboard_flow_in_the_front_end_reaches_the_workspace(curated, tmp_path):
    w = review(curated.dataset)
    w.filter = "removed"
    state = {k: getattr(w, k) for k in ("dataset_ref", "filter", "query", "page", "page_size", "total", "items",
                                        "filters", "summary", "status", "commit_request")}
    ids = [i["id"] for i in w.items[:2]]
    (tmp_path / "harness.mjs").write_text(HARNESS)
    p = subprocess.run(["node", str(tmp_path / "harness.mjs"), json.dumps(state), JS.as_uri()],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["title"] and out["hasDiff"] and out["suppress"] == "true"
    got = [(d["id"], d["decision"], d["text"]) for d in out["sent"]]
    assert got == [(ids[1], "reject", None), (ids[0], "accept", None), (ids[1], "edit", "edited in the browser")]
    for d in out["sent"]:  # what the comm would deliver to the kernel
        w.decision = d
    assert {k: v["decision"] for k, v in Review("pydoc@v2").decisions().items()} == {ids[0]: "accept", ids[1]: "edit"}
