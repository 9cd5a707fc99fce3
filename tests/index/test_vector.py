"""VectorIndex mechanics with real usearch and the real workspace database.

Most tests index given vectors (no embedder) so they run in a second; the text-search ones use MiniLM.
"""
import json

import numpy as np
import pytest

import llmops_nb as L
from llmops_nb.errors import InputError, LlmopsError, NotFoundError
from llmops_nb.index import filtered, storage
from llmops_nb.index.vector import build_index, drop_index, indexes, load_index, search


def clustered(n, dim=32, clusters=8, noise=0.15, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.standard_normal((clusters, dim))
    x = centers[rng.integers(0, clusters, n)] + noise * rng.standard_normal((n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def records(n, prefix="r"):
    return [{"id": f"{prefix}{i}", "text": f"record {prefix}{i} about {'cats' if i % 2 else 'dogs'} & <b>",
             "group": "odd" if i % 2 else "even", "n": i} for i in range(n)]


def fresh(name):
    """The index as a new process would see it: drop this process's loaded copy first."""
    storage.forget_all()
    return load_index(name)


@pytest.fixture
def vecs(ws):
    return clustered(300)


def test_build_search_and_reload_from_the_workspace(vecs):
    ix = build_index(records(300), name="vec", vectors=vecs, model=None, progress=False)
    assert (len(ix), ix.n_records, ix.dim) == (300, 300, 32)
    assert ix.path.parent == L.workspace().path / "indexes" / "vec" and ix.path.exists()
    res = ix.search(vecs[7], k=3)
    assert res.ids[0] == "r7" and res.scores[0] == pytest.approx(1.0, abs=1e-5)
    assert res.texts[0] == "record r7 about cats & <b>" and res.metadata[0] == {"group": "odd", "n": 7}
    assert ix.search(vecs[7], k=3, exact=True).ids[0] == "r7"
    again = fresh("vec")
    assert again is not ix and again.search(vecs[7], k=3).ids == res.ids
    assert search("vec", vecs[7], k=3).ids == res.ids
    assert indexes().names == ["vec"] and indexes().rows[0]["records"] == 300
    df = res.to_pandas()
    assert list(df["id"]) == res.ids and "group" in df.columns


def test_add_upsert_delete_by_record_id_persist(vecs):
    ix = build_index(records(200), name="ch", vectors=vecs[:200], model=None, progress=False)
    change = ix.add(records(50, prefix="new"), vectors=vecs[200:250], progress=False)
    assert (change.added_records, change.added_chunks) == (50, 50) and len(ix) == 250
    assert ix.search(vecs[210], k=1).ids == ["new10"]
    with pytest.raises(InputError, match="record 'new0' is already in index 'ch'.*upsert"):
        ix.add(records(1, prefix="new"), vectors=vecs[:1], progress=False)
    replaced = [{"id": "r3", "text": "replaced text", "group": "odd", "n": 3}]
    change = ix.upsert(replaced, vectors=vecs[299:300], progress=False)
    assert (change.removed_records, change.added_records) == (1, 1)
    hit = ix.search(vecs[299], k=1)
    assert hit.ids == ["r3"] and hit.texts == ["replaced text"]
    assert ix.search(vecs[3], k=1).ids != ["r3"] or ix.search(vecs[3], k=1).texts == ["replaced text"]
    change = ix.delete(["r5", "new0", "no-such-id"])
    assert (change.removed_records, change.removed_chunks) == (2, 2)
    assert ix.delete("no-such-id").removed_records == 0
    again = fresh("ch")
    assert (len(again), again.n_records, again.changes) == (248, 248, 3)  # a delete of nothing is no change
    assert "r5" not in again.search(vecs[5], k=5).ids and "r5" not in again.record_ids()
    assert again.record("r3")["text"] == "replaced text"
    with pytest.raises(NotFoundError, match="unknown record in index 'ch' 'r5'"):
        again.record("r5")
    assert len(list((L.workspace().path / "indexes" / "ch").glob("*.usearch"))) == 1  # old generations removed


def test_a_crash_while_saving_leaves_the_previous_index_usable(vecs, monkeypatch):
    ix = build_index(records(100), name="safe", vectors=vecs[:100], model=None, progress=False)
    before = ix.path

    def half_written(index, path):  # the process dies halfway through writing the usearch file
        with open(path, "wb") as fh:
            fh.write(b"\0" * 1000)
        raise OSError("disk full")

    with monkeypatch.context() as m, pytest.raises(OSError, match="disk full"):
        m.setattr(storage, "save_usearch", half_written)
        ix.add(records(10, prefix="x"), vectors=vecs[100:110], progress=False)
    assert len(ix) == 100 and ix.search(vecs[1], k=1).ids == ["r1"]  # the object reloaded the stored state
    again = fresh("safe")
    assert again.path == before and len(again) == 100 and again.search(vecs[1], k=1).ids == ["r1"]
    assert [p.name for p in before.parent.iterdir()] == [before.name]  # no half-written file left behind

    real_insert = storage.insert_rows

    def dies_in_the_transaction(db, index_id, prep, keys):  # rows half inserted, then the process fails
        real_insert(db, index_id, prep, keys)
        raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(storage, "insert_rows", dies_in_the_transaction)
        with pytest.raises(KeyboardInterrupt):
            again.add(records(10, prefix="x"), vectors=vecs[100:110], progress=False)
        with pytest.raises(KeyboardInterrupt):  # a failed rebuild under the same name
            build_index(records(50, prefix="y"), name="safe", vectors=vecs[:50], model=None, progress=False)
    third = fresh("safe")
    assert (len(third), third.n_records, third.changes) == (100, 100, 0)
    assert "x0" not in third.record_ids() and third.search(vecs[1], k=1).ids == ["r1"]
    assert [p.name for p in before.parent.iterdir()] == [before.name]


def test_metadata_filters_exact_subset_and_oversampled_hnsw(vecs, monkeypatch):
    ix = build_index(records(300), name="f", vectors=vecs, model=None, progress=False)
    q = vecs[10]
    res = ix.search(q, k=5, where="group == 'odd'")
    assert len(res) == 5 and all(m["group"] == "odd" for m in res.metadata)
    assert res.method == "exact over filtered subset"
    brute = sorted(((float(vecs[i] @ q), f"r{i}") for i in range(1, 300, 2)), reverse=True)[:5]
    assert res.ids == [rid for _, rid in brute]
    monkeypatch.setattr(filtered, "EXACT_SUBSET_MAX", 10)  # force the broad-filter path: HNSW oversampled, then filtered
    ix._invalidate()
    broad = ix.search(q, k=5, where="group == 'odd'")
    assert broad.method.startswith("hnsw, filtered") and set(broad.ids) <= {f"r{i}" for i in range(1, 300, 2)}
    assert len(set(broad.ids) & set(res.ids)) >= 4
    assert ix.search(q, k=3, where="n < 3 and id != 'r0'").ids == sorted(["r1", "r2"], key=lambda r: -float(vecs[int(r[1:])] @ q))
    none = ix.search(q, k=3, where="n > 1000")
    assert len(none) == 0 and "no chunks match" in none.note
    few = ix.search(q, k=10, where="n < 2")
    assert len(few) == 2 and "only 2 chunks match" in few.note
    assert ix.columns == ["id", "chunk", "group", "n"]
    for bad in ("group = 'odd'", "group == ", "colour == 'red'", "n"):
        with pytest.raises(InputError, match="id, chunk, group, n"):
            ix.search(q, where=bad)


def test_bad_input_is_refused_with_a_clear_message(vecs):
    ix = build_index(records(20), name="small", vectors=vecs[:20], model=None, progress=False)
    for k in (0, -1, 2.5, True):
        with pytest.raises(InputError, match="k must be a whole number >= 1"):
            ix.search(vecs[0], k=k)
    res = ix.search(vecs[0], k=50)
    assert len(res) == 20 and "k=50 is more than the 20 chunks" in res.note
    with pytest.raises(InputError, match="dimension mismatch: index 'small' holds 32-d vectors"):
        ix.search(np.ones(16, dtype=np.float32))
    with pytest.raises(InputError, match="empty query"):
        ix.search("   ")
    with pytest.raises(InputError, match="built from given vectors without a model"):
        ix.search("a text query")
    with pytest.raises(NotFoundError, match=r"unknown index 'smal' \(did you mean 'small'\?\)"):
        load_index("smal")
    with pytest.raises(InputError, match="dimension mismatch"):
        ix.add(records(2, prefix="z"), vectors=np.ones((2, 8)), progress=False)
    with pytest.raises(InputError, match="invalid index name"):
        build_index(records(2), name="has space", vectors=vecs[:2], model=None)
    with pytest.raises(InputError, match="unknown dtype 'f8'"):
        build_index(records(2), name="x", vectors=vecs[:2], model=None, dtype="f8")
    with pytest.raises(InputError, match="appears twice"):
        build_index(records(2) + records(1), name="x", vectors=vecs[:3], model=None)


def test_opening_with_another_embedder_or_dimension_is_refused(vecs):
    build_index(records(20), name="m", vectors=vecs[:20], model="all-minilm-l6-v2", progress=False)
    with pytest.raises(InputError, match="built with all-minilm-l6-v2 \\(32-d\\), not other-model"):
        load_index("m", model="other-model")
    # the embedder gives 384-d vectors but the index holds 32-d ones
    with pytest.raises(LlmopsError, match="holds 32-d vectors but all-minilm-l6-v2 now gives 384-d"):
        fresh("m").search("a text query")
    # the database and the file disagree (a file copied in from another index)
    L.workspace().db.execute("UPDATE indexes SET dim=64 WHERE name='m'")
    with pytest.raises(LlmopsError, match="file holds 32-d vectors but it was built with all-minilm-l6-v2 \\(64-d\\)"):
        fresh("m")


def test_dtypes_recall_and_size(ws):
    x = clustered(3000, dim=64, clusters=30, noise=0.3, seed=1)
    sizes = {}
    for dt in ("f32", "f16", "i8"):
        ix = build_index(records(3000), name=f"d{dt}", vectors=x, model=None, dtype=dt, progress=False)
        rep = ix.recall(sample=300, k=10)
        assert rep.recall >= (0.9 if dt != "i8" else 0.8), (dt, rep.recall)
        assert rep.sample == 300 and "recall@10" in str(rep)
        sizes[dt] = ix.path.stat().st_size
    assert sizes["f32"] > sizes["f16"] > sizes["i8"]
    hard = build_index(records(3000), name="hard", vectors=clustered(3000, dim=64, noise=3.0), model=None,
                       connectivity=4, progress=False)  # near-uniform noise and a sparse graph
    narrow = hard.recall(sample=300, k=10, expansion_search=1)
    assert narrow.recall < 0.95 and "raise expansion_search" in str(narrow)  # the report says what to do
    ix.expansion_search = 200  # stored with the index, no rebuild
    assert fresh(ix.name).expansion_search == 200 and fresh(ix.name)._ix.expansion_search == 200
    with pytest.raises(InputError, match="expansion_search must be"):
        ix.expansion_search = 0
    with pytest.raises(InputError, match="sample must be"):
        ix.recall(sample=0)


def test_lineage_and_drop(ws):
    ds = L.load_dataset(records(30), name="docs")
    ix = build_index(ds, name="docs-ix", vectors=clustered(30), model=None, progress=False)
    lin = ix.lineage()
    assert lin["dataset"] == "docs@v1" and lin["snapshot"] == ds.snapshot and lin["changes_since_build"] == 0
    assert ix.to_dict()["snapshot"] == ds.snapshot and "docs@v1" in str(ix)
    ix.delete(["r1"])
    assert ix.lineage()["changes_since_build"] == 1
    assert drop_index("docs-ix").names == []
    assert not (L.workspace().path / "indexes" / "docs-ix").exists()
    with pytest.raises(NotFoundError):
        load_index("docs-ix")


def test_results_html_escapes_user_text_then_highlights(vecs):
    ix = build_index(records(20), name="h", vectors=vecs[:20], model=None, progress=False)
    res = ix.search(vecs[1], k=2)
    res.query = "cats amp <b>"  # as if typed
    html = res._repr_html_()
    assert "<b>" not in html.replace("<b>'", "") or "&lt;b&gt;" in html
    assert "&lt;b&gt;" in html and "&amp;" in html  # escaped, and the entity not split by the term "amp"
    assert "<mark class='llmops-hl'>cats</mark>" in html
    data = json.loads(json.dumps(res.to_dict()))
    assert data["results"][0]["id"] == "r1" and "record r1" in str(res)
