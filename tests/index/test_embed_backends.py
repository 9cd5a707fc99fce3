"""ONNX Runtime embedding backends (onnx, onnx-int8) with the real MiniLM and real onnxruntime: vectors close to
torch, cache keys per backend, a damaged cached export rebuilt, the one line when onnxruntime is missing, and an
index that keeps searching and adding with the backend it was built with whatever the setting says.

The export lands in the run's shared LLMOPS_CACHE (tests/conftest.py), so it is made once per machine (~20-60 s);
the rebuild test works on a copy in its own cache folder."""
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from llmops_nb.errors import InputError, MissingDependencyError
from llmops_nb.index.embeddings import (
    EMBED_BACKENDS,
    backend_of_key,
    built_weights,
    cache_path,
    current_backend,
    embed,
    model_key,
    resolve_embedder,
)
from llmops_nb.index.onnx_embed import FILES, MANIFEST, OnnxEmbedder, export_dir

pytestmark = pytest.mark.slow


def _sentences(n: int = 48):
    """Real sentences of Python's reference topics."""
    from pydoc_data.topics import topics

    out = []
    for key in sorted(topics):
        for s in re.split(r"(?<=[.!?])\s+(?=[A-Z])", " ".join(topics[key].split())):
            if 6 <= len(s.split()) <= 40 and s not in out:
                out.append(s)
                break
        if len(out) == n:
            return out
    return out


@pytest.fixture
def torch_setting(ws, monkeypatch):
    monkeypatch.setenv("LLMOPS_EMBED_BACKEND", "torch")


def test_onnx_vectors_close_to_torch(torch_setting):
    sents = _sentences()
    ref = embed(sents, cache=False, progress=False, backend="torch")
    fp32 = embed(sents, cache=False, progress=False, backend="onnx")
    int8 = embed(sents, cache=False, progress=False, backend="onnx-int8")
    assert fp32.shape == int8.shape == ref.shape == (len(sents), 384) and int8.dtype == np.float32
    assert np.allclose(np.linalg.norm(int8, axis=1), 1.0, atol=1e-5)
    assert (fp32 * ref).sum(1).min() > 0.9999  # the same model, fused
    cos = (int8 * ref).sum(1)
    assert cos.mean() >= 0.99 and cos.min() > 0.97, (cos.mean(), cos.min())
    # a query alone (one thread, no padding) is as close to torch; dynamic int8 scales activations per batch, so
    # it is not bit-identical to the same text embedded in a batch (cosine ~0.995)
    alone = embed([sents[3]], cache=False, progress=False, backend="onnx-int8")[0]
    assert float(alone @ ref[3]) > 0.98 and float(alone @ int8[3]) > 0.98


def test_cache_keys_differ_by_backend_and_setting_picks_one(torch_setting, monkeypatch):
    from llmops_nb.models.loading import load_embedder

    base = load_embedder()
    keys = {b: model_key(base, b) for b in EMBED_BACKENDS}
    assert len(set(keys.values())) == 3 and keys["torch"].endswith("-v1")  # torch keys keep their old spelling
    assert {b: backend_of_key(k) for b, k in keys.items()} == {b: b for b in EMBED_BACKENDS}
    assert all(built_weights({"model_key": k}, "all-minilm-l6-v2") == "" for k in keys.values())
    assert current_backend() == "torch" and model_key(base) == keys["torch"]
    monkeypatch.setenv("LLMOPS_EMBED_BACKEND", "onnx-int8")
    assert current_backend() == "onnx-int8" and model_key(base) == keys["onnx-int8"]
    emb = resolve_embedder("all-minilm-l6-v2")
    assert isinstance(emb, OnnxEmbedder) and emb.backend == "onnx-int8"
    a = embed(["Lists are mutable sequences."], progress=False)
    assert cache_path(keys["onnx-int8"]).exists() and not cache_path(keys["onnx"]).exists()
    b = embed(["Lists are mutable sequences."], progress=False, backend="torch")  # its own cache, its own vector
    assert not np.array_equal(a, b) and float(a[0] @ b[0]) > 0.98
    monkeypatch.setenv("LLMOPS_EMBED_BACKEND", "onnx-int4")
    with pytest.raises(InputError, match="unknown embed_backend 'onnx-int4' .*did you mean 'onnx-int8'"):
        embed(["x"], progress=False)


def test_damaged_cached_export_is_rebuilt(torch_setting, tmp_path, monkeypatch):
    from llmops_nb.models.loading import embedder_folder

    folder, version = embedder_folder("all-minilm-l6-v2")
    shared = OnnxEmbedder("all-minilm-l6-v2", folder, version, "onnx-int8").load()  # made once, in the shared cache
    good = export_dir(folder, "all-minilm-l6-v2")
    ref = shared.encode(["Exceptions are raised with the raise statement."])
    monkeypatch.setenv("LLMOPS_CACHE", str(tmp_path / "cache"))
    mine = export_dir(folder, "all-minilm-l6-v2")
    assert mine != good
    shutil.copytree(good, mine)
    int8 = mine / FILES["onnx-int8"]
    # 1) a truncated file no longer matches the manifest's hash
    int8.write_bytes(int8.read_bytes()[: 1 << 20])
    vec = OnnxEmbedder("all-minilm-l6-v2", folder, version, "onnx-int8").encode(
        ["Exceptions are raised with the raise statement."])
    assert np.allclose(vec, ref, atol=1e-5) and int8.stat().st_size > 1 << 20
    # 2) garbage whose hash the manifest was made to match: the load fails, the export is rebuilt
    int8.write_bytes(b"not an onnx graph" * 100)
    manifest = json.loads((mine / MANIFEST).read_text())
    import hashlib

    manifest["files"][FILES["onnx-int8"]] = hashlib.sha256(int8.read_bytes()).hexdigest()
    (mine / MANIFEST).write_text(json.dumps(manifest))
    vec = OnnxEmbedder("all-minilm-l6-v2", folder, version, "onnx-int8").encode(
        ["Exceptions are raised with the raise statement."])
    assert np.allclose(vec, ref, atol=1e-5)
    assert json.loads((mine / MANIFEST).read_text())["files"][FILES["onnx-int8"]] != manifest["files"][FILES["onnx-int8"]]
    assert not [p for p in mine.parent.iterdir() if p.name.startswith(".")]  # no temp folders left behind


def test_missing_onnxruntime_is_one_line(ws, tmp_path):
    code = textwrap.dedent("""
        import sys
        sys.modules['onnxruntime'] = None  # as if it were not installed
        from llmops_nb.errors import LlmopsError
        from llmops_nb.index.embeddings import embed
        try:
            embed(['a sentence'], backend='onnx-int8', cache=False, progress=False)
        except LlmopsError as exc:
            print(type(exc).__name__ + ': ' + str(exc))
    """)
    env = {**os.environ, "LLMOPS_HOME": str(tmp_path / "ws2"), "LLMOPS_EMBED_BACKEND": "onnx-int8"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    lines = out.stdout.strip().splitlines()
    assert out.returncode == 0 and len(lines) == 1, (out.stdout, out.stderr[-2000:])
    assert lines[0].startswith(MissingDependencyError.__name__) and "pip install onnxruntime onnx" in lines[0]


def test_index_keeps_the_backend_it_was_built_with(ws, monkeypatch):
    import llmops_nb as L

    sents = _sentences(12)
    records = [{"id": f"r{i}", "text": s} for i, s in enumerate(sents)]
    query = "how are exceptions raised"
    monkeypatch.setenv("LLMOPS_EMBED_BACKEND", "torch")
    ix_t = L.build_index(records, name="by-torch", progress=False)
    monkeypatch.setenv("LLMOPS_EMBED_BACKEND", "onnx-int8")
    ix_q = L.build_index(records, name="by-int8", progress=False)
    assert ix_q.stats["model_key"].endswith("-onnx-int8") and ix_q.embed_backend == "onnx-int8"
    torch_vec = embed([query], progress=False, backend="torch")[0]
    int8_vec = embed([query], progress=False, backend="onnx-int8")[0]

    # the setting now says onnx-int8, yet the torch-built index embeds its queries (and additions) with torch
    ix_t = L.load_index("by-torch")
    assert ix_t.embed_backend == "torch" and ix_t.embedder.backend == "torch"
    hits = ix_t.search(query, k=3)
    assert np.allclose(hits.scores[0], ix_t.search(torch_vec, k=3).scores[0], atol=1e-5)
    ix_t.add([{"id": "new", "text": "A brand new sentence about frozen sets."}])
    new_vec = embed(["A brand new sentence about frozen sets."], progress=False, backend="torch")[0]
    top = ix_t.search(new_vec, k=1, exact=True)
    assert top.ids[0] == "new" and top.scores[0] > 0.9999  # stored as the torch vector

    # and the other way round: the int8-built index keeps int8 under a torch setting
    monkeypatch.setenv("LLMOPS_EMBED_BACKEND", "torch")
    ix_q = L.load_index("by-int8")
    assert ix_q.embed_backend == "onnx-int8"
    assert np.allclose(ix_q.search(query, k=3).scores[0], ix_q.search(int8_vec, k=3).scores[0], atol=1e-5)


def test_magic_config_sets_the_backend(ipy, monkeypatch):
    from llmops_nb.index.embeddings import current_backend

    monkeypatch.delenv("LLMOPS_EMBED_BACKEND", raising=False)
    ipy.run("%config LlmopsMagics.embed_backend = 'onnx-int8'")
    try:
        assert current_backend() == "onnx-int8"
        ipy.run("%config LlmopsMagics.embed_backend = 'onx'")  # %config reports the one-line error, changes nothing
        assert current_backend() == "onnx-int8"
    finally:
        ipy.run("%config LlmopsMagics.embed_backend = None")
    assert current_backend() == "torch"


def test_onnxruntime_imports_after_usearch():
    # an index is loaded (usearch) before a query is embedded on the onnx backend; onnxruntime 1.23-1.32 segfaulted
    # on import in that order, so the ml extra keeps it below 1.23
    import subprocess
    import sys

    p = subprocess.run([sys.executable, "-c", "import usearch.index, onnxruntime; print(onnxruntime.__version__)"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"importing onnxruntime after usearch crashed (exit {p.returncode}): {p.stderr[-500:]}"


def test_onnx_threads_follow_the_cores_other_jobs_leave_free(monkeypatch):
    from llmops_nb.index import onnx_embed

    def machine(cores, load):
        monkeypatch.setattr(onnx_embed.os, "cpu_count", lambda: cores)
        monkeypatch.setattr(onnx_embed.os, "getloadavg", lambda: (load, load, load))
        return onnx_embed.default_threads()

    assert machine(2, 0.0) == 2  # idle: both cores
    assert machine(2, 1.0) == 2  # this process alone on the machine
    assert machine(2, 8.0) == 1  # shared: a second thread would wait on a core other jobs hold
    assert machine(16, 0.5) == 4  # big machines: half the cores, at most 4
    assert machine(1, 0.0) == 1
