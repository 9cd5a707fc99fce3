"""Every JSON payload the kit hands to a notebook or the panel is strict JSON, also when a number is infinite (a
diverged loss logged as inf, a record's metadata holding inf): extension/CONTRACT.md sends missing numbers as
null, and a kernel given Infinity warns in the cell ('Message serialization failed') and sends the string 'inf'."""
from __future__ import annotations

import json
import math

import pytest

import llmops_nb as L
from llmops_nb.charts import VEGALITE_MIME, Chart
from llmops_nb.display import TABLE_MIME
from llmops_nb.evals.comparison import MIME as COMPARISON_MIME, Comparison
from llmops_nb.index.results import MIME as SEARCH_MIME, SearchResults
from llmops_nb.tracking.runs import query_runs

INF, NINF = float("inf"), float("-inf")


def strict(payload):
    """The payload as strict JSON (raises on NaN and infinities), read back."""
    return json.loads(json.dumps(payload, allow_nan=False))


def test_runs_table_row_and_detail_send_infinite_metrics_as_null(ws):
    with L.start_run("diverged") as run:
        run.log_metric("loss", INF, step=0)
        run.log_metric("grad", NINF)
        run.log_metric("ok", 0.5)
    row = strict(L.runs()._repr_mimebundle_()[TABLE_MIME])["rows"][0]
    assert row["name"] == "diverged"
    assert row["metrics"] == {"grad": None, "loss": None, "ok": 0.5}, row
    page = strict(query_runs())
    assert page["runs"][0]["metrics"] == {"grad": None, "loss": None, "ok": 0.5}
    detail = strict(run.detail())
    assert detail["history"]["loss"][0][:2] == [0, None] and detail["metrics"]["ok"] == 0.5
    assert L.get_run(run.id).metrics["loss"] == INF, "the stored value is still inf; only the payload says null"


def test_chart_with_an_infinite_mean_is_strict_json_and_its_svg_draws_no_nan():
    chart = Chart("token_f1", [("a", INF, 0.1, INF), ("b", 0.5, 0.4, 0.6), ("c", math.nan, math.nan, math.nan)], "b")
    bundle = chart._repr_mimebundle_()
    spec = strict(bundle[VEGALITE_MIME])
    assert [v["mean"] for v in spec["data"]["values"]] == [None, 0.5, None]
    assert strict(chart.to_dict())["bars"][0]["high"] is None
    svg = bundle["image/svg+xml"]
    assert "nan" not in svg.lower() and "inf" not in svg.lower(), svg
    assert "width='0.0'" not in svg, "b's bar is drawn to the finite scale, not squashed to nothing by inf"


def test_search_hit_metadata_holding_inf_is_null_in_the_payload():
    rows = [{"id": "r1", "text": "some text", "chunk": 0, "start": 0, "end": 9,
             "metadata": {"weight": INF, "low": NINF, "n": 3}}]
    res = SearchResults(index="ix", query="text", keys=[1], scores=[0.5], fetch=lambda keys: rows, k=1)
    payload = strict(res._repr_mimebundle_()[SEARCH_MIME])
    assert payload["hits"][0]["metadata"] == {"weight": None, "low": None, "n": 3}
    assert strict(res.to_dict())["hits"][0]["metadata"]["weight"] is None


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # the bootstrap of inf
def test_comparison_payload_with_an_infinite_score_is_strict_json():
    rows = [{"example": e, "variant": v, "question": "q", "reference": "r", "output": "o",
             "token_f1": INF if v == "a" else 0.5} for e in range(3) for v in ("a", "b")]
    cmp = Comparison(rows, ["a", "b"], ["token_f1"], "b", {"eval_set": "x", "n_examples": 3}, None, 1.0)
    payload = strict(cmp._repr_mimebundle_()[COMPARISON_MIME])
    board = {r["variant"]: r["token_f1"]["mean"] for r in payload["leaderboard"]}
    assert board == {"a": None, "b": 0.5}
    strict(cmp.to_dict(max_examples=None))
