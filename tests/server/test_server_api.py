"""The REST API under /llmops/api/ against a real jupyter_server on 127.0.0.1 (conftest.py starts it over a filled
workspace): every route's shape (extension/CONTRACT.md), filters, sort and paging of runs, authentication and
XSRF, traversal attempts, bad values as one-line 400s and unknown names as 404s with did-you-mean."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from server_harness import SECRET, XSS, cookie_opener, json_error

ROW_KEYS = {"id", "name", "kind", "status", "started_at", "ended_at", "duration_s", "params", "metrics", "tags",
            "parent_id"}
DETAIL_KEYS = ROW_KEYS | {"history", "artifacts", "environment", "records", "error", "notebook", "comparison"}
TRAVERSALS = ["..%2F..%2Fetc%2Fpasswd", "..%2F..%2Fsecret.txt", "..%2Fsecret.txt", "%2Fetc%2Fpasswd", "..",
              "..%5C..%5Csecret.txt"]




def _mine(runs):
    return [r for r in runs if r["kind"] == "run"]


# ---- runs ---------------------------------------------------------------------------------------------
def test_runs_lists_rows_of_the_contract_shape(server):
    reply = server.api("runs")
    assert reply.status == 200 and reply.headers["Content-Type"].startswith("application/json")
    page = reply.data
    assert set(page) >= {"total", "offset", "limit", "runs"} and page["version"] == 1
    assert (page["offset"], page["limit"]) == (0, 50) and page["total"] >= 4
    by_name = {r["name"]: r for r in page["runs"]}
    a = by_name["train-a"]
    assert set(a) == ROW_KEYS
    assert a["params"] == {"lr": 0.1, "layers": 2} and a["tags"] == {"stage": "dev", "epochs": 3}
    assert a["metrics"]["loss"] == pytest.approx(0.2) and a["metrics"]["weird"] is None, "inf is sent as null"
    assert by_name["child-of-a"]["parent_id"] == server.ids["a"] and a["parent_id"] is None
    assert by_name["broken"]["status"] == "failed"
    assert "Infinity" not in reply.text and "NaN" not in reply.text
    started = [r["started_at"] for r in page["runs"]]
    assert started == sorted(started, reverse=True), "newest first by default"


def test_runs_filters_sort_and_paging(server):
    def names(**params):
        reply = server.api("runs", params={"kind": "run", **params})
        assert reply.status == 200, reply.text
        return [r["name"] for r in reply.data["runs"]], reply.data["total"]

    assert names(name="train-a") == (["train-a"], 1)
    assert names(status="failed") == (["broken"], 1)
    assert names(tag="stage=prod") == (["train-b"], 1)
    assert names(tag="epochs=3") == (["train-a"], 1), "a number tag matches its text"
    assert sorted(names(tag="stage=dev")[0]) == ["broken", "child-of-a", "train-a"]
    assert names(tag=["stage=dev", "epochs"]) == (["train-a"], 1), "several tags: all must hold"
    assert names(tag="nope") == ([], 0)
    assert names(sort="name")[0] == ["broken", "child-of-a", "train-a", "train-b"]
    assert names(sort="-name")[0] == ["train-b", "train-a", "child-of-a", "broken"]
    assert names(sort="-duration_s")[0][0] == "train-b"
    assert names(sort="status,name")[0][:2] == ["broken", "child-of-a"], "failed sorts before finished"
    page, total = names(sort="name", limit=2, offset=1)
    assert page == ["child-of-a", "train-a"] and total == 4
    assert names(sort="name", offset=10) == ([], 4)


@pytest.mark.parametrize("params, words", [
    ({"limit": "0"}, "limit must be a whole number from 1 to 500, got 0"),
    ({"limit": "501"}, "limit must be a whole number from 1 to 500"),
    ({"limit": "ten"}, "got 'ten'"),
    ({"offset": "-1"}, "offset must be a whole number >= 0"),
    ({"offset": "1.5"}, "offset must be a whole number"),
    ({"sort": "id; DROP TABLE runs"}, "cannot sort runs by 'id; DROP TABLE runs'"),
    ({"sort": "-pid"}, "use one of started_at, name, kind, status, duration_s"),
    ({"status": "done"}, "unknown run status 'done'"),
    ({"tag": "=x"}, "a tag needs a name"),
])
def test_bad_runs_arguments_are_one_line_400s(server, params, words):
    assert words in json_error(server.api("runs", params=params), 400)
    assert server.api("runs").data["total"] >= 4, "the table is still there"


def test_run_detail_has_history_artifacts_environment_and_notebook(server):
    reply = server.api(f"runs/{server.ids['a']}")
    assert reply.status == 200, reply.text
    d = reply.data
    assert set(d) - {"version"} == DETAIL_KEYS and d["version"] == 1
    assert [p[:2] for p in d["history"]["loss"]] == [[i, pytest.approx(1 / (i + 1))] for i in range(5)]
    assert [p[:2] for p in d["history"]["acc"]] == [[0, 0.5], [1, 0.75]] and d["history"]["weird"][0][1] is None
    assert all(isinstance(p[2], float) for p in d["history"]["loss"])
    rel = f"artifacts/{server.ids['a']}/output-made.ipynb"
    assert d["artifacts"] == {"output-made.ipynb": rel}, "artifacts are paths relative to the workspace"
    assert d["notebook"] == f".llmops/{rel}", "the output notebook relative to the server's root_dir"
    assert d["environment"]["python"] and d["records"] == {"note": "hello <b>there</b>"}
    assert d["comparison"] is False and d["error"] is None and d["status"] == "finished"
    short = server.api(f"runs/{server.ids['a'][:6]}")
    assert short.status == 200 and short.data["id"] == server.ids["a"], "a unique prefix is enough"
    assert server.api(f"runs/{server.ids['a'].upper()}").data["id"] == server.ids["a"]
    broken = server.api(f"runs/{server.ids['broken']}").data
    assert broken["error"] == "ValueError: boom\nsecond line" and broken["notebook"] is None


def test_a_run_in_progress_is_listed_live(server):
    import llmops_nb as L

    with L.start_run("live-one", kind="live") as run:
        run.log_metric("loss", 2.0, step=0)
        row = server.api("runs", params={"kind": "live"}).data["runs"][0]
        assert (row["id"], row["status"], row["ended_at"]) == (run.id, "running", None) and row["duration_s"] > 0
        run.log_metric("loss", 1.0, step=1)
        history = server.api(f"runs/{run.id}").data["history"]["loss"]
        assert [p[:2] for p in history] == [[0, 2.0], [1, 1.0]], "each request reads what is logged by then"
    assert server.api("runs", params={"kind": "live"}).data["runs"][0]["status"] == "finished"


def test_unknown_and_invalid_run_ids(server):
    assert "unknown run 'abcdef012345'" in json_error(server.api("runs/abcdef012345"), 404)
    assert "invalid run id" in json_error(server.api("runs/not-a-run"), 400)
    assert "invalid run id" in json_error(server.api("comparisons/not%20a%20run"), 400)
    msg = json_error(server.api(f"comparisons/{server.ids['b']}"), 404)
    assert f"run {server.ids['b']} (run 'train-b') holds no comparison" in msg


# ---- datasets --------------------------------------------------------------------------------------
def test_datasets_and_their_versions_with_lineage(server):
    listed = server.api("datasets").data["datasets"]
    assert listed == [{"name": "docs", "current": "docs@v2", "versions": 2, "records": 4,
                       "created_at": pytest.approx(listed[0]["created_at"])}]
    d = server.api("datasets/docs").data
    assert (d["name"], d["current"]) == ("docs", "docs@v2")
    v1, v2 = d["versions"]
    assert {"version", "ref", "records", "created_at", "parent", "hash", "steps"} <= set(v1)
    assert (v1["ref"], v1["records"], v1["parent"], v1["op"]) == ("docs@v1", 5, None, "load")
    assert v1["steps"] == [{"step": "load", "in": None, "out": 5}]
    assert (v2["ref"], v2["records"], v2["parent"], v2["op"]) == ("docs@v2", 4, "docs@v1", "curate")
    assert v2["steps"] == [{"step": "normalize", "in": 5, "out": 5}, {"step": "exact_dedup", "in": 5, "out": 4}]
    assert len(v2["hash"]) == 64 and v2["hash"] != v1["hash"]


def test_unknown_dataset_is_404_with_did_you_mean(server):
    assert "unknown dataset 'doc' (did you mean 'docs'?)" in json_error(server.api("datasets/doc"), 404)
    assert "invalid dataset name 'docs@v1'" in json_error(server.api("datasets/docs%40v1"), 400)


# ---- authentication, XSRF, traversal ------------------------------------------------------------------
ROUTES = ["runs", "runs/{a}", "datasets", "datasets/docs", "indexes", "indexes/docs-ix/search?q=file",
          "comparisons/{a}", "nope"]


@pytest.mark.parametrize("route", ROUTES)
def test_requests_without_a_token_are_refused(server, route):
    route = route.format(a=server.ids["a"])
    reply = server.api(route, token=False)
    assert reply.status in (401, 403), (reply.status, reply.text[:300])
    assert server.ids["a"] not in reply.text and "train-a" not in reply.text and "docs" not in reply.text
    wrong = server.api(route, token=False, headers={"Authorization": "token not-the-token"})
    assert wrong.status in (401, 403) and "train-a" not in wrong.text


def test_cookie_login_reads_and_writes_need_the_xsrf_token(server):
    opener, xsrf = cookie_opener(server)
    assert server.api("runs", token=False, opener=opener).status == 200, "a logged-in browser reads"
    refused = server.api("runs", token=False, opener=opener, method="POST", data=b"{}")
    assert refused.status == 403, (refused.status, refused.text[:300])
    with_xsrf = server.api("runs", token=False, opener=opener, method="POST", data=b"{}",
                           headers={"X-XSRFToken": xsrf})
    assert with_xsrf.status == 405, "past the XSRF check, the API is read-only"
    assert server.api("runs", method="DELETE").status == 405


@pytest.mark.parametrize("bad", TRAVERSALS)
def test_traversal_ids_and_names_are_refused_and_nothing_outside_is_read(server, bad):
    for route in (f"runs/{bad}", f"comparisons/{bad}", f"datasets/{bad}", f"indexes/{bad}/search?q=x"):
        reply = server.api(route)
        assert reply.status in (400, 404), (route, reply.status, reply.text[:300])
        assert SECRET not in reply.text and "root:" not in reply.text
        assert set(reply.data) == {"error"}


def test_unknown_route_is_a_json_404(server):
    msg = json_error(server.api("nope"), 404)
    assert "no llmops API route 'nope'" in msg and "runs/<id>" in msg


# ---- indexes and search (MiniLM) ------------------------------------------------------------------------
@pytest.mark.slow
def test_indexes_and_search_with_a_filter(index_and_comparison):
    server = index_and_comparison
    listed = server.api("indexes").data["indexes"]
    assert [ix["name"] for ix in listed] == ["docs-ix"]
    assert listed[0]["records"] == 4 and listed[0]["dataset"] == "docs@v2" and listed[0]["model"]
    reply = server.api("indexes/docs-ix/search", params={"q": "catch exceptions when reading a file", "k": "2"})
    assert reply.status == 200, reply.text
    found = reply.data
    hits = found["hits"]
    assert found["version"] == 1 and found["index"] == "docs-ix" and found["k"] == 2 and len(hits) == 2
    assert found["query"] == "catch exceptions when reading a file" and "exceptions" in found["terms"]
    assert hits[0]["id"] == "d1" and hits[0]["rank"] == 1 and hits[0]["metadata"] == {"topic": "errors"}
    html = server.api("indexes/docs-ix/search", params={"q": "escaping HTML", "k": 3,
                                                        "where": "topic == 'html'"}).data
    html_hits = html["hits"]
    assert html["where"] == "topic == 'html'" and [h["id"] for h in html_hits] == ["d3"]
    assert XSS in html_hits[0]["text"], "the text is data, sent as it is (the panel renders it as text)"


@pytest.mark.slow
@pytest.mark.parametrize("params, status, words", [
    ({"q": "file", "k": "0"}, 400, "k must be a whole number from 1 to 100, got 0"),
    ({"q": "file", "k": "101"}, 400, "k must be a whole number from 1 to 100"),
    ({"q": "file", "k": "lots"}, 400, "got 'lots'"),
    ({"q": "file", "where": "__import__('os').system('id')"}, 400, ""),
    ({"q": "file", "where": "topic =="}, 400, ""),
    ({"q": "file", "where": "nosuch == 1"}, 400, "nosuch"),
    ({"q": "   "}, 400, "give a query"),
    ({"q": "x" * 2001}, 400, "use at most 2,000"),
])
def test_bad_search_values_are_one_line_400s(index_and_comparison, params, status, words):
    assert words in json_error(index_and_comparison.api("indexes/docs-ix/search", params=params), status)


@pytest.mark.slow
def test_unknown_index_is_404_with_did_you_mean(index_and_comparison):
    msg = json_error(index_and_comparison.api("indexes/docs-i/search", params={"q": "x"}), 404)
    assert "unknown index 'docs-i' (did you mean 'docs-ix'?)" in msg


# ---- comparisons (tiny-gpt2) ------------------------------------------------------------------------------
@pytest.mark.slow
def test_comparison_route_gives_leaderboard_and_examples(index_and_comparison):
    server = index_and_comparison
    run_id = server.ids["compare"]
    reply = server.api(f"comparisons/{run_id}")
    assert reply.status == 200, reply.text
    comp = reply.data
    assert comp["run_id"] == run_id and comp["baseline"] == "zero-shot:tiny-gpt2"
    assert [row["variant"] for row in comp["leaderboard"]] == ["zero-shot:tiny-gpt2", "few-shot:tiny-gpt2:1"]
    assert comp["version"] == 1 and isinstance(comp["warnings"], list) and "hint" in comp and "best" in comp
    assert len(comp["examples"]) == 4, "REST sends every per-example row"
    assert {"example", "variant", "question", "reference", "output"} <= set(comp["examples"][0])
    detail = server.api(f"runs/{run_id}").data
    assert detail["kind"] == "compare" and detail["comparison"] is True
    assert "NaN" not in reply.text and "Infinity" not in reply.text


# ---- the extension is installed and enabled -----------------------------------------------------------------
def test_jupyter_server_extension_list_shows_llmops_nb_enabled(tmp_path):
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path / "config")  # only the venv's (sys-prefix) config counts
    proc = subprocess.run([str(Path(sys.executable).with_name("jupyter")), "server", "extension", "list"],
                          capture_output=True, text=True, env=env, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    line = next((ln for ln in out.splitlines() if ln.strip().startswith("llmops_nb ")), "")
    assert "enabled" in line, ("llmops_nb is not enabled in the venv; `make` installs "
                               "jupyter-config/server-config/llmops_nb.json into etc/jupyter/jupyter_server_config.d:\n"
                               + out)
    assert "llmops_nb 0.1.0" in out and "OK" in out.split("llmops_nb 0.1.0", 1)[1].splitlines()[0], out


def test_api_paths_outside_the_root_dir_are_null(tmp_path):
    from llmops_nb.errors import NotFoundError
    from llmops_nb.server.api import Api

    api = Api(tmp_path / "elsewhere" / ".llmops", tmp_path / "root")
    assert api._notebook_path("artifacts/abc/output-x.ipynb") is None
    inside = Api(tmp_path / "root" / ".llmops", tmp_path / "root")
    assert inside._notebook_path("artifacts/abc/output-x.ipynb") == ".llmops/artifacts/abc/output-x.ipynb"
    assert inside.runs(name=None, status=None, kind=None, tags=(), sort="-started_at", limit=5, offset=0) == \
        {"version": 1, "total": 0, "offset": 0, "limit": 5, "runs": []}, "no workspace yet: empty, and none is made"
    assert not (tmp_path / "root" / ".llmops").exists()
    assert json.loads(json.dumps(inside.datasets())) == {"version": 1, "datasets": []}
    with pytest.raises(NotFoundError, match="no llmops workspace at .* yet"):
        inside.run("abc123")
    assert not (tmp_path / "root" / ".llmops").exists()
