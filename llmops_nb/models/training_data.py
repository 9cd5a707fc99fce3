"""Training data for fine-tuning: any dataset a user has (a workspace dataset, list of dicts, DataFrame, Hugging
Face Dataset, .jsonl file) as records, then tokenized examples with labels on what the model should learn."""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Optional, Tuple

from ..data.datasets import dataset as get_dataset
from ..data.loaders import read_jsonl_file
from ..errors import InputError
from .prompts import prompt as get_prompt, to_chat

PAIR_FIELDS = (("prompt", "response"), ("question", "answer"), ("instruction", "output"))


@dataclass(frozen=True)
class TrainingData:
    """The records to train on, where they came from, and how they are read."""

    records: List[dict]
    ref: str  # "pydoc-train@v1", "inline:<hash>", "file:<name>"
    snapshot: Optional[str]
    fmt: str  # "pairs" or "text"
    fields: Tuple[str, ...]  # (prompt field, response field) or ("text",)
    template: Any = None  # a PromptVersion each pair's prompt is rendered through first

    def __repr__(self) -> str:
        return f"TrainingData({self.ref!r}, {len(self.records)} rows, {self.fmt})"


def training_data(dataset: Any, template: Any = None) -> TrainingData:
    """Resolve `dataset` and the prompt `template` (a ref or PromptVersion, for pairs only)."""
    records, ref, snapshot = resolve_dataset(dataset)
    fmt, fields = data_format(records)
    tpl = None
    if template is not None:
        tpl = get_prompt(template)
        if fmt != "pairs":
            raise InputError("template applies to prompt/response pairs; this dataset is plain text")
    return TrainingData(records, ref, snapshot, fmt, fields, tpl)


def resolve_dataset(dataset: Any) -> Tuple[List[dict], str, Optional[str]]:
    """(records, ref, snapshot id) for a dataset name/ref, a Dataset, a list of dicts, a DataFrame or a .jsonl path."""
    if hasattr(dataset, "to_dict") and hasattr(dataset, "columns") and hasattr(dataset, "iloc"):  # DataFrame
        dataset = dataset.to_dict("records")
    elif hasattr(dataset, "column_names") and hasattr(dataset, "to_list"):  # a Hugging Face datasets.Dataset
        dataset = dataset.to_list()
    if isinstance(dataset, (list, tuple)):
        if not all(isinstance(r, dict) for r in dataset):
            raise InputError("a list dataset must hold dicts (e.g. {'prompt': ..., 'response': ...})")
        records = [dict(r) for r in dataset]
        digest = hashlib.sha256(json.dumps(records, sort_keys=True, default=str).encode()).hexdigest()[:12]
        return records, f"inline:{digest}", digest
    if isinstance(dataset, (str, os.PathLike)) and str(dataset).endswith(".jsonl") and Path(dataset).is_file():
        return _jsonl_records(Path(dataset))
    if isinstance(dataset, str) or hasattr(dataset, "records"):
        ds = get_dataset(dataset) if isinstance(dataset, str) else dataset
        records = list(ds.records())
        return records, ds.ref, getattr(ds, "snapshot_id", None)
    raise InputError(f"cannot fine-tune on a {type(dataset).__name__}; pass a dataset name, a list of dicts, "
                     "a DataFrame or a .jsonl path")


def _jsonl_records(path: Path) -> Tuple[List[dict], str, Optional[str]]:
    records = read_jsonl_file(path, what="training data")
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return records, f"file:{path.name}", digest.hexdigest()[:12]


def data_format(records: List[dict]) -> Tuple[str, Tuple[str, ...]]:
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


def encode_examples(records: List[dict], tok, fmt: str, fields: Tuple[str, ...], max_length: int,
                    template: Any = None) -> Tuple[List[dict], int]:
    """Tokenized examples {"input_ids", "labels"} and how many rows were skipped.

    With a template (a PromptVersion), each pair's prompt is first rendered through it as `question` (the
    record's other fields are variables too), so training sees the prompts `compare` will send.
    """
    out, skipped = [], 0
    for r in records:
        if fmt == "pairs":
            example = _encode_pair(r, tok, fields, max_length, template)
        else:
            example = _encode_text(r, tok, max_length)
        # a row with nothing left to learn after truncation is skipped, not trained on without labels
        if example is None or sum(1 for x in example["labels"][1:] if x != -100) == 0:
            skipped += 1
            continue
        out.append(example)
    return out, skipped


def _encode_pair(r: dict, tok, fields: Tuple[str, ...], max_length: int, template: Any) -> Optional[dict]:
    p, a = r.get(fields[0]), r.get(fields[1])
    if not (isinstance(p, str) and p.strip() and isinstance(a, str) and a.strip()):
        return None
    if template is not None:
        p = template.render(**{**r, "question": p})
    if getattr(tok, "chat_template", None):
        prompt_text = to_chat(tok, p)
        full = tok.apply_chat_template([{"role": "user", "content": p}, {"role": "assistant", "content": a}],
                                       tokenize=False)
        answer_text = full[len(prompt_text):] if full.startswith(prompt_text) else a + (tok.eos_token or "")
    else:
        prompt_text, answer_text = p.rstrip() + "\n", a + (tok.eos_token or "")
    bos = getattr(tok, "bos_token", None)
    # tokenized apart, as at inference: the model sees the prompt's tokens, then continues
    prompt_ids = tok(prompt_text, add_special_tokens=not (bos and prompt_text.startswith(bos)))["input_ids"]
    answer_ids = tok(answer_text, add_special_tokens=False)["input_ids"]
    return {"input_ids": (prompt_ids + answer_ids)[:max_length],
            "labels": ([-100] * len(prompt_ids) + answer_ids)[:max_length]}


def _encode_text(r: dict, tok, max_length: int) -> Optional[dict]:
    t = r.get("text")
    if not (isinstance(t, str) and t.strip()):
        return None
    ids = (tok(t)["input_ids"] + ([tok.eos_token_id] if tok.eos_token_id is not None else []))[:max_length]
    return {"input_ids": ids, "labels": list(ids)}


def collate(batch: List[dict], pad_id: int):
    """A right-padded batch of examples as tensors (input_ids, attention_mask, labels with -100 on padding)."""
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


__all__ = ["PAIR_FIELDS", "TrainingData", "collate", "data_format", "encode_examples", "resolve_dataset",
           "training_data"]
