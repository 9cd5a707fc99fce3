"""Batched generation with a response cache and a generation log.

`generate(model, prompts)` takes prompts that are already rendered (see prompts.render_chat). It

- answers from the workspace's response cache first, keyed by sha256 of (model identity including the
  adapter's content hash, device type and dtype, rendered prompt, generation params); when every prompt
  hits, the model is not even loaded;
- sorts the rest by token length (longest first), left-pads batches of `batch_size`, and decodes with its
  own loop over the model's KV cache: the token prefix all prompts of a batch share (chat template, system
  prompt, instructions, few-shot examples) is run once and its cache copied to every row; the rest is
  prefilled in chunks of ~PREFILL_TOKENS and decoded as one batch, in a cache allocated once (no copy per
  step); finished rows are dropped once a quarter of the batch has finished, so it shrinks as answers end; and on CPU the vocabulary projection runs
  in 1024-row blocks (bit-identical, ~1.5x faster for a batch of 16 than one 49152x576 matmul here);
- is deterministic: greedy decoding gives the tokens a per-example `model.generate` loop gives; sampling
  (temperature > 0) draws each example from its own generator seeded by (seed, prompt), so a sample does not
  depend on which other prompts shared its batch;
- records tokens in/out and latency per example. Latency is the example's share of its batch's wall time:
  the prefill time split in proportion to prompt tokens, plus every decode step's time split equally among
  the rows still generating in that step. The latencies of a batch add up to its wall time;
- appends every generation (cached or not) to the `generations` table with the active run's id;
- on out-of-memory halves the batch and retries (warning once); on Ctrl-C keeps what finished (cached and
  logged) and re-raises, so running the same call again resumes from the cache.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import time
import types
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from ..display import html_table, text_table
from ..errors import InputError, LlmopsError

GEN_VERSION = 1  # bump when decoding changes what a cached output would be
_HEAD_BLOCK = 1024


@dataclass(frozen=True)
class Generation:
    prompt: str
    text: str
    tokens_in: int
    tokens_out: int
    latency_s: float
    cached: bool = False
    finish: str = "stop"  # "stop" (end-of-sequence token) or "length" (max_new_tokens reached)

    def to_dict(self) -> dict:
        return asdict(self)


class Generations(Sequence):
    """The outputs of one `generate` call, in the order of the prompts. List-like; `.texts` for the strings."""

    columns = ["prompt", "text", "tokens_in", "tokens_out", "latency_s", "cached"]

    def __init__(self, items: List[Generation], *, model: str = "", params: Optional[dict] = None,
                 wall_s: float = 0.0):
        self.items = list(items)
        self.model = model
        self.params = dict(params or {})
        self.wall_s = wall_s

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Generations(self.items[i], model=self.model, params=self.params)
        return self.items[i]

    def __iter__(self):
        return iter(self.items)

    @property
    def texts(self) -> List[str]:
        return [g.text for g in self.items]

    @property
    def n_cached(self) -> int:
        return sum(g.cached for g in self.items)

    @property
    def tokens_out(self) -> int:
        return sum(g.tokens_out for g in self.items)

    @property
    def tokens_per_s(self) -> Optional[float]:
        """Generated tokens per second of this call's wall time, over the examples actually generated."""
        fresh = sum(g.tokens_out for g in self.items if not g.cached)
        return fresh / self.wall_s if fresh and self.wall_s > 0 else None

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame([g.to_dict() for g in self.items],
                            columns=["prompt", "text", "tokens_in", "tokens_out", "latency_s", "cached", "finish"])

    def to_dict(self) -> dict:
        return {"model": self.model, "params": self.params, "wall_s": self.wall_s,
                "generations": [g.to_dict() for g in self.items]}

    def _summary(self) -> str:
        tps = self.tokens_per_s
        return (f"{len(self)} generations from {self.model}, {self.n_cached} from cache, "
                f"{self.tokens_out} tokens out" + (f", {tps:.1f} tok/s" if tps else ""))

    def _rows(self) -> List[dict]:
        return [{"prompt": g.prompt[-200:], "text": g.text, "tokens_in": g.tokens_in, "tokens_out": g.tokens_out,
                 "latency_s": round(g.latency_s, 3), "cached": g.cached} for g in self.items]

    def __str__(self) -> str:
        return self._summary() + "\n" + text_table(self._rows(), self.columns, max_width=60)

    def __repr__(self) -> str:
        return f"Generations({len(self)} from {self.model!r}, cached={self.n_cached})"

    def _repr_html_(self) -> str:
        return html_table(self._rows(), self.columns, caption=self._summary())


# ------------------------------------------------------------------------------------------------
# Model identity for the cache

_fingerprints: Dict[Tuple, str] = {}


def folder_fingerprint(folder: Union[str, Path]) -> str:
    """A content hash of a model folder that is cheap for big weights: every file's name and size, small files
    whole, and the first and last MiB of big ones. Survives copying the folder to another machine."""
    folder = Path(folder)
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")
                   and not p.name.endswith(".lock"))
    stamp = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    if stamp in _fingerprints:
        return _fingerprints[stamp]
    h = hashlib.sha256()
    for p in files:
        size = p.stat().st_size
        h.update(f"{p.relative_to(folder)}:{size}\n".encode())
        with open(p, "rb") as fh:
            if size <= 4 << 20:
                h.update(fh.read())
            else:
                h.update(fh.read(1 << 20))
                fh.seek(size - (1 << 20))
                h.update(fh.read())
    digest = h.hexdigest()[:16]
    _fingerprints[stamp] = digest
    return digest


def model_identity(model: Any) -> Optional[str]:
    """What the cache knows a model by: its folder's content (and its adapter's), not its Python object.

    None for an in-memory model without a folder: such outputs are not cached.
    """
    from .loading import LoadedModel, _folder_for

    if isinstance(model, LoadedModel):
        ident = model.info.get("identity")
        if ident:
            return ident
        if model.path is None:
            return None
        ident = f"{model.name}:{folder_fingerprint(model.path)}"
        if model.adapter is not None:
            ident += f"+adapter:{folder_fingerprint(model.adapter)}"
        return ident
    name = str(model)
    from .finetune import registered_identity

    ident = registered_identity(name)
    if ident is not None:
        return ident
    return f"{name}:{folder_fingerprint(_folder_for(name))}"


def _cache_key(identity: str, device: str, dtype: str, prompt: str, params: dict) -> str:
    payload = json.dumps({"v": GEN_VERSION, "model": identity, "device": device.split(":")[0], "dtype": dtype,
                          "prompt": prompt, **params}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------------------------------
# The decoding loop

def _torch():
    from .loading import _torch as t

    return t()


def _eos_ids(lm) -> List[int]:
    ids = getattr(lm.model.generation_config, "eos_token_id", None)
    if ids is None:
        ids = lm.tokenizer.eos_token_id
    if ids is None:
        return []
    return [int(i) for i in (ids if isinstance(ids, (list, tuple)) else [ids])]


@contextlib.contextmanager
def _blocked_vocab_head(model, device: str):
    """On CPU, run the output projection in row blocks: same numbers, better cache use for small batches."""
    torch = _torch()
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if (not device.startswith("cpu") or not isinstance(head, torch.nn.Linear)
            or head.weight.shape[0] <= 2 * _HEAD_BLOCK or "forward" in head.__dict__):
        yield
        return
    F = torch.nn.functional

    def forward(self, x):
        w, b = self.weight, self.bias
        if x.numel() // x.shape[-1] < 4:  # one to three rows: the single matmul is faster
            return F.linear(x, w, b)
        return torch.cat([F.linear(x, w[i:i + _HEAD_BLOCK], None if b is None else b[i:i + _HEAD_BLOCK])
                          for i in range(0, w.shape[0], _HEAD_BLOCK)], dim=-1)

    head.forward = types.MethodType(forward, head)
    try:
        yield
    finally:
        del head.forward


def _forward_kwargs(model) -> dict:
    import inspect

    params = inspect.signature(model.forward).parameters
    from transformers import DynamicCache

    return {"cache_kw": "cache" if "cache" in params else "past_key_values",
            "keep": "logits_to_keep" in params, "batch_repeat": hasattr(DynamicCache, "batch_repeat_interleave"),
            "chunk": _can_chunk(model)}


_MIN_SHARED = 8  # tokens: below this a separate prefix pass costs more than it saves


def _shared_prefix(rows: List[List[int]]) -> int:
    """Length of the token prefix every row shares, leaving each row at least one token of its own."""
    first, n = rows[0], min(len(r) for r in rows) - 1
    i = 0
    while i < n and all(r[i] == first[i] for r in rows):
        i += 1
    return i if i >= _MIN_SHARED else 0


def _new_cache(model, capacity: int = 0):
    """A KV cache for `model`. With `capacity` (prompt + new tokens), each layer's keys and values live in one
    buffer allocated up front: a decode step writes its token in place, where transformers' DynamicLayer
    concatenates, copying the whole cache every step (over half of the decode time at 400-token prompts)."""
    from transformers import DynamicCache

    try:
        cache = DynamicCache(config=model.config)
    except TypeError:  # older transformers
        return DynamicCache()
    layer_cls = _reserved_layer_class()
    if capacity > 0 and layer_cls is not None and getattr(cache, "layers", None) and \
            all(type(layer) is layer_cls.__base__ for layer in cache.layers):
        cache.layers = [layer_cls(capacity) for _ in cache.layers]
    return cache


@functools.lru_cache(maxsize=None)
def _reserved_layer_class():
    """DynamicLayer with its keys/values as views into a preallocated buffer (None on transformers < 5)."""
    try:
        from transformers.cache_utils import DynamicLayer
    except ImportError:
        return None

    class ReservedLayer(DynamicLayer):
        def __init__(self, capacity: int):
            super().__init__()
            self.capacity, self.length = int(capacity), 0
            self._k = self._v = None

        def update(self, key_states, value_states, *args, **kwargs):
            if not self.is_initialized:
                self.lazy_initialization(key_states, value_states)
            n = key_states.shape[-2]
            end = self.length + n
            if self._k is None or end > self._k.shape[-2] or self._k.shape[0] != key_states.shape[0]:
                self._grow(key_states, value_states, max(end, self.capacity))
            self._k[:, :, self.length:end].copy_(key_states)
            self._v[:, :, self.length:end].copy_(value_states)
            self.length = end
            self.keys, self.values = self._k[:, :, :end], self._v[:, :, :end]
            return self.keys, self.values

        def _grow(self, key_states, value_states, size: int) -> None:
            b, h, _, d = key_states.shape
            k = key_states.new_empty((b, h, size, d))
            v = value_states.new_empty((b, h, size, value_states.shape[-1]))
            if self.length:
                k[:, :, :self.length].copy_(self._k[:, :, :self.length])
                v[:, :, :self.length].copy_(self._v[:, :, :self.length])
            self._k, self._v = k, v

        def get_seq_length(self) -> int:
            return self.length

        def load(self, keys, values) -> None:
            """Start from these keys and values (copied into a buffer of the layer's capacity)."""
            self._k = self._v = None
            self.length = 0
            self.update(keys, values)

        def adopt(self, k, v, length: int) -> None:
            """Take buffers whose first `length` positions hold the cache (no copy)."""
            if not self.is_initialized:
                self.lazy_initialization(k, v)
            self._k, self._v, self.length = k, v, int(length)
            self.keys, self.values = k[:, :, :length], v[:, :, :length]

        def reset(self) -> None:
            self._k = self._v = None
            self.length = 0
            super().reset()

        def crop(self, tokens_to_remove: int) -> None:
            super().crop(tokens_to_remove)
            if self.is_initialized and self.keys is not None and self.keys.numel():
                self.length = self.keys.shape[-2]

        def batch_repeat_interleave(self, repeats: int) -> None:
            if self.length:
                self._k = self._k.repeat_interleave(repeats, dim=0)
                self._v = self._v.repeat_interleave(repeats, dim=0)
                self.keys, self.values = self._k[:, :, :self.length], self._v[:, :, :self.length]

        def batch_select_indices(self, indices) -> None:
            if self.length:
                self._k, self._v = self._k[indices], self._v[indices]
                self.keys, self.values = self._k[:, :, :self.length], self._v[:, :, :self.length]

        def reorder_cache(self, beam_idx) -> None:
            self.batch_select_indices(beam_idx.to(self._k.device) if self._k is not None else beam_idx)

    return ReservedLayer


# Prefill runs in chunks of about this many (padded) tokens: on CPU a bigger forward pads more rows to the
# longest and runs no faster per token (48 RAG prompts in one forward: 160 real tokens/s, in chunks of 16: 250).
# Decoding then runs all the batch's rows at once, where wider matmuls pay (B=48: 9.5 ms a row a step, B=16: 19).
PREFILL_TOKENS = 4096
# Finished rows stay in the decode batch (their tokens are ignored) until the live rows fall to this fraction:
# dropping rows copies the whole KV cache, which at once per finished row cost more than it saved.
COMPACT_BELOW = 0.75


def _prefill_groups(lengths: List[int], budget: Optional[int] = None) -> List[List[int]]:
    """Consecutive rows (sorted longest first) in groups of at most `budget` padded tokens (at least one row)."""
    budget = PREFILL_TOKENS if budget is None else budget
    groups: List[List[int]] = []
    for i, n in enumerate(lengths):
        if groups and (len(groups[-1]) + 1) * max(lengths[groups[-1][0]], n) <= budget:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def _run_batch(lm, rows: List[List[int]], *, max_new_tokens: int, temperature: float,
               generators: List[Any], eos: List[int], on_done, fkw: dict) -> None:
    """Decode one left-padded batch; call on_done(k, token_ids, latency_s, finish) as each row finishes."""
    torch = _torch()
    model, dev = lm.model, lm.device
    pad = lm.tokenizer.pad_token_id if lm.tokenizer.pad_token_id is not None else (eos[0] if eos else 0)
    B = len(rows)
    eos_t = torch.tensor(eos or [-1], device=dev)
    latency = [0.0] * B
    out_tokens: List[List[int]] = [[] for _ in range(B)]
    n_prompt = sum(len(r) for r in rows)
    live = list(range(B))  # batch row k of each tensor row (finished ones included until compaction)
    done = [False] * B

    def pick(logits):
        if temperature <= 0:
            return logits.argmax(-1)
        probs = torch.softmax(logits.float() / temperature, dim=-1)
        return torch.cat([torch.multinomial(probs[j], 1, generator=generators[k]) for j, k in enumerate(live)])

    last = {"logits_to_keep": 1} if fkw["keep"] else {}
    t = time.perf_counter()
    shared = _shared_prefix(rows) if B > 1 and fkw["batch_repeat"] else 0
    rest = [r[shared:] for r in rows]
    width = max(len(r) for r in rest)
    # Rows are laid out [shared prefix][padding][rest]; the padding is masked and positions skip it, so each
    # row sees exactly its own tokens at their own positions, whichever chunk prefilled it.
    groups = _prefill_groups([len(r) for r in rest]) if fkw["chunk"] else [list(range(B))]
    prefix = None
    if shared:
        # The prompts start alike (chat template, instructions, few-shot examples): run that prefix once and
        # copy its KV cache to every row.
        prefix = _new_cache(model, capacity=shared + (width + max_new_tokens if len(groups) == 1 else 0))
        model(input_ids=torch.tensor([rows[0][:shared]], device=dev),
              position_ids=torch.arange(shared, device=dev)[None], **{fkw["cache_kw"]: prefix, "use_cache": True},
              **last)
    firsts, parts = [], []
    for g in groups:
        w = max(len(rest[k]) for k in g)
        ids = torch.full((len(g), w), pad, dtype=torch.long)
        mask = torch.zeros((len(g), w), dtype=torch.long)
        for i, k in enumerate(g):
            ids[i, w - len(rest[k]):] = torch.tensor(rest[k], dtype=torch.long)
            mask[i, w - len(rest[k]):] = 1
        ids, mask = ids.to(dev), mask.to(dev)
        pos = (mask.cumsum(-1) - 1).clamp(min=0) + shared
        if prefix is not None and len(groups) == 1:
            cache = prefix
            cache.batch_repeat_interleave(len(g))
        else:
            cache = _new_cache(model, capacity=shared + w + (max_new_tokens if len(groups) == 1 else 0))
            if prefix is not None:
                for layer, src in zip(cache.layers, prefix.layers):
                    layer.load(src.keys.expand(len(g), -1, -1, -1), src.values.expand(len(g), -1, -1, -1))
        if shared:
            mask = torch.cat([mask.new_ones((len(g), shared)), mask], dim=1)
        out = model(input_ids=ids, attention_mask=mask, position_ids=pos, **{fkw["cache_kw"]: cache},
                    use_cache=True, **last)
        firsts.append(out.logits[:, -1, :])
        parts.append((g, w, cache))
    if len(groups) == 1:
        cache = parts[0][2]
    else:
        cache = _merge_prefills(model, parts, B, shared, width, max_new_tokens)
    mask = torch.zeros((B, shared + width), dtype=torch.long, device=dev)
    for k, r in enumerate(rest):
        mask[k, :shared] = 1
        mask[k, shared + width - len(r):] = 1
    last_pos = torch.tensor([shared + len(r) - 1 for r in rest], dtype=torch.long, device=dev)
    nxt = pick(torch.cat(firsts))
    spent = time.perf_counter() - t
    for k, r in enumerate(rows):
        latency[k] += spent * len(r) / n_prompt
    kw = {fkw["cache_kw"]: cache, "use_cache": True}
    n_live = B
    for step in range(max_new_tokens):
        tokens = nxt.tolist()
        is_eos = torch.isin(nxt, eos_t).tolist()
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
            sel = torch.tensor(keep, device=dev)
            cache.batch_select_indices(sel)
            mask, last_pos, nxt = mask[sel], last_pos[sel], nxt[sel]
            live = [live[j] for j in keep]
        mask = torch.cat([mask, mask.new_ones((mask.shape[0], 1))], dim=1)
        last_pos = last_pos + 1
        t = time.perf_counter()
        out = model(input_ids=nxt[:, None], attention_mask=mask, position_ids=last_pos[:, None], **kw)
        nxt = pick(out.logits[:, -1, :])
        spent = time.perf_counter() - t
        for k in live:
            if not done[k]:
                latency[k] += spent / n_live


def _can_chunk(model) -> bool:
    """Whether this model's cache takes ReservedLayers (all full-attention layers, transformers >= 5)."""
    cls = _reserved_layer_class()
    layers = getattr(_new_cache(model, capacity=1), "layers", None)
    return cls is not None and bool(layers) and all(isinstance(layer, cls) for layer in layers)


def _merge_prefills(model, parts, B: int, shared: int, width: int, max_new_tokens: int):
    """One decode cache for the batch from the caches of its prefill chunks: each chunk's rows go right-aligned
    after the shared prefix; the gap left of a shorter chunk is zeros (masked, and finite: 0 x NaN would leak)."""
    cache = _new_cache(model, capacity=shared + width + max_new_tokens)
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


def _is_oom(exc: BaseException) -> bool:
    torch = _torch()
    oom = getattr(getattr(torch, "cuda", None), "OutOfMemoryError", None)
    return (oom is not None and isinstance(exc, oom)) or \
        (isinstance(exc, RuntimeError) and "out of memory" in str(exc).lower())


# ------------------------------------------------------------------------------------------------
def generate(model: Any, prompts: Union[str, Iterable[str]], *, max_new_tokens: int = 64,
             temperature: float = 0.0, seed: int = 0, batch_size: int = 48, cache: bool = True,
             progress: bool = True, device: str = "auto", chat: bool = False) -> Generations:
    """Generate a completion for each (already rendered) prompt. See the module docstring for the details.

    model: a name (built-in, fine-tuned, local folder) or a LoadedModel. cache=False regenerates (and
    refreshes the cache) instead of reading it. chat=True first wraps each prompt as a user message through
    the model's chat template (for raw text, e.g. from the command line).
    """
    from ..config import progress_disabled
    from .loading import LoadedModel, load_model, resolve_device

    if isinstance(prompts, str):
        prompts = [prompts]
    prompts = list(prompts)
    bad = [i for i, p in enumerate(prompts) if not isinstance(p, str)]
    if bad:
        raise InputError(f"prompt {bad[0]} is a {type(prompts[bad[0]]).__name__}, not a string; "
                         "render templates first (PromptVersion.render_chat)")
    max_new_tokens, batch_size = int(max_new_tokens), int(batch_size)
    if max_new_tokens < 1:
        raise InputError(f"max_new_tokens must be at least 1, got {max_new_tokens}")
    if batch_size < 1:
        raise InputError(f"batch_size must be at least 1, got {batch_size}")
    temperature = float(temperature)
    if temperature < 0:
        raise InputError(f"temperature must be >= 0 (0 is greedy), got {temperature}")

    from .finetune import FineTunedModel

    if isinstance(model, FineTunedModel):
        model = model.name
    started = time.perf_counter()
    lm = model if isinstance(model, LoadedModel) else None
    if chat:
        from .prompts import to_chat

        lm = lm or load_model(str(model), device=device)
        prompts = [to_chat(lm, p) for p in prompts]
    model_name = lm.name if lm is not None else str(model)
    if lm is not None:
        dev, dtype = lm.device, lm.dtype
    else:
        dev, dtype = resolve_device(device)
    params = {"max_new_tokens": max_new_tokens, "temperature": temperature,
              "seed": int(seed) if temperature > 0 else None}
    identity = model_identity(lm if lm is not None else model_name)
    dtype_s = str(dtype).replace("torch.", "")
    keys = [(_cache_key(identity, dev, dtype_s, p, params) if identity else None) for p in prompts]

    results: Dict[int, Generation] = {}
    hits = _cache_lookup([k for k in keys if k]) if cache and identity else {}
    log_rows: List[tuple] = []
    for i, (p, key) in enumerate(zip(prompts, keys)):
        if key in hits:
            h = hits[key]
            results[i] = Generation(p, h["output"], h["tokens_in"], h["tokens_out"], h["latency_s"], True, h["finish"])
            log_rows.append(_log_row(model_name, identity, results[i], key, params))
    todo: Dict[str, List[int]] = {}  # identical prompts are generated once
    for i, p in enumerate(prompts):
        if i not in results:
            todo.setdefault(p, []).append(i)

    store = _Store(model_name, identity, params)
    store.log(log_rows)
    if todo:
        if lm is None:
            lm = load_model(model_name, device=device)
        _generate_missing(lm, todo, prompts, keys, results, store, max_new_tokens=max_new_tokens,
                          temperature=temperature, seed=int(seed), batch_size=batch_size,
                          disable=not progress or progress_disabled())
    items = [results[i] for i in range(len(prompts))]
    return Generations(items, model=model_name, params={**params, "batch_size": batch_size},
                       wall_s=time.perf_counter() - started)


def _generate_missing(lm, todo: Dict[str, List[int]], prompts, keys, results, store, *, max_new_tokens,
                      temperature, seed, batch_size, disable) -> None:
    torch = _torch()
    from tqdm.auto import tqdm

    tok = lm.tokenizer
    unique = list(todo)
    bos = getattr(tok, "bos_token", None)
    encoded = [tok(p, add_special_tokens=not (bos and p.startswith(bos)))["input_ids"] for p in unique]
    if any(len(e) == 0 for e in encoded):
        raise InputError("an empty prompt has no tokens to continue; give every prompt some text")
    max_pos = getattr(lm.model.config, "max_position_embeddings", None) or getattr(lm.model.config, "n_positions", None)
    longest = max(len(e) for e in encoded)
    if max_pos and longest + max_new_tokens > max_pos:
        raise InputError(f"the longest prompt has {longest} tokens; with max_new_tokens={max_new_tokens} it exceeds "
                         f"the model's {max_pos}-token window; shorten the prompt or lower max_new_tokens")
    order = sorted(range(len(unique)), key=lambda u: -len(encoded[u]))  # longest first: OOM shows up at once
    eos = _eos_ids(lm)
    fkw = _forward_kwargs(lm.model)
    gens = []
    if temperature > 0:
        for p in unique:
            g = torch.Generator(device=lm.device)
            g.manual_seed(int.from_bytes(hashlib.sha256(f"{seed}\x00{p}".encode()).digest()[:8], "little") >> 1)
            gens.append(g)
    was_training = lm.model.training
    lm.model.eval()
    bar = tqdm(total=len(unique), desc=f"generate {lm.name}", unit="prompt", disable=disable, leave=False)
    done_tokens = [0]
    t_start = time.perf_counter()
    warned = False
    queue = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    try:
        with torch.inference_mode(), _blocked_vocab_head(lm.model, lm.device):
            while queue:
                batch = queue.pop(0)
                finished: Dict[int, Generation] = {}

                def on_done(k, ids, latency, finish, batch=batch, finished=finished):
                    u = batch[k]
                    body = [t for t in ids if t not in eos]
                    text = tok.decode(body, skip_special_tokens=True).strip()
                    finished[u] = Generation(unique[u], text, len(encoded[u]), len(ids), latency, False, finish)
                    done_tokens[0] += len(ids)
                    bar.update(1)
                    bar.set_postfix(tok_s=f"{done_tokens[0] / max(time.perf_counter() - t_start, 1e-9):.1f}",
                                    refresh=False)

                try:
                    _run_batch(lm, [encoded[u] for u in batch], max_new_tokens=max_new_tokens,
                               temperature=temperature, generators=[gens[u] for u in batch] if gens else [],
                               eos=eos, on_done=on_done, fkw=fkw)
                except Exception as exc:
                    if not _is_oom(exc):
                        raise
                    if len(batch) == 1:
                        raise LlmopsError(f"out of memory generating even one prompt of {len(encoded[batch[0]])} "
                                          f"tokens on {lm.device}; lower max_new_tokens or use device='cpu'") from None
                    half = max(1, len(batch) // 2)
                    if not warned:
                        warnings.warn(f"out of memory with a batch of {len(batch)} prompts on {lm.device}; "
                                      f"retrying in batches of {half}", RuntimeWarning, stacklevel=3)
                        warned = True
                    if lm.device.startswith("cuda"):
                        torch.cuda.empty_cache()
                    rest = [u for u in batch if u not in finished]
                    queue = [rest[i:i + half] for i in range(0, len(rest), half)] + \
                        [b[i:i + half] for b in queue for i in range(0, len(b), half)]
                finally:
                    _deliver(finished, unique, todo, prompts, keys, results, store)
    finally:
        bar.close()
        if was_training:
            lm.model.train()


def _deliver(finished: Dict[int, Generation], unique, todo, prompts, keys, results, store) -> None:
    """Put finished generations in the results, the cache and the log (right away, so Ctrl-C keeps them)."""
    if not finished:
        return
    cache_rows, log_rows = [], []
    for u, g in finished.items():
        first = True
        for i in todo[unique[u]]:
            results[i] = g
            if keys[i] and first:
                cache_rows.append((keys[i], g))
                first = False
            log_rows.append(_log_row(store.model, store.identity, g, keys[i], store.params))
    store.put(cache_rows)
    store.log(log_rows)
    finished.clear()


def _log_row(model: str, identity: Optional[str], g: Generation, key: Optional[str], params: dict) -> tuple:
    from ..tracking.runs import active_run

    run = active_run()
    return (time.time(), run.id if run is not None else None, model, identity or "", g.prompt, g.text,
            g.tokens_in, g.tokens_out, g.latency_s, int(g.cached), key, json.dumps(params))


class _Store:
    def __init__(self, model: str, identity: Optional[str], params: dict):
        self.model, self.identity, self.params = model, identity, params

    def put(self, rows: List[Tuple[str, Generation]]) -> None:
        if not rows or not self.identity:
            return
        from ..workspace import workspace

        now = time.time()
        workspace().db.executemany(
            "INSERT OR REPLACE INTO generation_cache (key, model, model_id, prompt, output, tokens_in, tokens_out, "
            "latency_s, finish, params, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [(k, self.model, self.identity, g.prompt, g.text, g.tokens_in, g.tokens_out, g.latency_s, g.finish,
              json.dumps(self.params), now) for k, g in rows])

    def log(self, rows: List[tuple]) -> None:
        if not rows:
            return
        from ..workspace import workspace

        workspace().db.executemany(
            "INSERT INTO generations (ts, run_id, model, model_id, prompt, output, tokens_in, tokens_out, latency_s, "
            "cached, cache_key, params) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", rows)


def _cache_lookup(keys: List[str]) -> Dict[str, dict]:
    if not keys:
        return {}
    from ..workspace import workspace

    db = workspace().db
    out: Dict[str, dict] = {}
    unique = list(dict.fromkeys(keys))
    for i in range(0, len(unique), 500):
        chunk = unique[i:i + 500]
        for r in db.execute(f"SELECT key, output, tokens_in, tokens_out, latency_s, finish FROM generation_cache "
                            f"WHERE key IN ({','.join('?' * len(chunk))})", chunk):
            out[r["key"]] = dict(r)
    return out


def clear_cache(model: Optional[str] = None) -> int:
    """Forget cached responses (of one model name, or all). Returns how many were removed."""
    from ..workspace import workspace

    db = workspace().db
    if model is None:
        return db.execute("DELETE FROM generation_cache").rowcount
    return db.execute("DELETE FROM generation_cache WHERE model=?", (str(model),)).rowcount


__all__ = ["Generation", "Generations", "clear_cache", "folder_fingerprint", "generate", "model_identity"]
