"""The panel's "Open notebook" in a real `jupyter lab`, driven in headless Chromium, for a run whose output notebook
lives in the default workspace `<root>/.llmops` (a hidden folder, which the contents API refuses): the panel reads it
from `runs/<id>/notebook`, saves a copy at `llmops-outputs/<run name>-<run id>.ipynb` under the lab's root, opens
that copy in a notebook tab with the run's outputs, and says so; a second click reopens the same copy.

The run is made here with the core's `run_notebook` (in a subprocess, as the lab's own workspace builder does:
cwd the lab's root, LLMOPS_HOME=<root>/.llmops, the lab's setting), on a tiny notebook under the lab's root.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error

import pytest
from pagecheck import LIGHT
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]
PANEL = "#llmops-panel"
RUN_NAME = "open-nb-check"
OUTPUT_TEXT = "hello from the tiny notebook"
MAKE_RUN = """
import json, sys
from llmops_nb.batch.notebooks import run_notebook
r = run_notebook(sys.argv[1], name=sys.argv[2], progress=False)
print(json.dumps({"id": r.run_id, "status": r.status, "error": r.error}))
"""


@pytest.fixture(scope="module")
def notebook_run(lab, tmp_path_factory):
    """A finished `run_notebook` run in the lab's workspace; its id and RunDetail."""
    import nbformat

    src = lab.root / "open-notebook-src"
    src.mkdir(exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("factor = 6", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell(f"print({OUTPUT_TEXT!r})"), nbformat.v4.new_code_cell("factor * 7")]
    nbformat.write(nb, src / "tiny.ipynb")
    tmp = tmp_path_factory.mktemp("open-nb")
    env = dict(os.environ, LLMOPS_HOME=str(lab.root / ".llmops"), JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
               IPYTHONDIR=str(tmp / "ipython"), PYTHONUNBUFFERED="1")
    env.pop("LLMOPS_RUN_ID", None)
    done = subprocess.run([sys.executable, "-c", MAKE_RUN, str(src / "tiny.ipynb"), RUN_NAME], cwd=lab.root, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"run_notebook failed:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    made = json.loads(done.stdout.strip().splitlines()[-1])
    assert made["status"] == "finished", made
    detail = lab.api(f"/llmops/api/runs/{made['id']}")
    assert detail["notebook"] and detail["notebook"].startswith(".llmops/"), detail["notebook"]
    return made["id"], detail


def test_open_notebook_opens_a_copy_of_a_hidden_workspace_notebook(lab, open_page, notebook_run):
    run_id, detail = notebook_run
    own = lab.root / detail["notebook"]
    own_bytes = own.read_bytes()
    with pytest.raises(urllib.error.HTTPError) as refused:  # why a copy: the contents API refuses hidden paths
        lab.api(f"/api/contents/{detail['notebook']}?content=0")
    assert refused.value.code == 404
    copy_rel = f"llmops-outputs/{RUN_NAME}-{run_id}.ipynb"
    copy = lab.root / copy_rel
    assert not copy.exists()

    lp = open_page("open-notebook")
    try:
        lp.set_theme(LIGHT)
        page = lp.page
        assert lp.has_command("llmops:open-panel"), "the llmops-nb lab extension registered no llmops:open-panel"
        lp.execute("llmops:open-panel")
        p = page.locator(PANEL)
        expect(p.locator(".llmops-runs-table")).to_be_visible()
        p.locator(f"tr.llmops-run-row[data-run-id='{run_id}'] .llmops-run-name").click()
        run_detail = p.locator(f".llmops-run-detail[data-run-id='{run_id}']")
        expect(run_detail).to_be_visible()
        button = run_detail.locator("button.llmops-open-notebook")
        expect(button).to_contain_text("Open notebook")
        button.click()

        note = run_detail.locator(".llmops-open-notebook-note")
        expect(note).to_have_text(f"opened a copy: {copy_rel}; the run's own notebook stays unchanged in the "
                                  "workspace", timeout=30_000)
        # a notebook tab on the copy, showing the run's outputs
        tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=f"{RUN_NAME}-{run_id}.ipynb")
        expect(tab).to_be_visible(timeout=30_000)
        nb_panel = page.locator(".jp-NotebookPanel:visible")
        expect(nb_panel).to_have_count(1)
        outputs = nb_panel.locator(".jp-OutputArea-output")
        expect(outputs.filter(has_text=OUTPUT_TEXT)).to_have_count(1)
        expect(outputs.filter(has_text="42")).to_have_count(1)
        current = page.evaluate("() => window.jupyterapp.shell.currentWidget.context.path")
        assert current == copy_rel

        assert copy.is_file(), f"{copy} was not written"
        saved = json.loads(copy.read_text())
        texts = [json.dumps(o) for c in saved["cells"] for o in c.get("outputs", [])]
        assert any(OUTPUT_TEXT in t for t in texts) and any("42" in t for t in texts), texts
        assert own.read_bytes() == own_bytes, "the run's own notebook must stay unchanged"
        lp.screenshot("panel-open-notebook-light")

        # a second click reopens the same copy instead of overwriting it
        mtime = copy.stat().st_mtime_ns
        button.click()
        expect(note).to_contain_text(f"opened a copy: {copy_rel} (made earlier", timeout=30_000)
        assert copy.stat().st_mtime_ns == mtime, "the existing copy was overwritten"
        assert sorted(x.name for x in (lab.root / "llmops-outputs").glob("*.ipynb")) == [copy.name]
        assert own.read_bytes() == own_bytes
    finally:
        lab.stop_kernels("llmops-outputs/")
        lp.close()
