"""`compare(..., workers=N | scheduler=ADDR)`: one variant's prompts split into contiguous shards, each generated
on a Dask worker with the same model, settings and greedy decoding, then put back in order. Greedy outputs do not
depend on which prompts share a batch (the batched path is tested identical to a per-example loop), so the
answers are the local run's. Every worker writes the workspace's response cache and generation log as a local run
does, stamped with the comparison's run, so a re-run is served from the cache and `monitor` sees the calls.
"""
from __future__ import annotations

import os
from typing import Any, Dict, List, Optional, Sequence

from ..errors import LlmopsError


def shard_bounds(n: int, shards: int) -> List[tuple]:
    """[start, end) of `shards` contiguous, near-equal parts of n items (no empty part)."""
    shards = max(1, min(shards, n))
    size, extra = divmod(n, shards)
    out, start = [], 0
    for i in range(shards):
        end = start + size + (1 if i < extra else 0)
        out.append((start, end))
        start = end
    return out


def generate_shard(workspace_path: str, run_id: Optional[str], model: str, prompts: List[str],
                   context: Optional[list], options: Dict[str, Any]) -> list:
    """Executed in a Dask worker (importable, so spawned workers find it): the Generation of each prompt."""
    from ..tracking.runs import RUN_ENV_VAR

    os.environ["LLMOPS_HOME"] = workspace_path
    os.environ.setdefault("LLMOPS_QUIET", "1")
    if run_id:
        os.environ[RUN_ENV_VAR] = run_id
    from ..workspace import reset_workspace

    reset_workspace()
    from ..models.generation import generate

    return list(generate(model, prompts, context=context, progress=False, **options).items)


def generate_on_cluster(client, model: str, prompts: Sequence[str], *, context: Optional[Sequence[Any]],
                        options: Dict[str, Any], workspace_path: str, run_id: Optional[str], shards: int,
                        label: str = "", progress: bool = True) -> list:
    """Generations of `prompts` in order, computed in `shards` contiguous parts on the cluster's workers. A
    failed shard is retried once on the cluster; a second failure fails the comparison with its reason."""
    from ..progress import progress as progress_bar

    bounds = shard_bounds(len(prompts), shards)
    ctx = list(context) if context is not None else None

    def submit(a: int, b: int):
        return client.submit(generate_shard, workspace_path, run_id, model, list(prompts[a:b]),
                             ctx[a:b] if ctx is not None else None, options, pure=False, retries=1)

    futures = [submit(a, b) for a, b in bounds]
    out: List[list] = [[] for _ in bounds]
    with progress_bar(total=len(prompts), desc=f"generating {label or model} on {len(bounds)} workers",
                      unit="prompt", disable=not progress) as bar:
        for i, fut in enumerate(futures):
            try:
                out[i] = fut.result()
            except LlmopsError:
                raise
            except Exception as exc:  # noqa: BLE001 - a worker died twice, or the cluster went away
                raise LlmopsError(f"generation of {label or model} failed on the Dask cluster "
                                  f"(shard {i + 1} of {len(bounds)}: {type(exc).__name__}: {exc}); nothing was "
                                  "scored; run again, or without workers") from None
            bar.update(bounds[i][1] - bounds[i][0])
    gens = [g for part in out for g in part]
    if len(gens) != len(prompts):
        raise LlmopsError(f"the cluster returned {len(gens)} generations for {len(prompts)} prompts; nothing was scored")
    return gens


__all__ = ["generate_on_cluster", "generate_shard", "shard_bounds"]
