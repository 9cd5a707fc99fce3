"""Batched generation with a response cache and a generation log.

`generate(model, prompts)` takes prompts that are already rendered (see prompts.render_chat). It

- answers from the workspace's response cache first, keyed by sha256 of (model identity including the
  adapter's content hash, device type and dtype, rendered prompt, generation params; identity.py); when every
  prompt hits, the model is not even loaded;
- sorts the rest by token length (longest first), left-pads batches of `batch_size` and decodes them with its
  own loop over the model's KV cache (decoding.py): a shared prompt prefix runs once, prefill runs in chunks,
  the cache is allocated once, finished rows leave the batch;
- is deterministic: greedy decoding gives the tokens a per-example `model.generate` loop gives; sampling
  (temperature > 0) draws each example from its own generator seeded by (seed, prompt), so a sample does not
  depend on which other prompts shared its batch;
- records tokens in/out and latency per example. Latency is the example's share of its batch's wall time,
  so the latencies of a batch add up to its wall time;
- appends every generation (cached or not) to the `generations` table with the active run's id, the caller's
  retrieved context of that prompt (`context=`, ids with scores) and the call's `tags=` (response_cache.py);
- engine="int8" runs a CTranslate2 int8 conversion of the model instead (ct2_engine.py): a quantized variant
  with outputs of its own, cached apart from the model's (its cache key names the engine);
- on out-of-memory halves the batch and retries (warning once); on Ctrl-C keeps what finished (cached and
  logged) and re-raises, so running the same call again resumes from the cache.
"""
from __future__ import annotations

import hashlib
import time
import warnings
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

from ..checks import real_number, whole_number
from ..config import progress_disabled
from ..errors import InputError, LlmopsError
from . import ct2_engine
from .decoding import COMPACT_BELOW, PREFILL_TOKENS, blocked_vocab_head, eos_ids, forward_flags, is_oom, run_batch
from .identity import GEN_VERSION, cache_key, folder_fingerprint, model_identity
from .loading import LoadedModel, load_model, resolve_device
from .outputs import Generation, Generations
from .prompts import to_chat
from .registered import FineTunedModel
from .response_cache import ResponseStore, cached_responses, check_tags_json, clear_cache, context_entries
from .runtime import require_torch


def generate(model: Any, prompts: Union[str, Iterable[str]], *, max_new_tokens: int = 64,
             temperature: float = 0.0, seed: int = 0, batch_size: int = 48, cache: bool = True,
             progress: bool = True, device: str = "auto", chat: bool = False, context: Optional[Sequence[Any]] = None,
             tags: Optional[Dict[str, Any]] = None, engine: str = "torch") -> Generations:
    """Generate a completion for each (already rendered) prompt. See the module docstring for the details.

    model: a name (built-in, fine-tuned, local folder) or a LoadedModel. cache=False regenerates (and
    refreshes the cache) instead of reading it. chat=True first wraps each prompt as a user message through
    the model's chat template (for raw text, e.g. from the command line). context: for the log only, one entry
    per prompt, each None or the ids (or (id, score) pairs, or passages) retrieved for it. tags: a dict logged
    with every generation of this call (traces(tags=...) finds them). engine: "torch" (the model's weights as
    loaded) or "int8" (a CTranslate2 int8 conversion, CPU: a quantized variant, not the same outputs).
    """
    engine = ct2_engine.check_engine(engine)  # int8 without ctranslate2: one line, before anything runs
    prompts = [prompts] if isinstance(prompts, str) else list(prompts)
    bad = [i for i, p in enumerate(prompts) if not isinstance(p, str)]
    if bad:
        raise InputError(f"prompt {bad[0]} is a {type(prompts[bad[0]]).__name__}, not a string; "
                         "render templates first (PromptVersion.render_chat)")
    max_new_tokens = whole_number("max_new_tokens", max_new_tokens, minimum=1, hint="e.g. 64")
    batch_size = whole_number("batch_size", batch_size, minimum=1, hint="prompts per forward pass, e.g. 48")
    temperature = real_number("temperature", temperature, minimum=0, hint="0 is greedy; sample with e.g. 0.7")
    seed = whole_number("seed", seed)
    contexts, tags_s = context_entries(context, len(prompts)), check_tags_json(tags)

    if isinstance(model, FineTunedModel):
        model = model.name
    started = time.perf_counter()
    lm = model if isinstance(model, LoadedModel) else None
    if chat:
        lm = lm or load_model(str(model), device=device)
        prompts = [to_chat(lm, p) for p in prompts]
    model_name = lm.name if lm is not None else str(model)
    dev, dtype = (lm.device, lm.dtype) if lm is not None else resolve_device(device)
    params = {"max_new_tokens": max_new_tokens, "temperature": temperature, "seed": seed if temperature > 0 else None}
    identity = model_identity(lm if lm is not None else model_name)
    dtype_s = str(dtype).replace("torch.", "") if engine == "torch" else "ct2-int8-cpu"
    keys = [(cache_key(identity, dev, dtype_s, p, params) if identity else None) for p in prompts]

    shown = model_name if engine == "torch" else f"{model_name}@{engine}"  # the log names the variant that ran
    store = ResponseStore(shown, identity, params, contexts, tags_s)
    results = _from_cache(prompts, keys, store) if cache and identity else {}
    todo: Dict[str, List[int]] = {}  # identical prompts are generated once
    for i, p in enumerate(prompts):
        if i not in results:
            todo.setdefault(p, []).append(i)
    if todo:
        lm = lm or load_model(model_name, device=device)
        batch = _Pending(lm, todo, keys, results, store, engine)
        batch.run(max_new_tokens=max_new_tokens, temperature=temperature, seed=seed, batch_size=batch_size,
                  disable=not progress or progress_disabled())
    items = [results[i] for i in range(len(prompts))]
    extra = {} if engine == "torch" else {"engine": engine}
    return Generations(items, model=shown, params={**params, "batch_size": batch_size, **extra},
                       wall_s=time.perf_counter() - started)


def _from_cache(prompts: List[str], keys: List[Optional[str]], store: ResponseStore) -> Dict[int, Generation]:
    """The prompts the response cache answers, by position; each answer is logged as a cached generation."""
    hits = cached_responses([k for k in keys if k])
    results: Dict[int, Generation] = {}
    log_rows = []
    for i, (p, key) in enumerate(zip(prompts, keys)):
        if key in hits:
            h = hits[key]
            results[i] = Generation(p, h["output"], h["tokens_in"], h["tokens_out"], h["latency_s"], True, h["finish"])
            log_rows.append(store.log_row(results[i], key, i))
    store.save([], log_rows)
    return results


class _Pending:
    """The prompts one `generate` call has to run: their tokens, and where each finished answer goes."""

    def __init__(self, lm, todo: Dict[str, List[int]], keys: List[Optional[str]], results: Dict[int, Generation],
                 store: ResponseStore, engine: str = "torch"):
        self.lm, self.todo, self.keys, self.results, self.store = lm, todo, keys, results, store
        self.engine = engine
        self.unique = list(todo)
        tok = lm.tokenizer
        bos = getattr(tok, "bos_token", None)
        self.encoded = [tok(p, add_special_tokens=not (bos and p.startswith(bos)))["input_ids"] for p in self.unique]

    def check(self, max_new_tokens: int) -> None:
        if any(len(e) == 0 for e in self.encoded):
            raise InputError("an empty prompt has no tokens to continue; give every prompt some text")
        config = self.lm.model.config
        max_pos = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", None)
        longest = max(len(e) for e in self.encoded)
        if max_pos and longest + max_new_tokens > max_pos:
            raise InputError(f"the longest prompt has {longest} tokens; with max_new_tokens={max_new_tokens} it "
                             f"exceeds the model's {max_pos}-token window; shorten the prompt or lower max_new_tokens")

    def seeds(self, seed: int) -> List[int]:
        """One sampling seed per prompt, from (seed, prompt): a sample does not depend on its batch."""
        return [int.from_bytes(hashlib.sha256(f"{seed}\x00{p}".encode()).digest()[:8], "little") >> 1
                for p in self.unique]

    def generators(self, temperature: float, seed: int) -> list:
        """One sampling generator per prompt, seeded by seeds()."""
        if temperature <= 0 or self.engine != "torch":
            return []
        torch = require_torch()
        gens = []
        for s in self.seeds(seed):
            g = torch.Generator(device=self.lm.device)
            g.manual_seed(s)
            gens.append(g)
        return gens

    def run(self, *, max_new_tokens: int, temperature: float, seed: int, batch_size: int, disable: bool) -> None:
        from ..progress import progress as progress_bar

        torch = require_torch()
        self.check(max_new_tokens)
        lm = self.lm
        order = sorted(range(len(self.unique)), key=lambda u: -len(self.encoded[u]))  # longest first: OOM shows at once
        gens = self.generators(temperature, seed)
        was_training = lm.model.training
        lm.model.eval()
        eos, flags = eos_ids(lm), forward_flags(lm.model, lm.device)
        self.bar = progress_bar(total=len(self.unique), desc=f"generate {lm.name}", unit="prompt", disable=disable, leave=False)
        self.done_tokens, self.t_start = 0, time.perf_counter()
        queue = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
        warned = False
        try:
            ct2 = ct2_engine.generator(lm) if self.engine == "int8" else None  # released when this call returns
            with torch.inference_mode(), blocked_vocab_head(lm.model, lm.device):
                while queue:
                    batch = queue.pop(0)
                    finished: Dict[int, Generation] = {}
                    try:
                        rows, on_done = [self.encoded[u] for u in batch], self._on_done(batch, eos, finished)
                        if self.engine == "int8":
                            seeds = self.seeds(seed)
                            ct2_engine.run_batch(lm, ct2, rows, max_new_tokens=max_new_tokens,
                                                 temperature=temperature, seeds=[seeds[u] for u in batch], eos=eos,
                                                 on_done=on_done)
                        else:
                            run_batch(lm, rows, max_new_tokens=max_new_tokens, temperature=temperature,
                                      generators=[gens[u] for u in batch] if gens else [], eos=eos,
                                      on_done=on_done, flags=flags)
                    except RuntimeError as exc:  # torch's out-of-memory error is a RuntimeError
                        if not is_oom(exc):
                            raise
                        queue = self._halved(batch, queue, finished, warned)
                        warned = True
                    finally:
                        self.deliver(finished)
        finally:
            self.bar.close()
            if was_training:
                lm.model.train()

    def _on_done(self, batch: List[int], eos: List[int], finished: Dict[int, Generation]):
        def on_done(k, ids, latency, finish):
            u = batch[k]
            body = [t for t in ids if t not in eos]
            text = self.lm.tokenizer.decode(body, skip_special_tokens=True).strip()
            finished[u] = Generation(self.unique[u], text, len(self.encoded[u]), len(ids), latency, False, finish)
            self.done_tokens += len(ids)
            self.bar.update(1)
            self.bar.set_postfix(tok_s=f"{self.done_tokens / max(time.perf_counter() - self.t_start, 1e-9):.1f}",
                                 refresh=False)

        return on_done

    def _halved(self, batch: List[int], queue: List[List[int]], finished: Dict[int, Generation],
                warned: bool) -> List[List[int]]:
        """After out-of-memory: the batch's unfinished prompts and the rest of the queue in batches half as big."""
        lm = self.lm
        if len(batch) == 1:
            raise LlmopsError(f"out of memory generating even one prompt of {len(self.encoded[batch[0]])} "
                              f"tokens on {lm.device}; lower max_new_tokens or use device='cpu'") from None
        half = max(1, len(batch) // 2)
        if not warned:
            warnings.warn(f"out of memory with a batch of {len(batch)} prompts on {lm.device}; "
                          f"retrying in batches of {half}", RuntimeWarning, stacklevel=4)
        if lm.device.startswith("cuda"):
            require_torch().cuda.empty_cache()
        rest = [u for u in batch if u not in finished]
        return [rest[i:i + half] for i in range(0, len(rest), half)] + \
            [b[i:i + half] for b in queue for i in range(0, len(b), half)]

    def deliver(self, finished: Dict[int, Generation]) -> None:
        """Put finished generations in the results, the cache and the log (right away, so Ctrl-C keeps them)."""
        if not finished:
            return
        cache_rows, log_rows = [], []
        store = self.store
        for u, g in finished.items():
            first = True
            for i in self.todo[self.unique[u]]:
                self.results[i] = g
                if self.keys[i] and first:
                    cache_rows.append((self.keys[i], g))
                    first = False
                log_rows.append(store.log_row(g, self.keys[i], i))
        store.save(cache_rows, log_rows)
        finished.clear()


# PREFILL_TOKENS and COMPACT_BELOW stay importable from here; decoding.py is where setting them takes effect.
__all__ = ["COMPACT_BELOW", "GEN_VERSION", "Generation", "Generations", "PREFILL_TOKENS", "clear_cache",
           "folder_fingerprint", "generate", "model_identity"]
