"""Tracing the user's own calls: decorator (sync, async, generators), context manager, errors, non-strings, runs,
and reading the log back with traces() / `llmops traces` / `%llmops traces`. Real SQLite, real subprocesses."""
import asyncio
import concurrent.futures
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import llmops_nb as L
from llmops_nb.display import TABLE_MIME
from llmops_nb.errors import InputError, NotFoundError


def _all():
    return list(L.traces(limit=1000))


def test_decorator_on_sync_function_logs_prompt_output_latency_tags(ws):
    @L.trace(model="echo", tags={"team": "search"})
    def ask(prompt, temperature=0.0):
        return prompt.upper()

    assert ask("hello") == "HELLO"
    assert ask.__name__ == "ask"
    (row,) = _all()
    assert row["source"] == "trace" and row["model"] == "echo"
    assert row["prompt"] == "hello" and row["output"] == "HELLO"
    assert row["latency_s"] >= 0 and row["error"] is None and row["tags"] == {"team": "search"}
    assert row["text_mode"] == "full" and row["run_id"] is None


def test_prompt_keyword_argument_and_method(ws):
    class Client:
        @L.trace(model="client")
        def complete(self, system, prompt):
            return f"{system}:{prompt}"

    assert Client().complete("sys", prompt="q") == "sys:q"
    assert _all()[0]["prompt"] == "q"


def test_async_function_and_async_generator(ws):
    @L.trace(model="a")
    async def ask(prompt):
        await asyncio.sleep(0)
        return prompt + "!"

    @L.trace(model="stream")
    async def stream(prompt):
        for word in ("one ", "two"):
            yield word

    async def main():
        out = await ask("hi")
        chunks = [c async for c in stream("go")]
        return out, chunks

    # a thread of its own: in a full run the browser tests' session-scoped Playwright (sync API) keeps an event loop
    # running in this thread, and asyncio.run refuses to start inside one
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, main()).result() == ("hi!", ["one ", "two"])
    rows = {r["model"]: r for r in _all()}
    assert rows["a"]["output"] == "hi!" and rows["stream"]["output"] == "one two"


def test_generator_output_is_joined_and_an_early_stop_is_not_an_error(ws):
    @L.trace(model="gen")
    def stream(prompt):
        yield from ("a", "b", "c")

    assert list(stream("p")) == ["a", "b", "c"]
    g = stream("q")
    next(g)
    g.close()
    rows = _all()
    assert [(r["prompt"], r["output"], r["error"]) for r in rows] == [("q", "a", None), ("p", "abc", None)]


def test_exception_is_logged_and_reraised(ws):
    @L.trace(model="boom")
    def fail(prompt):
        raise ValueError("bad input here")

    with pytest.raises(ValueError, match="bad input here"):
        fail("x")
    (row,) = _all()
    assert row["error"] == "ValueError: bad input here" and row["output"] == "" and row["prompt"] == "x"


def test_non_string_prompt_and_output_are_stored_as_repr_and_flagged(ws):
    @L.trace(model="np")
    def f(prompt):
        return {"answer": 42}

    assert f(["a", 1]) == {"answer": 42}
    row = ws.db.execute("SELECT prompt, output, as_repr FROM generations").fetchone()
    assert tuple(row) == ("['a', 1]", "{'answer': 42}", "prompt,output")


def test_context_manager_logs_context_ids_scores_tokens(ws):
    with L.trace(model="rag", tags={"v": 2}) as t:
        t.log(prompt="q?", output="a.", context_ids=["doc1", 7], scores=[0.9, 0.5], tokens_in=12, tokens_out=3)
    (row,) = _all()
    assert row["context"] == [["doc1", 0.9], [7, 0.5]]
    assert (row["tokens_in"], row["tokens_out"], row["tags"]) == (12, 3, {"v": 2})
    with pytest.raises(KeyError):
        with L.trace(model="rag") as t:
            raise KeyError("k")
    assert _all()[0]["error"] == "KeyError: 'k'"


def test_run_id_inside_a_run_and_run_filter(ws):
    @L.trace(model="m")
    def f(prompt):
        return "ok"

    f("outside")
    with L.start_run("serve") as run:
        f("inside")
    rows = list(L.traces(run=run.id))
    assert [r["prompt"] for r in rows] == ["inside"] and rows[0]["run_id"] == run.id
    assert [r["prompt"] for r in L.traces(run=run)] == ["inside"]


def test_filters_tags_since_until_and_paging(ws):
    @L.trace(model="m", tags={"env": "prod"})
    def prod(prompt):
        return prompt

    @L.trace(model="other", tags={"env": "dev"})
    def dev(prompt):
        return prompt

    for i in range(7):
        prod(f"p{i}")
    dev("d")
    assert [r["prompt"] for r in L.traces(tags={"env": "dev"})] == ["d"]
    assert len(L.traces(tags=["env=prod"])) == 7
    page1 = [r["prompt"] for r in L.traces(model="m", limit=3)]
    page2 = [r["prompt"] for r in L.traces(model="m", limit=3, offset=3)]
    assert page1 == ["p6", "p5", "p4"] and page2 == ["p3", "p2", "p1"]
    ws.db.execute("UPDATE generations SET ts = ts - 3 * 86400 WHERE prompt IN ('p0', 'p1')")
    assert {r["prompt"] for r in L.traces(model="m", since="2d")} == {"p2", "p3", "p4", "p5", "p6"}
    assert {r["prompt"] for r in L.traces(model="m", until="2d")} == {"p0", "p1"}
    assert len(L.traces(since=time.time() - 3600, until=time.time() + 1)) == 6
    with pytest.raises(InputError, match="since must be"):
        L.traces(since="yesterday-ish")
    with pytest.raises(InputError, match="must be before"):
        L.traces(since="1h", until="2h")
    with pytest.raises(NotFoundError, match="did you mean 'other'"):
        L.traces(model="othr")


def test_views_escape_text(ws):
    with L.trace(model="x") as t:
        t.log(prompt="<script>alert(1)</script>", output="a & b\nline two")
    table = L.traces()
    bundle = table._repr_mimebundle_()
    html = bundle["text/html"]
    assert "<script>alert" not in html and "&lt;script&gt;" in html
    payload = bundle[TABLE_MIME]
    types = {c["name"]: c["type"] for c in payload["columns"]}
    assert types["prompt"] == "longtext" and types["output"] == "longtext"
    assert payload["rows"][0]["prompt"] == "<script>alert(1)</script>"
    assert "x" in str(table) and "TracesTable(1" in repr(table)
    assert str(L.traces(model=None, since="1s", until=time.time() - 0.5)) == "no logged calls"


def test_cli_and_magic(ws, run_cli, ipy):
    @L.trace(model="cli-model", tags={"k": "v"})
    def f(prompt):
        return "answer"

    f("question one")
    f("question two")
    p = run_cli("traces", "--model", "cli-model", "--last", "1", "--json", check=0)
    data = json.loads(p.stdout)
    rows = data if isinstance(data, list) else data.get("rows", data)
    assert len(rows) == 1 and rows[0]["prompt"] == "question two"
    p = run_cli("traces", "--tag", "k=v", "--since", "1h", check=0)
    assert "question one" in p.stdout and "question two" in p.stdout
    p = run_cli("traces", "--since", "soon", check=2)
    assert "since must be" in p.stderr
    p = run_cli("traces", "--model", "cli-modl", check=2)
    assert "did you mean 'cli-model'" in p.stderr
    result = ipy.line("traces --last 5")
    assert len(result) == 2 and result.rows[0]["output"] == "answer"


CHILD = textwrap.dedent("""
    import sys, llmops_nb as L
    @L.trace(model="child")
    def f(prompt):
        return "out-" + prompt
    i = 0
    while True:
        f(f"call-{i}")
        print(i, flush=True)
        i += 1
""")


def test_every_reported_call_survives_sigkill(ws, tmp_path):
    env = {**os.environ, "LLMOPS_HOME": str(ws.path)}
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True, env=env,
                            cwd=tmp_path)
    reported = -1
    try:
        for line in proc.stdout:
            reported = int(line)
            if reported >= 40:
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert reported >= 40
    from llmops_nb.workspace import reset_workspace, workspace

    reset_workspace()
    db = workspace(str(ws.path)).db
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    logged = {r[0] for r in db.execute("SELECT prompt FROM generations WHERE model='child'")}
    assert {f"call-{i}" for i in range(reported + 1)} <= logged


READONLY_CHILD = textwrap.dedent("""
    import warnings, llmops_nb as L
    warnings.simplefilter("always")
    @L.trace(model="ro")
    def f(prompt):
        return "value-" + prompt
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outs = [f(str(i)) for i in range(3)]
    print(outs)
    print(sum(issubclass(w.category, L.errors.LlmopsWarning) for w in caught))
""")


def test_read_only_workspace_call_still_returns_with_one_warning(ws, tmp_path):
    from cli_helpers import unprivileged

    prefix = unprivileged()
    path = ws.path
    ws.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    from llmops_nb.workspace import reset_workspace

    reset_workspace()
    modes = {}
    for p in [path, *path.rglob("*")]:
        modes[p] = p.stat().st_mode
        p.chmod(p.stat().st_mode & ~0o222)
    try:
        env = {**os.environ, "LLMOPS_HOME": str(path)}
        proc = subprocess.run([*prefix, sys.executable, "-c", READONLY_CHILD], capture_output=True, text=True,
                              env=env, cwd=tmp_path, timeout=120)
    finally:
        for p, mode in modes.items():
            p.chmod(mode)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[-2] == "['value-0', 'value-1', 'value-2']" and lines[-1] == "1", proc.stdout


LOCKED_CHILD = textwrap.dedent("""
    import warnings, llmops_nb as L
    @L.trace(model="locked")
    def f(prompt):
        return "value-" + prompt
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outs = [f(str(i)) for i in range(2)]
    print(outs)
    print(sum(issubclass(w.category, L.errors.LlmopsWarning) for w in caught))
""")


def test_locked_workspace_call_still_returns_with_one_warning(ws, tmp_path):
    import sqlite3

    lock = sqlite3.connect(str(ws.db.path), isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        env = {**os.environ, "LLMOPS_HOME": str(ws.path)}
        proc = subprocess.run([sys.executable, "-c", LOCKED_CHILD], capture_output=True, text=True, env=env,
                              cwd=tmp_path, timeout=120)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert lines[-2] == "['value-0', 'value-1']" and lines[-1] == "1", proc.stdout


@pytest.mark.parametrize("delay", [0.05, 0.21, 0.37])
def test_a_kill_at_any_moment_leaves_a_sound_workspace(ws, tmp_path, delay):
    env = {**os.environ, "LLMOPS_HOME": str(ws.path)}
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        proc.stdout.readline()  # logging has begun
        time.sleep(delay)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    from llmops_nb.workspace import reset_workspace, workspace

    reset_workspace()
    db = workspace(str(ws.path)).db
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("SELECT COUNT(*) FROM generations WHERE model='child'").fetchone()[0] >= 1


def test_calls_from_many_threads_are_all_logged_without_warnings(ws, recwarn):
    from concurrent.futures import ThreadPoolExecutor

    @L.trace(model="threaded")
    def f(prompt):
        return prompt[::-1]

    with ThreadPoolExecutor(8) as pool:
        outs = list(pool.map(f, [f"q{i}" for i in range(160)]))
    assert outs == [f"q{i}"[::-1] for i in range(160)]
    assert len(L.traces(model="threaded", limit=1000)) == 160
    assert not [w for w in recwarn if issubclass(w.category, L.errors.LlmopsWarning)]
