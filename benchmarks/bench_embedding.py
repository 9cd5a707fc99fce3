"""Embedding backends: MiniLM on real sentences of Python's stdlib docstrings and reference topics (the index
benchmark's set, last 512), batch 32, through plain `SentenceTransformer.encode` (torch fp32, the baseline) and
our ONNX Runtime backends (`embed_backend` = onnx: fp32 with ORT's BERT fusion; onnx-int8: per-channel dynamic int8,
FFN output projections kept fp32), at 1 and 2 ORT intra-op threads, plus `embed()` end to end (hash, sort, no cache).
Interleaved rounds in one process, rotating the order; medians. Quality: cosine of each text's vector to the torch
vector, and top-10 neighbour agreement (the 10 nearest other sentences, torch vs backend)."""
from __future__ import annotations

import os
import statistics
import time
from typing import Callable, Dict, List

import numpy as np

from .common import Row

_notes: List[str] = []


def _agreement(ref: np.ndarray, other: np.ndarray, k: int = 10) -> float:
    s1, s2 = ref @ ref.T, other @ other.T
    np.fill_diagonal(s1, -9)
    np.fill_diagonal(s2, -9)
    a, b = np.argsort(-s1, 1)[:, :k], np.argsort(-s2, 1)[:, :k]
    return float(np.mean([len(set(a[i]) & set(b[i])) / k for i in range(len(a))]))


def run(quick: bool = False) -> List[Row]:
    import torch
    from sentence_transformers import SentenceTransformer

    from llmops_nb.index.embeddings import embed, resolve_embedder
    from llmops_nb.index.onnx_embed import default_threads
    from llmops_nb.models.loading import embedder_folder

    from .bench_index import real_sentences

    _notes.clear()
    sents = real_sentences()[-(256 if quick else 512):]
    folder, _ = embedder_folder("all-minilm-l6-v2")
    plain = SentenceTransformer(str(folder), device="cpu")
    torch_threads = torch.get_num_threads()
    int8 = resolve_embedder("all-minilm-l6-v2", "onnx-int8").load()  # exported once per machine into LLMOPS_CACHE
    fp32 = resolve_embedder("all-minilm-l6-v2", "onnx").load()
    runs: Dict[str, Callable[[], np.ndarray]] = {
        "torch": lambda: plain.encode(sents, batch_size=32, normalize_embeddings=True, convert_to_numpy=True),
        "onnx-int8 2t": lambda: int8.encode(sents, batch_size=32, threads=2),
        "onnx-int8 1t": lambda: int8.encode(sents, batch_size=32, threads=1),
        "onnx 2t": lambda: fp32.encode(sents, batch_size=32, threads=2),
        "onnx 1t": lambda: fp32.encode(sents, batch_size=32, threads=1),
        "embed() onnx-int8": lambda: embed(sents, backend="onnx-int8", cache=False, progress=False),
    }
    vecs = {name: fn() for name, fn in runs.items()}  # warm-up, and the vectors compared below
    load_before = os.getloadavg()
    times: Dict[str, List[float]] = {name: [] for name in runs}
    names = list(runs)
    for r in range(2 if quick else 3):
        for name in names[r % len(names):] + names[:r % len(names)]:
            t = time.perf_counter()
            runs[name]()
            times[name].append(time.perf_counter() - t)
    load_after = os.getloadavg()
    rate = {name: len(sents) / statistics.median(ts) for name, ts in times.items()}
    ref = vecs["torch"]
    rows = []
    for name in names[1:]:
        cos = (vecs[name] * ref).sum(1)
        agree = _agreement(ref, vecs[name])
        target = ">= 1.5x (goal 2x), cosine >= 0.99, agreement >= 0.90" if "int8" in name else ""
        rows.append(Row(f"embed {len(sents):,} real sentences, {name}", f"SentenceTransformer.encode ({torch_threads}t)",
                        rate["torch"], rate[name], "texts/s", target=target,
                        note=f"cosine to torch mean {cos.mean():.4f} (min {cos.min():.4f}); top-10 agreement {agree:.3f}"))
    _notes.append(f"Threads: torch {torch_threads} (SentenceTransformer.encode), ORT intra-op as named (`embed()` picks "
                  f"{default_threads()} for batches, 1 for <= 4 texts); {os.cpu_count()} cores. Load average (1/5/15 min) before the timed "
                  f"rounds {load_before[0]:.1f}/{load_before[1]:.1f}/{load_before[2]:.1f}, after "
                  f"{load_after[0]:.1f}/{load_after[1]:.1f}/{load_after[2]:.1f} (other jobs share these cores). "
                  f"{len(times['torch'])} interleaved rounds, medians; per-round texts/s: "
                  + "; ".join(f"{n} " + "/".join(f"{len(sents) / t:.0f}" for t in ts) for n, ts in times.items()) + ".")
    return rows


def extra() -> str:
    return "\n\n".join(_notes)
