"""In a real kernel: a widget shown as a cell's value goes out under a display id of its own, with the widget
view and its snapshot; each decision (from a later cell, or from the front-end's comm message as a button
click sends it) and the commit send an update of that display, as a reply to the cell that showed it, so
JupyterLab routes it to that cell's output and a notebook saved at any moment holds the latest snapshot."""
import os
import queue
import textwrap

import pytest

from llmops_nb.widgets.review import MIME
from llmops_nb.widgets.snapshot import WIDGET_VIEW

SHOW = textwrap.dedent("""
    import llmops_nb as L
    from llmops_nb.widgets.review import review
    L.load_dataset([{"id": f"r{i}", "text": f"Record {i} with enough words in it to be kept."} for i in range(4)],
                   "notes")
    w = review("notes")
    w
""")


def wait(kc, msg_id: str, shell_reply: bool = False) -> list:
    """The display messages (with their parent msg_id) until the request `msg_id` is done."""
    out, idle, replied = [], False, not shell_reply
    while not (idle and replied):
        try:
            msg = kc.get_iopub_msg(timeout=120)
        except queue.Empty:
            pytest.fail("no reply from the kernel")
        parent = msg["parent_header"].get("msg_id")
        kind = msg["msg_type"]
        if kind == "error":
            pytest.fail("\n".join(msg["content"]["traceback"]))
        if kind in ("display_data", "update_display_data", "execute_result"):
            out.append((kind, parent, msg["content"]))
        if kind == "status" and parent == msg_id and msg["content"]["execution_state"] == "idle":
            idle = True
            if shell_reply:
                replied = True
    return out


def test_the_snapshot_is_updated_in_place_for_the_cell_that_showed_it(ws):
    from jupyter_client.manager import start_new_kernel

    env = {**os.environ, "LLMOPS_HOME": str(ws.path)}
    km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(ws.path.parent))
    try:
        show_id = kc.execute(SHOW)
        shown = wait(kc, show_id)
        assert [(k, p) for k, p, _ in shown] == [("display_data", show_id)]  # not an execute_result
        first = shown[0][2]
        display_id = first["transient"]["display_id"]
        model_id = first["data"][WIDGET_VIEW]["model_id"]
        assert first["data"][MIME]["summary"]["pending"] == 4
        assert first["data"]["text/plain"].startswith("review notes@v1: 4 records")

        updates = wait(kc, kc.execute("w.decide('r1', 'reject')"))
        assert updates and {(k, p) for k, p, _ in updates} == {("update_display_data", show_id)}
        last = updates[-1][2]
        assert last["transient"]["display_id"] == display_id and WIDGET_VIEW in last["data"]
        assert last["data"][MIME]["summary"]["rejected"] == 1

        # what the front-end sends when the Accept button of r2 is clicked: a comm update of the `decision` trait
        click = kc.session.msg("comm_msg", {"comm_id": model_id, "data": {
            "method": "update", "buffer_paths": [],
            "state": {"decision": {"id": "r2", "decision": "accept", "text": None, "seq": 7}}}})
        kc.shell_channel.send(click)
        updates = wait(kc, click["header"]["msg_id"])
        assert updates and {(k, p) for k, p, _ in updates} == {("update_display_data", show_id)}
        assert updates[-1][2]["data"][MIME]["summary"]["accepted"] == 1

        updates = wait(kc, kc.execute("w.commit_request = 1"))
        last = updates[-1][2]
        assert {p for _, p, _ in updates} == {show_id} and last["transient"]["display_id"] == display_id
        assert last["data"][MIME]["committed"] == "notes@v2"
        assert "Committed notes@v2 (3 records) from notes@v1" in last["data"]["text/html"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
