"""Writing the generation log (table `generations`) under the privacy setting, cheaply and durably.

`log_text` (pyproject `[tool.llmops] log_text`, env LLMOPS_LOG_TEXT, `%config LlmopsMagics.log_text`):
"full" keeps prompts and outputs; "redacted" runs the curation PII redaction (llmops_nb/pii.py) before anything
is written; "none" stores them as empty strings (counts, latency, tokens and error types stay).

`write_trace` commits one row in one short transaction (WAL), so a traced call is on disk when it returns. A
workspace that cannot be written (read-only, locked, missing) never breaks the user's call: one LlmopsWarning per
process, and the row is dropped.
"""
from __future__ import annotations

import json
import math
import time
import warnings
from typing import Any, Optional, Sequence, Tuple

from ..config import log_text_mode
from ..errors import LlmopsWarning
from ..pii import redact_text
from ..workspace import transaction, workspace
from ..workspace.db import BUSY_TIMEOUT_S

LOCK_WAIT_MS = 2000  # how long a traced call waits for another writer before its row is dropped (with a warning)
_warned = False

INSERT = ("INSERT INTO generations (ts, run_id, model, model_id, prompt, output, tokens_in, tokens_out, latency_s, "
          "cached, cache_key, params, source, error, context, tags, text_mode, as_repr) "
          "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")


def as_text(value: Any) -> Tuple[str, bool]:
    """(text, was_repr): strings as they are, None as '', anything else as its repr."""
    if value is None:
        return "", False
    if isinstance(value, str):
        return value, False
    return repr(value), True


def private(text: str, mode: str) -> str:
    """`text` as the log may keep it under `mode`."""
    if mode == "none":
        return ""
    if mode == "redacted":
        return redact_text(text)
    return text


def private_error(error: Optional[str], mode: str) -> Optional[str]:
    """Errors stay under every mode (type and message), the message redacted unless the mode is "full"."""
    if error is None or mode == "full":
        return error
    return redact_text(error)


def context_json(context_ids: Optional[Sequence[Any]], scores: Optional[Sequence[Any]]) -> Optional[str]:
    if context_ids is None:
        return None
    ids = [i if isinstance(i, (int, float, str)) else str(i) for i in context_ids]
    score_list = list(scores) if scores is not None else [None] * len(ids)
    score_list += [None] * (len(ids) - len(score_list))
    return json.dumps([[i, None if s is None else float(s)] for i, s in zip(ids, score_list)])


def _json_safe(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # NaN/inf are not JSON: SQLite's JSON functions would refuse the whole row
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    return value


def tags_json(tags: Optional[dict]) -> Optional[str]:
    """Tags as strict JSON (sorted keys; non-finite numbers as text, anything else not JSON as its str), or None."""
    if not tags:
        return None
    return json.dumps(_json_safe(tags), default=str, sort_keys=True, allow_nan=False)


def trace_row(*, model: str, prompt: Any, output: Any, latency_s: float, run_id: Optional[str],
              tokens_in: Optional[int] = None, tokens_out: Optional[int] = None, error: Optional[str] = None,
              context_ids=None, scores=None, tags: Optional[dict] = None, ts: Optional[float] = None) -> tuple:
    """One generations row for a traced call, with the privacy setting applied before it exists."""
    mode = log_text_mode()
    prompt_text, prompt_repr = as_text(prompt)
    output_text, output_repr = as_text(output)
    reprs = ",".join(n for n, flag in (("prompt", prompt_repr), ("output", output_repr)) if flag) or None
    return (time.time() if ts is None else ts, run_id, str(model), "", private(prompt_text, mode),
            private(output_text, mode), int(tokens_in or 0), int(tokens_out or 0), float(latency_s), 0, None, "{}",
            "trace", private_error(error, mode), context_json(context_ids, scores),
            tags_json(tags), mode, reprs)


def write_trace(row: tuple) -> bool:
    """Commit one row now; on any failure warn once per process and return False (never raise)."""
    global _warned
    try:
        db = workspace().db
        db.execute(f"PRAGMA busy_timeout = {LOCK_WAIT_MS}")
        try:
            with transaction(db):
                db.execute(INSERT, row)
        finally:
            db.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
        return True
    except Exception as exc:  # the user's call must never fail because the log could not be written
        if not _warned:
            _warned = True
            warnings.warn(f"llmops: traced calls are not being logged ({type(exc).__name__}: {exc}); the calls "
                          "themselves run normally", LlmopsWarning, stacklevel=4)
        return False


__all__ = ["as_text", "context_json", "private", "private_error", "tags_json", "trace_row", "write_trace"]
