"""Scale-out on Dask, on this 2-core box: what matters here is correctness and overhead, not speed (two
single-threaded workers share the same two cores a local run uses with two threads). (a) `build_index` of fresh
texts (nothing in the embedding cache; each arm gets its own texts of the same lengths) locally vs `workers=2` on
a LocalCluster started by the call (its start-up included, and measured on its own); vectors compared bit for
bit with a local embedding. (b) `compare` of one SmolLM2-135M variant on pydoc-qa questions, greedy, cache off,
locally vs `workers=2`; answers compared. A scaling estimate for N machines follows from the measured parts:
T(N) = cluster start + ceil(groups / N) x time per group + the local rest (chunking, HNSW, database), with a
group = 1,024 texts embedded in one call (a worker's unit of work); generation likewise per shard."""
from __future__ import annotations

import math
import os
import time
import uuid

import numpy as np

from .common import Row

_NOTES: list = []


def _texts(n: int, tag: str):
    words = "exceptions loops classes generators decorators context managers iterators modules packages".split()
    return [{"id": f"r{i}", "text": f"{tag} note {i}: " + " ".join(words[(i + j) % len(words)] for j in range(8 + i % 40))}
            for i in range(n)]


def _load() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


def _cluster_start_s() -> float:
    from llmops_nb.cluster import dask_client

    t = time.perf_counter()
    with dask_client(2, preload=("sentence_transformers",)) as client:
        client.run(lambda: None)
    return time.perf_counter() - t


def index_rows(quick: bool):
    import llmops_nb as L
    from llmops_nb.index.embeddings import EmbeddingCache, embed, text_hash
    from llmops_nb.models.loading import load_embedder

    n = 1100 if quick else 4096
    emb = load_embedder("all-minilm-l6-v2")
    embed(["warm-up"], emb, cache=False, progress=False)
    start = _cluster_start_s()
    local_recs, spread_recs = _texts(n, uuid.uuid4().hex), _texts(n, uuid.uuid4().hex)
    t = time.perf_counter()
    L.build_index(local_recs, name="local", progress=False)
    local_s = time.perf_counter() - t
    t = time.perf_counter()
    L.build_index(spread_recs, name="spread", workers=2, progress=False)
    spread_s = time.perf_counter() - t
    texts = [r["text"] for r in spread_recs]
    got = EmbeddingCache(emb).get([text_hash(x) for x in texts])
    same = np.array_equal(np.stack([got[text_hash(x)] for x in texts]),
                          embed(texts, emb, cache=False, normalize=False, progress=False))
    t = time.perf_counter()
    embed([r["text"] for r in _texts(n, uuid.uuid4().hex)], emb, cache=False, progress=False)
    embed_s = time.perf_counter() - t
    groups = math.ceil(n / 1024)
    per_group, rest = embed_s / groups, max(0.0, local_s - embed_s)
    est = {k: start + math.ceil(groups / k) * per_group + rest for k in (1, 2, 4, 8)}
    _NOTES.append(f"index build of {n:,} texts: {groups} groups, {per_group:.1f} s a group embedded locally with 2 "
                  f"threads, {rest:.1f} s of local rest, LocalCluster start {start:.1f} s; estimated wall time on N "
                  "machines (a group per machine per step, one thread each counted as the local two): " +
                  ", ".join(f"N={k}: {v:.0f} s" for k, v in est.items()) +
                  f"; the estimate is optimistic by the 2-thread vs 1-thread gap per worker. Load average {_load()}.")
    return [Row(f"index build, {n:,} fresh texts, workers=2 (LocalCluster start included)", "local build_index",
                local_s, spread_s, "s", higher_is_better=False, target="vectors identical; overhead measured",
                note=f"vectors bit-identical to a local embedding: {same}; cluster start alone {start:.1f} s; "
                     f"threads: local {_threads()}, workers 1 each; load {_load()}")]


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def compare_rows(quick: bool):
    import llmops_nb as L

    model = "tiny-gpt2" if quick else "smollm2-135m-instruct"
    opts = dict(limit=8 if quick else 16, max_new_tokens=16 if quick else 32, cache=False, progress=False,
                metrics=["token_f1"])
    L.compare("pydoc-qa", [f"zero-shot:{model}"], **{**opts, "limit": 2})  # load + warm the model here
    t = time.perf_counter()
    local = L.compare("pydoc-qa", [f"zero-shot:{model}"], **opts)
    local_s = time.perf_counter() - t
    t = time.perf_counter()
    spread = L.compare("pydoc-qa", [f"zero-shot:{model}"], workers=2, **opts)
    spread_s = time.perf_counter() - t
    same = [r["output"] for r in local.rows] == [r["output"] for r in spread.rows]
    shard = max(r["latency_s"] for r in spread.rows) * math.ceil(len(spread.rows) / 2)
    _NOTES.append(f"compare of {len(local.rows)} questions with {model}: {local_s:.1f} s locally, {spread_s:.1f} s on "
                  f"2 workers (each loads the model, ~{shard:.1f} s of generation per shard); on N machines a "
                  "comparison takes about cluster start + model load + (local generation time / N).")
    return [Row(f"compare, {len(local.rows)} questions x 1 variant ({model}), workers=2", "local compare", local_s,
                spread_s, "s", higher_is_better=False, target="answers identical; overhead measured",
                note=f"answers identical to the local run: {same}; load {_load()}")]


def run(quick: bool = False):
    _NOTES.clear()
    return index_rows(quick) + compare_rows(quick)


def extra() -> str:
    return "\n".join(f"- {n}" for n in _NOTES)
