import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import llmops_nb as L
from llmops_nb.errors import InputError, NotFoundError


def test_run_logs_everything(ws, tmp_path):
    art = tmp_path / "report.txt"
    art.write_text("hello")
    with L.start_run("train", params={"lr": 1e-3, "layers": [1, 2]}, tags={"team": "nlp"}, seed=7) as run:
        for step in range(3):
            run.log_metric("loss", 1.0 / (step + 1))
        run.log_metric("acc", 0.5, step=10)
        dest = run.log_artifact(art)
        run.set_tag("stage", "dev")
    art.write_text("changed later")
    r = L.get_run(run.id)
    assert r.status == "finished" and r.ended_at >= r.started_at
    assert r.params == {"layers": [1, 2], "lr": 1e-3, "seed": 7}
    assert r.metrics == {"acc": 0.5, "loss": pytest.approx(1 / 3)}
    assert [s for s, _, _ in r.history("loss")] == [0, 1, 2]
    assert r.tags == {"stage": "dev", "team": "nlp"}
    assert r.artifacts["report.txt"] == dest and dest.read_text() == "hello", "artifact is a copy in the workspace"
    assert str(dest).startswith(str(ws.path))
    env = r.env
    assert env["seed"] == 7 and env["packages"]["llmops-nb"] == L.__version__
    assert env["python"].count(".") == 2 and env["device"] in ("cpu", "cuda")


def test_failed_and_interrupted_runs(ws):
    with pytest.raises(ValueError):
        with L.start_run("boom") as run:
            raise ValueError("bad data")
    assert L.get_run(run.id).status == "failed"
    assert "ValueError: bad data" in L.get_run(run.id).error
    with pytest.raises(KeyboardInterrupt):
        with L.start_run("ctrl-c") as run2:
            raise KeyboardInterrupt
    assert L.get_run(run2.id).status == "interrupted"


def test_record_to_active_run_and_numpy_values(ws):
    with L.start_run("r") as run:
        assert L.record("acc", np.float32(0.75)) == np.float32(0.75)
        L.record("confusion", np.array([[1, 2], [3, 4]]))
        L.record("label", "ok")
    r = L.get_run(run.id)
    assert r.records == {"acc": 0.75, "confusion": [[1, 2], [3, 4]], "label": "ok"}
    assert r.metrics == {"acc": 0.75}


def test_record_without_run_starts_one(ws):
    L.record("x", 3)
    table = L.runs()
    assert len(table) == 1 and table[0]["kind"] == "auto" and table[0]["metrics"] == {"x": 3.0}


def test_record_non_serializable_is_a_clear_error(ws):
    with L.start_run("r") as run:
        with pytest.raises(InputError, match=r"record\('model'\).*type object.*cannot be stored"):
            L.record("model", object())
    assert L.get_run(run.id).records == {}


def test_runs_table_and_html_escaping(ws):
    with L.start_run("<script>alert(1)</script>", params={"p": "<b>"}):
        pass
    with L.start_run("second"):
        pass
    table = L.runs()
    assert [r["name"] for r in table] == ["second", "<script>alert(1)</script>"]
    html = table._repr_html_()
    assert "<script>alert" not in html and "&lt;script&gt;" in html and "&lt;b&gt;" in html
    df = table.to_pandas()
    assert list(df["name"]) == ["second", "<script>alert(1)</script>"]
    assert len(L.runs(last=1)) == 1
    with pytest.raises(InputError):
        L.runs(last=0)


def test_get_run_prefix_and_unknown(ws):
    with L.start_run("a") as run:
        pass
    assert L.get_run(run.id[:5]).id == run.id
    with pytest.raises(NotFoundError, match="did you mean"):
        L.get_run(run.id[:-1] + ("0" if run.id[-1] != "0" else "1") + "zz")


def test_seed_makes_python_numpy_torch_reproducible(ws):
    import random

    import torch

    def draw():
        return random.random(), float(np.random.rand()), float(torch.rand(1))

    L.seed(123)
    a = draw()
    L.seed(123)
    assert draw() == a
    L.seed(124)
    assert draw() != a


WRITER = """
import sys, llmops_nb as L
run = L.start_run("proc", params={"i": int(sys.argv[1])})
for k in range(200):
    run.log_metric("m", k)
run.end()
"""


def test_eight_processes_log_to_one_workspace(ws, tmp_path):
    script = tmp_path / "w.py"
    script.write_text(WRITER)
    env = {**os.environ, "LLMOPS_HOME": str(ws.path)}
    procs = [subprocess.Popen([sys.executable, str(script), str(i)], env=env, stderr=subprocess.PIPE)
             for i in range(8)]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err.decode()
    n = ws.db.execute("SELECT count(*) FROM metrics").fetchone()[0]
    assert n == 1600
    per_run = ws.db.execute("SELECT count(*) FROM metrics GROUP BY run_id").fetchall()
    assert sorted(r[0] for r in per_run) == [200] * 8
    assert {r["status"] for r in L.runs()} == {"finished"}


KILLED = """
import sys, llmops_nb as L
run = L.start_run("doomed")
print(run.id, flush=True)
k = 0
while True:
    run.log_metric("m", k)
    print(k, flush=True)
    k += 1
"""


def test_sigkill_mid_logging_leaves_a_usable_workspace(ws, tmp_path):
    script = tmp_path / "k.py"
    script.write_text(KILLED)
    env = {**os.environ, "LLMOPS_HOME": str(ws.path)}
    proc = subprocess.Popen([sys.executable, str(script)], env=env, stdout=subprocess.PIPE, text=True)
    run_id = proc.stdout.readline().strip()
    committed = -1
    while committed < 300:
        committed = int(proc.stdout.readline())
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    from llmops_nb.workspace import Workspace

    fresh = Workspace(ws.path)  # a new connection, as the next session would open it
    run = L.get_run(run_id, ws=fresh)
    assert run.status == "crashed", "a killed run is not left 'running'"
    steps = [s for s, _, _ in run.history("m")]
    assert len(steps) >= committed + 1, "every row printed as committed is present"
    assert steps == list(range(len(steps))), "no gaps or torn rows"
    assert fresh.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


NOTEBOOK_RECORD = """
import nbformat
from nbclient import NotebookClient
nb = nbformat.v4.new_notebook()
nb.cells = [nbformat.v4.new_code_cell("import llmops_nb\\nllmops_nb.record('f1', 0.5)")]
NotebookClient(nb, kernel_name="python3", timeout=120).execute()
print(nbformat.writes(nb))
"""


def test_record_in_a_notebook_displays_a_machine_readable_output(ws, tmp_path):
    env = {**os.environ, "LLMOPS_HOME": str(ws.path)}
    out = subprocess.run([sys.executable, "-c", NOTEBOOK_RECORD], env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr
    nb = json.loads(out.stdout)
    outputs = nb["cells"][0]["outputs"]
    bundles = [o["data"] for o in outputs if o.get("output_type") == "display_data"]
    assert bundles and bundles[0]["application/vnd.llmops.record+json"]["name"] == "f1"
    assert bundles[0]["application/vnd.llmops.record+json"]["value"] == 0.5
    assert L.runs()[0]["metrics"] == {"f1": 0.5}


def test_infinite_values_are_stored_and_nan_is_said_once(ws):
    from llmops_nb.errors import LlmopsWarning

    with L.start_run("r") as run:
        L.record("best", float("inf"))
        L.record("worst", -np.inf)
        with pytest.warns(LlmopsWarning, match=r"record\('gap'\): NaN is stored as null"):
            L.record("gap", float("nan"))
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a second NaN for the same name says nothing more
            L.record("gap", np.float64("nan"))
    r = L.get_run(run.id)
    assert r.records["best"] == float("inf") and r.records["worst"] == float("-inf") and r.records["gap"] is None
    assert r.metrics["best"] == float("inf") and r.metrics["gap"] is None


def test_a_stale_run_id_in_the_environment_is_one_clear_line(ws, monkeypatch, run_cli):
    monkeypatch.setenv("LLMOPS_RUN_ID", "deadbeef")
    with pytest.raises(InputError, match=r"LLMOPS_RUN_ID='deadbeef' names no run in the workspace .*unset LLMOPS_RUN_ID"):
        L.record("v", 1)
    assert ws.db.execute("SELECT count(*) FROM records").fetchone()[0] == 0
    p = run_cli("data", "load", "pydoc", "--name", "pydoc", "-q", env={"LLMOPS_RUN_ID": "deadbeef"}, check=2)
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1 and "names no run" in p.stderr


def test_runs_filters_are_checked_and_ids_match_literally(ws, run_cli):
    with L.start_run("a", kind="notebook") as a:
        pass
    with L.start_run("b") as b:
        pass
    assert [r["id"] for r in L.runs(kind="notebook")] == [a.id]
    assert [r["id"] for r in L.runs(status="finished", last=1)] == [b.id]
    with pytest.raises(InputError, match="unknown run status 'bogus'; use one of running, finished"):
        L.runs(status="bogus")
    p = run_cli("runs", "--status", "bogus", check=2)
    assert "invalid value 'bogus' for --status" in p.stderr and "Traceback" not in p.stderr
    for wildcard in ("%", "_", "%%", a.id[:3] + "%"):
        with pytest.raises(NotFoundError):
            L.get_run(wildcard)
    p = run_cli("run", "show", "%", check=2)
    assert "unknown run '%'" in p.stderr
    with pytest.raises(InputError, match="give a run id"):
        L.get_run("  ")


def test_seed_outside_any_run_opens_no_workspace(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("LLMOPS_HOME", "LLMOPS_RUN_ID")}
    out = subprocess.run([sys.executable, "-c", "import llmops_nb as L; print(L.seed(3))"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "3", out.stderr
    assert list(tmp_path.iterdir()) == [], "seeding alone writes nothing"


def test_names_of_logged_things_are_checked_and_artifacts_stay_inside(ws, tmp_path):
    src = tmp_path / "my report (final).txt"
    src.write_text("ok")
    with L.start_run("r") as run:
        for bad, says in (("", "a record needs a name"), ("x" * 300, "is 300 characters long; use at most 200"),
                          ("a\nb", "holds a control character")):
            with pytest.raises(InputError, match=says):
                L.record(bad, 1)
        with pytest.raises(InputError, match="a metric needs a name"):
            run.log_metric(" ", 1.0)
        run.log_metric("loss/train: epoch 1", 0.5)  # spaces, '/' and ':' are fine in metric names
        dest = run.log_artifact(src)
        assert dest.name == "my-report-final-.txt" and dest.read_text() == "ok"
        for bad in ("../../escaped.txt", "/tmp/abs.txt", "sub/dir.txt"):
            with pytest.raises(InputError, match="invalid artifact name"):
                run.log_artifact(src, name=bad)
        folder = tmp_path / "plots"
        folder.mkdir()
        (folder / "a.svg").write_text("<svg/>")
        run.log_artifact(folder)
        (folder / "b.svg").write_text("<svg/>")
        again = run.log_artifact(folder)  # replacing a folder artifact swaps it whole
        assert sorted(p.name for p in again.iterdir()) == ["a.svg", "b.svg"]
    assert not (ws.path.parent / "escaped.txt").exists() and not list(ws.path.rglob("*.tmp"))
    assert set(L.get_run(run.id).artifacts) == {"my-report-final-.txt", "plots"}


def test_runs_table_carries_the_table_payload_with_raw_times(ws):
    """A saved notebook's `runs` output is sortable data for the extension, not only HTML."""
    with L.start_run("a <b>", kind="curate") as r:
        r.log_metric("f1", 0.5)
    bundle = L.runs()._repr_mimebundle_()
    payload = bundle["application/vnd.llmops.table+json"]
    types = {c["name"]: c["type"] for c in payload["columns"]}
    assert types["started_at"] == "time" and types["duration_s"] == "number" and types["metrics"] == "json"
    row = payload["rows"][0]
    assert row["name"] == "a <b>" and row["kind"] == "curate" and row["metrics"] == {"f1": 0.5}
    assert isinstance(row["started_at"], float) and payload["total"] == 1
    assert "a &lt;b&gt;" in bundle["text/html"] and "<b>" not in bundle["text/html"]
    assert "a <b>" in bundle["text/plain"]
