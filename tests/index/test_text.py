"""Text in, text out with the real MiniLM: chunked records, cached re-indexing, search, retrieval."""
import pytest

import llmops_nb as L
from llmops_nb.errors import InputError
from llmops_nb.index.vector import build_index

pytestmark = pytest.mark.slow

ANIMALS = [
    {"id": "cat", "text": "Cats are small domesticated felines that purr and chase mice.", "kind": "mammal"},
    {"id": "dog", "text": "Dogs are loyal companions that bark and fetch sticks.", "kind": "mammal"},
    {"id": "eagle", "text": "Eagles are large birds of prey with sharp eyesight.", "kind": "bird"},
    {"id": "salmon", "text": "Salmon swim upstream from the ocean to spawn in rivers.", "kind": "fish"},
    {"id": "blank", "text": "   ", "kind": "none"},
    {"id": "empty", "text": "", "kind": "none"},
]


def test_text_search_skips_empty_texts_and_rebuild_embeds_only_what_changed(ws, tmp_path, monkeypatch):
    monkeypatch.setenv("LLMOPS_CACHE", str(tmp_path / "cache"))  # count embeddings from an empty cache
    ds = L.load_dataset(ANIMALS, name="animals")
    ix = build_index(ds, name="animals", progress=False)
    assert (ix.n_records, len(ix), ix.stats["skipped_empty"]) == (4, 4, 2)
    assert "2 records with empty text were skipped" in str(ix)
    res = L.search("animals", "a bird of prey", k=2)
    assert res.ids[0] == "eagle" and res.metadata[0]["kind"] == "bird"
    assert L.search(ix, "a pet that purrs", k=1, where="kind == 'mammal'").ids == ["cat"]
    assert L.search(ix, "a pet that purrs", k=1, where="kind == 'fish'").ids == ["salmon"]
    html = res._repr_html_()
    assert "<mark class='llmops-hl'>" in html and "eagle" in html
    # a new snapshot with one changed record: the rebuild embeds just that one
    changed = [dict(r) for r in ANIMALS]
    changed[3] = {**changed[3], "text": "Salmon are fish that leap up waterfalls to lay eggs."}
    ds2 = L.load_dataset(changed, name="animals")
    ix2 = build_index(ds2, name="animals", progress=False)
    assert ix2.stats["embedded"] == 1 and ix2.stats["from_cache"] == 3
    assert ix2.lineage()["dataset"] == "animals@v2" and L.indexes().names == ["animals"]
    assert L.search("animals", "fish jumping waterfalls", k=1).texts == [changed[3]["text"]]
    change = ix2.upsert([{"id": "owl", "text": "Owls are birds that hunt at night.", "kind": "bird"}], progress=False)
    assert (change.added_records, change.embedded) == (1, 1)
    assert L.search("animals", "nocturnal bird", k=1).ids == ["owl"]
    # upserting a record whose text is now empty takes it out; adding only empty texts changes nothing
    change = ix2.upsert([{"id": "owl", "text": ""}], progress=False)
    assert (change.removed_records, change.added_records, change.skipped_empty) == (1, 0, 1)
    assert "owl" not in ix2.record_ids() and ix2.add([{"id": "z", "text": " "}]).skipped_empty == 1


def test_all_empty_dataset_is_refused(ws):
    with pytest.raises(InputError, match="nothing to index: 2 records, 2 with empty text"):
        build_index([{"id": "a", "text": ""}, {"id": "b", "text": " "}], name="nothing", progress=False)


def test_retrieve_numbers_passages_and_merges_neighbouring_chunks(ws):
    from pydoc_data.topics import topics

    recs = [{"id": t, "text": topics[t], "topic": t} for t in ("try", "assert", "with", "pass")]
    ix = build_index(recs, name="ref", chunk_tokens=96, overlap=16, progress=False)
    got = L.retrieve(ix, "How do I catch several exceptions in one except clause?", k=3)
    assert len(got) == 3 and [p.n for p in got] == [1, 2, 3]
    assert got.ids[0] == "try"
    ctx = got.context
    assert ctx.startswith("[1] (source: try) ") and "\n\n[2] (source: " in ctx and "[3]" in ctx
    for p in got:
        full = ix.record(p.id)["text"]
        assert p.text == full[p.start:p.end]  # merged passages are contiguous slices of the record
    assert got.to_dict()["passages"][0]["id"] == "try" and "retrieved 3 passages" in str(got)
    short = L.retrieve("ref", "assert statement", k=2, max_chars=100)
    assert sum(len(p.text) for p in short) <= 100
    with pytest.raises(InputError, match="empty question"):
        L.retrieve("ref", "  ")
    with pytest.raises(InputError, match="k must be a whole number >= 1"):
        L.retrieve("ref", "assert", k=0)


def test_a_damaged_embedding_cache_is_named_as_a_cache_to_delete(ws, tmp_path, monkeypatch, run_cli):
    """Not blamed on the workspace database, whose recovery advice would be wrong for a cache."""
    import sqlite3

    cache = tmp_path / "cache"
    monkeypatch.setenv("LLMOPS_CACHE", str(cache))
    build_index(L.load_dataset(ANIMALS, name="animals"), name="animals", progress=False)
    [vectors] = list(cache.glob("embeddings/*/vectors.sqlite"))
    conn = sqlite3.connect(vectors)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    data = bytearray(vectors.read_bytes())
    data[100:] = b"\xee" * (len(data) - 100)  # every page after the header
    vectors.write_bytes(bytes(data))
    p = run_cli("search", "animals", "a bird of prey", env={"LLMOPS_CACHE": str(cache)})
    assert p.returncode == 1 and "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert "cache database" in p.stderr and "delete" in p.stderr and "recovered.db" not in p.stderr
