"""`GET /llmops/api/runs/<id>/notebook` against a real jupyter_server (conftest.py): the run's output notebook as
nbformat JSON, for the panel's "Open notebook" when the contents API refuses the path (the default workspace
`<root>/.llmops` is a hidden folder). Found only through the core (the run's artifacts), inside the workspace."""
from __future__ import annotations

import json
import os

import pytest
from server_harness import SECRET, json_error

TRAVERSALS = ["..%2F..%2Fetc%2Fpasswd", "..%2F..%2Fsecret.txt", "..%2Fsecret.txt", "%2Fetc%2Fpasswd", "..", "%2E%2E",
              "..%5C..%5Csecret.txt", "..%2F.llmops%2Fartifacts"]




def _notebook(cells):
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


@pytest.fixture(scope="module")
def runs(server, tmp_path_factory):
    """Beside conftest's runs: one whose output notebook has outputs, and one whose artifact file is a symlink to
    a notebook outside the workspace."""
    import llmops_nb as L
    from llmops_nb.workspace import workspace

    workspace(server.home)
    src = tmp_path_factory.mktemp("nb-src")
    made = src / "with-output.ipynb"
    made.write_text(json.dumps(_notebook([{"cell_type": "code", "execution_count": 1, "id": "c1", "metadata": {},
                                           "source": "print('hi')", "outputs": [
                                               {"output_type": "stream", "name": "stdout", "text": "hi\n"}]}])))
    with L.start_run("with-output", kind="notebook") as r:
        r.log_artifact(made, name="output-with-output.ipynb")
    outside = server.root / "outside.ipynb"  # in the server's root, not in its workspace
    outside.write_text(json.dumps(_notebook([{"cell_type": "markdown", "id": "m1", "metadata": {},
                                              "source": SECRET}])))
    with L.start_run("linked-out", kind="notebook") as linked:
        dest = linked.log_artifact(made, name="output-linked.ipynb")
    dest.unlink()
    os.symlink(outside, dest)
    return {"output": r.id, "linked": linked.id}


def test_authorized_request_gets_the_output_notebook(server, runs):
    reply = server.api(f"runs/{runs['output']}/notebook")
    assert reply.status == 200, reply.text[:500]
    nb = reply.data
    assert nb["nbformat"] == 4 and nb["cells"][0]["outputs"][0]["text"] == "hi\n"
    assert reply.headers.get("Cache-Control") == "no-store"
    # conftest's run train-a has one too (a notebook without cells); a unique prefix is enough, as for runs/<id>
    a = server.api(f"runs/{server.ids['a'][:6]}/notebook")
    assert a.status == 200 and a.data["cells"] == [], a.text[:300]


def test_the_contents_api_refuses_the_hidden_workspace_which_is_why_the_route_exists(server, runs):
    rel = server.api(f"runs/{runs['output']}").data["notebook"]
    assert rel.startswith(".llmops/artifacts/"), rel
    assert server.request(f"/api/contents/{rel}?content=0").status == 404, "allow_hidden=False by default"


def test_requests_without_a_token_are_refused(server, runs):
    for headers in ({}, {"Authorization": "token not-the-token"}):
        reply = server.api(f"runs/{runs['output']}/notebook", token=False, headers=headers)
        assert reply.status in (401, 403), (reply.status, reply.text[:300])
        assert "hi\\n" not in reply.text and "with-output" not in reply.text


@pytest.mark.parametrize("bad", TRAVERSALS)
def test_traversal_run_ids_are_refused(server, runs, bad):
    reply = server.api(f"runs/{bad}/notebook")
    assert reply.status in (400, 404), (reply.status, reply.text[:300])
    assert SECRET not in reply.text and "root:" not in reply.text
    assert set(reply.data) == {"error"}


def test_invalid_and_unknown_run_ids(server, runs):
    assert "invalid run id" in json_error(server.api("runs/not-a-run/notebook"), 400)
    assert "unknown run" in json_error(server.api("runs/0123456789ab/notebook"), 404).lower()


def test_a_run_without_a_notebook_is_a_one_line_404(server, runs):
    msg = json_error(server.api(f"runs/{server.ids['b']}/notebook"), 404)
    assert server.ids["b"] in msg and "has no output notebook" in msg


def test_a_symlink_leading_out_of_the_workspace_is_refused(server, runs):
    msg = json_error(server.api(f"runs/{runs['linked']}/notebook"), 404)
    assert "outside the workspace" in msg
    reply = server.api(f"runs/{runs['linked']}/notebook")
    assert SECRET not in reply.text


def test_other_methods_are_refused(server, runs):
    assert server.api(f"runs/{runs['output']}/notebook", method="DELETE").status == 405
