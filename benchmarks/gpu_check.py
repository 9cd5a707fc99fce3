"""The full-size pipeline on a GPU: notebooks 01-04 through run_notebook (bf16 on CUDA), then the figures.

Run by benchmarks/gpu_check.sh. Writes OUT/gpu_figures.json after every stage (so a stage that fails or
runs out of time still leaves the figures before it) and copies the output notebooks into OUT.

    python -m benchmarks.gpu_check OUT [--small]     # --small: CPU-sized parameters, to try the script here
"""
from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"

# Full size: every training pair for 3 epochs, all 88 questions with 64 new tokens (the CPU demo trims these).
FULL = {
    "01_curate": {},
    "02_index": {"chunk_tokens": 128, "dtype": "f16"},
    "03_finetune": {"max_steps": 30, "epochs": 3, "batch_size": 16, "max_length": 256},
    "04_compare": {"max_new_tokens": 64, "limit": None},
}
SMALL = {
    "01_curate": {},
    "02_index": {},
    "03_finetune": {"max_steps": 2, "batch_size": 4, "max_length": 96},
    "04_compare": {"max_new_tokens": 8, "limit": 4},
}
PROMPTS = [f"Explain Python's {k} statement in one sentence." for k in (
    "for", "while", "try", "with", "import", "return", "yield", "raise", "del", "pass", "global", "assert",
    "break", "continue", "class", "def")]


def markdown(figs: dict) -> str:
    """The figures as the `## gpu` section of results.md."""
    lines = ["## gpu", "",
             "`benchmarks/gpu_check.sh`: notebooks 01-04 at full size through run_notebook on CUDA (bf16), then the",
             "figures (target: whole check < 8 min). Parameters: " +
             "; ".join(f"{nb} {p}" for nb, p in figs.get("parameters", {}).items() if p), "",
             f"_{figs.get('started', '')} · {figs.get('device_name')} · torch {figs.get('torch')} · "
             f"transformers {figs.get('transformers')}_", "",
             "| stage | seconds | figures |", "|---|---|---|"]
    for name, st in figs.get("stages", {}).items():
        if name.startswith("notebook "):
            rec = figs.get("notebooks", {}).get(name.split()[1], {}).get("records", {})
            what = ", ".join(f"{k}={v}" for k, v in rec.items() if k not in ("comparison_run", "curated_dataset"))
        elif name == "finetune figures":
            f = figs.get("finetune") or {}
            what = (f"LoRA {f.get('steps')} steps x batch 16: {f.get('tokens_per_s', 0):,.0f} tokens/s "
                    f"({f.get('steps_per_s', 0):.2f} steps/s, evals included)") if f else ""
        elif name == "generation":
            g = figs.get("generation") or {}
            what = ", ".join(f"{k}: {v['tokens_per_s']:,.0f} tok/s" for k, v in g.items())
        elif name == "index":
            i = figs.get("index") or {}
            what = (f"{i.get('vectors')} vectors, recall@10 {i.get('recall_at_10')}: HNSW {i.get('hnsw_qps', 0):,.0f} q/s "
                    f"vs exact {i.get('exact_qps', 0):,.0f} q/s; MiniLM {i.get('embed_passages_per_s', 0):,.0f} "
                    "passages/s (whole topics, truncated to 256 tokens)") if i else ""
        else:
            what = ""
        lines.append(f"| {name} | {st['s']}{'' if st['ok'] else ' (FAILED)'} | {what} |")
    lines += ["", f"Total: {figs.get('total_s')} s."]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    small = "--small" in args
    args = [a for a in args if a != "--small"]
    out = Path(args[0] if args else ROOT / "benchmarks" / ".cache" / "gpu").resolve()
    out.mkdir(parents=True, exist_ok=True)
    figs: dict = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "stages": {}}

    def save():
        (out / "gpu_figures.json").write_text(json.dumps(figs, indent=2, default=str))

    def stage(name, fn):
        t = time.perf_counter()
        try:
            value = fn()
            figs["stages"][name] = {"ok": True, "s": round(time.perf_counter() - t, 2)}
            return value
        except Exception as exc:  # keep going: later stages still give figures
            import traceback

            figs["stages"][name] = {"ok": False, "s": round(time.perf_counter() - t, 2),
                                    "error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()[-3000:]}
            print(f"[gpu_check] {name} FAILED: {type(exc).__name__}: {exc}", flush=True)
            return None
        finally:
            save()
            print(f"[gpu_check] {name}: {figs['stages'][name]['s']} s", flush=True)

    import torch

    import llmops_nb as L

    cuda = torch.cuda.is_available()
    figs.update(torch=torch.__version__, cuda=cuda,
                device_name=torch.cuda.get_device_name(0) if cuda else "cpu",
                transformers=__import__("transformers").__version__)
    device = "cuda" if cuda else "cpu"
    sizes = SMALL if small else FULL
    figs["parameters"] = sizes
    L.workspace()

    for nb, params in sizes.items():
        def run(nb=nb, params=params):
            res = L.run_notebook(NOTEBOOKS / f"{nb}.ipynb", params, device=device, progress=False)
            figs.setdefault("notebooks", {})[nb] = {"status": res.status, "duration_s": round(res.duration_s, 1),
                                                    "records": res.records, "error": res.error,
                                                    "failed_cell": res.failed_cell}
            if res.output and Path(res.output).exists():
                shutil.copy(res.output, out / f"{nb}.out.ipynb")
            if not res.ok:
                raise RuntimeError(f"{nb} failed in cell {res.failed_cell}: {res.error}")
            return res
        stage(f"notebook {nb}", run)

    def finetune_figures():
        from llmops_nb.models.finetune import registered_model

        m = registered_model("pydoc-lora").metrics
        figs["finetune"] = {k: m.get(k) for k in ("tokens_per_s", "steps_per_s", "train_time_s", "steps",
                                                   "train_loss", "eval_loss", "train_rows")}
    stage("finetune figures", finetune_figures)

    def generation():
        res = {}
        for bs, n in ((1, 8), (16, 64), (64, 64)):
            prompts = (PROMPTS * 4)[:n]
            L.generate("smollm2-135m-instruct", prompts[:2], max_new_tokens=4, batch_size=bs, cache=False,
                       progress=False)  # warm-up: the first call loads the model and its kernels
            g = L.generate("smollm2-135m-instruct", prompts, max_new_tokens=8 if small else 64, batch_size=bs,
                           cache=False, progress=False)
            res[f"batch{bs}"] = {"tokens_out": g.tokens_out, "wall_s": round(g.wall_s, 3),
                                 "tokens_per_s": round(g.tokens_per_s or 0.0, 1)}
        figs["generation"] = res
    stage("generation", generation)

    def index():
        ix = L.load_index("pydoc")
        rec = ix.recall(sample=500, k=10)
        figs["index"] = {"vectors": rec.size, "recall_at_10": round(rec.recall, 4),
                         "hnsw_qps": round(rec.hnsw_qps, 1), "exact_qps": round(rec.exact_qps, 1)}
        texts = [r["text"] for r in L.dataset("pydoc").records()]  # whole topics: each fills MiniLM's 256 tokens
        texts = (texts * (2048 // max(len(texts), 1) + 1))[:256 if small else 2048]
        emb = L.load_embedder()
        emb.encode(texts[:64])
        t = time.perf_counter()
        emb.encode(texts, batch_size=256)
        figs["index"]["embed_passages_per_s"] = round(len(texts) / (time.perf_counter() - t), 1)
    stage("index", index)

    figs["total_s"] = round(sum(s["s"] for s in figs["stages"].values()), 1)
    save()
    (out / "gpu_results.md").write_text(markdown(figs))
    summary = {k: figs.get(k) for k in ("device_name", "torch", "transformers", "total_s", "finetune", "generation",
                                        "index")}
    summary["notebooks"] = {k: (v["status"], v["duration_s"], v["records"]) for k, v in figs.get("notebooks", {}).items()}
    print(json.dumps(summary, indent=1, default=str))
    return 0 if all(s["ok"] for s in figs["stages"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
