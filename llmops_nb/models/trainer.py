"""The fine-tuning loop: plain torch, AdamW, a linear decay schedule, gradient clipping at 1.0, a progress bar
with the live loss, eval loss on a held-out split, and checkpoints (checkpoints.py) after each eval, so a rerun
resumes where a crash or Ctrl-C stopped it."""
from __future__ import annotations

import contextlib
import math
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

from ..errors import InputError
from ..seeding import seed as seed_all
from ..workspace import atomic_dir
from .checkpoints import CHECKPOINT, restore_training, save_checkpoint
from .loading import load_model
from .loss import causal_lm_loss
from .runtime import quiet_transformers
from .train_config import TrainConfig, lora_config
from .training_data import TrainingData, collate, encode_examples


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
            self.step, self.history = restore_training(self.folder, resume_state, optimizer=self.optimizer,
                                                       scheduler=self.scheduler)

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
        from ..progress import progress as progress_bar

        self._prepare(resume_state)
        started = time.perf_counter()
        start_step = self.step
        bar = progress_bar(total=self.total_steps, initial=self.step, desc=f"finetune {self.folder.name}", unit="step",
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
        save_checkpoint(self.folder, model=self.model, optimizer=self.optimizer, scheduler=self.scheduler,
                        step=self.step, config_hash=self.config_hash, history=self.history)

    def save_final(self, target: Path) -> None:
        self.model.eval()
        with atomic_dir(target) as tmp:
            self.model.save_pretrained(tmp, safe_serialization=True)
            self.lm.tokenizer.save_pretrained(tmp)


__all__ = ["Trainer"]
