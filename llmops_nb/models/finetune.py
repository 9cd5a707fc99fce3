"""Fine-tuning (LoRA or full) and registering the result under a name.

`finetune(base, dataset)` trains on instruction pairs (prompt/response or question/answer: the prompt goes
through the chat template, the loss is on the response tokens only) or plain text (field text: loss on every
token), with the loop in trainer.py. Checkpoints live in the workspace, so running the same call again resumes
where it stopped (or returns the finished model at once). The result is registered under a name:
`load_model(name)` loads base + adapter (merged for fast inference), `models()` lists it, and
`export(name, path)` writes a merged folder plain transformers loads (finetuned.py).

The modules this one is made of: training_data.py (records -> tokenized examples), train_config.py
(TrainConfig, lora_config), loss.py (the causal-LM loss), trainer.py (the loop), checkpoints.py,
registered.py (the FineTunedModel record), finetuned.py (loading, listing, export). Their public names are
re-exported here.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import warnings
from pathlib import Path
from typing import Any, Dict, Optional

from ..config import progress_disabled
from ..errors import InputError
from ..tracking.runs import start_run
from ..workspace import check_name, workspace
from ..workspace.names import MAX_NAME
from .checkpoints import CHECKPOINT, checkpoint_state
from .finetuned import export, forget_loaded
from .identity import model_identity, registered_identity
from .loading import LoadedModel, resolve_device
from .loss import causal_lm_loss, shared_prompt_prefix
from .registered import FineTunedModel, from_row, refuse_other_kind, registered_model, registered_models, registered_row
from .registration import save_registration
from .registry import BUILTINS
from .runtime import quiet_warnings
from .train_config import METHODS, TrainConfig, lora_config
from .trainer import Trainer
from .training_data import PAIR_FIELDS, TrainingData, collate, encode_examples, training_data


def finetune(base: Any, dataset: Any, *, method: str = "lora", epochs: float = 1, lr: Optional[float] = None,
             max_length: int = 256, batch_size: int = 8, seed: int = 0, eval_split: float = 0.1, lora_r: int = 8,
             lora_alpha: int = 16, lora_dropout: float = 0.05, max_steps: Optional[int] = None,
             name: Optional[str] = None, resume: bool = True, device: str = "auto",
             eval_every: Optional[int] = None, template: Any = None, progress: bool = True) -> FineTunedModel:
    """Fine-tune `base` (a model name) on `dataset` and register the result as `name`.

    lr defaults to 2e-4 for LoRA and 5e-5 for full fine-tuning. max_steps, when given, is the number of
    optimizer steps (the data cycles as needed), as in transformers' Trainer; else epochs x batches.
    template (a prompt ref such as "zero-shot@builtin" or a PromptVersion) renders each pair's prompt as
    `question` before the chat template, so the model trains on the prompts a `compare` variant sends.
    With resume=True, an earlier call with the same name and settings continues from its last checkpoint,
    or returns the finished model without training again. Ctrl-C keeps the last checkpoint and marks the
    run interrupted. Every option is checked before anything loads.
    """
    config = TrainConfig(method=method, epochs=epochs, lr=lr, max_length=max_length, batch_size=batch_size,
                         seed=seed, eval_split=eval_split, lora_r=lora_r, lora_alpha=lora_alpha,
                         lora_dropout=lora_dropout, max_steps=max_steps, eval_every=eval_every)
    if name is not None:
        name = _check_model_name(name)
    if isinstance(base, (LoadedModel, FineTunedModel)):
        base = base.name
    base = str(base)
    dev, _ = resolve_device(device)
    data = training_data(dataset, template)
    if name is None:
        name = _check_model_name(_default_name(base, config.method, data.ref),
                                 origin="made from the base and dataset names; give one with name=/--as")
    chash = _config_hash(_hashed_config(config, data, base, dev))
    existing = registered_row(name)
    refuse_other_kind(existing, embedder=False)  # a fine-tuned embedder keeps its name
    if existing is not None and resume and json.loads(existing["params"]).get("config_hash") == chash \
            and (workspace().path / existing["path"]).exists():
        return from_row(existing)
    workspace().require_writable()  # before any training: the model could not be registered
    folder = workspace().dir("models") / name
    state = _resume_state(folder, name, chash, resume)
    params = _run_params(config, data, base, dev, name)
    with start_run(f"finetune {name}", params=params, kind="finetune") as run:
        trainer = Trainer(config, data, base=base, device=device, folder=folder, config_hash=chash, run=run,
                          progress=progress and not progress_disabled())
        if state is not None:
            run.set_tag("resumed_from_step", state["step"])
        with quiet_warnings():
            metrics = trainer.train(resume_state=state)
            final = folder / ("adapter" if config.method == "lora" else "model")
            trainer.save_final(final)
        _register(run, name=name, base=base, config=config, data=data, final=final, metrics=metrics,
                  params={**params, "config_hash": chash})
        shutil.rmtree(folder / CHECKPOINT, ignore_errors=True)  # finished: the registered folder is the result
        forget_loaded(name)
    return registered_model(name)


def _check_model_name(name: Any, *, origin: str = "") -> str:
    name = check_name("model", name, origin=origin)
    if name in BUILTINS:
        raise InputError(f"'{name}' is a built-in model's name; register the fine-tune under another name")
    return name


def _default_name(base: str, method: str, ref: str) -> str:
    data = re.sub(r"[^A-Za-z0-9_.\-]", "-", ref.split("@")[0].split(":")[-1]) or "data"
    return f"{Path(str(base)).name}-{method}-{data}"[:MAX_NAME]


def _hashed_config(config: TrainConfig, data: TrainingData, base: str, dev: str) -> Dict[str, Any]:
    """What a checkpoint or a finished model must have been made with to be reused."""
    return {"base": base, "base_id": model_identity(base), "method": config.method, "data": data.ref,
            "snapshot": data.snapshot, "epochs": config.epochs, "lr": config.lr, "max_length": config.max_length,
            "batch_size": config.batch_size, "seed": config.seed, "eval_split": float(config.eval_split),
            "max_steps": config.max_steps, "lora": config.lora if config.method == "lora" else None,
            "device": dev.split(":")[0], "template": data.template.sha256 if data.template is not None else None}


def _config_hash(config: dict) -> str:
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _run_params(config: TrainConfig, data: TrainingData, base: str, dev: str, name: str) -> Dict[str, Any]:
    params = {"base": base, "method": config.method, "data": data.ref, "snapshot": data.snapshot,
              "epochs": config.epochs, "lr": config.lr, "max_length": config.max_length,
              "batch_size": config.batch_size, "seed": config.seed, "eval_split": float(config.eval_split),
              "max_steps": config.max_steps, "device": dev.split(":")[0]}
    if data.template is not None:
        params["template"] = data.template.ref
    if config.method == "lora":
        params.update(lora_r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout)
    params.update(name=name, format=data.fmt, fields=list(data.fields), dataset_snapshot=data.snapshot)
    return params


def _resume_state(folder: Path, name: str, chash: str, resume: bool) -> Optional[dict]:
    """The checkpoint to continue from, or None (a checkpoint made with other settings is removed)."""
    state = checkpoint_state(folder)
    if state is not None and (not resume or state.get("config_hash") != chash):
        if resume:
            warnings.warn(f"the checkpoint of '{name}' was made with other settings; starting over",
                          RuntimeWarning, stacklevel=3)
        shutil.rmtree(folder / CHECKPOINT, ignore_errors=True)
        state = None
    return state


def _register(run, *, name: str, base: str, config: TrainConfig, data: TrainingData, final: Path,
              metrics: Dict[str, Any], params: Dict[str, Any]) -> None:
    artifact = final / "adapter_config.json" if config.method == "lora" else final / "config.json"
    save_registration(run, name=name, base=base, method=config.method, folder=final, artifact=artifact,
                      data_ref=data.ref, snapshot=data.snapshot, metrics=metrics, params=params)


__all__ = ["CHECKPOINT", "METHODS", "PAIR_FIELDS", "FineTunedModel", "TrainConfig", "causal_lm_loss", "collate",
           "encode_examples", "export", "finetune", "lora_config", "registered_identity", "registered_model",
           "registered_models",
           "shared_prompt_prefix"]
