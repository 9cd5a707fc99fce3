"""Fine-tuning: loss masking, registration and loading, determinism, Ctrl-C and resume, export; shipped data."""
import json
import re
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

import llmops_nb as L
from llmops_nb.data.eval import eval_set, eval_set_path, train_set, train_set_path
from llmops_nb.errors import InputError, NotFoundError
from llmops_nb.models import finetune as FT
from llmops_nb.models.runtime import quiet_warnings

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PAIRS = [{"prompt": f"What is {i} plus {i}?", "response": f"It is {2 * i}."} for i in range(24)]


def adapter_tensors(ft):
    return load_file(str(ft.path / "adapter_model.safetensors"))


def test_pairs_put_the_loss_on_the_response_only_and_text_on_every_token(ws):
    tok = L.load_model("tiny-gpt2").tokenizer
    (ex,), skipped = FT.encode_examples([{"prompt": "Say hi", "response": "hi there"}], tok, "pairs", ("prompt", "response"), 256)
    from llmops_nb.models.prompts import to_chat

    prompt_len = len(tok(to_chat(tok, "Say hi"))["input_ids"])
    labelled = [i for i, x in enumerate(ex["labels"]) if x != -100]
    assert labelled and labelled == list(range(labelled[0], len(ex["labels"])))  # one contiguous tail
    answer = tok.decode([ex["input_ids"][i] for i in labelled])
    assert answer.startswith("hi there") and "Say hi" not in answer
    assert tok.decode(ex["input_ids"][:labelled[0]]).endswith("<|assistant|>\n")  # the prompt as at inference
    assert prompt_len == labelled[0]
    zero = L.prompt("zero-shot")
    (ex,), _ = FT.encode_examples([{"prompt": "Say hi", "response": "hi there"}], tok, "pairs", ("prompt", "response"), 256,
                          zero)
    assert tok.decode(ex["input_ids"]).startswith(to_chat(tok, zero.render(question="Say hi")))
    (ex,), _ = FT.encode_examples([{"text": "plain text"}], tok, "text", ("text",), 256)
    assert ex["labels"] == ex["input_ids"]
    # a row whose response does not fit is skipped, not trained on without labels
    rows, skipped = FT.encode_examples([{"prompt": "word " * 300, "response": "x"}], tok, "pairs", ("prompt", "response"), 32)
    assert rows == [] and skipped == 1


def test_fast_loss_equals_the_models_own_loss_and_gradients(ws):
    # Our loss skips the vocabulary projection at unlabelled positions and runs the batch's shared prompt
    # prefix once; the loss and the LoRA gradients must be the model's own (dropout off to compare).
    from peft import get_peft_model

    lm = L.load_model("tiny-gpt2", fresh=True)
    examples, _ = FT.encode_examples(train_set()[:8], lm.tokenizer, "pairs", ("prompt", "response"), 256,
                             L.prompt("zero-shot"))
    batch = FT.collate(examples, lm.tokenizer.pad_token_id)
    assert FT.shared_prompt_prefix(batch["input_ids"], batch["attention_mask"], batch["labels"]) >= 8
    with quiet_warnings():
        model = get_peft_model(lm.model, FT.lora_config(lm.model, dropout=0.0))
    model.eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "lora_B" in name:
                p.normal_(0, 0.01)
    grads = []
    for loss_fn in (lambda: model(**batch).loss, lambda: FT.causal_lm_loss(model, **batch),
                    lambda: FT.causal_lm_loss(model, **batch, share_prefix=False)):
        model.zero_grad()
        loss = loss_fn()
        loss.backward()
        grads.append((loss.item(), [p.grad.clone() for p in model.parameters() if p.requires_grad]))
    for loss, g in grads[1:]:
        assert abs(loss - grads[0][0]) < 1e-5
        assert all(torch.allclose(a, b, atol=1e-6) for a, b in zip(g, grads[0][1]))


def test_lora_finetune_registers_a_loadable_model(ws):
    ft = L.finetune("tiny-gpt2", PAIRS, max_steps=4, batch_size=4, name="tiny-add", eval_every=2)
    assert isinstance(ft, FT.FineTunedModel) and ft.method == "lora" and ft.base == "tiny-gpt2"
    assert ft.dataset_ref.startswith("inline:") and ft.metrics["steps"] == 4 and ft.metrics["eval_loss"] > 0
    assert ft.metrics["tokens_per_s"] > 0  # the fine-tune throughput the GPU check reports
    assert (ft.path / "adapter_model.safetensors").exists() and not (ft.path.parent / "checkpoint").exists()
    run = L.get_run(ft.run_id)
    assert run.kind == "finetune" and run.status == "finished"
    assert run.params["method"] == "lora" and run.params["data"] == ft.dataset_ref and run.params["lora_r"] == 8
    assert [s for s, _, _ in run.history("train_loss")] == [1, 2, 3, 4]
    assert [s for s, _, _ in run.history("eval_loss")] == [2, 4]
    assert run.records["model"] == "tiny-add"
    row = [r for r in L.models() if r["name"] == "tiny-add"][0]
    assert row["kind"] == "causal-lm" and row["source"].startswith("lora fine-tune of tiny-gpt2 on inline:") and row["installed"]
    lm = L.load_model("tiny-add")
    assert lm.adapter == ft.path and lm.name == "tiny-add"
    base = L.load_model("tiny-gpt2")
    assert any(not torch.equal(a, b) for a, b in zip(lm.model.state_dict().values(), base.model.state_dict().values()))
    from llmops_nb.models.generation import generate, model_identity

    ident = model_identity("tiny-add")
    assert ident == model_identity(lm) and ident != model_identity("tiny-gpt2") and ft.sha256 in ident
    assert len(generate("tiny-add", ["What is 3 plus 3?"], max_new_tokens=3)) == 1
    assert generate(ft, ["What is 3 plus 3?"], max_new_tokens=3).n_cached == 1  # the object works as its name
    assert L.load_model(ft) is lm and ft.load() is lm
    again = L.finetune("tiny-gpt2", PAIRS, max_steps=4, batch_size=4, name="tiny-add", eval_every=2)
    assert again.run_id == ft.run_id  # same name and settings: the finished model, no new training
    with pytest.raises(NotFoundError, match="did you mean 'tiny-add'"):
        L.load_model("tiny-ad")


def test_training_is_deterministic_on_cpu(ws):
    a = L.finetune("tiny-gpt2", PAIRS, max_steps=3, batch_size=4, name="det-a", seed=7)
    b = L.finetune("tiny-gpt2", PAIRS, max_steps=3, batch_size=4, name="det-b", seed=7)
    c = L.finetune("tiny-gpt2", PAIRS, max_steps=3, batch_size=4, name="det-c", seed=8)
    ta, tb, tc = adapter_tensors(a), adapter_tensors(b), adapter_tensors(c)
    assert all(torch.equal(ta[k], tb[k]) for k in ta)
    assert any(not torch.equal(ta[k], tc[k]) for k in ta)


def test_ctrl_c_keeps_a_checkpoint_and_a_rerun_resumes_to_the_same_weights(ws):
    straight = L.finetune("tiny-gpt2", PAIRS, max_steps=6, batch_size=4, name="straight", eval_every=2)
    calls = {"n": 0}

    vocab = L.load_model("tiny-gpt2").model.config.vocab_size

    def interrupt(module, args):
        # Ctrl-C arrives as KeyboardInterrupt in the main thread; raise it in the 5th training step's forward
        # (the output projection runs once per training step)
        if isinstance(module, torch.nn.Linear) and module.out_features == vocab and module.training:
            calls["n"] += 1
            if calls["n"] == 5:
                raise KeyboardInterrupt

    handle = torch.nn.modules.module.register_module_forward_pre_hook(interrupt)
    try:
        with pytest.raises(KeyboardInterrupt):
            L.finetune("tiny-gpt2", PAIRS, max_steps=6, batch_size=4, name="resumed", eval_every=2)
    finally:
        handle.remove()
    interrupted = L.runs(kind="finetune", name="finetune resumed")[0]
    assert interrupted["status"] == "interrupted"
    state = json.loads((ws.path / "models" / "resumed" / "checkpoint" / "state.json").read_text())
    assert state["step"] == 4
    with pytest.raises(NotFoundError):
        FT.registered_model("resumed")
    resumed = L.finetune("tiny-gpt2", PAIRS, max_steps=6, batch_size=4, name="resumed", eval_every=2)
    run = L.get_run(resumed.run_id)
    assert run.tags["resumed_from_step"] == 4 and [s for s, _, _ in run.history("train_loss")] == [5, 6]
    ta, tb = adapter_tensors(straight), adapter_tensors(resumed)
    assert all(torch.equal(ta[k], tb[k]) for k in ta)


def test_full_finetune_and_export_load_with_plain_transformers(ws, tmp_path):
    from transformers import AutoModelForCausalLM

    full = L.finetune("tiny-gpt2", PAIRS, method="full", max_steps=2, batch_size=4, name="tiny-full")
    assert full.method == "full" and full.params["lr"] == 5e-5 and (full.path / "model.safetensors").exists()
    lora = L.finetune("tiny-gpt2", PAIRS, max_steps=2, batch_size=4, name="tiny-lora", lr=5e-3)
    ids = torch.tensor([[5, 6, 7, 8]])
    for name in ("tiny-full", "tiny-lora"):
        out = L.export(name, tmp_path / name)
        plain = AutoModelForCausalLM.from_pretrained(str(out))
        assert (out / "model.safetensors").exists() and (out / "tokenizer.json").exists()
        ours = L.load_model(name).model
        with torch.no_grad():
            assert torch.allclose(plain(ids).logits, ours(ids).logits, atol=1e-5)
    with pytest.raises(InputError, match="not empty"):
        L.export("tiny-lora", tmp_path / "tiny-lora")
    adapter_only = L.export(lora, tmp_path / "adapter", merge=False)
    assert (adapter_only / "adapter_config.json").exists()


def test_dataset_by_name_and_bad_datasets(ws):
    L.load_dataset(train_set_path(), name="pydoc-train")
    ft = L.finetune("tiny-gpt2", "pydoc-train", max_steps=1, batch_size=4, name="from-name")
    assert ft.dataset_ref == "pydoc-train@v1" and ft.dataset_snapshot
    assert L.get_run(ft.run_id).records["dataset"] == "pydoc-train@v1"
    with pytest.raises(InputError, match=r"no usable rows.*fields present: body, title"):
        L.finetune("tiny-gpt2", [{"title": "a", "body": 3}], max_steps=1)
    with pytest.raises(InputError, match="unknown fine-tuning method"):
        L.finetune("tiny-gpt2", PAIRS, method="qlora")
    text = L.finetune("tiny-gpt2", [{"text": "def f(x): return x"}] * 8, max_steps=1, name="plain-text")
    assert L.get_run(text.run_id).params["format"] == "text"
    with pytest.raises(InputError, match="plain text"):
        L.finetune("tiny-gpt2", [{"text": "def f(x): return x"}] * 8, max_steps=1, template="zero-shot")
    templated = L.finetune("tiny-gpt2", PAIRS, max_steps=1, name="templated", template="zero-shot")
    assert L.get_run(templated.run_id).params["template"] == "zero-shot@builtin"


def test_finetune_command_cli_and_magic(ws, run_cli, ipy, tmp_path):
    data = tmp_path / "pairs.jsonl"
    data.write_text("".join(json.dumps(p) + "\n" for p in PAIRS))
    L.load_dataset(str(data), name="pairs")
    out = json.loads(run_cli("finetune", "tiny-gpt2", "--data", "pairs", "--max-steps", "2", "--batch-size", "4",
                             "--as", "cli-ft", "--json", check=0, env={"OMP_NUM_THREADS": "1"}).stdout)
    assert out["name"] == "cli-ft" and out["metrics"]["steps"] == 2 and out["dataset_ref"] == "pairs@v1"
    assert "cli-ft" in run_cli("models", check=0).stdout
    p = run_cli("finetune", "tiny-gpt2", "--data", "pairz", check=2)
    assert "did you mean 'pairs'" in p.stderr and "Traceback" not in p.stderr
    ft = ipy.line("finetune tiny-gpt2 --data pairs --max-steps 1 --batch-size 4 --as magic-ft")
    assert ft.name == "magic-ft" and "<table" in ft._repr_html_()


@pytest.mark.slow
def test_smollm2_lora_few_steps_lowers_the_training_loss(ws, smollm2, tmp_path):
    from transformers import AutoModelForCausalLM

    rows = train_set()[:16]
    tok = smollm2.tokenizer
    examples, _ = FT.encode_examples(rows, tok, "pairs", ("prompt", "response"), 128)
    batch = FT.collate(examples[:8], tok.pad_token_id)
    with torch.no_grad():
        before = float(smollm2.model(**batch).loss)
    ft = L.finetune("smollm2-135m-instruct", rows, max_steps=4, batch_size=8, eval_split=0, lr=1e-3,
                    name="smol-lora", max_length=128)
    lm = L.load_model("smol-lora")
    with torch.no_grad():
        after = float(lm.model(**batch).loss)
    assert after < before
    out = L.export("smol-lora", tmp_path / "merged")
    plain = AutoModelForCausalLM.from_pretrained(str(out))
    with torch.no_grad():
        assert abs(float(plain(**batch).loss) - after) < 1e-3
    assert ft.metrics["train_time_s"] > 0


# ------------------------------------------------------------------------------------------------
# The shipped eval and training sets

def _norm(text):
    return " ".join(re.findall(r"[a-z0-9_]+", text.lower()))


def _token_f1(a, b):
    ta, tb = a.split(), b.split()
    common = sum(min(ta.count(t), tb.count(t)) for t in set(ta))
    return 0.0 if not common else 2 * common / (len(ta) + len(tb))


def test_shipped_eval_and_train_sets():
    ev, tr = eval_set(), train_set()
    assert len(ev) >= 60 and 150 <= len(tr) <= 300
    assert all(set(r) == {"id", "question", "answer", "topic"} for r in ev)
    assert all(set(r) == {"id", "prompt", "response", "topic"} for r in tr)
    assert len({r["id"] for r in ev}) == len(ev) and len({r["id"] for r in tr}) == len(tr)
    from pydoc_data.topics import topics

    assert all(r["topic"] in topics for r in ev + tr)
    assert all(len(r["answer"].split()) <= 20 for r in ev)  # short reference answers
    assert eval_set_path().name == "pydoc_qa.jsonl" and train_set_path().exists()
    train_prompts = [_norm(r["prompt"]) for r in tr]
    for e in ev:
        q = _norm(e["question"])
        assert q not in train_prompts
        # near-verbatim: the same words give or take one or two (a question about another method differs in
        # its identifier and stays below this)
        close = [p for p in train_prompts if _token_f1(q, p) >= 0.85]
        assert not close, (e["question"], close)
        assert all(_norm(e["answer"]) != _norm(r["response"]) for r in tr)


def test_shipped_files_match_their_build_script():
    out = subprocess.run([sys.executable, "-m", "llmops_nb.data.eval.build", "--check"], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr


def test_jsonl_training_data_keeps_line_separators_inside_strings(tmp_path):
    from llmops_nb.models.training_data import resolve_dataset

    rows = [{"prompt": "a\u2028b", "response": "c"}, {"prompt": "d\u2029e\x85f", "response": "g"}]
    path = tmp_path / "sep.jsonl"
    raw = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    path.write_bytes(raw)
    import hashlib

    assert resolve_dataset(path) == (rows, "file:sep.jsonl", hashlib.sha256(raw).hexdigest()[:12])
    path.write_bytes(raw + b'{"prompt": "x", "response": \xff}\n')
    with pytest.raises(InputError, match=r"^sep.jsonl line 3: not valid UTF-8 \(byte 0xff at column 29\)"):
        resolve_dataset(path)
    path.write_text('["prompt", "response"]\n')
    with pytest.raises(InputError, match=r"^sep.jsonl line 1: expected a JSON object, got list$"):
        resolve_dataset(path)
