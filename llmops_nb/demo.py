"""`make demo`: the main job end to end on the embedded defaults (local workspace, pydoc corpus, MiniLM,
SmolLM2): the pipeline notebooks run with papermill as tracked runs, then the leaderboard is printed."""
from __future__ import annotations

import sys
import time
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PIPELINE = ["01_curate.ipynb", "02_index.ipynb", "03_finetune.ipynb", "04_compare.ipynb"]


def main(argv=None) -> int:
    from .batch.notebooks import run_notebook
    from .evals.compare import Comparison
    from .workspace import workspace

    quick = "--quick" in (argv if argv is not None else sys.argv[1:])
    ws = workspace()
    print(f"workspace: {ws.path}\nnotebooks: {NOTEBOOKS}\n", flush=True)
    params = {"03_finetune.ipynb": {"max_steps": 8}, "04_compare.ipynb": {"limit": 6}} if quick else {}
    t0 = time.time()
    outputs = []
    comparison_run = None
    for name in PIPELINE:
        t = time.time()
        print(f"▶ {name} ...", flush=True)
        res = run_notebook(NOTEBOOKS / name, params.get(name, {}))
        outputs.append(res.output)
        print(f"  {res.status} in {time.time() - t:.0f}s (run {res.run_id})", flush=True)
        if not res.ok:
            print(f"  error: {res.error}\n  partial output: {res.output}", file=sys.stderr)
            return 1
        comparison_run = res.records.get("comparison_run", comparison_run)
    print(f"\npipeline finished in {(time.time() - t0) / 60:.1f} min; output notebooks:")
    for p in outputs:
        print(f"  {p}")
    if comparison_run:
        comp = Comparison.load(comparison_run)
        print(f"\ncomparison report: run {comparison_run} "
              f"(llmops run show {comparison_run}; Comparison.load('{comparison_run}') in Python)\n")
        print(comp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
