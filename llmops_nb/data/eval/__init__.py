"""The eval and training sets shipped with llmops-nb, written from Python's own reference (`pydoc_data.topics`).

- pydoc_qa.jsonl: hand-written question/answer pairs about the Python language (fields id, question, answer,
  topic), each answer checked against the text of its topic. For `compare`.
- pydoc_train.jsonl: instruction pairs (fields id, prompt, response, topic) about *other* facts, for
  `finetune`; no eval question or answer appears in it. See README.md here for how both were made.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import List

HERE = Path(__file__).resolve().parent


def eval_set_path() -> Path:
    """Path of pydoc_qa.jsonl (load it with load_dataset(eval_set_path(), name="pydoc-qa"))."""
    return HERE / "pydoc_qa.jsonl"


def train_set_path() -> Path:
    """Path of pydoc_train.jsonl (load it with load_dataset(train_set_path(), name="pydoc-train"))."""
    return HERE / "pydoc_train.jsonl"


def read_jsonl(path) -> List[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def eval_set() -> List[dict]:
    return read_jsonl(eval_set_path())


def train_set() -> List[dict]:
    return read_jsonl(train_set_path())


__all__ = ["eval_set", "eval_set_path", "read_jsonl", "train_set", "train_set_path"]
