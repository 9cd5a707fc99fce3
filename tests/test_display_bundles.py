"""Rich results carry a full mime bundle (the contract's custom MIME + escaped HTML + text), so a saved notebook
reads well with no kernel; tables keep text left-aligned with its line breaks inside JupyterLab; colours come only
from the theme's variables; user text reaches the page only escaped (HTML) or as data (JSON, shown as text)."""
import json
import re

import numpy as np

import llmops_nb as L
from llmops_nb.charts import VEGALITE_MIME
from llmops_nb.display import STYLE, TABLE_MIME, ResultTable, html_table, table_payload

XSS = "<img src=x onerror=alert(1)>"


class Notes(ResultTable):
    columns = ["name", "n", "created_at", "body", "meta"]
    column_types = {"created_at": "time"}
    noun = "notes"
    caption = "notes"


def _no_raw_markup(html: str) -> None:
    assert "<img" not in html and "onerror=alert(1)>" not in html.replace("&gt;", "")
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_table_bundle_has_typed_columns_escaped_html_and_text():
    body = "def f():\n    return 1"
    t = Notes([{"name": XSS, "n": 3, "created_at": 1764500000.0, "body": body, "meta": {"k": XSS}},
               {"name": "b", "n": 1.5, "created_at": None, "body": "x", "meta": {}}])
    bundle = t._repr_mimebundle_()
    assert set(bundle) == {TABLE_MIME, "text/html", "text/plain"}
    payload = json.loads(json.dumps(bundle[TABLE_MIME], allow_nan=False))
    assert payload["version"] == 1 and payload["title"] == "notes" and payload["total"] == 2
    assert payload["columns"] == [{"name": "name", "type": "text"}, {"name": "n", "type": "number"},
                                  {"name": "created_at", "type": "time"}, {"name": "body", "type": "longtext"},
                                  {"name": "meta", "type": "json"}]
    assert payload["rows"][0] == {"name": XSS, "n": 3, "created_at": 1764500000.0, "body": body, "meta": {"k": XSS}}
    html = bundle["text/html"]
    _no_raw_markup(html)
    assert f"<td>{body}</td>" in html, "line breaks and indentation kept (the cell is pre-wrap)"
    assert "<td class='llmops-num'>3</td>" in html and "<th class='llmops-num'>n</th>" in html
    assert "2025-11-30" in html or "2025-12-0" in html, "a declared time column is shown as a local time"
    assert "no notes yet" == str(Notes([])) and Notes([])._repr_mimebundle_()[TABLE_MIME]["rows"] == []


def test_css_outranks_jupyterlab_and_uses_only_theme_colours():
    # JupyterLab: `:not(.jp-RenderedMarkdown).jp-RenderedHTMLCommon td {text-align: right}` is specificity (0,2,1)
    assert re.search(r"\.jp-RenderedHTMLCommon table\.llmops-t td\{[^}]*text-align:left", STYLE.replace(
        ".jp-RenderedHTMLCommon table.llmops-t th,", ""))
    assert ".jp-RenderedHTMLCommon table.llmops-t .llmops-num{text-align:right;font-variant-numeric:tabular-nums" \
        in STYLE.replace("table.llmops-t .llmops-num,", "")
    assert "white-space:pre-wrap" in STYLE and "!important" not in STYLE and "margin:0 0 6px 0" in STYLE
    without_fallbacks = re.sub(r"var\(--jp-[a-z0-9-]+,[^)]*\)", "VAR", STYLE)
    assert not re.search(r"#[0-9a-fA-F]{3,6}\b|rgb|hsl", without_fallbacks), "every colour is a --jp-* variable"
    assert "background:var(--jp-layout-color2" in STYLE and "color:var(--jp-ui-font-color1" in STYLE
    assert "mark.llmops-hl{background:var(--jp-search-selected-match-background-color" in STYLE
    assert "color:var(--jp-search-selected-match-color" in STYLE, "the highlight sets its own text colour (dark)"


def test_html_table_reads_types_from_values_when_not_declared():
    rows = [{"a": "x\ny", "b": 2, "c": None}]
    html = html_table(rows, ["a", "b", "c"])
    assert "<td>x\ny</td>" in html and "<td class='llmops-num'>2</td>" in html
    assert [c["type"] for c in table_payload(rows, ["a", "b", "c"])["columns"]] == ["longtext", "number", "text"]


def test_search_bundle_is_the_search_shape_and_escapes_records(ws):
    recs = [{"id": f"r{i}", "text": f"{XSS} catch exceptions\n    indented {i}", "topic": XSS} for i in range(6)]
    ds = L.load_dataset(recs, name="evil")
    vecs = np.eye(6, 8, dtype=np.float32)
    ix = L.build_index(ds, name="evil-ix", vectors=vecs, model=None, progress=False)
    res = ix.search(vecs[0], k=2)
    res.query = "catch exceptions"  # as if typed
    bundle = res._repr_mimebundle_()
    assert set(bundle) == {"application/vnd.llmops.search+json", "text/html", "text/plain"}
    data = json.loads(json.dumps(bundle["application/vnd.llmops.search+json"], allow_nan=False))
    assert {"version", "index", "query", "where", "k", "elapsed_ms", "note", "terms", "hits"} <= set(data)
    assert "results" not in data, "one copy of the texts in a saved notebook"
    hit = data["hits"][0]
    assert {"rank", "id", "chunk", "score", "text", "metadata"} <= set(hit) and hit["rank"] == 1
    assert hit["text"].startswith(XSS) and hit["metadata"]["topic"] == XSS, "JSON carries it as data"
    assert data["terms"] == ["exceptions", "catch"] and data["k"] == 2
    html = bundle["text/html"]
    _no_raw_markup(html)
    assert "\n    indented" in html, "no more <br>: the cell keeps line breaks and indentation"
    assert "<mark class='llmops-hl'>catch</mark>" in html
    assert res.to_dict()["results"] == res.to_dict()["hits"], "the CLI's --json keeps its first name too"


def test_curation_bundle_and_funnel_chart_follow_the_theme(ws):
    L.load_dataset([{"id": "a", "text": XSS + " same"}, {"id": "b", "text": XSS + " same"},
                    {"id": "c", "text": "other"}], name="cur")
    res = L.curate("cur", ["exact_dedup"])
    bundle = res._repr_mimebundle_()
    assert set(bundle) == {"application/vnd.llmops.curation+json", "text/html", "text/plain"}
    d = json.loads(json.dumps(bundle["application/vnd.llmops.curation+json"], allow_nan=False))
    assert d["version"] == 1 and d["source"] == "cur@v1" and d["result"] == "cur@v2"
    step = d["steps"][0]
    assert {"step", "params", "in", "out", "removed", "flagged"} <= set(step) and step["out"] == 2
    assert d["removed_examples"][0]["text"] == XSS + " same"
    _no_raw_markup(bundle["text/html"])
    assert "class='ink' fill='currentColor'" in bundle["text/html"], "funnel labels take the text colour"
    chart = res.chart()._repr_mimebundle_()
    assert set(chart) == {VEGALITE_MIME, "image/svg+xml", "text/plain"}
    _check_spec(chart[VEGALITE_MIME])
    assert [v["records"] for v in chart[VEGALITE_MIME]["data"]["values"]] == [3, 2]
    assert "prefers-color-scheme: dark" in chart["image/svg+xml"]


def _check_spec(spec: dict) -> None:
    assert spec["$schema"] == "https://vega.github.io/schema/vega-lite/v5.json"
    assert spec["data"]["values"], "data inline"
    text = json.dumps(spec)
    assert '"tooltip"' in text
    assert '"color"' not in text and not re.search(r"#[0-9a-fA-F]{3,6}\b", text), "colours left to the theme"


def test_comparison_chart_is_vegalite_with_an_svg_fallback(ws):
    from llmops_nb.evals.comparison import Comparison

    rows = [{"variant": v, "example": f"e{i}", "question": "q", "reference": "a b", "output": o,
             "token_f1": 1.0 if o == "a b" else 0.0}
            for v, outs in {"base": ["a b", "x", "x"], "rag": ["a b", "a b", "x"]}.items() for i, o in enumerate(outs)]
    comp = Comparison(rows, ["base", "rag"], ["token_f1"], "base", {"n_examples": 3}, None, 0.0)
    chart = comp.chart()._repr_mimebundle_()
    assert set(chart) == {VEGALITE_MIME, "image/svg+xml", "text/plain"}
    spec = chart[VEGALITE_MIME]
    _check_spec(spec)
    assert [(v["variant"], v["baseline"]) for v in spec["data"]["values"]] == [("base", True), ("rag", False)]
    assert "var(--jp-ui-font-color1,#222)" in chart["image/svg+xml"]
    assert "var(--jp-ui-font-color1,currentColor)" in comp._repr_html_(), "inline SVG inherits the theme's ink"
    assert "token_f1 (mean, 95% CI)" in chart["text/plain"] and "rag: 0.667" in chart["text/plain"]
    d = comp.diff("base", "rag", n=1)._repr_mimebundle_()
    assert d["text/plain"].startswith("where base and rag disagree most on token_f1") and "<table" in d["text/html"]
    v = comp.versus(comp)._repr_mimebundle_()
    assert v["text/plain"].startswith("run None vs None") and "delta" in v["text/html"]
