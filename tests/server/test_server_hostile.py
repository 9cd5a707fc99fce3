"""The REST API under attack, against a real jupyter_server (conftest.py): encoded, double-encoded, NUL, unicode and
overlong ids and names, a cross-origin page riding the login cookie, SQL-looking filter values, numbers that are not
plain ASCII integers, huge offsets, and reads while a run writes. Every refusal is a JSON one-liner that names no
file outside the workspace."""
from __future__ import annotations

import threading

import pytest
from server_harness import SECRET, cookie_opener

IDS = ["%252e%252e%252fsecret.txt", "..%252F..%252Fetc%252Fpasswd", "%00", "abc%00def", "%2Fetc%2Fpasswd",
       "%E2%80%AEdocs", "d%C3%B6cs", "a" * 5000, "a.b", "abcdef.json", "..%00", "%2e%2e", "%5C..%5Csecret.txt",
       "C%3A%5Cwindows"]


def _json_error(reply, server, statuses=(400, 404)):
    assert reply.status in statuses, (reply.status, reply.text[:300])
    assert reply.headers.get("Content-Type", "").startswith("application/json"), reply.headers
    data = reply.data
    assert set(data) == {"error"} and "\n" not in data["error"] and len(data["error"]) <= 500, data
    assert "Traceback" not in reply.text and SECRET not in reply.text and "root:" not in reply.text
    assert str(server.root.parent) not in reply.text, "a path outside the workspace is named"
    return data["error"]


@pytest.mark.parametrize("bad", IDS)
def test_hostile_ids_and_names_in_every_path_segment_are_json_refusals(server, bad):
    for route in (f"runs/{bad}", f"comparisons/{bad}", f"datasets/{bad}", f"indexes/{bad}/search?q=x"):
        _json_error(server.api(route), server)


@pytest.mark.parametrize("value", ["x' OR 1=1 --", "stage=dev' OR '1'='1", "%", "_", "*", "stage=%"])
def test_sql_looking_filter_values_match_nothing(server, value):
    for params in ({"tag": value}, {"name": value}, {"kind": value}):
        reply = server.api("runs", params=params)
        assert reply.status in (200, 400), reply.text[:300]
        if reply.status == 200:
            assert reply.data["total"] == 0 and reply.data["runs"] == [], (params, reply.data)
        else:
            _json_error(reply, server, (400,))


@pytest.mark.parametrize("name, value", [("limit", "\u0665"), ("limit", "\uff15"), ("offset", "\u0661"),
                                         ("limit", "\u00b2")])
def test_numbers_are_plain_ascii_digits(server, name, value):
    """Arabic-Indic, full-width and superscript digits are not whole numbers of the API (int() would take some)."""
    msg = _json_error(server.api("runs", params={name: value}), server, (400,))
    assert f"{name} must be a whole number" in msg, msg


def test_a_huge_offset_is_an_empty_page_not_a_wrong_refusal(server):
    reply = server.api("runs", params={"offset": "99999999999999999"})
    assert reply.status == 200, reply.text[:300]
    page = reply.data
    assert page["runs"] == [] and page["offset"] == 99999999999999999 and page["total"] >= 4


def test_huge_k_and_limit_are_refused(server):
    assert "limit must be a whole number from 1 to 500" in _json_error(
        server.api("runs", params={"limit": "9" * 18}), server, (400,))
    assert "limit" in _json_error(server.api("runs", params={"limit": "9" * 40}), server, (400,))


def test_a_cross_origin_page_with_the_login_cookie_reads_nothing(server):
    opener, _ = cookie_opener(server)
    reply = server.api("runs", token=False, opener=opener, headers={"Origin": "http://evil.example"})
    assert reply.status in (403, 404), (reply.status, reply.text[:300])
    assert "train-a" not in reply.text


def test_reads_while_a_run_writes_all_answer(server):
    import llmops_nb as L

    stop = threading.Event()
    failures = []

    def writer():
        with L.start_run("busy-writer", kind="hostile") as run:
            step = 0
            while not stop.is_set():
                run.log_metric("m", float(step), step=step)
                step += 1

    def reader():
        for _ in range(10):
            for route in ("runs?kind=hostile", f"runs/{server.ids['a']}", "datasets", "datasets/docs"):
                reply = server.api(route)
                if reply.status != 200:
                    failures.append((route, reply.status, reply.text[:200]))

    w = threading.Thread(target=writer)
    w.start()
    readers = [threading.Thread(target=reader) for _ in range(4)]
    try:
        for t in readers:
            t.start()
        for t in readers:
            t.join(timeout=120)
    finally:
        stop.set()
        w.join(timeout=30)
    assert not failures, failures[:3]
    row = server.api("runs", params={"kind": "hostile"}).data["runs"][0]
    assert row["status"] == "finished" and row["metrics"]["m"] >= 0


def test_a_run_whose_process_was_killed_turns_crashed_while_the_server_runs(server):
    """The panel refreshes while runs are 'running': a kernel killed mid-run (restart, OOM, kill -9) must not stay
    'running' forever in a server that opened the workspace before the kill."""
    import os
    import signal
    import subprocess
    import sys
    import time

    for _ in range(3):  # the server's worker thread has its connection open (crashed runs were reaped then)
        assert server.api("runs").status == 200
    code = ("import time, llmops_nb as L\nrun = L.start_run('doomed', kind='doomed')\nprint(run.id, flush=True)\n"
            "time.sleep(300)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "LLMOPS_HOME": str(server.home)})
    try:
        run_id = proc.stdout.readline().strip()
        assert run_id, "the run started"
        assert server.api(f"runs/{run_id}").data["status"] == "running"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        proc.stdout.close()
    deadline, status = time.time() + 15, "running"
    while time.time() < deadline and status == "running":
        time.sleep(0.5)
        status = server.api("runs", params={"kind": "doomed"}).data["runs"][0]["status"]
    assert status == "crashed", status
    detail = server.api(f"runs/{run_id}").data
    assert detail["status"] == "crashed" and detail["ended_at"] is not None and "killed or crashed" in detail["error"]
