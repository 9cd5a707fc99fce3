"""compare() says when a comparison is hollow: a variant whose answers are empty, scores that tie (then no variant
is called best), in its text, HTML, JSON and as a warning; and its output says how to open the per-example widget.

Two real local models made from tiny-gpt2's folder with real transformers: "mute" always emits end-of-text first
(empty answers), "parrot" always emits the word " in" (non-empty answers that overlap some references)."""
import json
import shutil

import pytest

import llmops_nb as L
from llmops_nb.errors import LlmopsWarning
from llmops_nb.evals.comparison import HINT, MIME, Comparison


def _constant_model(folder, token_text):
    """A copy of tiny-gpt2 whose greedy next token is always `token_text` (None: end-of-text)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from llmops_nb.models.loading import tiny_gpt2_folder

    src = tiny_gpt2_folder()
    shutil.copytree(src, folder)
    model = AutoModelForCausalLM.from_pretrained(str(src))
    tok = AutoTokenizer.from_pretrained(str(src))
    ids = [model.config.eos_token_id] if token_text is None else tok.encode(token_text)
    assert len(ids) == 1, ids
    with torch.no_grad():  # ln_f outputs a constant; with tied embeddings the logit of `ids[0]` dominates
        wte = model.transformer.wte.weight
        wte[ids[0]] = wte[ids[0]] / wte[ids[0]].norm() * wte.norm(dim=1).max() * 10
        model.transformer.ln_f.weight.zero_()
        model.transformer.ln_f.bias.copy_(wte[ids[0]])
    model.save_pretrained(folder, safe_serialization=True)
    return str(folder)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("constant-models")
    return {"mute": _constant_model(root / "mute", None), "parrot": _constant_model(root / "parrot", " in")}


def test_empty_answers_and_a_tie_are_warned_and_no_variant_is_best(ws, models):
    mute = f"zero-shot:{models['mute']}"
    with pytest.warns(LlmopsWarning) as caught:
        comp = L.compare("pydoc-qa", ["zero-shot:tiny-gpt2", mute], limit=3, max_new_tokens=4, metrics=["token_f1"])
    said = [str(w.message) for w in caught]
    assert any(s.startswith(f"variant {mute}: every answer is empty (3 of 3)") for s in said), said
    assert "all 2 variants tie on token_f1 (0.000); no variant is best" in said
    assert comp.best is None and comp.warnings == said
    text = str(comp)
    assert "no best variant by token_f1 (tie)" in text and "best by token_f1:" not in text
    assert f"warning: variant {mute}: every answer is empty" in text and text.rstrip().endswith(HINT)
    assert "no best (tie)" in repr(comp)
    bundle = comp._repr_mimebundle_()
    data = json.loads(json.dumps(bundle[MIME], allow_nan=False))
    assert data["version"] == 1 and data["best"] is None and data["warnings"] == said and data["hint"] == HINT
    assert len(data["examples"]) == 6 and data["examples_total"] == 3
    first = data["examples"][0]
    assert set(first) == {"example", "variant", "question", "reference", "output", "token_f1"}
    assert [e["variant"] for e in data["examples"][:2]] == ["zero-shot:tiny-gpt2", mute], "example by example"
    html = bundle["text/html"]
    assert "no best variant by token_f1 (tie)" in html and "class='llmops-warn'" in html and "cmp.widget()" in html
    assert bundle["text/plain"] == text
    run = L.get_run(comp.run_id)
    assert run.records["best_variant"] is None and run.records["warnings"] == said
    loaded = Comparison.load(comp.run_id).to_dict(max_examples=None)
    assert loaded["best"] is None and loaded["warnings"] == said and len(loaded["examples"]) == 6


def test_a_real_winner_is_best_and_only_the_empty_variant_is_named(ws, models):
    parrot, mute = f"zero-shot:{models['parrot']}", f"zero-shot:{models['mute']}"
    with pytest.warns(LlmopsWarning, match="every answer is empty"):
        comp = L.compare("pydoc-qa", [mute, parrot], limit=4, max_new_tokens=4, metrics=["token_f1"])
    assert all(r["output"] for r in comp.rows if r["variant"] == parrot), "the parrot answers"
    assert comp.best == parrot and len(comp.warnings) == 1 and mute in comp.warnings[0]
    assert f"best by token_f1: {parrot}" in str(comp)
    d = comp.to_dict(max_examples=1)
    assert d["best"] == parrot and [e["variant"] for e in d["examples"]] == [mute, parrot]
    assert len(comp.to_dict(max_examples=None)["examples"]) == 8


def test_cli_json_carries_the_warnings_and_stderr_says_them(run_cli, models):
    """(The text output is str(result), checked above; one process here: each CLI start imports torch.)"""
    mute = f"zero-shot:{models['mute']}"
    p = run_cli("compare", "--variant", "zero-shot:tiny-gpt2", "--variant", mute, "--limit", "2",
                "--max-new-tokens", "3", "--metric", "token_f1", "--json", "-q", check=0)
    data = json.loads(p.stdout)
    assert data["best"] is None and any("tie on token_f1" in w for w in data["warnings"])
    assert len(data["examples"]) == 4 and data["hint"] == HINT
    # one line per warning, like the CLI's errors: no file name, line number or source line of ours
    assert "llmops: warning: all 2 variants tie on token_f1" in p.stderr
    assert "Traceback" not in p.stderr and ".py:" not in p.stderr


def _rows(outputs_by_variant, reference="a tuple"):
    rows = []
    for v, outs in outputs_by_variant.items():
        for i, o in enumerate(outs):
            rows.append({"variant": v, "example": f"e{i}", "question": f"q{i}", "reference": reference, "output": o,
                         "token_f1": 1.0 if o == reference else 0.0})
    return rows


def test_mostly_empty_says_the_share_and_a_shared_top_is_not_best():
    comp = Comparison(_rows({"a": ["", "", "", "a tuple"], "b": ["a tuple", "x", "x", "x"],
                             "c": ["x", "x", "x", "x"]}), ["a", "b", "c"], ["token_f1"], "a", {"n_examples": 4},
                      None, 0.0)
    assert comp.warnings == ["variant a: 3 of 4 answers (75%) are empty",
                             "a, b tie for the top token_f1 (0.250); no variant is best"]
    assert comp.best is None
    solo = Comparison(_rows({"a": ["a tuple", "x"]}), ["a"], ["token_f1"], "a", {"n_examples": 2}, None, 0.0)
    assert solo.best == "a" and solo.warnings == []


def test_comparison_output_escapes_user_text_and_keeps_line_breaks():
    evil = "<img src=x onerror=alert(1)>"
    answer = "def f():\n    return 1"
    comp = Comparison(_rows({evil: [answer, evil], "b": ["x", "y"]}, reference=evil), [evil, "b"],
                      ["token_f1"], "b", {"n_examples": 2, "eval_set": evil}, None, 0.0)
    bundle = comp._repr_mimebundle_()
    html = bundle["text/html"] + comp.chart().svg(standalone=False) + comp.chart().svg()
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    payload = bundle[MIME]
    assert payload["examples"][0]["output"] == answer, "the JSON keeps the text as it is (rendered as text)"
    assert payload["examples"][0]["reference"] == evil and payload["best"] == evil
    spec = comp.chart()._repr_mimebundle_()["application/vnd.vegalite.v5+json"]
    assert spec["data"]["values"][0]["variant"] == evil
