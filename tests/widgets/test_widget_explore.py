"""The explore widget: busy while a search runs, a bad filter clears the stale results and says one line, its
mime bundle carries the search snapshot (escaped), and the front-end opens a record right under its hit."""
import json
import subprocess
from pathlib import Path

import pytest

import llmops_nb as L
from llmops_nb.widgets.explore import MIME, explore
from llmops_nb.widgets.snapshot import WIDGET_VIEW

pytestmark = pytest.mark.slow  # builds a real MiniLM index

HERE = Path(__file__).resolve().parent
JS = Path(L.__file__).parent / "widgets" / "explore.js"
XSS = "<img src=x onerror=alert(1)>"
DOCS = [
    {"id": "cat", "text": "Cats are small domesticated felines that purr and chase mice.", "kind": "mammal"},
    {"id": "eagle", "text": "Eagles are large birds of prey with sharp eyesight.", "kind": "bird"},
    {"id": "salmon", "text": "Salmon swim upstream from the ocean to spawn in rivers.", "kind": "fish"},
    {"id": "xss", "text": f"{XSS} tags & ampersands are just text", "kind": "html"},
]


@pytest.fixture
def zoo(ws):
    return L.build_index(L.load_dataset(DOCS, "animals"), name="zoo", progress=False)


def test_busy_wraps_the_search_and_a_bad_filter_clears_the_results(zoo):
    w = explore("zoo")
    seen = []
    w.observe(lambda ch: seen.append((ch["name"], ch["new"] if ch["name"] == "busy" else len(ch["new"]))),
              names=["busy", "results"])
    w.query = "a bird of prey"  # what the front-end sets after its debounce
    assert seen == [("busy", True), ("busy", False), ("results", 4)] and not w.busy
    assert w.results[0]["id"] == "eagle"
    seen.clear()
    w.where = "kind = 'fish'"
    assert ("busy", True) in seen and not w.busy
    assert w.results == [] and w.terms == [] and w.note == ""  # no stale hits under the error
    assert "use == to compare" in w.error and "\n" not in w.error
    snap = w._repr_mimebundle_()[0][MIME]
    assert snap["hits"] == [] and snap["error"] == w.error and snap["where"] == "kind = 'fish'"
    w.where = "kind == 'fish'"
    assert [r["id"] for r in w.results] == ["salmon"] and w.error == ""


def test_bundle_holds_the_view_and_the_search_snapshot(zoo):
    w = explore("zoo", "img tags and ampersands", k=2)
    data, _ = w._repr_mimebundle_()
    assert set(data) == {WIDGET_VIEW, MIME, "text/html", "text/plain"} and data[WIDGET_VIEW]["model_id"] == w.model_id
    snap = data[MIME]
    assert {k: snap[k] for k in ("version", "index", "query", "where", "k")} == {
        "version": 1, "index": "zoo", "query": "img tags and ampersands", "where": None, "k": 2}
    assert snap["hits"][0]["id"] == "xss" and snap["hits"][0]["text"] == DOCS[3]["text"]
    assert set(snap["hits"][0]) == {"rank", "id", "chunk", "score", "text", "metadata", "start", "end"}
    core = L.search("zoo", "img tags and ampersands", k=2).to_dict()  # the shape SearchResults gives
    assert {k: snap[k] for k in ("index", "query", "where", "k", "terms", "exact", "method")} == {
        k: core[k] for k in ("index", "query", "where", "k", "terms", "exact", "method")}
    assert [{k: h[k] for k in ("rank", "id", "chunk", "text", "start", "end")} for h in snap["hits"]] == [
        {k: h[k] for k in ("rank", "id", "chunk", "text", "start", "end")} for h in core["hits"]]
    assert snap["hits"][0]["metadata"]["kind"] == "html" and snap["terms"] and snap["elapsed_ms"] >= 0
    assert json.loads(json.dumps(snap)) == snap
    assert data["text/plain"].startswith("search zoo for 'img tags and ampersands' (k=2): 2 results")
    assert "[1] " in data["text/plain"] and "xss#0" in data["text/plain"]
    html = data["text/html"]
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html and "var(--jp-" in html
    w.query = "fish that swim upstream"  # a new search: a new snapshot
    assert w._repr_mimebundle_()[0][MIME]["hits"][0]["id"] == "salmon"


SHOW = """
import { installDom, makeModel, Node } from "%(dom)s";
installDom();
const model = makeModel(JSON.parse(process.argv[2]));
const mod = await import("%(js)s");
const root = new Node("DIV");
mod.default.render({ model, el: root });
const busy = root.byClass("lx-busy")[0];
const out = { busyHidden: busy.style.display };
model.update("busy", true);
out.busyShown = busy.style.display; out.ariaBusy = root.getAttribute("aria-busy"); out.busyText = busy.textContent;
model.update("busy", false);
const hits = root.byClass("lx-hit");
hits[1].byClass("lx-show")[0].click();  // "show record" on the second hit
out.selected = model.state.selected;
model.update("record", { id: model.state.selected, text: "the whole record", metadata: { kind: "bird" } });
const list = root.byClass("lx-results")[0];
const order = list.children.map((n) => n.classList.contains("lx-record") ? "record" : n.getAttribute("data-llmops-id"));
out.order = order; out.scrolled = root.byClass("lx-record")[0].scrolled > 0;
model.update("results", model.state.results.slice());  // new results keep the record under its hit
out.orderAfter = list.children.map((n) => n.classList.contains("lx-record") ? "record" : n.getAttribute("data-llmops-id"));
model.update("results", []);  // its hit gone: the record moves to the top
out.orderGone = list.children.map((n) => n.classList.contains("lx-record") ? "record" : n.getAttribute("data-llmops-id"));
root.byClass("lx-close")[0].click();
out.closed = model.state.selected;
console.log(JSON.stringify(out));
"""


@pytest.mark.usefixtures("node")
def test_front_end_shows_busy_and_opens_the_record_under_its_hit(zoo, tmp_path):
    w = explore("zoo", "a bird of prey", k=3)
    state = {k: getattr(w, k) for k in ("index_name", "query", "k", "where", "columns", "results", "terms", "note",
                                        "error", "elapsed_ms", "selected", "record", "busy")}
    script = tmp_path / "show.mjs"
    script.write_text(SHOW % {"dom": (HERE / "minidom.mjs").as_uri(), "js": JS.as_uri()})
    p = subprocess.run(["node", str(script), json.dumps(state)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    ids = [r["id"] for r in w.results]
    assert out["busyHidden"] == "none" and out["busyShown"] == "" and out["ariaBusy"] == "true"
    assert out["busyText"] == "searching…"
    assert out["selected"] == ids[1]
    assert out["order"] == [ids[0], ids[1], "record", ids[2]] and out["scrolled"]
    assert out["orderAfter"] == out["order"] and out["orderGone"] == ["record"]
    assert out["closed"] == ""
    w.selected = ids[1]  # what the link's write does on the Python side
    assert w.record["id"] == ids[1]
