"""`make demo`: the main job end to end on the embedded defaults (local workspace, pydoc corpus).

Grows with each capability; today: load the pydoc topics, track a run over them, print the runs table.
"""
from __future__ import annotations

import sys


def main() -> int:
    import llmops_nb as L
    from pydoc_data.topics import topics

    ws = L.workspace()
    print(f"workspace: {ws.path}")
    with L.start_run("demo-smoke", params={"corpus": "pydoc_data.topics"}, seed=0) as run:
        texts = [topics[k] for k in sorted(topics)]
        run.log_metric("topics", len(texts))
        run.log_metric("characters", sum(map(len, texts)))
        run.log_metric("mean_words", sum(len(t.split()) for t in texts) / len(texts))
    print(f"logged run {run.id}\n")
    print(L.runs(last=10))
    return 0


if __name__ == "__main__":
    sys.exit(main())
