"""The response cache (table generation_cache: one output per cache key) and the generation log (table
generations: every answer given, cached or not, with the run it belongs to)."""
from __future__ import annotations

import json
import time
from typing import Dict, List, Optional, Sequence, Tuple

from ..config import log_text_mode
from ..tracking.runs import active_run
from ..tracking.trace_log import private
from ..workspace import select_in, transaction, workspace
from .outputs import Generation


def cached_responses(keys: Sequence[str]) -> Dict[str, dict]:
    """The cached output of every key that has one (output, tokens_in, tokens_out, latency_s, finish)."""
    unique = list(dict.fromkeys(k for k in keys if k))
    rows = select_in(workspace().db, "SELECT key, output, tokens_in, tokens_out, latency_s, finish "
                                     "FROM generation_cache WHERE key IN ({ids})", unique)
    return {r["key"]: dict(r) for r in rows}


class ResponseStore:
    """Where one `generate` call keeps what it produced: the cache (when the model has an identity) and the log,
    every row stamped with the run that was active when the call began.

    Privacy (`log_text`): the log row keeps prompt and output as the setting says (full, redacted, none); under
    "redacted" or "none" nothing is written to the cache (it would hold the raw text), so generation runs uncached
    there (cache hits written earlier under "full" are still served)."""

    def __init__(self, model: str, identity: Optional[str], params: dict):
        self.model, self.identity, self.params = model, identity, params
        self.text_mode = log_text_mode()
        run = active_run()
        self.run_id = run.id if run is not None else None

    def log_row(self, g: Generation, key: Optional[str]) -> tuple:
        """One generations-table row for `g`, stamped now."""
        mode = self.text_mode
        return (time.time(), self.run_id, self.model, self.identity or "", private(g.prompt, mode),
                private(g.text, mode), g.tokens_in, g.tokens_out, g.latency_s, int(g.cached), key,
                json.dumps(self.params), mode)

    def save(self, cache_rows: List[Tuple[str, Generation]], log_rows: List[tuple]) -> None:
        """Cache and log together, in one transaction: a Ctrl-C keeps both or neither."""
        cache_rows = cache_rows if self.identity and self.text_mode == "full" else []
        if not cache_rows and not log_rows:
            return
        db = workspace().db
        now = time.time()
        with transaction(db):
            if cache_rows:
                db.executemany(
                    "INSERT OR REPLACE INTO generation_cache (key, model, model_id, prompt, output, tokens_in, "
                    "tokens_out, latency_s, finish, params, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    [(k, self.model, self.identity, g.prompt, g.text, g.tokens_in, g.tokens_out, g.latency_s,
                      g.finish, json.dumps(self.params), now) for k, g in cache_rows])
            if log_rows:
                db.executemany(
                    "INSERT INTO generations (ts, run_id, model, model_id, prompt, output, tokens_in, tokens_out, "
                    "latency_s, cached, cache_key, params, text_mode) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", log_rows)


def clear_cache(model: Optional[str] = None) -> int:
    """Forget cached responses (of one model name, or all). Returns how many were removed."""
    db = workspace().db
    if model is None:
        return db.execute("DELETE FROM generation_cache").rowcount
    return db.execute("DELETE FROM generation_cache WHERE model=?", (str(model),)).rowcount


__all__ = ["ResponseStore", "cached_responses", "clear_cache"]
