"""Batched generation: same tokens as a per-example model.generate loop, response cache, log, OOM and Ctrl-C."""
import json
import warnings

import pytest

import llmops_nb as L
from llmops_nb.errors import InputError, NotFoundError
from llmops_nb.models import decoding, runtime
from llmops_nb.models.generation import Generations, generate, model_identity

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROMPTS = ["def f(x):", "The try statement", "class A:\n    pass\n", "lambda", "x",
           "import os\nimport sys\n" * 3, "The try statement"]


def loop_reference(lm, prompts, max_new_tokens):
    """What users would write without us: one model.generate call per prompt, greedy."""
    tok = lm.tokenizer
    eos = lm.model.generation_config.eos_token_id
    out = []
    for p in prompts:
        ids = tok(p, return_tensors="pt")
        gen = lm.model.generate(**ids, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tok.pad_token_id)
        new = gen[0, ids["input_ids"].shape[1]:].tolist()
        out.append((tok.decode([t for t in new if t != eos], skip_special_tokens=True).strip(), len(new)))
    return out


def test_batched_greedy_equals_per_example_loop_in_prompt_order(ws):
    lm = L.load_model("tiny-gpt2")
    gens = generate(lm, PROMPTS, max_new_tokens=10, batch_size=3, cache=False)
    assert isinstance(gens, Generations) and len(gens) == len(PROMPTS)
    assert [g.prompt for g in gens] == PROMPTS
    ref = loop_reference(lm, PROMPTS, 10)
    assert gens.texts == [t for t, _ in ref]
    assert [g.tokens_out for g in gens] == [n for _, n in ref]
    assert [g.tokens_in for g in gens] == [len(lm.tokenizer(p)["input_ids"]) for p in PROMPTS]
    assert all(g.latency_s > 0 and not g.cached for g in gens)
    assert sum(g.latency_s for g in gens[:-1]) <= gens.wall_s  # the repeated prompt shares its twin's latency


def test_shared_prompt_prefix_runs_once_and_matches_the_loop(ws):
    from llmops_nb.models.prompts import to_chat

    lm = L.load_model("tiny-gpt2", fresh=True)
    intro = "You answer questions about the Python language in one short sentence.\nQuestion: "
    prompts = [to_chat(lm, intro + q) for q in ("What is pass?", "What is a tuple?", "x", "How do I open a file?")]
    shared = decoding.shared_prefix([lm.tokenizer(p)["input_ids"] for p in prompts])
    assert shared >= 8
    shapes = []
    handle = lm.model.register_forward_pre_hook(lambda m, a, kw: shapes.append(tuple(kw["input_ids"].shape)),
                                                with_kwargs=True)
    try:
        gens = generate(lm, prompts, max_new_tokens=8, cache=False)
    finally:
        handle.remove()
    assert shapes[0] == (1, shared) and shapes[1][0] == 4  # the prefix once, then the four rests
    assert gens.texts == [t for t, _ in loop_reference(lm, prompts, 8)]


@pytest.mark.parametrize("budget", [1, 60])
def test_prefill_in_chunks_then_one_decode_batch_matches_the_loop(ws, monkeypatch, budget):
    """Long batches prefill in chunks of ~PREFILL_TOKENS and decode together: chunks of one row each (budget 1)
    or of a few rows (60), rows of different lengths, after a shared prefix, give the loop's tokens."""
    from llmops_nb.models.prompts import to_chat

    monkeypatch.setattr(decoding, "PREFILL_TOKENS", budget)
    lm = L.load_model("tiny-gpt2", fresh=True)
    intro = "You answer questions about the Python language in one short sentence.\nQuestion: "
    qs = ["What is pass?", "What is a tuple and when is it better than a list?", "x", "How do I open a file?",
          "import os\nimport sys\n" * 3, "lambda"]
    prompts = [to_chat(lm, intro + q) for q in qs]
    shapes = []
    handle = lm.model.register_forward_pre_hook(lambda m, a, kw: shapes.append(tuple(kw["input_ids"].shape)),
                                                with_kwargs=True)
    try:
        gens = generate(lm, prompts, max_new_tokens=8, batch_size=6, cache=False)
    finally:
        handle.remove()
    prefills = [s for s in shapes[1:] if s[1] > 1]
    assert len(prefills) == (6 if budget == 1 else len(decoding.prefill_groups(
        sorted((len(lm.tokenizer(p)["input_ids"]) - shapes[0][1] for p in prompts), reverse=True), budget)))
    assert 1 < len(prefills) and sum(s[0] for s in prefills) == 6
    assert [s[0] for s in shapes if s[1] == 1][0] == 6  # then one decode batch of all six rows
    assert gens.texts == [t for t, _ in loop_reference(lm, prompts, 8)]


def test_cache_hit_skips_loading_and_cache_false_regenerates(ws):
    first = generate("tiny-gpt2", PROMPTS[:4], max_new_tokens=6)
    runtime.forget()
    again = generate("tiny-gpt2", PROMPTS[:4], max_new_tokens=6)
    assert again.texts == first.texts and again.n_cached == 4
    assert [g.latency_s for g in again] == [g.latency_s for g in first]  # the latency measured when generated
    assert not runtime.remembered(), "a full cache hit must not load the model"
    assert generate("tiny-gpt2", PROMPTS[:4], max_new_tokens=7).n_cached == 0  # params are part of the key
    fresh = generate("tiny-gpt2", PROMPTS[:4], max_new_tokens=6, cache=False)
    assert fresh.n_cached == 0 and fresh.texts == first.texts
    part = generate("tiny-gpt2", PROMPTS[:6], max_new_tokens=6)
    assert [g.cached for g in part] == [True] * 4 + [False] * 2


def test_every_generation_is_logged_with_the_active_run(ws):
    with L.start_run("gen") as run:
        generate("tiny-gpt2", ["a", "b"], max_new_tokens=4)
        generate("tiny-gpt2", ["a"], max_new_tokens=4)
    rows = ws.db.execute("SELECT * FROM generations ORDER BY id").fetchall()
    assert [(r["prompt"], r["cached"], r["run_id"]) for r in rows] == [("a", 0, run.id), ("b", 0, run.id),
                                                                        ("a", 1, run.id)]
    assert rows[0]["model"] == "tiny-gpt2" and rows[0]["tokens_out"] == 4 and rows[0]["latency_s"] > 0
    assert json.loads(rows[0]["params"])["max_new_tokens"] == 4
    assert model_identity("tiny-gpt2") == model_identity(L.load_model("tiny-gpt2")) == rows[0]["model_id"]


def test_sampling_is_seeded_per_prompt_not_per_batch(ws):
    a = generate("tiny-gpt2", PROMPTS, max_new_tokens=8, temperature=0.9, seed=3, batch_size=2, cache=False)
    b = generate("tiny-gpt2", PROMPTS[::-1], max_new_tokens=8, temperature=0.9, seed=3, batch_size=5, cache=False)
    assert a.texts == b.texts[::-1]
    c = generate("tiny-gpt2", PROMPTS, max_new_tokens=8, temperature=0.9, seed=4, cache=False)
    assert c.texts != a.texts
    greedy = generate("tiny-gpt2", PROMPTS, max_new_tokens=8, cache=False)
    assert greedy.texts != a.texts


def test_out_of_memory_halves_the_batch_and_warns_once(ws):
    # No GPU here: a forward pre-hook raises the error CUDA raises when a batch of more than 2 rows runs.
    import torch

    lm = L.load_model("tiny-gpt2", fresh=True)
    expected = generate(lm, PROMPTS, max_new_tokens=5, cache=False).texts

    def oom(module, args, kwargs):
        ids = kwargs.get("input_ids")
        if ids is not None and ids.shape[0] > 2:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 MiB")

    handle = lm.model.register_forward_pre_hook(oom, with_kwargs=True)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got = generate(lm, PROMPTS, max_new_tokens=5, batch_size=8, cache=False)
    finally:
        handle.remove()
    assert got.texts == expected
    oom_warnings = [w for w in caught if "out of memory" in str(w.message)]
    assert len(oom_warnings) == 1 and "batch of 6 prompts" in str(oom_warnings[0].message)  # 6 distinct prompts


def test_ctrl_c_keeps_finished_batches_in_the_cache(ws):
    lm = L.load_model("tiny-gpt2", fresh=True)
    calls = {"n": 0}

    def interrupt_in_second_batch(module, args, kwargs):
        calls["n"] += 1
        if calls["n"] == 7:  # batch 1 = prefill + 4 decode steps; this is batch 2's second call
            raise KeyboardInterrupt

    handle = lm.model.register_forward_pre_hook(interrupt_in_second_batch, with_kwargs=True)
    try:
        with pytest.raises(KeyboardInterrupt):
            generate(lm, PROMPTS[:6], max_new_tokens=5, batch_size=3)
    finally:
        handle.remove()
    assert ws.db.execute("SELECT count(*) FROM generation_cache").fetchone()[0] == 3
    resumed = generate(lm, PROMPTS[:6], max_new_tokens=5, batch_size=3)
    assert resumed.n_cached == 3
    assert resumed.texts == generate(lm, PROMPTS[:6], max_new_tokens=5, cache=False).texts


def test_bad_input_is_named(ws):
    with pytest.raises(InputError, match="not a string"):
        generate("tiny-gpt2", ["ok", 3])
    with pytest.raises(InputError, match="max_new_tokens"):
        generate("tiny-gpt2", ["ok"], max_new_tokens=0)
    window = L.load_model("tiny-gpt2").model.config.max_position_embeddings
    with pytest.raises(InputError, match=f"exceeds the model's {window}-token window"):
        generate("tiny-gpt2", ["word " * window], cache=False)
    with pytest.raises(NotFoundError, match="did you mean 'tiny-gpt2'"):
        generate("tiny-gtp2", ["ok"])


def test_results_protocol(ws):
    gens = generate("tiny-gpt2", ["<script>alert(1)</script>", "plain"], max_new_tokens=3)
    html = gens._repr_html_()
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    df = gens.to_pandas()
    assert list(df.columns) == ["prompt", "text", "tokens_in", "tokens_out", "latency_s", "cached", "finish"]
    data = json.loads(json.dumps(gens.to_dict()))
    assert data["model"] == "tiny-gpt2" and len(data["generations"]) == 2
    assert isinstance(gens[0:1], Generations) and "2 generations" in str(gens) and "Generations(2" in repr(gens)


@pytest.mark.slow
def test_smollm2_batched_equals_per_example_generate(ws, smollm2, monkeypatch):
    from llmops_nb.models.prompts import default_prompt

    zero = default_prompt("zero-shot")
    questions = ["What does the pass statement do?", "How do I catch several exceptions in one clause?",
                 "What is a lambda?"]
    prompts = [zero.render_chat(smollm2, question=q) for q in questions]
    gens = generate(smollm2, prompts, max_new_tokens=16, cache=False)
    ref = [t for t, _ in loop_reference(smollm2, prompts, 16)]
    assert gens.texts == ref
    assert "pass" in gens.texts[0].lower()
    # each prompt prefilled alone, then decoded together; answers end at different steps (finished rows stay
    # in the batch until compaction)
    monkeypatch.setattr(decoding, "PREFILL_TOKENS", 1)
    again = generate(smollm2, prompts, max_new_tokens=40, cache=False)
    assert again.texts == [t for t, _ in loop_reference(smollm2, prompts, 40)]
    assert {g.finish for g in again} == {"stop", "length"}


def test_generate_command_wraps_the_chat_template_and_uses_the_cache(run_cli, ipy):
    one = {"env": {"OMP_NUM_THREADS": "1"}}
    out = json.loads(run_cli("generate", "tiny-gpt2", "def f(x):", "lambda", "--max-new-tokens", "4", "--json",
                             check=0, **one).stdout)
    assert len(out["generations"]) == 2 and out["generations"][0]["prompt"] == "<|user|>\ndef f(x):\n<|assistant|>\n"
    again = json.loads(run_cli("generate", "tiny-gpt2", "def f(x):", "--max-new-tokens", "4", "--json",
                               check=0, **one).stdout)
    assert again["generations"][0]["cached"] is True and again["generations"][0]["text"] == out["generations"][0]["text"]
    raw = ipy.line('generate tiny-gpt2 "def f(x):" --raw --max-new-tokens 4 --no-cache')
    assert raw[0].prompt == "def f(x):" and not raw[0].cached
    assert "did you mean 'tiny-gpt2'" in run_cli("generate", "tiny-gtp2", "x", check=2).stderr
