"""In a real kernel: a widget shown as a cell's value goes out under a display id of its own, with the widget
view and its snapshot; each decision and the commit send an update of that display, so a notebook saved at
any moment holds the latest snapshot."""
import os
import queue
import textwrap

import pytest

from llmops_nb.widgets.review import MIME
from llmops_nb.widgets.snapshot import WIDGET_VIEW

CELLS = [
    textwrap.dedent("""
        import llmops_nb as L
        from llmops_nb.widgets.review import review
        L.load_dataset([{"id": f"r{i}", "text": f"Record {i} with enough words in it to be kept."} for i in range(4)],
                       "notes")
        w = review("notes")
        w
    """),
    "w.decide('r1', 'reject')",
    "w.commit_request = 1",
]


def run_cell(kc, code: str) -> list:
    """Execute `code`; the iopub display messages it caused, in order."""
    msg_id = kc.execute(code)
    out = []
    while True:
        try:
            msg = kc.get_iopub_msg(timeout=120)
        except queue.Empty:
            pytest.fail(f"no reply from the kernel for {code!r}")
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind = msg["msg_type"]
        if kind == "error":
            pytest.fail("\n".join(msg["content"]["traceback"]))
        if kind in ("display_data", "update_display_data", "execute_result"):
            out.append((kind, msg["content"]))
        if kind == "status" and msg["content"]["execution_state"] == "idle":
            return out


def test_the_snapshot_is_updated_in_place_after_each_decision_and_the_commit(ws):
    from jupyter_client.manager import start_new_kernel

    env = {**os.environ, "LLMOPS_HOME": str(ws.path)}
    km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(ws.path.parent))
    try:
        shown = run_cell(kc, CELLS[0])
        assert [k for k, _ in shown] == ["display_data"]  # not an execute_result: that could not be updated
        first = shown[0][1]
        display_id = first["transient"]["display_id"]
        assert WIDGET_VIEW in first["data"] and first["data"][MIME]["summary"]["pending"] == 4
        assert first["data"]["text/plain"].startswith("review notes@v1: 4 records")
        updates = run_cell(kc, CELLS[1])
        assert updates and all(k == "update_display_data" for k, _ in updates)
        last = updates[-1][1]
        assert last["transient"]["display_id"] == display_id
        assert last["data"][MIME]["summary"]["rejected"] == 1 and WIDGET_VIEW in last["data"]
        updates = run_cell(kc, CELLS[2])
        last = updates[-1][1]
        assert last["transient"]["display_id"] == display_id and last["data"][MIME]["committed"] == "notes@v2"
        assert "Committed notes@v2 (3 records) from notes@v1" in last["data"]["text/html"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
