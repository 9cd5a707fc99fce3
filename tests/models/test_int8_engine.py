"""The int8 engine (CTranslate2): a quantized variant in compare, converted once into LLMOPS_CACHE, rebuilt when
its cached conversion is corrupt, and one line with the pip command where ctranslate2 is missing."""
import json
import subprocess
import sys
import textwrap

import pytest

import llmops_nb as L
from llmops_nb.errors import InputError
from llmops_nb.evals.variants import Variant, parse_variant
from llmops_nb.models import ct2_engine
from llmops_nb.models.generation import generate

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROMPTS = ["<|user|>\nWhat does pass do?\n<|assistant|>\n", "<|user|>\nHow do I loop over a dict?\n<|assistant|>\n",
           "def f(x):"]


def test_int8_specs_parse_and_round_trip():
    v = parse_variant("int8:tiny-gpt2")
    assert (v.kind, v.model, v.engine, v.spec) == ("zero-shot", "tiny-gpt2", "int8", "int8:tiny-gpt2")
    ft = parse_variant("ft:my-lora@int8+rag:pydoc:2")
    assert (ft.kind, ft.model, ft.engine, ft.index, ft.k) == ("ft", "my-lora", "int8", "pydoc", 2)
    assert ft.spec == "ft:my-lora@int8+rag:pydoc:2" and parse_variant(ft.spec) == ft
    assert parse_variant("zero-shot:tiny-gpt2") == Variant("zero-shot", "tiny-gpt2")  # the fp32 specs are as they were
    assert parse_variant("ft:my-lora").engine == "" and parse_variant("int8:m").to_dict()["engine"] == "int8"
    for bad in ("int8:", "int8:a:b", "ft:@int8", "int8:x@int8"):
        with pytest.raises(InputError, match="int8:MODEL"):
            parse_variant(bad)
    with pytest.raises(InputError, match="did you mean 'int8'"):
        parse_variant("int9:tiny-gpt2")


def test_int8_generation_is_cached_apart_from_fp32_and_logged_as_int8(ws):
    lm = L.load_model("tiny-gpt2")
    fp32 = generate(lm, PROMPTS, max_new_tokens=8, progress=False)
    int8 = generate(lm, PROMPTS, max_new_tokens=8, progress=False, engine="int8")
    assert int8.model == "tiny-gpt2@int8" and int8.params["engine"] == "int8"
    assert not any(g.cached for g in int8), "an fp32 answer is never served for the int8 engine"
    assert all(g.tokens_out == 8 and g.finish == "length" and g.latency_s > 0 for g in int8)
    again = generate(lm, PROMPTS, max_new_tokens=8, progress=False, engine="int8")
    assert all(g.cached for g in again) and again.texts == int8.texts
    assert generate(lm, PROMPTS, max_new_tokens=8, progress=False).texts == fp32.texts
    assert {r["model"] for r in L.traces().rows} >= {"tiny-gpt2", "tiny-gpt2@int8"}
    with pytest.raises(InputError, match="unknown engine 'int4'"):
        generate(lm, PROMPTS, engine="int4")


def test_int8_variant_runs_in_compare_and_shows_in_the_leaderboard(ws):
    specs = ["zero-shot:tiny-gpt2", "int8:tiny-gpt2"]
    comp = L.compare("pydoc-qa", specs, limit=3, max_new_tokens=6, metrics=["token_f1", "latency_s", "tokens"])
    board = comp.leaderboard()
    assert set(board["variant"]) == set(specs) and "latency_s" in board and "token_f1" in board
    df = comp.to_pandas()
    assert len(df) == 6 and (df[df["variant"] == "int8:tiny-gpt2"]["tokens"] == 6).all()
    assert L.get_run(comp.run_id).params["variants"] == specs


def test_lora_fine_tune_is_merged_before_conversion(ws):
    pairs = [{"prompt": f"What is {i} plus {i}?", "response": f"It is {2 * i}."} for i in range(12)]
    ft = L.finetune("tiny-gpt2", pairs, name="add-lora", max_steps=2, batch_size=4, lr=0.05, progress=False)
    lm = L.load_model(ft.name)
    folder = ct2_engine.convert_int8(lm)
    base = ct2_engine.convert_int8(L.load_model("tiny-gpt2"))
    assert folder != base, "the fine-tune's conversion is keyed by its own weights"
    assert (folder / "model" / "model.bin").read_bytes() != (base / "model" / "model.bin").read_bytes()
    comp = L.compare("pydoc-qa", ["ft:add-lora@int8"], limit=2, max_new_tokens=4, metrics=["token_f1"])
    assert list(comp.leaderboard()["variant"]) == ["ft:add-lora@int8"]


def test_a_corrupt_converted_cache_is_rebuilt(ws):
    lm = L.load_model("tiny-gpt2")
    folder = ct2_engine.convert_int8(lm)
    manifest = json.loads((folder / ct2_engine.MANIFEST).read_text())
    assert manifest["quantization"] == "int8" and manifest["source"] and "model/model.bin" in manifest["files"]
    want = generate(lm, PROMPTS, max_new_tokens=6, cache=False, progress=False, engine="int8").texts
    # a truncated weights file (a copy cut short): detected by the manifest's sizes, converted again
    weights = folder / "model" / "model.bin"
    weights.write_bytes(weights.read_bytes()[:100])
    assert generate(lm, PROMPTS, max_new_tokens=6, cache=False, progress=False, engine="int8").texts == want
    assert weights.stat().st_size == manifest["files"]["model/model.bin"]
    # a garbled manifest: rebuilt too
    (folder / ct2_engine.MANIFEST).write_text("{not json")
    assert generate(lm, PROMPTS, max_new_tokens=6, cache=False, progress=False, engine="int8").texts == want
    assert json.loads((folder / ct2_engine.MANIFEST).read_text())["source"] == manifest["source"]
    # weights of the right size that CTranslate2 cannot read: the load fails once, the folder is converted again
    weights.write_bytes(b"\0" * weights.stat().st_size)
    assert generate(lm, PROMPTS, max_new_tokens=6, cache=False, progress=False, engine="int8").texts == want


def test_missing_ctranslate2_is_one_line_with_the_pip_command_before_any_generation(ws):
    code = textwrap.dedent("""
        import sys
        sys.modules["ctranslate2"] = None  # as if it were not installed
        import llmops_nb as L
        from llmops_nb.errors import MissingDependencyError
        for call in (lambda: L.compare("pydoc-qa", ["zero-shot:tiny-gpt2", "int8:tiny-gpt2"], limit=1),
                     lambda: L.generate("tiny-gpt2", ["x"], engine="int8")):
            try:
                call()
            except MissingDependencyError as exc:
                print("ERR", exc)
        print("LOGGED", len(L.traces().rows), "RUNS", len(L.runs().rows))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    errors = [line for line in out.stdout.splitlines() if line.startswith("ERR")]
    assert len(errors) == 2 and all("pip install" in e and "ctranslate2" in e for e in errors)
    assert "LOGGED 0 RUNS 0" in out.stdout, "nothing generated, no run started"


def test_no_ctranslate2_generator_outlives_its_generate_call(ws, monkeypatch):
    """A Generator that has run slows torch's own matmuls while it lives (~3x measured), so an fp32 variant run
    after an int8 one in the same compare would be timed unfairly: the engine holds one only within a call."""
    import weakref

    import ctranslate2

    made = []

    class Tracked(ctranslate2.Generator):
        def __init__(self, *a, **kw):
            super().__init__(*a, **kw)
            made.append(weakref.ref(self))

    monkeypatch.setattr(ctranslate2, "Generator", Tracked)
    lm = L.load_model("tiny-gpt2")
    out = generate(lm, PROMPTS, max_new_tokens=4, progress=False, cache=False, engine="int8", batch_size=2)
    assert all(g.tokens_out == 4 for g in out)
    assert len(made) == 1, "one Generator per call, shared by its batches"
    assert made[0]() is None, "the Generator was released when the call ended"
