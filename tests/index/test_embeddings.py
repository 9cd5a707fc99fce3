"""The embedding cache with the real MiniLM: re-embedding only what is new, identical vectors either way."""
import numpy as np
import pytest

from llmops_nb.errors import InputError
from llmops_nb.index.embeddings import EmbedStats, cache_path, embed
from llmops_nb.models.loading import load_embedder

pytestmark = pytest.mark.slow

SENTS = ["The cat sat on the mat.", "Dogs bark at night.", "Python lists are mutable sequences.",
         "A tuple cannot be changed after it is created.", "Exceptions are raised with the raise statement."]


@pytest.fixture
def fresh_cache(ws, tmp_path, monkeypatch):
    monkeypatch.setenv("LLMOPS_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_embed_matches_sentence_transformers_normalized_float32(fresh_cache):
    from sentence_transformers import SentenceTransformer

    emb = load_embedder()
    assert "sentence_transformers" not in type(emb.model).__module__, "MiniLM runs on plain transformers"
    ours = embed(SENTS, progress=False)
    plain = SentenceTransformer(emb.model.name_or_path).encode(SENTS, normalize_embeddings=True, convert_to_numpy=True)
    assert ours.dtype == np.float32 and ours.shape == (5, 384)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert np.allclose(ours, plain, atol=1e-5)  # sorting by length does not change a vector


def test_cache_embeds_only_new_texts_and_gives_identical_vectors(fresh_cache):
    first, second, third = EmbedStats(), EmbedStats(), EmbedStats()
    a = embed(SENTS, progress=False, stats=first)
    assert (first.embedded, first.cached) == (5, 0)
    assert cache_path(load_embedder()).is_relative_to(fresh_cache)  # the shared cache folder, not the workspace
    b = embed(SENTS, progress=False, stats=second)
    assert (second.embedded, second.cached) == (0, 5)
    assert np.array_equal(a, b)  # bit-identical from the cache
    changed = SENTS[:4] + ["A brand new sentence about sets.", SENTS[0]]  # one new, one repeated
    c = embed(changed, progress=False, stats=third)
    assert (third.texts, third.unique, third.embedded, third.cached) == (6, 5, 1, 4)
    assert np.array_equal(c[0], c[5]) and np.array_equal(c[:4], a[:4])


def test_cache_off_and_bad_input(fresh_cache):
    st = EmbedStats()
    embed(SENTS[:2], progress=False)
    embed(SENTS[:2], cache=False, progress=False, stats=st)
    assert st.embedded == 2
    assert embed([], progress=False).shape == (0, 384)
    assert embed("one text", progress=False).shape == (1, 384)
    with pytest.raises(InputError, match="text 1 is a int"):
        embed(["ok", 3], progress=False)
