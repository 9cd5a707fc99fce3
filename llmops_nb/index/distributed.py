"""`build_index(..., workers=N | scheduler=ADDR)`: the texts an index build has to embed are embedded on Dask
workers, in exactly the groups a local build encodes together (`embeddings.slabs`), so every vector is the
one a local build computes; each group's vectors go into the embedding cache as they arrive, and the build then
proceeds locally, reading every vector from the cache. Nothing is indexed until all are there: a worker that
dies has its group retried once, and a second failure fails the build with the index untouched (the groups
already embedded stay cached, so a re-run does not embed them again).
"""
from __future__ import annotations

import os
from typing import Dict, List, Sequence

import numpy as np

from ..errors import LlmopsError
from .embeddings import EmbeddingCache, resolve_embedder, slabs, text_hash


def embed_group(workspace_path: str, model: str, texts: List[str], batch_size: int, backend: str) -> np.ndarray:
    """Executed in a Dask worker (importable, so spawned workers find it): one group's raw (unnormalized)
    vectors, as `embed` computes them on `backend`."""
    os.environ["LLMOPS_HOME"] = workspace_path
    os.environ.setdefault("LLMOPS_QUIET", "1")
    from ..workspace import reset_workspace

    reset_workspace()
    emb = resolve_embedder(model, backend)
    return np.asarray(emb.encode(texts, batch_size=batch_size, normalize=False), dtype=np.float32)


def embed_on_cluster(client, embedder, texts: Sequence[str], *, workspace_path: str, batch_size: int = 32,
                     progress: bool = True) -> int:
    """Embed the texts the cache lacks on the cluster and cache them; returns how many were embedded."""
    from dask.distributed import as_completed

    from ..progress import progress as progress_bar

    embedder = resolve_embedder(embedder)  # on the backend a local embed() would use (the setting, or pinned)
    hashes = [text_hash(t) for t in texts]
    first: Dict[bytes, int] = {}
    for i, h in enumerate(hashes):
        first.setdefault(h, i)
    store = EmbeddingCache(embedder)
    have = store.get(list(first))
    todo = [h for h in first if h not in have]
    if not todo:
        return 0
    groups = slabs(embedder, todo, [texts[first[h]] for h in todo])
    futures = {client.submit(embed_group, workspace_path, embedder.name, g, batch_size, embedder.backend,
                             pure=False, retries=1): i
               for i, (_, g) in enumerate(groups)}
    done = 0
    with progress_bar(total=len(todo), desc=f"embedding ({embedder.name}) on the Dask cluster", unit="text",
                      disable=not progress) as bar:
        for fut in as_completed(list(futures)):
            hs = groups[futures[fut]][0]
            try:
                vecs = fut.result()
            except Exception as exc:  # noqa: BLE001 - a worker died twice, or the cluster went away
                for other in futures:
                    other.cancel()
                raise LlmopsError(f"embedding on the Dask cluster failed ({type(exc).__name__}: {exc}); nothing was "
                                  f"indexed ({done} of {len(todo)} texts embedded and cached, a re-run reuses them)") from None
            store.put(hs, vecs)
            done += len(hs)
            bar.update(len(hs))
    return done


__all__ = ["embed_group", "embed_on_cluster"]
