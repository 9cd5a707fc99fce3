"""Test isolation: every test gets its own workspace; Jupyter/IPython/HOME caches point at temp folders.

The converted-model cache (LLMOPS_CACHE) is shared across the run (and across runs, via the Makefile's
.cache/llmops) so SmolLM2 is dequantized once per machine, as users' many workspaces share it too.
"""
from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_helpers import cli, require_node, unprivileged  # noqa: E402,F401  (tests import them from cli_helpers)

ROOT = Path(__file__).resolve().parents[1]
_TMP = Path(tempfile.mkdtemp(prefix="llmops-tests-"))
atexit.register(shutil.rmtree, _TMP, True)  # the run's Jupyter/IPython/HOME folders go with it
for var, sub in (("JUPYTER_CONFIG_DIR", "jupyter-config"), ("JUPYTER_DATA_DIR", "jupyter-data"),
                 ("JUPYTER_RUNTIME_DIR", "jupyter-runtime"), ("IPYTHONDIR", "ipython"), ("MPLCONFIGDIR", "mpl"),
                 ("HF_HOME", "hf"), ("XDG_CACHE_HOME", "xdg-cache")):
    os.environ[var] = str(_TMP / sub)
    (_TMP / sub).mkdir(parents=True, exist_ok=True)
os.environ.setdefault("LLMOPS_CACHE", str(ROOT / ".cache" / "llmops"))
# a test that forgets the `ws` fixture writes here, never into the checkout's (the user's) ./.llmops
os.environ["LLMOPS_HOME"] = str(_TMP / "default-workspace")
os.environ["LLMOPS_QUIET"] = "1"
os.environ.pop("LLMOPS_RUN_ID", None)
os.environ.pop("LLMOPS_DEVICE", None)
os.environ["HOME"] = str(_TMP / "home")
(_TMP / "home").mkdir(exist_ok=True)


@pytest.fixture
def ws(tmp_path, monkeypatch):
    """A fresh, current workspace in a temp folder."""
    from llmops_nb.workspace import reset_workspace, workspace

    home = tmp_path / "ws"
    monkeypatch.setenv("LLMOPS_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    reset_workspace()
    w = workspace()
    yield w
    reset_workspace()


@pytest.fixture(scope="session")
def shell():
    """A real IPython shell with the extension loaded."""
    from IPython.testing.globalipapp import start_ipython

    ip = start_ipython()
    ip.run_line_magic("load_ext", "llmops_nb")
    return ip


@pytest.fixture
def ipy(shell, ws):
    """run(cell) executes a cell in the real shell and raises what it raised."""

    class Runner:
        def __init__(self, sh):
            self.shell = sh
            self.ns = sh.user_ns

        def run(self, cell: str):
            res = self.shell.run_cell(cell, store_history=False, silent=False)
            res.raise_error()
            return res.result

        def line(self, line: str):
            return self.shell.run_line_magic("llmops", line)

    return Runner(shell)


@pytest.fixture
def run_cli(ws):
    def _run(*args, **kw):
        env = {"LLMOPS_HOME": str(ws.path), **kw.pop("env", {})}
        return cli(*args, env=env, **kw)

    return _run


@pytest.fixture(scope="session")
def smollm2():
    """SmolLM2 loaded once per test run (converted once per machine into LLMOPS_CACHE)."""
    from llmops_nb.models import load_model

    return load_model("smollm2-135m-instruct")


@pytest.fixture
def one_torch_thread():
    """These 2 cores are shared by several test runs: with 2 OpenMP threads a tiny op waits whenever its partner
    thread is descheduled (measured 50x slower under load). Behaviour is the same with one thread."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def node() -> str:
    """The node binary for front-end checks; a missing node fails (with how to get it), never skips."""
    return require_node()
