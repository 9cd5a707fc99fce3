"""HNSW settings at 1M, plain usearch: build time and the recall / queries-per-second curve of each setting on the
index benchmark's synthetic vectors (`bench_index.synthetic`, 1,000,000 x 384 plus 200 held-out queries, exact
top-10 by numpy as the truth). Run by hand, one setting per process, on an otherwise idle machine:

    python -m benchmarks.sweep_index f16 16 64       # dtype, connectivity, expansion_add
    python -m benchmarks.sweep_index i8 16 64 --rerank 40

`--rerank C` searches C candidates in the index and orders them by exact f16 dot products (a full-precision copy
of the vectors beside an i8 graph). Each setting takes 3-6 minutes and ~2.5 GB; it is not part of `make bench`.
Figures go to the `index-scale` section of results.md by hand.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from .bench_index import numpy_topk, recall_at_k, synthetic
from .common import CACHE

N, N_QUERIES, K = 1_000_000, 200, 10


def data():
    """The vectors and the exact top-10 of each query, cached under the bench cache."""
    CACHE.mkdir(parents=True, exist_ok=True)
    vec_path, truth_path = CACHE / f"synth-{N}.npy", CACHE / f"synth-{N}-truth.npy"
    x = np.load(vec_path) if vec_path.exists() else synthetic(N + N_QUERIES)
    if not vec_path.exists():
        np.save(vec_path, x)
    base, queries = x[:N], x[N:]
    if truth_path.exists():
        truth = np.load(truth_path)
    else:
        truth = np.stack([numpy_topk(base, q, K) for q in queries])
        np.save(truth_path, truth)
    return base, queries, truth


def main(argv=None) -> None:
    from usearch.index import Index

    ap = argparse.ArgumentParser(prog="python -m benchmarks.sweep_index")
    ap.add_argument("dtype", choices=["f32", "f16", "i8"])
    ap.add_argument("connectivity", type=int)
    ap.add_argument("expansion_add", type=int)
    ap.add_argument("--rerank", type=int, default=0, help="candidates re-ordered by exact f16 scores (0: off)")
    args = ap.parse_args(argv)
    base, queries, truth = data()
    full = base.astype(np.float16) if args.rerank else None
    ix = Index(ndim=base.shape[1], metric="cos", dtype=args.dtype, connectivity=args.connectivity,
               expansion_add=args.expansion_add)
    load0 = os.getloadavg()[0]
    t, cpu = time.perf_counter(), time.process_time()
    ix.add(np.arange(N, dtype=np.uint64), base, threads=2)
    print(f"build {args.dtype} connectivity {args.connectivity} expansion_add {args.expansion_add}: "
          f"{time.perf_counter() - t:.1f} s wall, {time.process_time() - cpu:.0f} CPU s, 2 threads, "
          f"load {load0:.2f} -> {os.getloadavg()[0]:.2f}", flush=True)

    def search(q):
        if not args.rerank:
            return ix.search(q, K).keys
        keys = ix.search(q, args.rerank).keys.astype(np.int64)
        return keys[np.argsort(-(full[keys].astype(np.float32) @ q))[:K]]

    for es in (64, 128, 192, 256, 384, 512):
        ix.expansion_search = es
        rec = recall_at_k([search(q) for q in queries], truth, K)
        n, t = 0, time.perf_counter()
        while time.perf_counter() - t < 1.5:
            for q in queries:
                search(q)
                n += 1
        print(f"  expansion_search {es}: recall@10 {rec:.3f}, {n / (time.perf_counter() - t):,.0f} queries/s", flush=True)


if __name__ == "__main__":
    main()
