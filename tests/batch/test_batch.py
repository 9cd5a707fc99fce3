"""Notebook runs through real kernels (papermill), reproducibility, and sweeps on a real Dask LocalCluster."""
import json
import time

import nbformat
import pytest

import llmops_nb as L
from llmops_nb.errors import InputError


def make_nb(path, params_src, *cells, tag=True):
    nb = nbformat.v4.new_notebook()
    p = nbformat.v4.new_code_cell(params_src)
    if tag:
        p.metadata["tags"] = ["parameters"]
    nb.cells = [p] + [nbformat.v4.new_code_cell(c) for c in cells]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))
    return path


@pytest.fixture
def nb(tmp_path):
    return make_nb(tmp_path / "train.ipynb", "lr = 0.1\nsteps = 3\nfail = False\nlabel = 'x'",
                   "import llmops_nb\nassert not fail, 'asked to fail'\nscore = lr * steps",
                   "llmops_nb.record('score', score)\nllmops_nb.record('label', label)")


def test_run_notebook_is_a_tracked_run_with_records_and_output(ws, nb):
    res = L.run_notebook(nb, {"lr": 0.5, "steps": "4"})
    assert res.status == "finished" and res.records == {"score": 2.0, "label": "x"}
    assert res.parameters == {"lr": 0.5, "steps": 4}, "CLI-style strings are coerced to the declared type"
    run = L.get_run(res.run_id)
    assert run.kind == "notebook" and run.params == {"lr": 0.5, "steps": 4}
    assert res.output.exists() and str(res.output).startswith(str(ws.path))
    out = nbformat.read(str(res.output), as_version=4)
    mimes = [o["data"] for c in out.cells for o in c.get("outputs", []) if o.get("output_type") == "display_data"]
    assert any("application/vnd.llmops.record+json" in m for m in mimes), "the output notebook carries the records"
    assert "output-train.ipynb" in run.artifacts


def test_unknown_and_mistyped_parameters_are_refused_before_running(ws, nb):
    with pytest.raises(InputError, match=r"does not declare parameter 'lrr' \(did you mean 'lr'\?\); valid: lr, steps, fail, label"):
        L.run_notebook(nb, {"lrr": 1})
    with pytest.raises(InputError, match=r"parameter 'steps' expects int \(default 3\), got 'many'"):
        L.run_notebook(nb, {"steps": "many"})
    assert len(L.runs()) == 0, "nothing ran"


def test_missing_notebook_and_missing_parameters_cell(ws, tmp_path, nb):
    with pytest.raises(InputError, match="no such notebook"):
        L.run_notebook(tmp_path / "nope.ipynb")
    untagged = make_nb(tmp_path / "untagged.ipynb", "a = 1", "print(a)", tag=False)
    with pytest.raises(InputError, match="no cell tagged 'parameters'.*property inspector"):
        L.run_notebook(untagged)


def test_failing_cell_fails_the_run_and_keeps_partial_output(ws, nb):
    res = L.run_notebook(nb, {"fail": True})
    assert res.status == "failed" and res.failed_cell == 1
    assert "AssertionError: asked to fail" in res.error
    assert L.get_run(res.run_id).status == "failed"
    assert res.output.exists()


def test_kernel_death_marks_run_failed_with_last_cell(ws, tmp_path):
    nbp = make_nb(tmp_path / "die.ipynb", "x = 1", "import llmops_nb\nllmops_nb.record('before', 1)",
                  "import os\nos._exit(1)", "print('never')")
    res = L.run_notebook(nbp, timeout=60)
    assert res.status == "failed"
    assert res.failed_cell == 2 and "cell 2" in res.error
    assert res.records == {"before": 1}, "what the notebook recorded before dying is kept"
    assert res.output.exists(), "the partial output notebook is kept"


def test_reproduce_reports_changed_values(ws, tmp_path, nb):
    first = L.run_notebook(nb, {"lr": 0.2})
    rep = L.reproduce(first.run_id)
    assert rep.reproducible and rep.changed == {} and rep.same == ["label", "score"]
    noisy = make_nb(tmp_path / "noisy.ipynb", "seed = None",
                    "import random, llmops_nb\nif seed is not None: llmops_nb.seed(seed)\n"
                    "llmops_nb.record('draw', random.random())")
    a = L.run_notebook(noisy)
    rep = L.reproduce(a.run_id)
    assert not rep.reproducible and "draw" in rep.changed
    b = L.run_notebook(noisy, {"seed": 3})
    assert L.reproduce(b.run_id).reproducible


def test_sweep_on_a_local_dask_cluster(ws, nb):
    t = time.time()
    sw = L.sweep(nb, {"lr": [0.1, 0.3], "fail": [False, True]}, workers=2, metric="score")
    assert len(sw.results) == 4
    statuses = {(r["params"]["lr"], r["params"]["fail"]): r["status"] for r in sw.results}
    assert statuses == {(0.1, False): "finished", (0.3, False): "finished", (0.1, True): "failed", (0.3, True): "failed"}
    assert sw.best["params"]["lr"] == 0.3 and sw.best["records"]["score"] == pytest.approx(0.9)
    html = sw._repr_html_()
    assert "★" in html and sw.best["run_id"] in html
    children = [r for r in L.runs(kind="notebook")]
    assert len(children) == 4
    parent = L.get_run(sw.sweep_id)
    assert parent.kind == "sweep" and parent.tags["best_run"] == sw.best["run_id"]
    db = ws.db
    assert {r[0] for r in db.execute("SELECT parent_id FROM runs WHERE kind='notebook'")} == {sw.sweep_id}
    assert time.time() - t < 180


def test_unreachable_scheduler_fails_fast(ws, nb):
    t = time.time()
    with pytest.raises(InputError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        L.sweep(nb, {"lr": [0.1]}, scheduler="tcp://127.0.0.1:9")
    assert time.time() - t < 30


def test_nb_commands_cli_and_magic(run_cli, ipy, nb):
    p = run_cli("nb", "run", str(nb), "-p", "lr", "0.25", "--json", "-q", check=0)
    data = json.loads(p.stdout)
    assert data["status"] == "finished" and data["records"]["score"] == 0.75
    p = run_cli("nb", "run", str(nb), "-p", "fail", "true", "-q", check=1)
    assert "asked to fail" in p.stdout
    p = run_cli("nb", "run", str(nb), "-p", "nope", "1", check=2)
    assert "valid: lr, steps, fail, label" in p.stderr
    ipy.run(f"path = {str(nb)!r}")
    res = ipy.run("%llmops nb run {path} -p steps 10 -q -o r")
    assert res.ok and ipy.ns["r"].records["score"] == pytest.approx(1.0)


def test_reproducing_load_and_curate_is_reproducible(ws, tmp_path):
    """The demo's 01_curate in small: the re-run resolves to the same records, so it is reproducible."""
    notes = tmp_path / "notes.jsonl"
    notes.write_text("".join(json.dumps({"text": f"note number {i} about python {i % 7}"}) + "\n" for i in range(40)))
    nbp = make_nb(tmp_path / "curate.ipynb", f"source = {str(notes)!r}",
                  "import llmops_nb as L\nraw = L.load_dataset(source, name='notes')\n"
                  "res = L.curate(raw, ['normalize', 'exact_dedup'])\n"
                  "L.record('records_out', len(res.dataset))\nL.record('curated_dataset', res.dataset.ref)")
    first = L.run_notebook(nbp)
    assert first.ok, first.error
    rep = L.reproduce(first.run_id)
    assert rep.reproducible, str(rep)
    assert "curated_dataset" in rep.same and str(rep).startswith("reproducible")


def test_sweep_and_run_options_are_checked_before_any_work(ws, nb, run_cli):
    with pytest.raises(InputError, match=r"--scheduler 'bogus://x': unknown scheme 'bogus://'; use one of .*tcp://"):
        L.sweep(nb, {"lr": [0.1]}, scheduler="bogus://x")
    with pytest.raises(InputError, match=r"--metric 'scroe': train.ipynb records no value of that name "
                                         r"\(did you mean 'score'\?\); it records label, score"):
        L.sweep(nb, {"lr": [0.1]}, metric="scroe")
    with pytest.raises(InputError, match="--workers must be a whole number >= 1, got 0"):
        L.sweep(nb, {"lr": [0.1]}, workers=0)
    for bad in (-1, 0):
        with pytest.raises(InputError, match=r"--timeout must be a whole number >= 1, got -?\d; it is seconds per cell; omit it for no limit"):
            L.run_notebook(nb, timeout=bad)
    assert len(L.runs()) == 0, "nothing ran, no sweep run was opened"
    for args, says in ((("nb", "sweep", str(nb), "--grid", "lr=0.1", "--scheduler", "bogus://x"), "unknown scheme"),
                       (("nb", "sweep", str(nb), "--grid", "lr=0.1", "--metric", "nosuch"), "records no value"),
                       (("nb", "run", str(nb), "--timeout", "-1"), "it is seconds per cell")):
        p = run_cli(*args, check=2)
        assert says in p.stderr and "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1


def test_sweep_metric_of_a_computed_name_is_checked_after_the_runs(ws, tmp_path):
    nbp = make_nb(tmp_path / "dyn.ipynb", "lr = 0.1", "import llmops_nb\nname = 'sc' + 'ore'\nllmops_nb.record(name, lr)")
    sw = L.sweep(nbp, {"lr": [0.1, 0.2]}, workers=1, metric="nosuch")
    assert sw.best is None and sw.failed_work
    assert "no run recorded 'nosuch'; recorded: score" in str(sw)


def test_recorded_names_are_complete_only_when_every_record_is_a_literal_call(tmp_path):
    from llmops_nb.batch.params import recorded_names

    plain = make_nb(tmp_path / "a.ipynb", "x = 1", "import llmops_nb as L\nL.record('acc', x)\nL.record(\"loss\", 0)")
    assert recorded_names(plain) == ({"acc", "loss"}, True)
    alias = make_nb(tmp_path / "b.ipynb", "x = 1", "import llmops_nb as L\nlog = L.record\nlog('acc', x)")
    assert recorded_names(alias)[1] is False, "record passed around: other names may be recorded"
    helper = make_nb(tmp_path / "c.ipynb", "x = 1", "import my_helpers\nmy_helpers.train(x)")
    assert recorded_names(helper) == (set(), False), "no mention at all: a helper module may record"
    fstring = make_nb(tmp_path / "d.ipynb", "x = 1", "import llmops_nb as L\nL.record(f'acc/{x}', x)")
    assert recorded_names(fstring)[1] is False


def test_a_tie_names_no_best_run_and_is_not_a_failure(ws, tmp_path):
    nbp = make_nb(tmp_path / "flat.ipynb", "lr = 0.1", "import llmops_nb\nllmops_nb.record('score', 1.0)")
    sw = L.sweep(nbp, {"lr": [0.1, 0.2]}, workers=1, metric="score")
    assert sw.best is None and not sw.failed_work and sw.to_dict()["best_run"] is None
    assert "2 runs tie on score" in str(sw) and "no best run" in str(sw) and "★" not in sw._repr_html_()
