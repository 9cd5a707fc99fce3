"""Fine-tuning (LoRA or full) with a small, explicit training loop, and the registry of fine-tuned models.

`finetune(base, dataset)` trains on instruction pairs (prompt/response or question/answer: the prompt goes
through the chat template, the loss is on the response tokens only) or plain text (field text: loss on every
token). The loop is plain torch: AdamW, a linear decay schedule, gradient clipping at 1.0, a progress bar
with the live loss, eval loss on a held-out split, and checkpoints (weights + optimizer + scheduler + RNG +
step) in the workspace, so running the same call again resumes where it stopped (or returns the finished
model at once). The result is registered under a name: `load_model(name)` loads base + adapter (merged for
fast inference), `models()` lists it, and `export(name, path)` writes a merged folder plain transformers loads.

This module is imported with the package (it registers the loader for fine-tuned names), so the heavy
imports (torch, transformers, peft) happen inside functions.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import re
import shutil
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

from ..display import STYLE, esc, fmt_time, html_kv, html_table
from ..errors import InputError, LlmopsError, NotFoundError, not_found
from .registry import BUILTINS, register_model_resolver, register_model_source

METHODS = ("lora", "full")
PAIR_FIELDS = (("prompt", "response"), ("question", "answer"), ("instruction", "output"))
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
CHECKPOINT = "checkpoint"


# ------------------------------------------------------------------------------------------------
# The registry of fine-tuned models (table registered_models)

@dataclass
class FineTunedModel:
    """A fine-tuned model registered in the workspace: `load_model(name)` loads it; `export()` merges it."""

    name: str
    base: str
    method: str
    path: Path  # adapter folder (lora) or model folder (full)
    sha256: str = ""
    dataset_ref: Optional[str] = None
    dataset_snapshot: Optional[str] = None
    run_id: Optional[str] = None
    params: Dict[str, Any] = field(default_factory=dict)
    metrics: Dict[str, Any] = field(default_factory=dict)
    created_at: Optional[float] = None

    @property
    def adapter(self) -> Optional[Path]:
        return self.path if self.method == "lora" else None

    def load(self, *, device: str = "auto", fresh: bool = False):
        from .loading import load_model

        return load_model(self.name, device=device, fresh=fresh)

    def to_dict(self) -> dict:
        return {"name": self.name, "base": self.base, "method": self.method, "path": str(self.path),
                "sha256": self.sha256, "dataset_ref": self.dataset_ref, "dataset_snapshot": self.dataset_snapshot,
                "run_id": self.run_id, "params": self.params, "metrics": self.metrics,
                "created_at": self.created_at}

    def __repr__(self) -> str:
        return f"FineTunedModel({self.name!r}, base={self.base!r}, method={self.method!r}, data={self.dataset_ref!r})"

    def _summary(self) -> Dict[str, Any]:
        m = self.metrics
        return {"name": self.name, "base": self.base, "method": self.method, "dataset": self.dataset_ref,
                "steps": m.get("steps"), "train loss": m.get("train_loss"), "eval loss": m.get("eval_loss"),
                "time": f"{m['train_time_s']:.1f}s" if m.get("train_time_s") is not None else None,
                "run": self.run_id, "path": str(self.path), "created": fmt_time(self.created_at)}

    def __str__(self) -> str:
        return "\n".join(f"{k}: {v}" for k, v in self._summary().items() if v is not None)

    def _repr_html_(self) -> str:
        return html_kv(f"fine-tuned model {self.name}", {k: v for k, v in self._summary().items() if v is not None})


def _ws():
    from ..workspace import workspace

    return workspace()


def _from_row(row) -> FineTunedModel:
    ws = _ws()
    return FineTunedModel(row["name"], row["base"], row["method"], ws.path / row["path"], row["sha256"] or "",
                          row["dataset_ref"], row["dataset_snapshot"], row["run_id"], json.loads(row["params"]),
                          json.loads(row["metrics"]), row["created_at"])


def _row(name: str):
    try:
        return _ws().db.execute("SELECT * FROM registered_models WHERE name=?", (str(name),)).fetchone()
    except Exception as exc:  # a workspace whose database cannot be read: not a registered name
        if "no such table" in str(exc):
            return None
        raise


def registered_model(name: str) -> FineTunedModel:
    row = _row(name)
    if row is None:
        names = [r[0] for r in _ws().db.execute("SELECT name FROM registered_models ORDER BY name")]
        raise not_found("fine-tuned model", name, names, hint="" if names else "train one with finetune(base, dataset)")
    return _from_row(row)


def registered_identity(name: str) -> Optional[str]:
    """The generation-cache identity of a registered model: its base's identity plus the weights' content hash."""
    row = _row(name)
    if row is None:
        return None
    from .generation import model_identity

    return f"ft:{row['name']}:{row['method']}:{row['sha256']}<{model_identity(row['base'])}>"


def _models_rows() -> List[dict]:
    try:
        rows = _ws().db.execute("SELECT * FROM registered_models ORDER BY created_at").fetchall()
    except Exception:
        return []
    out = []
    for r in rows:
        ft = _from_row(r)
        out.append({"name": ft.name, "kind": f"fine-tune ({ft.method})", "params": f"base {ft.base}",
                    "installed": ft.path.exists(),
                    "source": f"{ft.method} of {ft.base} on {ft.dataset_ref}" if ft.path.exists()
                    else f"missing folder {ft.path}"})
    return out


def _resolver(name: Any):
    if isinstance(name, FineTunedModel):
        name = name.name
    if not isinstance(name, str) or name in BUILTINS:
        return None
    row = _row(name)
    if row is None:
        return None
    ft = _from_row(row)
    return lambda device="auto", fresh=False: _load_registered(ft, device=device, fresh=fresh)


register_model_source(_models_rows)
register_model_resolver(_resolver)


def _load_registered(ft: FineTunedModel, *, device: str, fresh: bool):
    from .loading import LoadedModel, _memo, _memo_lock, _quiet_transformers, load_model, resolve_device

    if not ft.path.exists():
        raise LlmopsError(f"fine-tuned model '{ft.name}' is registered but its folder {ft.path} is missing; "
                          "train it again with finetune(..., name=...)")
    dev, dtype = resolve_device(device)
    key = ("ft", ft.name, ft.sha256, dev)
    if not fresh:
        with _memo_lock:
            if key in _memo:
                return _memo[key]
    _quiet_transformers()
    base = load_model(ft.base, device=device, fresh=True)
    if ft.method == "lora":
        from peft import PeftModel

        # Merged once at load: generation then runs at the base model's speed.
        with _quiet_warnings():
            model = PeftModel.from_pretrained(base.model, str(ft.path)).merge_and_unload()
    else:
        from transformers import AutoModelForCausalLM

        model = AutoModelForCausalLM.from_pretrained(str(ft.path), dtype=dtype).to(dev)
    model.eval()
    loaded = LoadedModel(name=ft.name, model=model, tokenizer=base.tokenizer, device=dev, dtype=dtype,
                         path=base.path if ft.method == "lora" else ft.path, adapter=ft.adapter,
                         info={"identity": registered_identity(ft.name), "base": ft.base, "method": ft.method,
                               "dataset": ft.dataset_ref})
    if not fresh:
        with _memo_lock:
            _memo[key] = loaded
    return loaded


# ------------------------------------------------------------------------------------------------
# Data: records -> tokenized examples with labels

def _resolve_dataset(dataset: Any) -> Tuple[List[dict], str, Optional[str]]:
    """(records, ref, snapshot id) for a dataset name/ref, a Dataset, a list of dicts, a DataFrame or a .jsonl path."""
    if hasattr(dataset, "to_dict") and hasattr(dataset, "columns") and hasattr(dataset, "iloc"):  # DataFrame
        dataset = dataset.to_dict("records")
    elif hasattr(dataset, "column_names") and hasattr(dataset, "to_list"):  # a Hugging Face datasets.Dataset
        dataset = dataset.to_list()
    if isinstance(dataset, (list, tuple)):
        records = [dict(r) for r in dataset]
        if records and not all(isinstance(r, dict) for r in dataset):
            raise InputError("a list dataset must hold dicts (e.g. {'prompt': ..., 'response': ...})")
        digest = hashlib.sha256(json.dumps(records, sort_keys=True, default=str).encode()).hexdigest()[:12]
        return records, f"inline:{digest}", digest
    if isinstance(dataset, (str, os.PathLike)) and str(dataset).endswith(".jsonl") and Path(dataset).is_file():
        text = Path(dataset).read_text(encoding="utf-8")
        records = [json.loads(line) for line in text.splitlines() if line.strip()]
        digest = hashlib.sha256(text.encode()).hexdigest()[:12]
        return records, f"file:{Path(dataset).name}", digest
    if isinstance(dataset, str) or hasattr(dataset, "records"):
        from ..data.datasets import dataset as get_dataset

        ds = get_dataset(dataset) if isinstance(dataset, str) else dataset
        records = list(ds.records())
        return records, ds.ref, getattr(ds, "snapshot_id", None)
    raise InputError(f"cannot fine-tune on a {type(dataset).__name__}; pass a dataset name, a list of dicts, "
                     "a DataFrame or a .jsonl path")


def _format(records: List[dict]) -> Tuple[str, Tuple[str, ...]]:
    """("pairs", (prompt_field, response_field)) or ("text", ("text",))."""
    def ok(v):
        return isinstance(v, str) and v.strip()

    for pf, rf in PAIR_FIELDS:
        if any(ok(r.get(pf)) and ok(r.get(rf)) for r in records):
            return "pairs", (pf, rf)
    if any(ok(r.get("text")) for r in records):
        return "text", ("text",)
    present = sorted({k for r in records for k in r})
    raise InputError(
        f"the dataset has no usable rows: need prompt/response (or question/answer) pairs or a text field; "
        f"fields present: {', '.join(present) or 'none'}" + ("" if records else " (it is empty)"))


def _encode(records: List[dict], tok, fmt: str, fields: Tuple[str, ...], max_length: int,
            template: Any = None) -> Tuple[List[dict], int]:
    """Tokenized examples {"input_ids", "labels"} and how many rows were skipped.

    With a template (a PromptVersion), each pair's prompt is first rendered through it as `question` (the
    record's other fields are variables too), so training sees the prompts `compare` will send.
    """
    from .prompts import to_chat

    eos = tok.eos_token or ""
    has_template = bool(getattr(tok, "chat_template", None))
    out, skipped = [], 0
    for r in records:
        if fmt == "pairs":
            p, a = r.get(fields[0]), r.get(fields[1])
            if not (isinstance(p, str) and p.strip() and isinstance(a, str) and a.strip()):
                skipped += 1
                continue
            if template is not None:
                p = template.render(**{**r, "question": p})
            if has_template:
                prompt_text = to_chat(tok, p)
                full = tok.apply_chat_template([{"role": "user", "content": p}, {"role": "assistant", "content": a}],
                                               tokenize=False)
                answer_text = full[len(prompt_text):] if full.startswith(prompt_text) else a + eos
            else:
                prompt_text, answer_text = p.rstrip() + "\n", a + eos
            bos = getattr(tok, "bos_token", None)
            # tokenized apart, as at inference: the model sees the prompt's tokens, then continues
            prompt_ids = tok(prompt_text, add_special_tokens=not (bos and prompt_text.startswith(bos)))["input_ids"]
            answer_ids = tok(answer_text, add_special_tokens=False)["input_ids"]
            ids = (prompt_ids + answer_ids)[:max_length]
            labels = ([-100] * len(prompt_ids) + answer_ids)[:max_length]
        else:
            t = r.get("text")
            if not (isinstance(t, str) and t.strip()):
                skipped += 1
                continue
            ids = (tok(t)["input_ids"] + ([tok.eos_token_id] if tok.eos_token_id is not None else []))[:max_length]
            labels = list(ids)
        if sum(1 for x in labels[1:] if x != -100) == 0:  # nothing left to learn after truncation
            skipped += 1
            continue
        out.append({"input_ids": ids, "labels": labels})
    return out, skipped


def _collate(batch: List[dict], pad_id: int):
    import torch

    width = max(len(b["input_ids"]) for b in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    for i, b in enumerate(batch):
        n = len(b["input_ids"])
        ids[i, :n] = torch.tensor(b["input_ids"])
        labels[i, :n] = torch.tensor(b["labels"])
        mask[i, :n] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}


@contextlib.contextmanager
def _quiet_warnings():
    """peft/transformers warnings that are noise here (GPT-2's Conv1D layout, a deprecated property they read)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*fan_in_fan_out.*")
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*")
        yield


# Architectures whose causal-LM head is a plain linear layer over the decoder's last hidden state (no logit
# scaling or soft-capping), so the loss can be computed on the labelled positions only.
_PLAIN_HEAD = {"llama", "mistral", "qwen2", "qwen3", "gpt2", "phi3", "gpt_neox", "olmo", "olmo2", "smollm3",
               "stablelm", "starcoder2"}


def causal_lm_loss(model, *, input_ids, attention_mask, labels, share_prefix: bool = True):
    """The model's own causal-LM loss (mean cross-entropy of each labelled token given the tokens before it),
    computed with less work where the architecture allows it:

    - the vocabulary projection runs only at labelled positions. With instruction pairs most positions are
      prompt (label -100); SmolLM2's projection to 49,152 tokens is a third of its forward pass;
    - the token prefix every row of the batch shares (the chat template's system prompt, a prompt template's
      instructions) runs once, and its keys/values are repeated for the rows. Gradients flow through the
      repeat, so they are the sum over rows, as when each row runs it. With SmolLM2's chat template that is
      a third of the tokens of a short instruction pair.
    """
    import torch
    import torch.nn.functional as F

    config = getattr(model, "config", None)
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    decoder = model.get_decoder() if hasattr(model, "get_decoder") else None
    if getattr(config, "model_type", None) not in _PLAIN_HEAD or head is None or decoder is None:
        return model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss
    shared = _shared_prompt_prefix(input_ids, attention_mask, labels) if share_prefix else 0
    if shared:
        from .generation import _new_cache

        cache = _new_cache(decoder)
        decoder(input_ids=input_ids[:1, :shared], cache=cache, use_cache=True)
        cache.batch_repeat_interleave(input_ids.shape[0])
        width = input_ids.shape[1]
        positions = torch.arange(shared, width, device=input_ids.device).expand(input_ids.shape[0], -1)
        hidden = decoder(input_ids=input_ids[:, shared:], attention_mask=attention_mask, position_ids=positions,
                         cache=cache, use_cache=True).last_hidden_state
    else:
        hidden = decoder(input_ids=input_ids, attention_mask=attention_mask, use_cache=False).last_hidden_state
    targets = labels[:, shared + 1:]
    keep = targets != -100
    logits = head(hidden[:, :-1][keep])
    return F.cross_entropy(logits.float(), targets[keep])


_MIN_SHARED = 8


def _shared_prompt_prefix(input_ids, attention_mask, labels) -> int:
    """Tokens at the start that every row shares, ending before the position that predicts any row's first
    labelled token (so every logit the loss needs comes from the rows' own pass)."""
    import torch

    if input_ids.shape[0] < 2 or "cache" not in _decoder_params():
        return 0
    labelled = labels != -100
    if not bool(labelled.any(dim=1).all()) or not bool(attention_mask[:, :1].all()):
        return 0
    first_label = int(labelled.float().argmax(dim=1).min())
    same = (input_ids == input_ids[:1]).all(dim=0)
    limit = first_label - 1
    n = int(torch.cumprod(same[:limit].int(), dim=0).sum()) if limit > 0 else 0
    return n if n >= _MIN_SHARED else 0


def _decoder_params() -> set:
    """Whether decoders take `cache=` (transformers 5) — the shared-prefix path passes a cache object."""
    global _DECODER_PARAMS
    if _DECODER_PARAMS is None:
        import inspect

        from transformers.models.llama.modeling_llama import LlamaModel

        _DECODER_PARAMS = set(inspect.signature(LlamaModel.forward).parameters)
    return _DECODER_PARAMS


_DECODER_PARAMS = None


def lora_config(model, *, r: int = 8, alpha: int = 16, dropout: float = 0.05):
    """The LoRA config finetune uses (peft's default target modules for the architecture)."""
    from peft import LoraConfig

    return LoraConfig(r=int(r), lora_alpha=int(alpha), lora_dropout=float(dropout), bias="none",
                      task_type="CAUSAL_LM")


# ------------------------------------------------------------------------------------------------
def _default_name(base: str, method: str, ref: str) -> str:
    data = re.sub(r"[^A-Za-z0-9_.\-]", "-", ref.split("@")[0].split(":")[-1]) or "data"
    return f"{Path(str(base)).name}-{method}-{data}"


def _config_hash(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]


def finetune(base: Any, dataset: Any, *, method: str = "lora", epochs: float = 1, lr: Optional[float] = None,
             max_length: int = 256, batch_size: int = 8, seed: int = 0, eval_split: float = 0.1, lora_r: int = 8,
             lora_alpha: int = 16, lora_dropout: float = 0.05, max_steps: Optional[int] = None,
             name: Optional[str] = None, resume: bool = True, device: str = "auto",
             eval_every: Optional[int] = None, template: Any = None, progress: bool = True) -> FineTunedModel:
    """Fine-tune `base` (a model name) on `dataset` and register the result as `name`.

    lr defaults to 2e-4 for LoRA and 5e-5 for full fine-tuning. max_steps, when given, is the number of
    optimizer steps (the data cycles as needed), as in transformers' Trainer; else epochs x batches.
    template (a prompt ref such as "zero-shot@builtin" or a PromptVersion) renders each pair's prompt as
    `question` before the chat template, so the model trains on the prompts a `compare` variant sends. With resume=True, an earlier call with the same name and settings continues from its last
    checkpoint, or returns the finished model without training again. Ctrl-C keeps the last checkpoint and
    marks the run interrupted.
    """
    from ..config import progress_disabled
    from ..tracking.runs import start_run
    from .loading import LoadedModel, resolve_device

    method = str(method).lower()
    if method not in METHODS:
        raise InputError(f"unknown fine-tuning method '{method}'; use lora or full")
    if isinstance(base, (LoadedModel, FineTunedModel)):
        base = base.name
    base = str(base)
    lr = float(lr) if lr is not None else (2e-4 if method == "lora" else 5e-5)
    for what, value in (("epochs", epochs), ("lr", lr), ("batch_size", batch_size)):
        if not value > 0:
            raise InputError(f"{what} must be positive, got {value}")
    if max_length < 8:
        raise InputError(f"max_length must be at least 8 tokens, got {max_length}")
    if not 0 <= eval_split < 1:
        raise InputError(f"eval_split must be in [0, 1), got {eval_split}")
    if max_steps is not None and int(max_steps) < 1:
        raise InputError(f"max_steps must be at least 1, got {max_steps}")

    records, ref, snapshot = _resolve_dataset(dataset)
    fmt, fields = _format(records)
    tpl = None
    if template is not None:
        from .prompts import prompt as get_prompt

        tpl = get_prompt(template)
        if fmt != "pairs":
            raise InputError("template applies to prompt/response pairs; this dataset is plain text")
    name = name or _default_name(base, method, ref)
    if not _NAME.match(name) or name in BUILTINS:
        raise InputError(f"'{name}' cannot name a fine-tuned model; use letters, digits, '_', '-', '.' "
                         f"and not a built-in model name")
    dev, dtype = resolve_device(device)
    from .generation import model_identity

    config = {"base": base, "base_id": model_identity(base), "method": method, "data": ref, "snapshot": snapshot,
              "epochs": epochs, "lr": lr, "max_length": int(max_length), "batch_size": int(batch_size),
              "seed": int(seed), "eval_split": float(eval_split), "max_steps": max_steps,
              "lora": [int(lora_r), int(lora_alpha), float(lora_dropout)] if method == "lora" else None,
              "device": dev.split(":")[0], "template": tpl.sha256 if tpl is not None else None}
    chash = _config_hash(config)
    existing = _row(name)
    if existing is not None and resume and json.loads(existing["params"]).get("config_hash") == chash \
            and (_ws().path / existing["path"]).exists():
        return _from_row(existing)

    folder = _ws().dir("models") / name
    ckpt = folder / CHECKPOINT
    state = None
    if ckpt.exists():
        try:
            state = json.loads((ckpt / "state.json").read_text())
        except (OSError, ValueError):
            state = None
        if state is not None and (not resume or state.get("config_hash") != chash):
            if resume:
                warnings.warn(f"the checkpoint of '{name}' was made with other settings; starting over",
                              RuntimeWarning, stacklevel=2)
            shutil.rmtree(ckpt, ignore_errors=True)
            state = None

    params = {k: v for k, v in config.items() if k not in ("base_id", "lora", "template")}
    if tpl is not None:
        params["template"] = tpl.ref
    if method == "lora":
        params.update(lora_r=int(lora_r), lora_alpha=int(lora_alpha), lora_dropout=float(lora_dropout))
    params.update(name=name, format=fmt, fields=list(fields), dataset_snapshot=snapshot)
    with start_run(f"finetune {name}", params=params, kind="finetune") as run:
        trainer = _Trainer(base=base, records=records, fmt=fmt, fields=fields, method=method, lr=lr,
                           epochs=epochs, max_length=int(max_length), batch_size=int(batch_size), seed=int(seed),
                           eval_split=float(eval_split), lora=(int(lora_r), int(lora_alpha), float(lora_dropout)),
                           max_steps=max_steps, device=device, dev=dev, dtype=dtype, folder=folder,
                           config_hash=chash, run=run, eval_every=eval_every, template=tpl,
                           disable=not progress or progress_disabled())
        if state is not None:
            run.set_tag("resumed_from_step", state["step"])
        with _quiet_warnings():
            metrics = trainer.train(resume_state=state)
            final = folder / ("adapter" if method == "lora" else "model")
            trainer.save_final(final)
        from .generation import folder_fingerprint

        sha = folder_fingerprint(final)
        run.log_artifact(final / "adapter_config.json" if method == "lora" else final / "config.json")
        run.record("model", name)
        run.record("dataset", ref)
        if snapshot:
            run.record("dataset_snapshot", snapshot)
        now = time.time()
        row_params = {**params, "config_hash": chash}
        _ws().db.execute(
            "INSERT OR REPLACE INTO registered_models (name, base, method, path, sha256, dataset_ref, dataset_snapshot, "
            "run_id, params, metrics, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (name, base, method, str(final.relative_to(_ws().path)), sha, ref, snapshot, run.id,
             json.dumps(row_params, default=str), json.dumps(metrics), now))
        shutil.rmtree(ckpt, ignore_errors=True)  # finished: the registered folder is the result
        _forget_loaded(name)
    return registered_model(name)


def _forget_loaded(name: str) -> None:
    from .loading import _memo, _memo_lock

    with _memo_lock:
        for key in [k for k in _memo if k[:2] == ("ft", name)]:
            del _memo[key]


class _Trainer:
    """The training loop. Kept in one object so checkpointing sees the model, optimizer and position."""

    def __init__(self, *, base, records, fmt, fields, method, lr, epochs, max_length, batch_size, seed, eval_split,
                 lora, max_steps, device, dev, dtype, folder, config_hash, run, eval_every, template, disable):
        self.__dict__.update(locals())
        del self.__dict__["self"]

    # -- setup -----------------------------------------------------------------------------
    def _prepare(self, resume_state) -> None:
        import torch

        from ..seeding import seed as seed_all
        from .loading import _quiet_transformers, load_model

        _quiet_transformers()
        seed_all(self.seed)
        self.lm = load_model(self.base, device=self.device, fresh=True)
        tok = self.lm.tokenizer
        examples, skipped = _encode(self.records, tok, self.fmt, self.fields, self.max_length, self.template)
        if not examples:
            present = sorted({k for r in self.records for k in r})
            raise InputError(f"the dataset has no usable rows after tokenizing (max_length={self.max_length}); "
                             f"fields present: {', '.join(present)}")
        if skipped:
            self.run.log_param("rows_skipped", skipped)
        g = torch.Generator().manual_seed(self.seed)
        perm = torch.randperm(len(examples), generator=g).tolist()
        n_eval = int(round(len(examples) * self.eval_split)) if self.eval_split > 0 and len(examples) >= 4 else 0
        n_eval = max(1, n_eval) if self.eval_split > 0 and len(examples) >= 4 else 0
        self.eval_set = [examples[i] for i in perm[:n_eval]]
        self.train_set = [examples[i] for i in perm[n_eval:]]
        self.batches_per_epoch = math.ceil(len(self.train_set) / self.batch_size)
        # as in transformers' Trainer: max_steps, when given, replaces epochs (the data cycles as needed)
        self.total_steps = int(self.max_steps) if self.max_steps else int(math.ceil(self.epochs * self.batches_per_epoch))
        self.eval_every = int(self.eval_every or max(10, self.total_steps // 4))
        self.run.log_params({"train_rows": len(self.train_set), "eval_rows": len(self.eval_set),
                             "total_steps": self.total_steps})

        model = self.lm.model
        if self.dev.startswith("cuda") and self.method == "full":
            model = model.float()  # fp32 master weights; the forward runs under bf16 autocast
        if self.method == "lora":
            from peft import PeftModel, get_peft_model

            ckpt = self.folder / CHECKPOINT
            if resume_state is not None:
                model = PeftModel.from_pretrained(model, str(ckpt), is_trainable=True)
            else:
                model = get_peft_model(model, lora_config(model, r=self.lora[0], alpha=self.lora[1],
                                                          dropout=self.lora[2]))
        elif resume_state is not None:
            from transformers import AutoModelForCausalLM

            model = AutoModelForCausalLM.from_pretrained(str(self.folder / CHECKPOINT), dtype=torch.float32)
            model.to(self.dev)
        model.train()
        self.model = model
        trainable = [p for p in model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(trainable, lr=self.lr, weight_decay=0.0)
        total_steps = self.total_steps
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, lambda step: max(0.0, (total_steps - step) / total_steps))
        self.step, self.history = 0, []
        if resume_state is not None:
            blob = torch.load(self.folder / CHECKPOINT / "trainer.pt", weights_only=False)
            self.optimizer.load_state_dict(blob["optimizer"])
            self.scheduler.load_state_dict(blob["scheduler"])
            torch.set_rng_state(blob["rng"])
            self.step = int(resume_state["step"])
            self.history = list(resume_state.get("history", []))

    def _batches(self, epoch: int) -> List[List[dict]]:
        import torch

        g = torch.Generator().manual_seed(self.seed * 1000003 + epoch)
        perm = torch.randperm(len(self.train_set), generator=g).tolist()
        return [[self.train_set[i] for i in perm[j:j + self.batch_size]]
                for j in range(0, len(perm), self.batch_size)]

    def _autocast(self):
        import contextlib

        import torch

        if self.dev.startswith("cuda"):
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _loss(self, batch) -> Any:
        inputs = {k: v.to(self.dev) for k, v in _collate(batch, self._pad_id()).items()}
        with self._autocast():
            return causal_lm_loss(self.model, **inputs)

    def _pad_id(self) -> int:
        tok = self.lm.tokenizer
        return tok.pad_token_id if tok.pad_token_id is not None else (tok.eos_token_id or 0)

    def evaluate(self) -> Optional[float]:
        import torch

        if not self.eval_set:
            return None
        was = self.model.training
        self.model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for j in range(0, len(self.eval_set), self.batch_size):
                batch = self.eval_set[j:j + self.batch_size]
                n = sum(sum(1 for x in b["labels"][1:] if x != -100) for b in batch)
                total += float(self._loss(batch)) * n
                count += n
        if was:
            self.model.train()
        return total / max(count, 1)

    # -- loop --------------------------------------------------------------------------------
    def train(self, resume_state=None) -> Dict[str, Any]:
        import torch
        from tqdm.auto import tqdm

        self._prepare(resume_state)
        started = time.perf_counter()
        start_step = self.step
        bar = tqdm(total=self.total_steps, initial=self.step, desc=f"finetune {self.folder.name}", unit="step",
                   disable=self.disable)
        ema = None
        eval_loss = None
        tokens = 0  # input tokens (prompt + answer, no padding) through forward and backward
        last_saved = self.step
        try:
            while self.step < self.total_steps:
                epoch, pos = divmod(self.step, self.batches_per_epoch)
                batch = self._batches(epoch)[pos]
                tokens += sum(len(b["input_ids"]) for b in batch)
                loss = self._loss(batch)
                loss.backward()
                torch.nn.utils.clip_grad_norm_([p for p in self.model.parameters() if p.requires_grad], 1.0)
                self.optimizer.step()
                self.scheduler.step()
                self.optimizer.zero_grad(set_to_none=True)
                self.step += 1
                value = float(loss.detach())
                ema = value if ema is None else 0.9 * ema + 0.1 * value
                self.run.log_metric("train_loss", value, step=self.step)
                self.history.append(value)
                bar.update(1)
                bar.set_postfix(loss=f"{ema:.3f}", **({"eval": f"{eval_loss:.3f}"} if eval_loss is not None else {}))
                if self.step % self.eval_every == 0 or self.step == self.total_steps:
                    eval_loss = self.evaluate()
                    if eval_loss is not None:
                        self.run.log_metric("eval_loss", eval_loss, step=self.step)
                        bar.set_postfix(loss=f"{ema:.3f}", eval=f"{eval_loss:.3f}")
                    if self.step < self.total_steps:
                        self.save_checkpoint()
                        last_saved = self.step
        except KeyboardInterrupt:
            if self.step > last_saved:
                self.save_checkpoint()
            bar.close()
            raise
        bar.close()
        elapsed = time.perf_counter() - started
        steps_done = self.step - start_step
        tail = self.history[-max(1, min(10, len(self.history))):]
        metrics = {"steps": self.step, "train_loss": sum(tail) / len(tail) if tail else None,
                   "eval_loss": eval_loss, "train_time_s": elapsed,
                   "steps_per_s": steps_done / elapsed if elapsed > 0 and steps_done else None,
                   "tokens_per_s": tokens / elapsed if elapsed > 0 and tokens else None,
                   "train_rows": len(self.train_set), "eval_rows": len(self.eval_set)}
        for k in ("train_time_s", "steps_per_s", "tokens_per_s"):
            if metrics[k] is not None:
                self.run.log_metric(k, metrics[k])
        return metrics

    def save_checkpoint(self) -> None:
        import torch

        from ..workspace import atomic_dir

        with atomic_dir(self.folder / CHECKPOINT) as tmp:
            self.model.save_pretrained(tmp, safe_serialization=True)
            torch.save({"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                        "rng": torch.get_rng_state()}, tmp / "trainer.pt")
            (tmp / "state.json").write_text(json.dumps({"step": self.step, "config_hash": self.config_hash,
                                                        "history": self.history, "ts": time.time()}))

    def save_final(self, target: Path) -> None:
        from ..workspace import atomic_dir

        self.model.eval()
        with atomic_dir(target) as tmp:
            self.model.save_pretrained(tmp, safe_serialization=True)
            self.lm.tokenizer.save_pretrained(tmp)


# ------------------------------------------------------------------------------------------------
def export(model: Any, path: Any, *, merge: bool = True, overwrite: bool = False) -> Path:
    """Write a fine-tuned model to `path` for serving elsewhere.

    merge=True: one folder with the LoRA merged into the base weights (safetensors + tokenizer) that plain
    `transformers.AutoModelForCausalLM.from_pretrained(path)` loads. merge=False: the PEFT adapter folder
    (+ tokenizer), to load on top of the base with peft.
    """
    from ..workspace import atomic_dir
    from .loading import LoadedModel, _quiet_transformers, load_model

    target = Path(path).expanduser()
    if target.exists() and (not target.is_dir() or any(target.iterdir())) and not overwrite:
        raise InputError(f"{target} already exists and is not empty; choose a new folder or pass overwrite=True")
    if isinstance(model, LoadedModel):
        model = model.name
    ft = model if isinstance(model, FineTunedModel) else None
    if ft is None:
        row = _row(str(model))
        if row is None:
            from .registry import models as all_models

            if str(model) in all_models().names:  # a built-in: export its weights as they are
                lm = load_model(str(model), device="cpu", fresh=True)
                with atomic_dir(target) as tmp:
                    lm.model.save_pretrained(tmp, safe_serialization=True)
                    lm.tokenizer.save_pretrained(tmp)
                return target
            registered_model(str(model))  # raises not-found with a suggestion
        ft = _from_row(row)
    _quiet_transformers()
    with atomic_dir(target) as tmp:
        if ft.method == "lora" and not merge:
            for f in ft.path.iterdir():
                if f.is_file():
                    shutil.copy2(f, tmp / f.name)
        elif ft.method == "lora":
            from peft import PeftModel

            base = load_model(ft.base, device="cpu", fresh=True)
            with _quiet_warnings():
                merged = PeftModel.from_pretrained(base.model, str(ft.path)).merge_and_unload()
            merged.save_pretrained(tmp, safe_serialization=True)
            base.tokenizer.save_pretrained(tmp)
        else:
            for f in ft.path.iterdir():
                if f.is_file():
                    shutil.copy2(f, tmp / f.name)
    return target


def registered_models() -> List[FineTunedModel]:
    return [_from_row(r) for r in _ws().db.execute("SELECT * FROM registered_models ORDER BY created_at")]


__all__ = ["FineTunedModel", "export", "finetune", "lora_config", "registered_model", "registered_models"]
