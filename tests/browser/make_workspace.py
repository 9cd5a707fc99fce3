"""Builds the browser tests' lab root with the real core API, then executes a notebook on it with a real kernel.

Run as a script (tests/browser/conftest.py starts it in a subprocess while `jupyter lab` starts), with the lab
root as cwd and LLMOPS_HOME=<root>/.llmops, so torch and the models load in this process and in the notebook's
kernel, never in the pytest process. Writes <out>/build.json: run ids, names, and the notebook cells' errors.

    python make_workspace.py ROOT OUT
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

XSS = '<img src=x onerror="window.__llmops_xss=1">'
# searchable text next to the markup, so the panel's search box and search() find this record
XSS_TEXT = (XSS + " Exception handling: a try statement with except clauses catches the errors raised in its "
            "body, and a finally clause runs on the way out.")
CODE_TEXT = "def retry(call):\n    for attempt in range(3):\n        try:\n            return call()\n        except OSError:\n            pass"
QUERY = "try statement except clauses catch errors"
INDEX = "docs-idx"
VARIANTS = ["zero-shot:tiny-gpt2", "few-shot:tiny-gpt2:2", f"rag:tiny-gpt2:{INDEX}:2"]
RUNS = {  # name -> (params, {metric: [values by step]}, status)
    "train-alpha": ({"lr": 0.01, "note": XSS}, {"loss": [1.0, 0.8, 0.6, 0.45, 0.3, 0.25],
                                                "accuracy": [0.5, 0.6, 0.7, 0.75, 0.8, 0.875]}, "finished"),
    "train-beta": ({"lr": 0.001}, {"loss": [1.0, 0.9, 0.85, 0.75], "accuracy": [0.5, 0.55, 0.6, 0.625]}, "finished"),
    "train-gamma": ({"lr": 0.1}, {"loss": [2.0, 4.0]}, "failed"),
}


def records():
    from pydoc_data.topics import topics

    # the code record first: the review widget's first page shows it, with its indentation
    recs = [{"id": "rec-code", "text": CODE_TEXT, "topic": "code"}]
    recs += [{"id": f"rec-{i:02d}", "text": topics[t][:700].strip(), "topic": t}
             for i, t in enumerate(sorted(topics)[:24])]
    recs.append({"id": "rec-xss", "text": XSS_TEXT, "topic": "xss"})
    return recs


def build_workspace() -> dict:
    import llmops_nb as L

    info: dict = {"runs": {}}
    for name, (params, metrics, status) in RUNS.items():
        run = L.start_run(name, params=params)
        for key, values in metrics.items():
            for step, v in enumerate(values):
                run.log_metric(key, v, step=step)
        run.end(status, error="diverged: loss went up" if status == "failed" else None)
        info["runs"][name] = run.id
    ds = L.load_dataset(records(), name="docs")
    info["dataset"] = ds.ref
    cur = L.curate("docs", name="docs-clean", progress=False)
    info["curated"] = cur.dataset.ref
    L.build_index("docs", name=INDEX, model="all-minilm-l6-v2", chunk_tokens=128, progress=False)
    comp = L.compare("pydoc-qa", VARIANTS, limit=3, max_new_tokens=6, progress=False)
    info["comparison"] = comp.run_id
    return info


CELLS = {  # cell id -> source; ids name what each output shows, the tests look outputs up by them
    "setup": "import llmops_nb as L\n%load_ext llmops_nb",
    "search": f"L.search({INDEX!r}, {QUERY!r}, k=3)",
    "comparison": "cmp = L.Comparison.load('COMPARISON_RUN')\ncmp",
    "review": "w = L.review('docs')\nw.decide('rec-00', 'accept')\nw.decide('rec-01', 'accept')\n"
              "w.decide('rec-02', 'reject')\nw",
    "explore": f"L.explore({INDEX!r}, {QUERY!r})",
    "curation": "L.curate('docs', name='docs-curated', steps=['normalize', 'exact_dedup', 'quality'])",
    # texts no earlier run embedded (the shared embedding cache would skip the work, and its progress bar)
    "progress": "import uuid\nfresh = [{'id': f'f{i}', 'text': f'sentence {i} on loops and exceptions {uuid.uuid4().hex}'}"
                " for i in range(120)]\nix = L.build_index(fresh, name='fresh-idx', model='all-minilm-l6-v2')",
    "datasets": "L.datasets()",
    # what nbviewer, GitHub and VS Code show: only the HTML of a bundle, here inside JupyterLab's .jp-RenderedHTMLCommon
    "html_fallback": "from IPython.display import HTML, display\n"
                     "for r in (L.search(%r, %r, k=3), L.datasets()):\n"
                     "    display(HTML(get_ipython().display_formatter.format(r)[0]['text/html']))" % (INDEX, QUERY),
    "runs": "L.runs()",
}


LIVE_CELLS = ("setup", "review", "explore")  # live.ipynb: run in the browser, for the widgets' live views


def notebook(cell_ids, info: dict):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for cid in cell_ids:
        cell = nbformat.v4.new_code_cell(CELLS[cid].replace("COMPARISON_RUN", info["comparison"]))
        cell["id"] = cid
        nb.cells.append(cell)
    return nb


def execute_notebook(root: Path, info: dict) -> dict:
    import nbformat
    from nbclient import NotebookClient
    from nbformat.sign import NotebookNotary

    nbformat.write(notebook(LIVE_CELLS, info), root / "live.ipynb")
    nb = notebook(CELLS, info)
    env = dict(os.environ)
    env["LLMOPS_QUIET"] = "0"  # a user's kernel shows progress; the test run's default is quiet
    env.pop("CI", None)
    # store_widget_state=False: JupyterLab saves no widget state by default, so a reopened notebook has none
    client = NotebookClient(nb, timeout=300, kernel_name="python3", allow_errors=True, store_widget_state=False,
                            resources={"metadata": {"path": str(root)}})
    t0 = time.time()
    client.execute(env=env)
    errors = {c["id"]: f"{o.get('ename')}: {o.get('evalue')}" for c in nb.cells for o in c.get("outputs", [])
              if o.get("output_type") == "error"}
    NotebookNotary().sign(nb)  # as JupyterLab saves a notebook it ran: trusted (JUPYTER_DATA_DIR is the lab's)
    nbformat.write(nb, root / "saved.ipynb")
    # as papermill or nbclient leave it: not signed (one metadata field differs, so the signature above is not its)
    nb.metadata["llmops_tests"] = {"copy": "unsigned"}
    nbformat.write(nb, root / "saved-untrusted.ipynb")
    return {"notebook_errors": errors, "notebook_s": round(time.time() - t0, 1)}


def main() -> None:
    root, out = Path(sys.argv[1]), Path(sys.argv[2])
    os.chdir(root)
    t0 = time.time()
    info = build_workspace()
    info["workspace_s"] = round(time.time() - t0, 1)
    info.update(execute_notebook(root, info))
    (out / "build.json").write_text(json.dumps(info, indent=1))


if __name__ == "__main__":
    main()
