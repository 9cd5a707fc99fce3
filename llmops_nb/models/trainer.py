"""The fine-tuning loop: plain torch, AdamW, a linear decay schedule, gradient clipping at 1.0, a progress bar
with the live loss, eval loss on a held-out split, and checkpoints (weights + optimizer + scheduler + RNG +
step) written atomically, so a rerun resumes where a crash or Ctrl-C stopped it."""
from __future__ import annotations

import contextlib
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

from ..errors import InputError
from ..seeding import seed as seed_all
from ..workspace import atomic_dir, clean_stale, recover_dir
from .loading import load_model
from .loss import causal_lm_loss
from .options import real_number, whole_number
from .runtime import quiet_transformers
from .training_data import TrainingData, collate, encode_examples

METHODS = ("lora", "full")
CHECKPOINT = "checkpoint"
DEFAULT_LR = {"lora": 2e-4, "full": 5e-5}


class UnsupportedArchitecture(InputError):
    """LoRA has no default layers to adapt for this model's architecture."""


@dataclass(frozen=True)
class TrainConfig:
    """What a fine-tune trains with, checked once when made (a bad value is one InputError naming it).

    lr None means the method's default (2e-4 LoRA, 5e-5 full). max_steps, when given, is the number of
    optimizer steps (the data cycles as needed), as in transformers' Trainer; else epochs x batches.
    """

    method: str = "lora"
    epochs: float = 1
    lr: Optional[float] = None
    max_length: int = 256
    batch_size: int = 8
    seed: int = 0
    eval_split: float = 0.1
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    max_steps: Optional[int] = None
    eval_every: Optional[int] = None

    def __post_init__(self) -> None:
        method = str(self.method).lower()
        if method not in METHODS:
            raise InputError(f"unknown fine-tuning method '{self.method}'; use lora or full")
        lr = DEFAULT_LR[method] if self.lr is None else self.lr
        # epochs is kept as given (1 stays 1, not 1.0): it is part of the config hash a rerun resumes by
        real_number("epochs", self.epochs, above=0, hint="passes over the training split, e.g. 1")
        checked = {
            "method": method,
            "lr": real_number("lr", lr, above=0, hint="a learning rate such as 2e-4 (LoRA) or 5e-5 (full)"),
            "max_length": whole_number("max_length", self.max_length, minimum=8, hint="tokens per example, e.g. 256"),
            "batch_size": whole_number("batch_size", self.batch_size, minimum=1, hint="examples per step, e.g. 8"),
            "seed": whole_number("seed", self.seed),
            "eval_split": real_number("eval_split", self.eval_split, minimum=0, below=1,
                                      hint="the held-out share, e.g. 0.1 (0 for none)"),
            "lora_r": whole_number("lora_r", self.lora_r, minimum=1, hint="a LoRA rank such as 8"),
            "lora_alpha": whole_number("lora_alpha", self.lora_alpha, minimum=1, hint="a LoRA alpha such as 16"),
            "lora_dropout": real_number("lora_dropout", self.lora_dropout, minimum=0, below=1, hint="e.g. 0.05"),
            "max_steps": None if self.max_steps is None else whole_number(
                "max_steps", self.max_steps, minimum=1, hint="optimizer steps, or leave it out to use epochs"),
            "eval_every": None if not self.eval_every else whole_number(
                "eval_every", self.eval_every, minimum=1, hint="steps between eval losses, e.g. 10"),
        }
        for key, value in checked.items():
            object.__setattr__(self, key, value)

    @property
    def lora(self) -> List[Any]:
        return [self.lora_r, self.lora_alpha, self.lora_dropout]


def lora_config(model, *, r: int = 8, alpha: int = 16, dropout: float = 0.05):
    """The LoRA config finetune uses, on the layers peft adapts by default for `model`'s architecture
    (GPT-2's fused attention projection, Llama's query and value projections, ...)."""
    from peft import LoraConfig
    from peft.utils import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as TARGETS

    model_type = getattr(getattr(model, "config", None), "model_type", None)
    targets = TARGETS.get(model_type)
    if targets is None:
        raise UnsupportedArchitecture(f"LoRA does not know which layers of a '{model_type}' model to adapt; "
                                      "fine-tune it with method='full' (--method full)")
    return LoraConfig(r=int(r), lora_alpha=int(alpha), lora_dropout=float(dropout), bias="none",
                      target_modules=list(targets), task_type="CAUSAL_LM")


def checkpoint_state(folder: Path) -> Optional[dict]:
    """The state (step, config hash, loss history) of the checkpoint in a fine-tune's folder, or None.

    A kill between atomic_dir's two renames leaves no checkpoint folder but whole ones beside it: the newest is
    put back first, and what killed savers left behind goes.
    """
    ckpt = folder / CHECKPOINT
    recover_dir(ckpt)
    clean_stale([folder], depth=0)
    if not ckpt.exists():
        return None
    try:
        return json.loads((ckpt / "state.json").read_text())
    except (OSError, ValueError):
        return None


class Trainer:
    """The training loop. Kept in one object so checkpointing sees the model, optimizer and position."""

    def __init__(self, config: TrainConfig, data: TrainingData, *, base: str, device: str, folder: Path,
                 config_hash: str, run, progress: bool = True):
        self.config, self.data, self.base, self.device = config, data, base, device
        self.folder, self.config_hash, self.run, self.progress = folder, config_hash, run, progress
        self.step, self.history = 0, []

    # -- setup -----------------------------------------------------------------------------
    def _prepare(self, resume_state) -> None:
        quiet_transformers()
        seed_all(self.config.seed)
        self.lm = load_model(self.base, device=self.device, fresh=True)
        self.dev = self.lm.device
        self._split(self._examples())
        self.model = self._trainable_model(resume_state)
        self._optimizer(resume_state)

    def _examples(self) -> List[dict]:
        cfg, data = self.config, self.data
        examples, skipped = encode_examples(data.records, self.lm.tokenizer, data.fmt, data.fields, cfg.max_length,
                                            data.template)
        if not examples:
            present = sorted({k for r in data.records for k in r})
            raise InputError(f"the dataset has no usable rows after tokenizing (max_length={cfg.max_length}); "
                             f"fields present: {', '.join(present)}")
        if skipped:
            self.run.log_param("rows_skipped", skipped)
        return examples

    def _split(self, examples: List[dict]) -> None:
        import torch

        cfg = self.config
        g = torch.Generator().manual_seed(cfg.seed)
        perm = torch.randperm(len(examples), generator=g).tolist()
        held_out = cfg.eval_split > 0 and len(examples) >= 4
        n_eval = max(1, int(round(len(examples) * cfg.eval_split))) if held_out else 0
        self.eval_set = [examples[i] for i in perm[:n_eval]]
        self.train_set = [examples[i] for i in perm[n_eval:]]
        self.batches_per_epoch = math.ceil(len(self.train_set) / cfg.batch_size)
        # as in transformers' Trainer: max_steps, when given, replaces epochs (the data cycles as needed)
        self.total_steps = cfg.max_steps if cfg.max_steps else int(math.ceil(cfg.epochs * self.batches_per_epoch))
        self.eval_every = int(cfg.eval_every or max(10, self.total_steps // 4))
        self.run.log_params({"train_rows": len(self.train_set), "eval_rows": len(self.eval_set),
                             "total_steps": self.total_steps})

    def _trainable_model(self, resume_state):
        import torch

        cfg, model = self.config, self.lm.model
        ckpt = self.folder / CHECKPOINT
        if self.dev.startswith("cuda") and cfg.method == "full":
            model = model.float()  # fp32 master weights; the forward runs under bf16 autocast
        if cfg.method == "lora":
            from peft import PeftModel, get_peft_model

            if resume_state is not None:
                model = PeftModel.from_pretrained(model, str(ckpt), is_trainable=True)
            else:
                model = get_peft_model(model, lora_config(model, r=cfg.lora_r, alpha=cfg.lora_alpha,
                                                          dropout=cfg.lora_dropout))
        elif resume_state is not None:
            from transformers import AutoModelForCausalLM

            model = AutoModelForCausalLM.from_pretrained(str(ckpt), dtype=torch.float32)
            model.to(self.dev)
        model.train()
        return model

    def _optimizer(self, resume_state) -> None:
        import torch

        trainable = [p for p in self.model.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(trainable, lr=self.config.lr, weight_decay=0.0)
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

    # -- steps -------------------------------------------------------------------------------
    def _batches(self, epoch: int) -> List[List[dict]]:
        import torch

        size = self.config.batch_size
        g = torch.Generator().manual_seed(self.config.seed * 1000003 + epoch)
        perm = torch.randperm(len(self.train_set), generator=g).tolist()
        return [[self.train_set[i] for i in perm[j:j + size]] for j in range(0, len(perm), size)]

    def _autocast(self):
        import torch

        if self.dev.startswith("cuda"):
            return torch.autocast("cuda", dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _loss(self, batch) -> Any:
        tok = self.lm.tokenizer
        pad_id = tok.pad_token_id if tok.pad_token_id is not None else (tok.eos_token_id or 0)
        inputs = {k: v.to(self.dev) for k, v in collate(batch, pad_id).items()}
        with self._autocast():
            return causal_lm_loss(self.model, **inputs)

    def _train_step(self, batch) -> float:
        import torch

        loss = self._loss(batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for p in self.model.parameters() if p.requires_grad], 1.0)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        return float(loss.detach())

    def evaluate(self) -> Optional[float]:
        import torch

        if not self.eval_set:
            return None
        was = self.model.training
        self.model.eval()
        total, count = 0.0, 0
        size = self.config.batch_size
        with torch.no_grad():
            for j in range(0, len(self.eval_set), size):
                batch = self.eval_set[j:j + size]
                n = sum(sum(1 for x in b["labels"][1:] if x != -100) for b in batch)
                total += float(self._loss(batch)) * n
                count += n
        if was:
            self.model.train()
        return total / max(count, 1)

    # -- loop --------------------------------------------------------------------------------
    def train(self, resume_state=None) -> Dict[str, Any]:
        from tqdm.auto import tqdm

        self._prepare(resume_state)
        started = time.perf_counter()
        start_step = self.step
        bar = tqdm(total=self.total_steps, initial=self.step, desc=f"finetune {self.folder.name}", unit="step",
                   disable=not self.progress)
        ema = eval_loss = None
        tokens = 0  # input tokens (prompt + answer, no padding) through forward and backward
        last_saved = self.step
        try:
            while self.step < self.total_steps:
                epoch, pos = divmod(self.step, self.batches_per_epoch)
                batch = self._batches(epoch)[pos]
                tokens += sum(len(b["input_ids"]) for b in batch)
                value = self._train_step(batch)
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
            raise
        finally:
            bar.close()
        return self._metrics(time.perf_counter() - started, self.step - start_step, tokens, eval_loss)

    def _metrics(self, elapsed: float, steps_done: int, tokens: int, eval_loss: Optional[float]) -> Dict[str, Any]:
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

        with atomic_dir(self.folder / CHECKPOINT) as tmp:
            self.model.save_pretrained(tmp, safe_serialization=True)
            torch.save({"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                        "rng": torch.get_rng_state()}, tmp / "trainer.pt")
            (tmp / "state.json").write_text(json.dumps({"step": self.step, "config_hash": self.config_hash,
                                                        "history": self.history, "ts": time.time()}))

    def save_final(self, target: Path) -> None:
        self.model.eval()
        with atomic_dir(target) as tmp:
            self.model.save_pretrained(tmp, safe_serialization=True)
            self.lm.tokenizer.save_pretrained(tmp)


__all__ = ["CHECKPOINT", "METHODS", "TrainConfig", "Trainer", "UnsupportedArchitecture", "checkpoint_state",
           "lora_config"]
