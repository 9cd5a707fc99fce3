"""compare(..., workers=N): eval examples sharded over a real Dask LocalCluster, the answers identical to a local
run (real SmolLM2, greedy), the calls logged under the comparison's run, bad cluster options refused before any
work."""
import pytest

import llmops_nb as L
from llmops_nb.errors import InputError
from llmops_nb.evals.sharded import shard_bounds

MODEL = "smollm2-135m-instruct"


def test_shards_are_contiguous_near_equal_and_never_empty():
    assert shard_bounds(10, 3) == [(0, 4), (4, 7), (7, 10)]
    assert shard_bounds(2, 5) == [(0, 1), (1, 2)]
    assert shard_bounds(7, 1) == [(0, 7)]


@pytest.mark.filterwarnings("ignore::llmops_nb.errors.LlmopsWarning")
def test_a_comparison_sharded_over_two_workers_answers_as_the_local_run(ws, smollm2):
    variants = [f"zero-shot:{MODEL}", f"few-shot:{MODEL}:1"]
    opts = dict(limit=5, max_new_tokens=10, progress=False, cache=False, metrics=["token_f1"])
    local = L.compare("pydoc-qa", variants, **opts)
    spread = L.compare("pydoc-qa", variants, workers=2, **opts)
    key = ("variant", "example", "output", "tokens", "prompt")
    assert [tuple(r[k] for k in key) for r in spread.rows] == [tuple(r[k] for k in key) for r in local.rows]
    assert any(r["output"] for r in spread.rows), "SmolLM2 answers something"
    assert spread.summary == local.summary
    assert spread.params["workers"] == 2 and local.params.get("workers") is None
    # each worker logged its calls under the comparison's run, as a local run does
    logged = ws.db.execute("SELECT COUNT(*) FROM generations WHERE run_id=?", (spread.run_id,)).fetchone()[0]
    assert logged == len(spread.rows)
    again = L.compare("pydoc-qa", variants, workers=2, **{**opts, "cache": True})
    assert all(r["cached"] for r in again.rows), "what the workers generated is in the workspace's response cache"


def test_cluster_options_are_refused_before_any_run_starts(ws):
    before = len(L.runs())
    with pytest.raises(InputError, match="workers must be"):
        L.compare("pydoc-qa", [f"zero-shot:{MODEL}"], workers=0, limit=1, progress=False)
    with pytest.raises(InputError, match=r"--scheduler 'bogus://x': unknown scheme 'bogus://'"):
        L.compare("pydoc-qa", [f"zero-shot:{MODEL}"], scheduler="bogus://x", limit=1, progress=False)
    with pytest.raises(InputError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        L.compare("pydoc-qa", [f"zero-shot:{MODEL}"], scheduler="tcp://127.0.0.1:9", limit=1, progress=False)
    assert len(L.runs()) == before


def test_cli_and_magic_take_workers_and_scheduler(ws, run_cli, ipy):
    p = run_cli("compare", "--variant", "zero-shot:tiny-gpt2", "--limit", "1", "--workers", "0", check=2)
    assert "workers must be" in p.stderr and "Traceback" not in p.stderr
    p = run_cli("compare", "--variant", "zero-shot:tiny-gpt2", "--limit", "1", "--scheduler", "bogus://x", check=2)
    assert "unknown scheme 'bogus://'" in p.stderr
    ipy.run("%llmops compare --variant zero-shot:tiny-gpt2 --limit 2 --max-new-tokens 2 --workers 2 "
            "--metric token_f1 -q -o c")
    assert ipy.ns["c"].params["workers"] == 2 and len(ipy.ns["c"].rows) == 2
