"""Index commands through the real CLI and the real IPython magic, and the explorer widget's Python side."""
import json

import pytest
from IPython.core.error import UsageError

import llmops_nb as L

pytestmark = pytest.mark.slow

DOCS = [
    {"id": "cat", "text": "Cats are small domesticated felines that purr and chase mice.", "kind": "mammal"},
    {"id": "dog", "text": "Dogs are loyal companions that bark and fetch sticks.", "kind": "mammal"},
    {"id": "eagle", "text": "Eagles are large birds of prey with sharp eyesight.", "kind": "bird"},
    {"id": "salmon", "text": "Salmon swim upstream from the ocean to spawn in rivers.", "kind": "fish"},
    {"id": "xss", "text": "<img src=x onerror=alert(1)> tags & ampersands are just text", "kind": "html"},
]


def test_cli_build_list_show_search_text_and_json(run_cli, ws):
    L.load_dataset(DOCS, name="animals")
    out = run_cli("index", "build", "animals", "--name", "zoo", "--dtype", "f16", check=0).stdout
    assert out.startswith("index zoo: 5 records, 5 chunks, all-minilm-l6-v2 (384-d, cos, f16)")
    assert "zoo" in run_cli("index", "list", check=0).stdout
    shown = json.loads(run_cli("index", "show", "zoo", "--json", check=0).stdout)
    assert shown["dataset"] == "animals@v1" and shown["dtype"] == "f16" and shown["records"] == 5
    # a query searched before comes from the embedding cache: these CLI runs never load the model
    L.search("zoo", "a bird of prey", k=1)
    L.search("zoo", "pets that purr", k=1)
    text = run_cli("search", "zoo", "a bird of prey", "-k", "2", check=0).stdout
    assert text.splitlines()[0].startswith("search zoo for 'a bird of prey': 2 results")
    assert "[1] " in text and "eagle#0" in text.splitlines()[1]
    data = json.loads(run_cli("search", "zoo", "pets that purr", "-k", "1", "--where", "kind == 'mammal'",
                              "--json", check=0).stdout)
    assert data["results"][0]["id"] == "cat" and data["results"][0]["metadata"] == {"kind": "mammal"}
    recall = json.loads(run_cli("index", "recall", "zoo", "--sample", "5", "-k", "2", "--json", check=0).stdout)
    assert recall["recall"] == 1.0


def test_cli_bad_input_is_one_line_with_exit_2(run_cli, ws):
    L.load_dataset(DOCS, name="animals")
    from llmops_nb.index.vector import build_index

    build_index("animals", name="zoo", vectors=__import__("numpy").eye(5, 384, dtype="float32"), progress=False)
    cases = [
        (("search", "zo", "cats"), "unknown index 'zo' (did you mean 'zoo'?)"),
        (("search", "zoo", "   "), "empty query"),
        (("search", "zoo", "cats", "-k", "0"), "k must be a whole number >= 1"),
        (("search", "zoo", "cats", "--where", "kind = 'bird'"), "columns you can filter on: id, chunk, kind"),
        (("search", "zoo", "cats", "--where", "kind = 'bird'"), "use == to compare"),
        (("explore", "zoo"), "explore is a notebook widget"),
    ]
    for args, msg in cases:
        p = run_cli(*args, check=2)
        assert msg in p.stderr and len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr, p.stderr


def test_magic_search_with_interpolation_output_variable_and_errors(ipy):
    L.load_dataset(DOCS, name="animals")
    ix = ipy.line("index build animals --name zoo -q")
    assert ix.name == "zoo" and len(ix) == 5
    ipy.run("q = 'a bird of prey'")
    res = ipy.line('search zoo "{q}" -k 2 -o hits')
    assert res.ids[0] == "eagle" and ipy.ns["hits"] is res
    html = res._repr_html_()
    assert "<mark class='llmops-hl'>prey</mark>" in html
    xss = ipy.line('search zoo "img tags and ampersands" -k 1')
    assert xss.ids == ["xss"]
    page = xss._repr_html_()
    assert "<img" not in page
    assert "&lt;<mark class='llmops-hl'>img</mark> src=x onerror=alert(1)&gt;" in page  # escaped, then marked
    with pytest.raises(UsageError, match="unknown index 'zo'"):
        ipy.line('search zo "x"')
    with pytest.raises(UsageError, match="columns you can filter on"):
        ipy.line("search zoo cats --where 'kind ='")
    assert ipy.line("index list").names == ["zoo"]
    w = ipy.line("explore zoo")
    assert type(w).__name__ == "Explorer" and w.index_name == "zoo"


def test_explorer_updates_results_when_the_query_trait_changes(ws):
    from llmops_nb.index.vector import build_index
    from llmops_nb.widgets.explore import Explorer, explore

    build_index(DOCS, name="zoo", progress=False)
    w = explore("zoo")
    assert w.results == [] and w.columns == ["id", "chunk", "kind"]
    w.query = "a bird of prey"  # what the front-end sets after its debounce
    assert w.results[0]["id"] == "eagle" and w.results[0]["metadata"] == {"kind": "bird"}
    assert len(w.results) == 5 and w.terms == ["bird", "prey"] and w.error == ""
    w.k = 2
    assert len(w.results) == 2
    w.where = "kind == 'fish'"
    assert [r["id"] for r in w.results] == ["salmon"] and "only 1 chunks match" in w.note
    w.where = "kind = 'fish'"
    assert "use == to compare" in w.error and w.results == []  # stale results would read as this search's answer
    w.where = ""
    w.selected = "cat"  # the "show record" link
    assert w.record == {"id": "cat", "text": DOCS[0]["text"], "metadata": {"kind": "mammal"}}
    w.selected = "nope"
    assert "unknown record in index 'zoo'" in w.error
    w.query = "  "
    assert w.results == [] and w.error == ""
    text = Explorer._esm.read_text() if hasattr(Explorer._esm, "read_text") else str(Explorer._esm)
    assert "innerHTML" not in text and "textContent" in text and "setTimeout" in text
