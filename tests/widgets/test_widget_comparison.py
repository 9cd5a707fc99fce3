"""The comparison widget: an anywidget whose bundle carries `Comparison.to_dict()` beside the live view, whose
answers keep their newlines and indentation (escaped), and whose example follows the front-end's position."""
import json
import subprocess
from pathlib import Path

import pytest

import llmops_nb as L
from llmops_nb.evals.comparison import Comparison
from llmops_nb.widgets.comparison import MIME, ComparisonWidget
from llmops_nb.widgets.snapshot import WIDGET_VIEW

HERE = Path(__file__).resolve().parent
JS = Path(L.__file__).parent / "widgets" / "comparison.js"
XSS = "<img src=x onerror=alert(1)>"
CODE = "def f(x):\n    if x:\n        return 1\n    return 0"


def comparison() -> Comparison:
    rows = []
    for i, (q, ref) in enumerate([("Write f.", CODE), ("What is 2+2?", "4"), ("Say hi.", "hi")]):
        rows.append({"example": i, "variant": "zero-shot:tiny", "question": q, "reference": ref,
                     "output": CODE if i == 0 else f"{XSS} answer {i}", "token_f1": 1.0 if i == 0 else 0.1 * i})
        rows.append({"example": i, "variant": "few-shot:tiny:2", "question": q, "reference": ref,
                     "output": "" if i == 2 else f"answer {i}", "token_f1": 0.5 - 0.2 * i})
    return Comparison(rows, ["zero-shot:tiny", "few-shot:tiny:2"], ["token_f1"], "zero-shot:tiny",
                      {"eval_set": "toy", "n_examples": 3}, "run123", 0.5)


def test_bundle_is_the_comparison_beside_the_view_and_answers_keep_their_shape(ws):
    comp = comparison()
    w = ComparisonWidget(comp)
    data, _ = w._repr_mimebundle_()
    assert set(data) == {WIDGET_VIEW, MIME, "text/html", "text/plain"} and data[WIDGET_VIEW]["model_id"] == w.model_id
    snap = data[MIME]
    view = snap.pop("view")
    assert snap == {**comp.to_dict(), "version": snap["version"]} and snap["version"] == 1
    assert view["position"] == 0 and view["count"] == 3 and view["example"]["answers"][0]["output"] == CODE
    assert json.loads(json.dumps(data[MIME])) == data[MIME]
    text = data["text/plain"]
    assert CODE in text and "example 1 of 3" in text and "ComparisonWidget(" not in text
    html = data["text/html"]
    assert "class='ls-pre'>def f(x):\n    if x:\n        return 1" in html  # newlines and indentation kept
    assert "white-space:pre-wrap" in html and "var(--jp-" in html
    w.position = 1
    data, _ = w._repr_mimebundle_()
    assert data[MIME]["view"]["example"]["question"] == "What is 2+2?"
    assert "<img" not in data["text/html"] and "&lt;img src=x onerror=alert(1)&gt; answer 1" in data["text/html"]
    assert f"{XSS} answer 1" in data["text/plain"]  # plain text is text: nothing to escape


def test_position_and_order_move_through_the_examples(ws):
    w = ComparisonWidget(comparison())
    assert w.count == 3 and w.orders == ["eval order", "worst first: zero-shot:tiny", "worst first: few-shot:tiny:2"]
    w.position = 7  # clamped
    assert w.position == 2 and w.current["example"] == "2"
    assert [a["output"] for a in w.current["answers"]] == [f"{XSS} answer 2", ""]
    w.order = "worst first: few-shot:tiny:2"
    assert w.position == 0 and w.current["example"] == "2"  # few-shot's lowest token_f1 first
    w.step(1)
    assert w.current["example"] == "1"
    assert w.current["answers"][1]["score"] == pytest.approx(0.3)
    assert isinstance(comparison().widget(), ComparisonWidget)  # cmp.widget() makes this one


RENDER = """
import { installDom, makeModel, Node } from "%(dom)s";
installDom();
const model = makeModel(JSON.parse(process.argv[2]));
const mod = await import("%(js)s");
const el = new Node("DIV");
mod.default.render({ model, el });
const answers = el.byClass("lc-answer");
const out = { variants: answers.map((n) => n.getAttribute("data-llmops-variant")),
  outputs: el.byClass("lc-output").map((n) => n.textContent), pre: el.byClass("lc-output")[0].classList.contains("lc-pre"),
  position: el.byClass("lc-position")[0].textContent, prevDisabled: el.byClass("lc-prev")[0].disabled };
el.byClass("lc-next")[0].click();
out.sent = model.sent;
console.log(JSON.stringify(out));
"""


@pytest.mark.usefixtures("node")
def test_front_end_renders_answers_as_preformatted_text(ws, tmp_path):
    w = ComparisonWidget(comparison())
    state = {k: getattr(w, k) for k in ("variants", "metric", "count", "position", "order", "orders", "current")}
    script = tmp_path / "render.mjs"
    script.write_text(RENDER % {"dom": (HERE / "minidom.mjs").as_uri(), "js": JS.as_uri()})
    p = subprocess.run(["node", str(script), json.dumps(state)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["variants"] == ["zero-shot:tiny", "few-shot:tiny:2"]
    assert out["outputs"] == [CODE, "answer 0"] and out["pre"]
    assert out["position"] == "example 1 of 3" and out["prevDisabled"]
    assert out["sent"] == [["position", 1]]
    assert "white-space: pre-wrap" in (JS.parent / "comparison.css").read_text()
