#!/usr/bin/env bash
# Full-size pipeline on a GPU machine (target < 8 min): fine-tune tokens/s, generation tokens/s, index QPS.
# Usage: bash benchmarks/gpu_check.sh [OUT_DIR]   (bootstraps .venv like `make test`; figures -> OUT_DIR/gpu_figures.json)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-${OUT:-benchmarks/.cache/gpu}}
mkdir -p "$OUT"
make install >/dev/null
export LLMOPS_HOME="$OUT/ws" LLMOPS_CACHE="$PWD/.cache/llmops" LLMOPS_QUIET=1
.venv/bin/python - "$OUT" <<'PY'
import json, sys, time
import numpy as np, torch
import llmops_nb as L
from llmops_nb.data.eval import train_set_path
out = sys.argv[1]
figs = {"cuda": torch.cuda.is_available(), "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"}
L.seed(0)
pairs = L.load_dataset(train_set_path(), name="pydoc-train")
t = time.time()
ft = L.finetune("smollm2-135m-instruct", pairs, method="lora", epochs=3, batch_size=16, max_length=256, name="gpu-lora", device="auto")
figs["finetune_s"] = time.time() - t
figs["finetune_metrics"] = {k: float(v) for k, v in ft.metrics.items() if isinstance(v, (int, float))}
prompts = [f"Explain Python's {k} statement in one sentence." for k in ("for", "while", "try", "with", "import", "return",
           "yield", "raise", "del", "pass", "global", "assert", "break", "continue", "class", "def")] * 4
for bs in (1, 16, 64):
    t = time.time()
    g = L.generate("smollm2-135m-instruct", prompts if bs > 1 else prompts[:8], max_new_tokens=64, batch_size=bs, cache=False)
    figs[f"generate_tok_s_batch{bs}"] = sum(x.tokens_out for x in g) / (time.time() - t)
ds = L.load_dataset("pydoc", name="pydoc")
ix = L.build_index(ds, name="pydoc", chunk_tokens=128, dtype="f16")
rec = ix.recall(sample=500, k=10)
figs["index_recall_at_10"], figs["index_hnsw_qps"], figs["index_exact_qps"] = rec.recall, rec.hnsw_qps, rec.exact_qps
comp = L.compare("pydoc-qa", ["zero-shot:smollm2-135m-instruct", "rag:smollm2-135m-instruct:pydoc:3", "ft:gpu-lora",
                              "ft:gpu-lora+rag:pydoc:3"], max_new_tokens=48)
figs["leaderboard"] = comp.to_dict()["leaderboard"]
json.dump(figs, open(f"{out}/gpu_figures.json", "w"), indent=2, default=str)
print(json.dumps({k: v for k, v in figs.items() if k != "leaderboard"}, indent=2, default=str)); print(comp)
PY
