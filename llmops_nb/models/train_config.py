"""What a fine-tune trains with: TrainConfig (checked once, when made) and the LoRA config for a model."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Optional

from ..checks import real_number, whole_number
from ..errors import InputError

METHODS = ("lora", "full")
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


__all__ = ["DEFAULT_LR", "METHODS", "TrainConfig", "UnsupportedArchitecture", "lora_config"]
