"""`compare(..., workers=N)`: generate several variants at once, one process per worker.

On a CPU a small model's forward pass does not use two cores well (SmolLM2-135M here: 1.3x from a second
thread), so N processes with a thread each can generate more tokens per second than one process with N
threads (measured on 2 cores: 0.85x the time, as the two processes then share memory bandwidth).
Each worker loads the variant's model, generates its prompts through `generate` and so fills the response
cache of the workspace; `compare` then reads every output from that cache, in order, as if it had generated
it itself. Whole variants are the unit of work (largest first), so every batch is the batch a sequential run
would make and greedy outputs are the same. Variants whose outputs are all cached already are not sent.
"""
from __future__ import annotations

import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from typing import Any, List, Optional, Sequence, Tuple, Union

from ..errors import InputError, LlmopsError

# (label, model name, prompts)
Job = Tuple[str, str, List[str]]


def plan_workers(workers: Union[int, str, None], n_jobs: int, device: str = "auto") -> int:
    """How many worker processes: 1 (in-process) unless asked; "auto" is one per core on a CPU, up to the
    variants to generate, and 1 on a GPU (one model at a time uses it fully)."""
    if workers in (None, 1, "1"):
        return 1
    if isinstance(workers, str) and workers.strip().lower() == "auto":
        from ..models.loading import resolve_device

        if resolve_device(device)[0] != "cpu":
            return 1
        return max(1, min(n_jobs, os.cpu_count() or 1))
    try:
        n = int(workers)
    except (TypeError, ValueError):
        raise InputError(f"workers must be a number or 'auto', got {workers!r}") from None
    if n < 1:
        raise InputError(f"workers must be at least 1, got {n}")
    return max(1, min(n, n_jobs))


def _cost(job: Job, max_new_tokens: int) -> float:
    # prompt tokens (about 4 characters each) plus decoding, which costs about half a prompt token a step
    return sum(len(p) / 4 + 0.5 * max_new_tokens for p in job[2])


def _init(home: str, cache: Optional[str], threads: int) -> None:
    os.environ["LLMOPS_HOME"] = home
    if cache:
        os.environ["LLMOPS_CACHE"] = cache
    os.environ["LLMOPS_QUIET"] = "1"
    import torch

    torch.set_num_threads(threads)


def _generate_job(label: str, model: str, prompts: List[str], kw: dict) -> Tuple[str, int, float]:
    """In a worker: generate into the workspace's response cache. Returns (label, prompts, seconds)."""
    from ..models.generation import generate
    from ..models.loading import load_model

    t = time.perf_counter()
    lm = load_model(model, device=kw.pop("device", "auto"))
    generate(lm, prompts, progress=False, **kw)
    return label, len(prompts), time.perf_counter() - t


def prefetch(jobs: Sequence[Job], workers: int, *, max_new_tokens: int, temperature: float = 0.0, seed: int = 0,
             batch_size: int = 16, cache: bool = True, device: str = "auto", progress: bool = True) -> float:
    """Generate `jobs` in `workers` processes (spawned, one torch thread per core share). Returns seconds."""
    import multiprocessing

    from tqdm.auto import tqdm

    from ..config import progress_disabled
    from ..workspace import workspace

    ws = workspace()
    threads = max(1, (os.cpu_count() or 1) // workers)
    kw = {"max_new_tokens": max_new_tokens, "temperature": temperature, "seed": seed, "batch_size": batch_size,
          "cache": cache, "device": device}
    order = sorted(jobs, key=lambda j: -_cost(j, max_new_tokens))
    total = sum(len(j[2]) for j in order)
    t0 = time.perf_counter()
    bar = tqdm(total=total, unit="prompt", desc=f"generate {len(order)} variants in {workers} processes",
               disable=not progress or progress_disabled())
    ctx = multiprocessing.get_context("spawn")  # a fresh interpreter: forking a process with torch threads hangs
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init,
                               initargs=(str(ws.path), str(ws.cache_dir), threads))
    try:
        pending = {pool.submit(_generate_job, label, model, list(prompts), dict(kw)): label
                   for label, model, prompts in order}
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                label = pending.pop(fut)
                try:
                    _, n, _ = fut.result()
                except LlmopsError:
                    raise
                except Exception as exc:
                    raise LlmopsError(f"variant {label}: generation failed in a worker process "
                                      f"({type(exc).__name__}: {exc}); outputs that finished are cached; "
                                      "rerun with workers=1 to see it in this process") from None
                bar.update(n)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        bar.close()
    pool.shutdown(wait=True)
    return time.perf_counter() - t0


__all__ = ["plan_workers", "prefetch"]
