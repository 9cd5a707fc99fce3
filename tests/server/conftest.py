"""Fixtures of the REST API tests: a real jupyter_server over a temp workspace filled with the real core API,
once per module (server_harness.py starts it)."""
from __future__ import annotations

import subprocess
import warnings

import pytest
from server_harness import Server, fill_workspace, start_server

from llmops_nb.errors import LlmopsWarning


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A jupyter_server over a filled workspace; `server.ids` holds the run ids made."""
    from llmops_nb.workspace import reset_workspace, workspace

    tmp = tmp_path_factory.mktemp("llmops-server")
    root, home = tmp / "root", tmp / "root" / ".llmops"
    root.mkdir()
    mp = pytest.MonkeyPatch()
    mp.setenv("LLMOPS_HOME", str(home))
    reset_workspace()
    workspace(home)
    try:
        ids = fill_workspace(root, home)
        url, proc, log = start_server(root, home, tmp)
    except BaseException:
        reset_workspace()
        mp.undo()
        raise
    srv = Server(url, root, home, proc, log, ids)
    yield srv
    proc.terminate()
    try:
        proc.wait(timeout=3)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    reset_workspace()
    mp.undo()


@pytest.fixture(scope="module")
def index_and_comparison(server):
    """The MiniLM index `docs-ix` of the curated dataset and a tiny-gpt2 comparison, in the server's workspace."""
    import llmops_nb as L
    from llmops_nb.workspace import workspace

    workspace(server.home)
    L.build_index("docs", name="docs-ix", progress=False)
    with warnings.catch_warnings():  # tiny-gpt2's answers are empty: compare says so, and that is not tested here
        warnings.simplefilter("ignore", LlmopsWarning)
        comp = L.compare("pydoc-qa", ["zero-shot:tiny-gpt2", "few-shot:tiny-gpt2:1"], limit=2, max_new_tokens=4,
                         progress=False)
    server.ids["compare"] = comp.run_id
    return server
