"""Every notebook in notebooks/ runs under nbval (real kernels), with small parameters injected by papermill
(prepare_only), in one shared workspace and in pipeline order: a notebook that breaks fails `make test`."""
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill
import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SMALL = {  # the same notebooks a user runs, sized for CI: tiny-gpt2 for the mechanics, few steps/questions
    "00_quickstart.ipynb": {"model": "tiny-gpt2", "limit": 2},
    "03_finetune.ipynb": {"base": "tiny-gpt2", "max_steps": 3, "batch_size": 4, "max_length": 96},
    "04_compare.ipynb": {"model": "tiny-gpt2", "limit": 3, "max_new_tokens": 8},
}


def test_every_notebook_has_a_parameters_cell_and_device_parameter():
    assert [p.name for p in NOTEBOOKS] == ["00_quickstart.ipynb", "01_curate.ipynb", "02_index.ipynb",
                                           "03_finetune.ipynb", "04_compare.ipynb"]
    for path in NOTEBOOKS:
        nb = nbformat.read(str(path), as_version=4)
        tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
        assert len(tagged) == 1, path.name
        assert re.search(r"^device = ", tagged[0].source, re.M) and re.search(r"^seed = ", tagged[0].source, re.M)
        assert any(c.cell_type == "markdown" for c in nb.cells), f"{path.name} explains its steps"
        assigned = re.findall(r"^(\w+) = ", tagged[0].source, re.M)
        assert list(papermill.inspect_notebook(str(path))) == assigned, f"{path.name}: papermill reads every parameter"


@pytest.mark.slow
def test_notebooks_pass_nbval(tmp_path):
    prepared = tmp_path / "nb"
    prepared.mkdir()
    for path in NOTEBOOKS:
        papermill.execute_notebook(str(path), str(prepared / path.name), parameters=SMALL.get(path.name, {}),
                                   prepare_only=True, kernel_name="python3", language="python", progress_bar=False)
    env = {**os.environ, "LLMOPS_HOME": str(tmp_path / "ws"), "LLMOPS_QUIET": "1"}
    proc = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-kernel-name", "python3",
                           "-p", "no:cacheprovider", "-q", "-o", "addopts=", *[str(prepared / p.name) for p in NOTEBOOKS]],
                          cwd=str(prepared), env=env, capture_output=True, text=True, timeout=1500)
    tail = (proc.stdout + proc.stderr)[-4000:]
    assert proc.returncode == 0, tail
    m = re.search(r"(\d+) passed", proc.stdout)
    n_cells = sum(sum(1 for c in nbformat.read(str(prepared / p.name), as_version=4).cells if c.cell_type == "code")
                  for p in NOTEBOOKS)
    assert m and int(m.group(1)) == n_cells, tail
