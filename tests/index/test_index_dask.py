"""build_index(..., workers=N): the texts embedded on a real 2-worker Dask LocalCluster, in the groups a local build
encodes together, so the stored vectors are the local build's bit for bit; bad cluster options refused before any
work; a cluster that fails leaves no index."""
import uuid

import numpy as np
import pytest

import llmops_nb as L
from llmops_nb.errors import InputError, LlmopsError
from llmops_nb.index.embeddings import EmbeddingCache, embed, text_hash
from llmops_nb.models.loading import load_embedder


def _records(n: int, tag: str):
    # fresh texts (the tag), so nothing is in the embedding cache yet; lengths vary, so groups are sorted by length
    words = "exceptions loops classes generators decorators context managers iterators modules packages".split()
    return [{"id": f"r{i}", "text": f"{tag} note {i}: " + " ".join(words[j % len(words)] for j in range(3 + i % 17))}
            for i in range(n)]


def test_an_index_embedded_on_two_workers_holds_the_local_vectors(ws):
    tag = uuid.uuid4().hex
    recs = _records(1100, tag)  # two embedding groups (1,024 + 76): both workers get one
    ix = L.build_index(recs, name="spread", workers=2, progress=False)
    assert len(ix) == 1100 and ix.stats["embedded"] == 1100 and ix.stats["from_cache"] == 0
    emb = load_embedder("all-minilm-l6-v2")
    texts = [r["text"] for r in recs]
    cached = EmbeddingCache(emb).get([text_hash(t) for t in texts])
    local = embed(texts, emb, cache=False, normalize=False, progress=False)  # the local build's computation
    assert np.array_equal(np.stack([cached[text_hash(t)] for t in texts]), local), "bit-identical to a local build"
    hit = L.search("spread", texts[7], k=1)
    assert hit.ids[0] == "r7"
    run = L.get_run(L.runs(kind="index")[0]["id"])
    assert run.params["workers"] == 2


def test_cluster_options_are_checked_before_any_work(ws):
    recs = _records(3, uuid.uuid4().hex)
    before = len(L.runs())
    with pytest.raises(InputError, match="workers must be"):
        L.build_index(recs, name="x", workers=0, progress=False)
    with pytest.raises(InputError, match="with vectors=... there is nothing to embed"):
        L.build_index(recs, name="x", vectors=np.ones((3, 4), dtype=np.float32), workers=2, progress=False)
    with pytest.raises(InputError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        L.build_index(recs, name="x", scheduler="tcp://127.0.0.1:9", progress=False)
    assert len(L.runs()) == before and "x" not in L.indexes().names


def test_a_worker_that_keeps_failing_fails_the_build_and_leaves_no_index(ws, monkeypatch, tmp_path):
    recs = _records(5, uuid.uuid4().hex)
    # a model the workers cannot load (the workspace they are pointed at has no such embedder): the group fails
    # on the worker, is retried, fails again, and the build stops before anything is indexed
    import llmops_nb.index.distributed as dist

    real = dist.embed_group
    monkeypatch.setattr(dist, "embed_group",
                        lambda path, model, texts, bs, backend: real(path, "no-such-embedder", texts, bs, backend))
    with pytest.raises(LlmopsError, match="embedding on the Dask cluster failed .*nothing was indexed"):
        L.build_index(recs, name="broken", workers=2, progress=False)
    assert "broken" not in L.indexes().names


def test_index_build_cli_takes_workers_and_refuses_bad_ones(ws, run_cli):
    L.load_dataset(_records(4, uuid.uuid4().hex), name="few")
    p = run_cli("index", "build", "few", "--name", "few", "--workers", "0", check=2)
    assert "workers must be" in p.stderr and "Traceback" not in p.stderr
    p = run_cli("index", "build", "few", "--name", "few", "--workers", "2", "--json", "-q", check=0)
    assert '"name": "few"' in p.stdout.replace("'", '"')
