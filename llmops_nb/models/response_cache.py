"""The response cache (table generation_cache: one output per cache key) and the generation log (table
generations: every answer given, cached or not, with the run it belongs to)."""
from __future__ import annotations

import json
import math
import time
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..config import log_text_mode
from ..errors import InputError
from ..tracking.runs import active_run
from ..tracking.trace_log import context_json, private, tags_json
from ..workspace import select_in, transaction, workspace
from .outputs import Generation


def cached_responses(keys: Sequence[str]) -> Dict[str, dict]:
    """The cached output of every key that has one (output, tokens_in, tokens_out, latency_s, finish)."""
    unique = list(dict.fromkeys(k for k in keys if k))
    rows = select_in(workspace().db, "SELECT key, output, tokens_in, tokens_out, latency_s, finish "
                                     "FROM generation_cache WHERE key IN ({ids})", unique)
    return {r["key"]: dict(r) for r in rows}


def _context_item(item: Any, where: str) -> Tuple[Any, Optional[float]]:
    """(id, score) of one retrieved item: an (id, score) pair, a passage with .id and .score, or a bare id."""
    if hasattr(item, "id") and hasattr(item, "score"):
        item = (item.id, item.score)
    if isinstance(item, (list, tuple)):
        if len(item) != 2:
            raise InputError(f"{where}: a retrieved item is an id or an (id, score) pair, got {len(item)} values")
        cid, score = item
        if score is not None:
            if isinstance(score, bool) or not isinstance(score, (int, float)) and not hasattr(score, "__float__"):
                raise InputError(f"{where}: the score of '{cid}' must be a number, got {type(score).__name__}")
            score = float(score)
            score = score if math.isfinite(score) else None
        return cid, score
    return item, None


def context_entries(context: Any, n: int) -> List[Optional[str]]:
    """The `context` column of each of `n` prompts (JSON [[id, score], ...] or None), from `generate(context=...)`:
    one entry per prompt, each None or a list of ids / (id, score) pairs / passages (a `Retrieved` works too)."""
    if context is None:
        return [None] * n
    if isinstance(context, (str, bytes, dict)) or not hasattr(context, "__iter__"):
        raise InputError(f"context must be a list with one entry per prompt, got {type(context).__name__}")
    entries = list(context)
    if len(entries) != n:
        raise InputError(f"context has {len(entries)} entries for {n} prompt{'s' if n != 1 else ''}; "
                         "give one per prompt (None where nothing was retrieved)")
    out: List[Optional[str]] = []
    for i, entry in enumerate(entries):
        if entry is None:
            out.append(None)
            continue
        if isinstance(entry, (str, bytes, dict)) or not hasattr(entry, "__iter__"):
            raise InputError(f"context[{i}] must be None or a list of ids or (id, score) pairs, "
                             f"got {type(entry).__name__}")
        pairs = [_context_item(item, f"context[{i}]") for item in entry]
        out.append(context_json([c for c, _ in pairs], [s for _, s in pairs]))
    return out


def check_tags_json(tags: Any) -> Optional[str]:
    """The `tags` column for `generate(tags=...)`: a dict with string keys, as sorted JSON (None when empty)."""
    if tags is None:
        return None
    if not isinstance(tags, dict):
        raise InputError(f"tags must be a dict like {{'experiment': 'a'}}, got {type(tags).__name__}")
    bad = [k for k in tags if not isinstance(k, str)]
    if bad:
        raise InputError(f"tag names must be strings, got {bad[0]!r} ({type(bad[0]).__name__})")
    return tags_json(tags)


class ResponseStore:
    """Where one `generate` call keeps what it produced: the cache (when the model has an identity) and the log,
    every row stamped with the run that was active when the call began.

    Privacy (`log_text`): the log row keeps prompt and output as the setting says (full, redacted, none); under
    "redacted" or "none" nothing is written to the cache (it would hold the raw text), so generation runs uncached
    there (cache hits written earlier under "full" are still served).

    `contexts` holds the `context` column of each prompt position (context_entries), `tags` the call's tags as
    JSON (tags_json); every row of the call gets its position's context and the tags, cache hits included."""

    def __init__(self, model: str, identity: Optional[str], params: dict,
                 contexts: Optional[List[Optional[str]]] = None, tags: Optional[str] = None):
        self.model, self.identity, self.params = model, identity, params
        self.contexts, self.tags = contexts, tags
        self.text_mode = log_text_mode()
        run = active_run()
        self.run_id = run.id if run is not None else None

    def log_row(self, g: Generation, key: Optional[str], position: int) -> tuple:
        """One generations-table row for `g`, the answer to prompt number `position` of the call, stamped now."""
        mode = self.text_mode
        context = self.contexts[position] if self.contexts else None
        return (time.time(), self.run_id, self.model, self.identity or "", private(g.prompt, mode),
                private(g.text, mode), g.tokens_in, g.tokens_out, g.latency_s, int(g.cached), key,
                json.dumps(self.params), mode, context, self.tags)

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
                    "latency_s, cached, cache_key, params, text_mode, context, tags) "
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", log_rows)


def clear_cache(model: Optional[str] = None) -> int:
    """Forget cached responses (of one model name, or all). Returns how many were removed."""
    db = workspace().db
    if model is None:
        return db.execute("DELETE FROM generation_cache").rowcount
    return db.execute("DELETE FROM generation_cache WHERE model=?", (str(model),)).rowcount


__all__ = ["ResponseStore", "cached_responses", "check_tags_json", "clear_cache", "context_entries"]
