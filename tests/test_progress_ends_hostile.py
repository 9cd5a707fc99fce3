"""A progress bar in a kernel ends as its one static line also when the work under it fails and the error reaches
the cell (IPython then keeps the traceback, and with it a suspended generator's bar, alive): the saved notebook
must not keep a bar that still says '40% ... ~5s left'."""
from __future__ import annotations

import os
import re

import pytest

FAILING_CURATE = """
import llmops_nb as L
L.load_dataset([{"id": str(i), "text": f"record number {i} of the big one"} for i in range(6000)], name="big")
def boom(rec):
    if rec["id"] == "4000":
        raise RuntimeError("boom at record 4000")
    return rec
L.curate("big", steps=["normalize", boom])
"""


def _run_failing_cell(code: str, env: dict) -> tuple:
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", env=env)
    messages = []
    try:
        reply = kc.execute_interactive(code, timeout=240, output_hook=messages.append)
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return reply, messages


def _final_states(messages: list) -> dict:
    """display id -> the data a saved notebook keeps for it (the first output, replaced by each update)."""
    shown = {}
    for m in messages:
        if m["header"]["msg_type"] in ("display_data", "update_display_data"):
            did = (m["content"].get("transient") or {}).get("display_id")
            if did:
                shown[did] = m["content"]["data"]
    return shown


def test_a_curation_failing_midway_leaves_its_bar_as_one_stopped_line(ws):
    env = {k: v for k, v in os.environ.items() if k not in ("LLMOPS_QUIET", "CI")}
    env["LLMOPS_HOME"] = str(ws.path)
    reply, messages = _run_failing_cell(FAILING_CURATE, env)
    assert reply["content"]["status"] == "error" and "boom at record 4000" in reply["content"]["evalue"]
    bars = {did: data for did, data in _final_states(messages).items() if "curate big@v1" in data["text/plain"]}
    assert len(bars) == 1, bars
    (data,) = bars.values()
    assert "<progress" not in data["text/html"], f"the bar was left running: {data['text/plain']}"
    assert re.fullmatch(r"curate big@v1: [\d,]+/6,000 records in \d+\.\ds \(stopped\)", data["text/plain"]), data


FAILING_EMBED = """
from llmops_nb.models.loading import load_embedder
emb = load_embedder("all-minilm-l6-v2", device="cpu")
texts = ["a long enough sentence about files and exceptions"] * 4 + [b"bytes are not text"[:1]]
emb.encode(texts, batch_size=2, progress=True)  # the last batch (the shortest item) fails in the tokenizer
"""


@pytest.mark.slow
def test_an_embedding_failing_midway_leaves_its_bar_as_one_stopped_line(ws):
    env = {k: v for k, v in os.environ.items() if k not in ("LLMOPS_QUIET", "CI")}
    env["LLMOPS_HOME"] = str(ws.path)
    reply, messages = _run_failing_cell(FAILING_EMBED, env)
    assert reply["content"]["status"] == "error", reply["content"]
    bars = {did: data for did, data in _final_states(messages).items() if data["text/plain"].startswith("embed ")}
    assert len(bars) == 1, (bars, [m["content"] for m in messages if m["header"]["msg_type"] == "error"])
    (data,) = bars.values()
    assert "<progress" not in data["text/html"], f"the bar was left running: {data['text/plain']}"
    assert re.fullmatch(r"embed all-minilm-l6-v2: [0-4]/5 texts in \d+\.\ds \(stopped\)", data["text/plain"]), data
