"""An index built with a fine-tuned embedder remembers which weights it was built with: once the embedder is trained
again under the same name, searching, retrieving, adding to and evaluating the index refuse in one line that says
to rebuild it (instead of comparing new-weights queries with old-weights vectors); rebuilding makes it work again.
Indexes of the built-in embedder, and indexes stored before the weights were recorded, keep working."""
import json
from pydoc_data.topics import topics

import pytest
from cli_helpers import cli

import llmops_nb as L
from llmops_nb.errors import InputError
from llmops_nb.index import storage
from llmops_nb.index.vector import load_index

CHANGED = r"index 'tuned' was built with embedder 'mini' .*trained again since.*llmops index build docs@v1 --name tuned --embedder mini"


def _pairs(n: int) -> list:
    out = []
    for key in sorted(topics)[:n]:
        text = " ".join(topics[key].split())
        out.append({"query": f"what does the reference say about {key}?", "positive": text[:240]})
    return out


def _one_line(call) -> str:
    with pytest.raises(InputError, match=CHANGED) as err:
        call()
    assert "\n" not in str(err.value)
    return str(err.value)


@pytest.mark.slow
def test_an_index_refuses_queries_once_its_embedder_is_trained_again(ws):
    pairs = _pairs(24)
    L.finetune_embedder("all-minilm-l6-v2", pairs, name="mini", batch_size=12, lr=1e-4, progress=False)
    L.load_dataset([{"id": f"doc{i}", "text": p["positive"], "topic": f"doc{i}"} for i, p in enumerate(pairs)],
                   name="docs")
    tuned = L.build_index("docs", name="tuned", model="mini", progress=False)
    L.build_index("docs", name="plain", progress=False)  # the built-in embedder
    seen = pairs[3]["query"]
    assert L.search("tuned", seen, k=3).ids[0] == "doc3"
    plain_before = L.search("plain", seen, k=3).ids

    L.finetune_embedder("all-minilm-l6-v2", pairs, name="mini", batch_size=12, lr=3e-4, overwrite=True,
                        progress=False)
    questions = [{"question": p["query"], "topic": f"doc{i}"} for i, p in enumerate(pairs[:5])]
    for ix in (tuned, load_index("tuned")):  # the object held since the build, and the catalog's
        _one_line(lambda: ix.search(seen))  # a query this process embedded (and cached) with the old weights
        _one_line(lambda: ix.search("a question no one asked before"))
    _one_line(lambda: L.search("tuned", seen))
    _one_line(lambda: L.retrieve("tuned", seen))
    _one_line(lambda: tuned.add([{"id": "new", "text": "a record embedded with the new weights"}], progress=False))
    _one_line(lambda: L.evaluate_retrieval("tuned", questions, progress=False))
    storage.forget_all()  # as a new process finds it
    _one_line(lambda: load_index("tuned").search(seen))
    assert len(load_index("tuned")) == 24  # nothing was added

    proc = cli("search", "tuned", seen, env={"LLMOPS_HOME": str(ws.path)})
    err = proc.stderr.strip()
    assert proc.returncode == 2 and len(err.splitlines()) == 1 and "Traceback" not in err, (proc.stdout, err)
    assert "was built with embedder 'mini'" in err and "--embedder mini" in err

    assert L.search("plain", seen, k=3).ids == plain_before  # the built-in embedder's index is untouched
    rebuilt = L.build_index("docs", name="tuned", model="mini", progress=False)
    assert L.search("tuned", seen, k=3).ids and rebuilt.search(seen, k=3).ids
    assert L.evaluate_retrieval("tuned", questions, progress=False).metrics


def _drop_weights(name: str) -> None:
    """Make index `name` look as stored before indexes recorded their embedder's weights."""
    row = L.workspace().db.execute("SELECT stats FROM indexes WHERE name=?", (name,)).fetchone()
    stats = json.loads(row[0])
    stats.pop("model_weights", None)
    L.workspace().db.execute("UPDATE indexes SET stats=? WHERE name=?", (json.dumps(stats), name))
    storage.forget_all()


@pytest.mark.slow
def test_indexes_stored_before_the_weights_were_recorded_still_load_and_search(ws):
    pairs = _pairs(24)
    L.load_dataset([{"id": f"doc{i}", "text": p["positive"]} for i, p in enumerate(pairs)], name="docs")
    L.build_index("docs", name="plain", progress=False)
    _drop_weights("plain")
    assert L.search("plain", pairs[3]["query"], k=3).ids[0] == "doc3"
    # no stats at all (the oldest indexes): still searchable
    L.workspace().db.execute("UPDATE indexes SET stats='{}' WHERE name='plain'")
    storage.forget_all()
    assert L.search("plain", pairs[5]["query"], k=3).ids[0] == "doc5"

    # an older index of a fine-tuned embedder: the cache key it stored still names the weights
    L.finetune_embedder("all-minilm-l6-v2", pairs, name="mini", batch_size=12, lr=1e-4, progress=False)
    L.build_index("docs", name="tuned", model="mini", progress=False)
    _drop_weights("tuned")
    assert L.search("tuned", pairs[3]["query"], k=3).ids[0] == "doc3"
    L.finetune_embedder("all-minilm-l6-v2", pairs, name="mini", batch_size=12, lr=3e-4, overwrite=True,
                        progress=False)
    _one_line(lambda: L.search("tuned", pairs[3]["query"]))
