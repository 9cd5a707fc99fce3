"""A fine-tuned embedder among the workspace's other registered models: a LoRA fine-tune cannot take its name (nor it
a LoRA's), its export loads in sentence-transformers and embeds as the registered model does, models() lists it as
an embedding model (a fine-tune of its base), and compare refuses it as a generator."""
from pydoc_data.topics import topics

import numpy as np
import pytest

import llmops_nb as L
from llmops_nb.errors import InputError
from llmops_nb.models.registered import registered_model

LM_PAIRS = [{"prompt": f"What is {i} plus {i}?", "response": f"It is {2 * i}."} for i in range(24)]


def _pairs(n: int) -> list:
    out = []
    for key in sorted(topics)[:n]:
        text = " ".join(topics[key].split())
        out.append({"query": f"what does the reference say about {key}?", "positive": text[:240]})
    return out


def _embedder(name: str):
    return L.finetune_embedder("all-minilm-l6-v2", _pairs(24), name=name, batch_size=12, lr=1e-4, progress=False)


def _one_line(match: str, call) -> str:
    with pytest.raises(InputError, match=match) as err:
        call()
    assert "\n" not in str(err.value)
    return str(err.value)


@pytest.mark.slow
def test_a_lora_finetune_and_a_fine_tuned_embedder_never_replace_each_other(ws, one_torch_thread):
    emb = _embedder("shared")
    _one_line(r"'shared' is already registered as a fine-tuned embedder \(kind embedding, fine-tune of "
              r"all-minilm-l6-v2\); a language-model fine-tune cannot replace it: choose another name",
              lambda: L.finetune("tiny-gpt2", LM_PAIRS, max_steps=1, batch_size=4, name="shared"))
    kept = registered_model("shared")
    assert kept.method == "embedding" and kept.sha256 == emb.sha256 and kept.run_id == emb.run_id
    assert L.load_embedder("shared").version == emb.sha256

    lm = L.finetune("tiny-gpt2", LM_PAIRS, max_steps=1, batch_size=4, name="talker")
    for overwrite in (False, True):
        _one_line(r"'talker' is already registered as a lora fine-tune of tiny-gpt2 \(kind causal-lm\); a fine-tuned "
                  r"embedder cannot replace it, not even with overwrite=True: choose another name",
                  lambda: _embedder_over("talker", overwrite))
    assert registered_model("talker").method == "lora" and registered_model("talker").sha256 == lm.sha256

    # replacing a model of the same kind works as before: a LoRA trains again under its name with other settings,
    # a fine-tuned embedder with overwrite=True
    again = L.finetune("tiny-gpt2", LM_PAIRS, max_steps=2, batch_size=4, name="talker")
    assert again.run_id != lm.run_id and again.metrics["steps"] == 2
    other = L.finetune_embedder("all-minilm-l6-v2", _pairs(24), name="shared", batch_size=12, lr=3e-4,
                                overwrite=True, progress=False)
    assert other.sha256 != emb.sha256


def _embedder_over(name: str, overwrite: bool):
    return L.finetune_embedder("all-minilm-l6-v2", _pairs(24), name=name, batch_size=12, lr=1e-4,
                               overwrite=overwrite, progress=False)


@pytest.mark.slow
def test_an_exported_embedder_loads_in_sentence_transformers_and_embeds_the_same(ws, tmp_path):
    _embedder("mini")
    out = L.export("mini", tmp_path / "export")
    assert (out / "modules.json").is_file() and (out / "1_Pooling" / "config.json").is_file()
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(out), device="cpu")
    texts = [p["query"] for p in _pairs(6)] + ["a longer passage " * 40]
    ours = L.load_embedder("mini").encode(texts)
    theirs = st.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    assert theirs.shape == ours.shape == (7, 384)
    assert np.allclose(theirs, ours, atol=1e-5)
    base = L.load_embedder("all-minilm-l6-v2").encode(texts)
    assert not np.allclose(theirs, base, atol=1e-3)  # the fine-tuned weights, not the base's


@pytest.mark.slow
def test_models_lists_a_fine_tuned_embedder_as_an_embedding_model_and_compare_refuses_it(ws, one_torch_thread):
    _embedder("mini")
    L.finetune("tiny-gpt2", LM_PAIRS, max_steps=1, batch_size=4, name="talker")
    rows = {r["name"]: r for r in L.models().rows}
    base, mini, talker = rows["all-minilm-l6-v2"], rows["mini"], rows["talker"]
    assert mini["kind"] == base["kind"] == "embedding" and mini["params"] == base["params"] == "22M"
    assert mini["source"].startswith("fine-tune of all-minilm-l6-v2 on inline:") and mini["installed"] is True
    assert talker["kind"] == rows["tiny-gpt2"]["kind"] == "causal-lm"
    assert talker["source"].startswith("lora fine-tune of tiny-gpt2 on inline:")
    assert mini["method"] == "embedding" and talker["method"] == "lora" and talker["base"] == "tiny-gpt2"
    assert "fine-tune (" not in str(L.models())
    assert registered_model("mini").kind == "embedding" and registered_model("talker").kind == "causal-lm"

    before = len(L.runs())
    # refused while the plan is checked: before any variant generates and before a compare run is started
    _one_line(r"variant 'ft:mini': 'mini' is an embedder, not a language model",
              lambda: L.compare("pydoc-qa", ["zero-shot:tiny-gpt2", "ft:mini"], limit=1, progress=False))
    _one_line(r"'all-minilm-l6-v2' is an embedder, not a language model",
              lambda: L.compare("pydoc-qa", ["ft:all-minilm-l6-v2"], limit=1, progress=False))
    assert len(L.runs()) == before
    # an embedder is still found as one (load_embedder's "did you mean" lists embedders by their kind)
    with pytest.raises(L.NotFoundError, match="unknown embedder 'minii'.*did you mean 'mini'"):
        L.load_embedder("minii")


def test_the_built_in_embedder_is_refused_as_a_language_model_in_one_line(ws):
    # it used to read "unknown model 'all-minilm-l6-v2' (did you mean 'all-minilm-l6-v2'?)"
    for call in (lambda: L.load_model("all-minilm-l6-v2"),
                 lambda: L.compare("pydoc-qa", ["zero-shot:all-minilm-l6-v2"], limit=1, progress=False),
                 lambda: L.export("all-minilm-l6-v2", ws.path / "out")):
        _one_line(r"'all-minilm-l6-v2' is an embedder, not a language model; use it with "
                  r"load_embedder\('all-minilm-l6-v2'\)", call)
