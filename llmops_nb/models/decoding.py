"""The decoding loop behind `generate`: one left-padded batch at a time over the model's KV cache.

The token prefix all prompts of a batch share (chat template, system prompt, instructions, few-shot examples)
runs once and its cache is copied to every row; the rest is prefilled in chunks of ~PREFILL_TOKENS and decoded
as one batch, in a cache allocated once (kv_cache.py); finished rows are dropped once a quarter of the batch
has finished, so it shrinks as answers end; on CPU the vocabulary projection runs in row blocks, and Llama-family
decode steps skip the transformers module stack (lean_decode.py). Greedy decoding gives the tokens a per-example
`model.generate` loop gives (a test compares them token for token).
"""
from __future__ import annotations

import contextlib
import inspect
import time
import types
from dataclasses import dataclass
from typing import Any, Callable, List, Optional

from .kv_cache import new_cache, takes_reserved_layers
from .lean_decode import lean_step
from .runtime import require_torch

# On CPU the output projection runs in blocks of this many vocabulary rows: the same numbers, better cache use
# than one big matmul for small batches.
HEAD_BLOCK = 1024
MAX_HEAD_ROWS = 64  # above this a decode step's rows are a real matmul and the plain projection is as fast
MIN_SHARED = 8  # tokens: below this a separate prefix pass costs more than it saves
# Prefill runs in chunks of about this many (padded) tokens: on CPU a bigger forward pads more rows to the
# longest and runs no faster per token. Decoding then runs all the batch's rows at once, where wider matmuls pay.
PREFILL_TOKENS = 4096
# Finished rows stay in the decode batch (their tokens are ignored) until the live rows fall to this fraction:
# dropping rows copies the whole KV cache, which at once per finished row cost more than it saved.
COMPACT_BELOW = 0.75

OnDone = Callable[[int, List[int], float, str], None]


@dataclass(frozen=True)
class ForwardFlags:
    """What this model's forward takes, decided once per `generate` call."""

    cache_kw: str  # the name of the cache argument: "cache" (transformers 5) or "past_key_values"
    keep: bool  # forward takes logits_to_keep (only the last position's logits are computed)
    batch_repeat: bool  # a prefix cache can be repeated for every row (shared prompt prefix)
    chunk: bool  # prefill chunks can be merged into one decode cache (reserved cache layers)
    step: Optional[Callable] = None  # a decode step without the module stack (lean_decode.py), where it applies


def forward_flags(model, device: str = "cpu") -> ForwardFlags:
    """What `model` takes; call it with the model in the mode it will decode in (eval)."""
    from transformers import DynamicCache

    chunk = takes_reserved_layers(model)
    params = inspect.signature(model.forward).parameters
    return ForwardFlags(cache_kw="cache" if "cache" in params else "past_key_values",
                        keep="logits_to_keep" in params,
                        batch_repeat=hasattr(DynamicCache, "batch_repeat_interleave"),
                        chunk=chunk, step=lean_step(model) if chunk and device.startswith("cpu") else None)


def eos_ids(lm) -> List[int]:
    ids = getattr(lm.model.generation_config, "eos_token_id", None)
    if ids is None:
        ids = lm.tokenizer.eos_token_id
    if ids is None:
        return []
    return [int(i) for i in (ids if isinstance(ids, (list, tuple)) else [ids])]


def is_oom(exc: BaseException) -> bool:
    """Whether `exc` is the accelerator running out of memory (torch raises its own class for it)."""
    torch = require_torch()
    classes = tuple(c for c in (getattr(torch, "OutOfMemoryError", None),
                                getattr(getattr(torch, "cuda", None), "OutOfMemoryError", None)) if c is not None)
    return bool(classes) and isinstance(exc, classes)


@contextlib.contextmanager
def blocked_vocab_head(model, device: str):
    """On CPU, a cheaper output projection for the few rows a decode step has: the same products, laid out so the
    49k x 576 weight is read once without repacking. At one thread, row blocks (SmolLM2, 16 rows: 22.7 vs 26.7 ms);
    with more threads, one `W @ x.T` (2 threads: 4 rows 4.9 vs 16.8 ms, 16 rows 15.9 vs 19.5 ms), since blocks would
    each be an OpenMP fork/join waiting on a descheduled partner thread. Figures in benchmarks/results.md."""
    torch = require_torch()
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if (not device.startswith("cpu") or not isinstance(head, torch.nn.Linear)
            or head.weight.shape[0] <= 2 * HEAD_BLOCK or "forward" in head.__dict__):
        yield
        return
    F = torch.nn.functional
    threaded = torch.get_num_threads() > 1

    def forward(self, x):
        w, b = self.weight, self.bias
        rows = x.numel() // x.shape[-1]
        if rows < 2 or rows > MAX_HEAD_ROWS or (rows < 4 and not threaded):
            return F.linear(x, w, b)
        if threaded:
            out = torch.mm(w, x.reshape(rows, x.shape[-1]).t()).t().reshape(*x.shape[:-1], w.shape[0])
            return out if b is None else out + b
        return torch.cat([F.linear(x, w[i:i + HEAD_BLOCK], None if b is None else b[i:i + HEAD_BLOCK])
                          for i in range(0, w.shape[0], HEAD_BLOCK)], dim=-1)

    head.forward = types.MethodType(forward, head)
    try:
        yield
    finally:
        del head.forward


def shared_prefix(rows: List[List[int]]) -> int:
    """Length of the token prefix every row shares, leaving each row at least one token of its own."""
    first, n = rows[0], min(len(r) for r in rows) - 1
    i = 0
    while i < n and all(r[i] == first[i] for r in rows):
        i += 1
    return i if i >= MIN_SHARED else 0


def prefill_groups(lengths: List[int], budget: Optional[int] = None) -> List[List[int]]:
    """Consecutive rows (sorted longest first) in groups of at most `budget` padded tokens (at least one row)."""
    budget = PREFILL_TOKENS if budget is None else budget
    groups: List[List[int]] = []
    for i, n in enumerate(lengths):
        if groups and (len(groups[-1]) + 1) * max(lengths[groups[-1][0]], n) <= budget:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def merge_prefills(model, parts, B: int, shared: int, width: int, max_new_tokens: int):
    """One decode cache for the batch from the caches of its prefill chunks: each chunk's rows go right-aligned
    after the shared prefix; the gap left of a shorter chunk is zeros (masked, and finite: 0 x NaN would leak)."""
    cache = new_cache(model, capacity=shared + width + max_new_tokens)
    for li, layer in enumerate(cache.layers):
        src0 = parts[0][2].layers[li]
        k = src0.keys.new_empty((B, src0.keys.shape[1], shared + width + max_new_tokens, src0.keys.shape[-1]))
        v = src0.values.new_empty((B, src0.values.shape[1], k.shape[2], src0.values.shape[-1]))
        for g, w, part in parts:
            src = part.layers[li]
            rows = slice(g[0], g[-1] + 1)  # chunks are consecutive rows
            gap = width - w
            k[rows, :, :shared] = src.keys[:, :, :shared]
            v[rows, :, :shared] = src.values[:, :, :shared]
            k[rows, :, shared:shared + gap] = 0
            v[rows, :, shared:shared + gap] = 0
            k[rows, :, shared + gap:shared + width] = src.keys[:, :, shared:shared + w]
            v[rows, :, shared + gap:shared + width] = src.values[:, :, shared:shared + w]
        layer.adopt(k, v, shared + width)
    return cache


def run_batch(lm, rows: List[List[int]], *, max_new_tokens: int, temperature: float,
              generators: List[Any], eos: List[int], on_done: OnDone, flags: ForwardFlags) -> None:
    """Decode one left-padded batch; call on_done(k, token_ids, latency_s, finish) as each row finishes.

    Latency is each row's share of the batch's wall time: the prefill split in proportion to prompt tokens,
    plus every decode step split equally among the rows still generating in that step.
    """
    torch = require_torch()

    def pick(logits, live):
        if temperature <= 0:
            return logits.argmax(-1)
        probs = torch.softmax(logits.float() / temperature, dim=-1)
        return torch.cat([torch.multinomial(probs[j], 1, generator=generators[k]) for j, k in enumerate(live)])

    pad = lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else (eos[0] if eos else 0)
    t = time.perf_counter()
    cache, first_logits, mask, last_pos = _prefill(lm.model, rows, lm.device, pad, max_new_tokens, flags)
    nxt = pick(first_logits, list(range(len(rows))))
    spent = time.perf_counter() - t
    n_prompt = sum(len(r) for r in rows)
    latency = [spent * len(r) / n_prompt for r in rows]
    _decode(lm.model, cache, nxt, mask, last_pos, latency, pick=pick, eos=torch.tensor(eos or [-1], device=lm.device),
            max_new_tokens=max_new_tokens, flags=flags, on_done=on_done)


def _prefill(model, rows: List[List[int]], dev: str, pad: int, max_new_tokens: int, flags: ForwardFlags):
    """Run the prompts; returns the decode cache, the last position's logits, the attention mask and positions.

    Rows are laid out [shared prefix][padding][rest]; the padding is masked and positions skip it, so each row
    sees exactly its own tokens at their own positions, whichever chunk prefilled it.
    """
    torch = require_torch()
    B = len(rows)
    last = {"logits_to_keep": 1} if flags.keep else {}
    shared = shared_prefix(rows) if B > 1 and flags.batch_repeat else 0
    rest = [r[shared:] for r in rows]
    width = max(len(r) for r in rest)
    groups = prefill_groups([len(r) for r in rest]) if flags.chunk else [list(range(B))]
    single = len(groups) == 1
    prefix = None
    if shared:
        # The prompts start alike (chat template, instructions, few-shot examples): run that prefix once and
        # copy its KV cache to every row.
        prefix = new_cache(model, capacity=shared + (width + max_new_tokens if single else 0))
        model(input_ids=torch.tensor([rows[0][:shared]], device=dev),
              position_ids=torch.arange(shared, device=dev)[None], **{flags.cache_kw: prefix, "use_cache": True},
              **last)
    firsts, parts = [], []
    for g in groups:
        logits, w, cache = _prefill_group(model, [rest[k] for k in g], dev, pad, shared, prefix, flags, last,
                                          reserve=max_new_tokens if single else 0)
        firsts.append(logits)
        parts.append((g, w, cache))
    cache = parts[0][2] if single else merge_prefills(model, parts, B, shared, width, max_new_tokens)
    mask = torch.zeros((B, shared + width), dtype=torch.long, device=dev)
    for k, r in enumerate(rest):
        mask[k, :shared] = 1
        mask[k, shared + width - len(r):] = 1
    last_pos = torch.tensor([shared + len(r) - 1 for r in rest], dtype=torch.long, device=dev)
    return cache, torch.cat(firsts), mask, last_pos


def _prefill_group(model, rest: List[List[int]], dev: str, pad: int, shared: int, prefix, flags: ForwardFlags,
                   last: dict, *, reserve: int):
    """Prefill one chunk of rows after the shared prefix (reusing the prefix's cache when it is the only chunk)."""
    torch = require_torch()
    n, w = len(rest), max(len(r) for r in rest)
    ids = torch.full((n, w), pad, dtype=torch.long)
    mask = torch.zeros((n, w), dtype=torch.long)
    for i, r in enumerate(rest):
        ids[i, w - len(r):] = torch.tensor(r, dtype=torch.long)
        mask[i, w - len(r):] = 1
    ids, mask = ids.to(dev), mask.to(dev)
    pos = (mask.cumsum(-1) - 1).clamp(min=0) + shared
    if prefix is not None and reserve:
        cache = prefix
        cache.batch_repeat_interleave(n)
    else:
        cache = new_cache(model, capacity=shared + w + reserve)
        if prefix is not None:
            for layer, src in zip(cache.layers, prefix.layers):
                layer.load(src.keys.expand(n, -1, -1, -1), src.values.expand(n, -1, -1, -1))
    if shared:
        mask = torch.cat([mask.new_ones((n, shared)), mask], dim=1)
    out = model(input_ids=ids, attention_mask=mask, position_ids=pos, **{flags.cache_kw: cache}, use_cache=True,
                **last)
    return out.logits[:, -1, :], w, cache


def _decode(model, cache, nxt, mask, last_pos, latency: List[float], *, pick, eos, max_new_tokens: int,
            flags: ForwardFlags, on_done: OnDone) -> None:
    """Decode step by step until every row ends (an end-of-sequence token, or max_new_tokens)."""
    torch = require_torch()
    B = len(latency)
    out_tokens: List[List[int]] = [[] for _ in range(B)]
    live = list(range(B))  # batch row k of each tensor row (finished ones included until compaction)
    done = [False] * B
    n_live = B
    kw = {flags.cache_kw: cache, "use_cache": True}
    for step in range(max_new_tokens):
        tokens = nxt.tolist()
        is_eos = torch.isin(nxt, eos).tolist()
        for j, k in enumerate(live):
            if done[k]:
                continue
            out_tokens[k].append(tokens[j])
            if is_eos[j] or step == max_new_tokens - 1:
                done[k] = True
                n_live -= 1
                on_done(k, out_tokens[k], latency[k], "stop" if is_eos[j] else "length")
        if not n_live:
            return
        if n_live <= COMPACT_BELOW * len(live):  # drop finished rows: the batch shrinks as answers end
            keep = [j for j, k in enumerate(live) if not done[k]]
            sel = torch.tensor(keep, device=mask.device)
            cache.batch_select_indices(sel)
            mask, last_pos, nxt = mask[sel], last_pos[sel], nxt[sel]
            live = [live[j] for j in keep]
        mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=1)
        last_pos = last_pos + 1
        t = time.perf_counter()
        if flags.step is not None:
            logits = flags.step(nxt, mask, last_pos, cache)
        else:
            out = model(input_ids=nxt[:, None], attention_mask=mask, position_ids=last_pos[:, None], **kw)
            logits = out.logits[:, -1, :]
        nxt = pick(logits, live)
        spent = time.perf_counter() - t
        for k in live:
            if not done[k]:
                latency[k] += spent / n_live


__all__ = ["COMPACT_BELOW", "ForwardFlags", "MIN_SHARED", "PREFILL_TOKENS", "blocked_vocab_head", "eos_ids",
           "forward_flags", "is_oom", "merge_prefills", "prefill_groups", "run_batch", "shared_prefix"]
