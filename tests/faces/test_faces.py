"""The two faces over the one command tree: the real CLI (subprocess) and the magic in a real IPython shell."""
import json
import subprocess
import sys
import textwrap

import pytest
from IPython.core.error import UsageError

import llmops_nb as L
from llmops_nb.commands import COMMANDS, build_parser


def test_cli_help_lists_every_command(run_cli):
    out = run_cli("help", check=0).stdout
    for cmd in COMMANDS.values():
        assert cmd.name in out
    assert run_cli("runs", "--help", check=0).stdout.startswith("usage: llmops runs")
    assert "usage: llmops" in run_cli(check=0).stdout


def test_cli_unknown_command_and_option_exit_2_with_suggestion(run_cli):
    p = run_cli("rnus", check=2)
    assert p.stderr.strip() == "llmops: error: unknown command 'rnus' for 'llmops' (did you mean 'runs'?); see 'llmops --help'"
    assert p.stdout == "" and "Traceback" not in p.stderr
    p = run_cli("runs", "--lats", "2", check=2)
    assert "did you mean '--last'?" in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_cli_runs_text_and_json(run_cli, ws):
    with L.start_run("cli-run", params={"k": 1}) as run:
        run.log_metric("f1", 0.25)
    text = run_cli("runs", check=0).stdout
    assert "cli-run" in text and "f1=0.25" in text
    data = json.loads(run_cli("runs", "--json", check=0).stdout)
    assert data[0]["id"] == run.id and data[0]["metrics"] == {"f1": 0.25}
    shown = json.loads(run_cli("run", "show", run.id[:6], "--json", check=0).stdout)
    assert shown["params"] == {"k": 1} and shown["status"] == "finished"


def test_cli_unknown_run_is_usage_error(run_cli, ws):
    with L.start_run("x") as run:
        pass
    p = run_cli("run", "show", run.id + "9", check=2)
    assert "unknown run" in p.stderr and f"did you mean '{run.id}'" in p.stderr


def test_cli_corrupt_workspace_is_one_line_exit_1(tmp_path):
    from cli_helpers import cli

    d = tmp_path / "bad"
    d.mkdir()
    (d / "llmops.db").write_bytes(b"garbage" * 50)
    p = cli("runs", env={"LLMOPS_HOME": str(d)}, check=1)
    assert str(d / "llmops.db") in p.stderr and "Traceback" not in p.stderr
    assert (d / "llmops.db").read_bytes() == b"garbage" * 50
    (tmp_path / "f").write_text("x")
    p = cli("--workspace", str(tmp_path / "f"), "runs", check=1)
    assert "is a file" in p.stderr


def test_cli_workspace_and_models(run_cli, tmp_path):
    out = json.loads(run_cli("workspace", str(tmp_path / "w2"), "--json", check=0).stdout)
    assert out["path"] == str((tmp_path / "w2").resolve()) and out["counts"]["runs"] == 0
    models = json.loads(run_cli("models", "--json", check=0).stdout)
    names = {m["name"]: m for m in models}
    assert names["smollm2-135m-instruct"]["installed"] and names["all-minilm-l6-v2"]["installed"]
    assert names["tiny-gpt2"]["installed"]


def test_magic_help_and_command_help(ipy, capsys):
    ipy.run("%llmops help")
    out = capsys.readouterr().out
    assert "usage: %llmops COMMAND" in out and "run show" in out
    ipy.run("%llmops runs --help")
    assert capsys.readouterr().out.startswith("usage: %llmops runs")


def test_magic_unknown_command_is_usage_error_without_traceback(ipy):
    with pytest.raises(UsageError, match=r"unknown command 'rnus' for '%llmops' \(did you mean 'runs'\?\)"):
        ipy.line("rnus")
    with pytest.raises(UsageError, match="did you mean '--last'"):
        ipy.line("runs --lats 3")


def test_magic_returns_result_object_and_o_stores_it(ipy, ws):
    with L.start_run("m1"):
        pass
    result = ipy.run("%llmops runs -o table")
    assert ipy.ns["table"] is result and len(result) == 1 and "m1" in result._repr_html_()


def test_magic_interpolates_line_variables_but_not_cell_bodies(ipy, ws):
    for i in range(3):
        with L.start_run(f"r{i}"):
            pass
    ipy.run("n = 2\nwho = 'r 1'")
    assert len(ipy.run("%llmops runs --last {n}")) == 2
    assert len(ipy.run("%llmops runs --last {n + 1}")) == 3
    # a value with a space stays one argument
    with L.start_run("r 1"):
        pass
    assert [r["name"] for r in ipy.run("%llmops runs --name {who}")] == ["r 1"]
    # {{ }} escapes
    from llmops_nb.magics import _split_with_interpolation

    assert _split_with_interpolation("search idx '{{a}}' -k {n}", {"n": 5}) == ["search", "idx", "{a}", "-k", "5"]
    with pytest.raises(UsageError, match="does not take a cell body"):
        ipy.run("%%llmops runs\n{not interpolated}")


def test_magic_undefined_variable_names_it(ipy):
    with pytest.raises(UsageError, match="undefined variable 'nope'"):
        ipy.line("runs --last {nope}")


def test_magic_run_show_and_bad_id(ipy, ws):
    with L.start_run("shown", params={"a": 1}) as run:
        pass
    r = ipy.line(f"run show {run.id}")
    assert r.id == run.id and "shown" in r._repr_html_()
    with pytest.raises(UsageError, match="unknown run"):
        ipy.line("run show deadbeef")


def test_magic_workspace_switch_and_config(ipy, tmp_path):
    w = ipy.line(f"workspace {tmp_path / 'other'}")
    assert w.path == (tmp_path / "other").resolve() and L.workspace().path == w.path
    ipy.run(f"%config LlmopsMagics.workspace = {str(tmp_path / 'third')!r}")
    assert L.workspace().path == (tmp_path / "third").resolve()


def test_cli_and_magic_share_one_tree():
    cli_cmds = {a.dest for a in build_parser("cli")._actions}
    assert "workspace_path" in cli_cmds
    from llmops_nb.commands import _leaves

    assert {p for f, p in _leaves if f == "cli"} == {p for f, p in _leaves if f == "magic"} == set(COMMANDS)


def test_core_never_imports_ipython_or_widgets(tmp_path):
    code = textwrap.dedent("""
        import sys, llmops_nb as L
        from llmops_nb import workspace, start_run, record, runs, models
        import llmops_nb.tracking, llmops_nb.workspace, llmops_nb.models, llmops_nb.errors, llmops_nb.seeding
        with start_run("x") as r:
            record("a", 1)
        runs(); models()
        bad = [m for m in ("IPython", "ipywidgets", "anywidget", "argparse_face") if m in sys.modules]
        print(",".join(bad))
    """)
    import os

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "LLMOPS_HOME": str(tmp_path / "w")}, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ""


def test_cli_non_utf8_arguments_are_one_line(run_cli, ws):
    import os

    exe = str(__import__("pathlib").Path(sys.executable).with_name("llmops")).encode()
    env = {**os.environ, "LLMOPS_HOME": str(ws.path)}
    for argv in ([b"search", b"pydoc", b"\xff\xfe"], [b"generate", b"tiny-gpt2", b"\xff\xfe"]):
        p = subprocess.run([exe, *argv], capture_output=True, env=env, timeout=120)
        err = p.stderr.decode()
        assert p.returncode == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
        assert "argument 3 is not valid UTF-8 text (byte 0xff at character 1)" in err


def test_cli_output_into_a_closed_pipe_ends_quietly(ws):
    """`llmops runs --json | head -1`: the reader goes away after a line; no BrokenPipeError, exit 0."""
    import os
    from pathlib import Path

    db = ws.db
    for i in range(300):
        with L.start_run(f"run-{i}", params={"blob": "x" * 300}) as run:
            run.log_metric("m", i)
    db.execute("SELECT 1")
    exe = str(Path(sys.executable).with_name("llmops"))
    env = {**os.environ, "LLMOPS_HOME": str(ws.path)}
    proc = subprocess.Popen([exe, "runs", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout.readline().strip() == b"["
    proc.stdout.close()  # what `head -1` does after its line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0
    assert err == "", err


def test_review_page_size_must_be_positive(ipy):
    L.load_dataset([{"text": f"record {i}"} for i in range(5)], name="notes")
    with pytest.raises(UsageError, match=r"page size must be a whole number >= 1, got 0; it is the number of records per page"):
        ipy.line("review notes --page-size 0")


def test_cli_prints_any_stored_text_and_strict_json(run_cli, ws):
    with L.start_run("odd") as run:
        L.record("surrogate", "bad \ud800 text")  # a lone surrogate, as a broken source can give
        L.record("best", float("inf"))
    p = run_cli("run", "show", run.id, check=0)
    assert "bad \\ud800 text" in p.stdout and "Traceback" not in p.stderr

    def refuse(constant):
        raise ValueError(f"not JSON: {constant}")

    data = json.loads(run_cli("run", "show", run.id, "--json", check=0).stdout, parse_constant=refuse)
    assert data["records"]["best"] == "Infinity" and data["metrics"]["best"] == "Infinity"


def test_cli_output_to_a_full_disk_is_one_line(ws):
    import os
    from pathlib import Path

    exe = str(Path(sys.executable).with_name("llmops"))
    with open("/dev/full", "w") as full:
        p = subprocess.run([exe, "help"], stdout=full, stderr=subprocess.PIPE, text=True, timeout=120,
                           env={**os.environ, "LLMOPS_HOME": str(ws.path)})
    assert p.returncode == 1 and p.stderr.strip() == "llmops: error: cannot write the output (No space left on device)"
