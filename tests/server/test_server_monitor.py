"""The monitoring routes against a real jupyter_server: traces (filters, paging, clipping), traces/<id> (the trace
view), monitor (models with their last verdict, a model's last report, POST to run one), all behind the token and,
for the POST, the XSRF check; bad input as one-line JSON errors."""
from __future__ import annotations

import json
import random
import time

import pytest
from server_harness import XSS, cookie_opener, json_error

from benchmarks.prompt_pools import pool


@pytest.fixture(scope="module")
def logged(server):
    """120 traced calls of 'bot' (files-and-OS texts, then network texts), one with an <img onerror> prompt and a
    long output, and 3 of 'other-bot', in the server's workspace."""
    import llmops_nb as L
    from llmops_nb.workspace import workspace

    workspace(server.home)
    rng = random.Random(0)

    @L.trace(model="bot", tags={"team": "support"})
    def ask(q):
        return ("x" * 3000) if q == XSS else "Answer: " + q

    for q in rng.sample(list(pool("files")), 60):
        ask(q)
    time.sleep(0.02)
    server.ids["split"] = str(time.time())
    time.sleep(0.02)
    for q in rng.sample(list(pool("net")), 59) + [XSS]:
        ask(q)
    with L.trace(model="other-bot") as t:
        for i in range(3):
            t.log(prompt=f"q{i}", output=f"a{i}")
    return server


def test_traces_lists_newest_first_with_filters_paging_and_clipping(logged):
    page = logged.api("traces", params={"model": "bot", "limit": 5}).data
    assert page["version"] == 1 and (page["limit"], page["offset"]) == (5, 0) and len(page["rows"]) == 5
    assert page["total"] == 120
    first = page["rows"][0]
    assert first["prompt"] == XSS, "newest first: the last call logged"
    assert first["output"].startswith("x" * 1000) and "more characters" in first["output"] and len(first["output"]) < 1100
    assert first["tags"] == {"team": "support"} and first["source"] == "trace"
    nxt = logged.api("traces", params={"model": "bot", "limit": 5, "offset": 5}).data["rows"]
    assert not {r["id"] for r in nxt} & {r["id"] for r in page["rows"]}
    assert len(logged.api("traces", params={"model": "other-bot"}).data["rows"]) == 3
    assert len(logged.api("traces", params={"tag": "team=support", "limit": 500}).data["rows"]) == 120
    assert len(logged.api("traces", params={"since": logged.ids["split"], "model": "bot"}).data["rows"]) == 50


@pytest.mark.parametrize("params, status, words", [
    ({"model": "bott"}, 404, "did you mean 'bot'"),
    ({"limit": "0"}, 400, "limit"),
    ({"limit": "lots"}, 400, "limit"),
    ({"since": "soon"}, 400, "since must be"),
    ({"tag": "novalue"}, 400, "KEY=VALUE"),
    ({"run": "../../etc"}, 400, "invalid run id"),
])
def test_bad_traces_arguments_are_one_line_errors(logged, params, status, words):
    assert words in json_error(logged.api("traces", params=params), status)


def test_trace_view_has_the_full_text_escaped_nowhere_but_as_data(logged):
    newest = logged.api("traces", params={"model": "bot", "limit": 1}).data["rows"][0]
    view = logged.api(f"traces/{newest['id']}").data
    assert view["prompt"] == XSS and view["output"] == "x" * 3000 and view["passages"] == []
    assert view["model"] == "bot" and view["text_mode"] == "full" and view["tags"] == {"team": "support"}
    assert "traces() lists the ids" in json_error(logged.api("traces/999999"), 404)
    assert "call id" in json_error(logged.api("traces/abc"), 400)
    assert json_error(logged.api("traces/..%2F..%2Fetc"), 400)


def test_monitor_lists_models_runs_a_report_and_keeps_its_verdict(logged):
    models = {m["model"]: m for m in logged.api("monitor").data["models"]}
    assert models["bot"]["calls"] == 120 and models["other-bot"]["calls"] == 3
    assert models["other-bot"]["verdict"] is None and models["bot"]["errors"] == 0
    assert "has not been checked yet" in json_error(logged.api("monitor", params={"model": "other-bot"}), 404)
    report = logged.api("monitor", method="POST", data=json.dumps(
        {"model": "bot", "since": logged.ids["split"]}).encode()).data
    assert report["version"] == 1 and report["model"] == "bot" and report["flagged"] is True
    assert report["drift"]["prompt"]["p_value"] <= 0.01 and report["current"]["volume"] == 60
    assert len(report["drift"]["prompt"]["examples"]) == 5
    saved = logged.api("monitor", params={"model": "bot"}).data
    assert saved["created_at"] == report["created_at"] and saved["verdict"] == report["verdict"]
    assert {m["model"]: m for m in logged.api("monitor").data["models"]}["bot"]["verdict"] == "drift"


@pytest.mark.parametrize("body, words", [
    (b"[1, 2]", "JSON object"),
    (b"{not json", "JSON object"),
    (json.dumps({"model": "bot", "evil": 1}).encode(), "unknown field 'evil'"),
    (json.dumps({"model": ["bot"]}).encode(), "must be a string or a number"),
    (json.dumps({"model": "nobody"}).encode(), "unknown model 'nobody'"),
    (json.dumps({"sample": 3}).encode(), "sample must be"),
    (json.dumps({"sample": True}).encode(), "must be a string or a number"),
])
def test_bad_monitor_requests_are_one_line_errors(logged, body, words):
    reply = logged.api("monitor", method="POST", data=body)
    assert words in json_error(reply, 404 if "unknown model" in words else 400)


def test_monitor_routes_need_the_token_and_the_post_needs_xsrf(logged):
    for route in ("traces", "traces/1", "monitor"):
        reply = logged.api(route, token=False)
        assert reply.status in (401, 403) and "bot" not in reply.text
    opener, xsrf = cookie_opener(logged)
    body = json.dumps({"model": "other-bot"}).encode()
    assert logged.api("monitor", token=False, opener=opener, method="POST", data=body).status == 403
    ok = logged.api("monitor", token=False, opener=opener, method="POST", data=body, headers={"X-XSRFToken": xsrf})
    assert ok.status == 200 and ok.data["status"] == "insufficient data"
    nulls = logged.api("monitor", method="POST", data=json.dumps({"model": "bot", "sample": None,
                                                                  "reference": None}).encode())
    assert nulls.status == 200, nulls.text
