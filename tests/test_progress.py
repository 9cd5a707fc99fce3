"""Progress bars: in a real kernel an HTML output updated in place through its display id, at most ~4 times a
second, ending as one static line (no widget, so a saved notebook shows the line, never "model not found");
outside a kernel tqdm's text bar, silent under LLMOPS_QUIET and CI."""
import os
import re
import time

import pytest

from llmops_nb.progress import MIN_INTERVAL_S, NotebookProgress, progress, units

KERNEL_CODE = """
import time
from llmops_nb.progress import progress
with progress(total=1000, desc="embedding (all-minilm-l6-v2)", unit="text") as bar:
    for i in range(10):
        bar.update(100)
        time.sleep(0.08)
bar2 = progress(total=50, desc="curate x@v1", unit="rec")
bar2.update(20)
bar2.close()
import llmops_nb as L
L.generate("tiny-gpt2", ["a", "b", "c"], max_new_tokens=2, cache=False)
"""


def _run_in_kernel(code: str, env: dict) -> list:
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", env=env)
    messages = []
    try:
        reply = kc.execute_interactive(code, timeout=240, output_hook=messages.append)
        assert reply["content"]["status"] == "ok", reply["content"]
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    return messages


@pytest.mark.slow
def test_in_a_kernel_the_bar_is_html_updated_in_place_and_ends_as_one_line(ws):
    env = {k: v for k, v in os.environ.items() if k not in ("LLMOPS_QUIET", "CI")}
    env["LLMOPS_HOME"] = str(ws.path)
    started = time.perf_counter()
    msgs = _run_in_kernel(KERNEL_CODE, env)
    elapsed = time.perf_counter() - started
    outputs = [m for m in msgs if m["header"]["msg_type"] in ("display_data", "update_display_data", "stream")]
    assert not any("application/vnd.jupyter.widget-view+json" in m["content"].get("data", {}) for m in outputs)
    shown = {}  # display id -> what a saved notebook keeps: the first output, replaced by each update
    order = []
    for m in outputs:
        if m["header"]["msg_type"] == "stream":
            assert "it/s" not in m["content"]["text"], "no tqdm text bar in a kernel"
            continue
        did = m["content"]["transient"]["display_id"]
        if m["header"]["msg_type"] == "display_data":
            assert did not in shown, "one output per bar"
            order.append(did)
        else:
            assert did in shown, "updates replace an output made first"
        shown[did] = m["content"]["data"]
        assert set(m["content"]["data"]) == {"text/html", "text/plain"}
    assert len(order) == 3, [shown[d]["text/plain"] for d in order]
    first, stopped, gen = (shown[d]["text/plain"] for d in order)
    assert re.fullmatch(r"embedding \(all-minilm-l6-v2\): 1,000 texts in \d+\.\ds", first), first
    assert re.fullmatch(r"curate x@v1: 20/50 records in \d+\.\ds \(stopped\)", stopped), stopped
    assert re.fullmatch(r"generate tiny-gpt2: 3 prompts in \d+\.\ds \(tok_s=[\d.]+\)", gen), gen
    assert shown[order[0]]["text/html"] == f"<div class='llmops-progress'>{first}</div>"
    updates = [m for m in outputs if m["header"]["msg_type"] == "update_display_data"
               and m["content"]["transient"]["display_id"] == order[0]]
    running = [u for u in updates if "<progress" in u["content"]["data"]["text/html"]]
    assert running, "the bar moved while it ran"
    assert len(updates) <= elapsed / MIN_INTERVAL_S + 2, "at most ~4 updates a second"


def test_outside_a_kernel_it_is_tqdm_and_quiet_rules_hold(monkeypatch, capsys):
    from tqdm import tqdm

    monkeypatch.delenv("LLMOPS_QUIET", raising=False)
    monkeypatch.delenv("CI", raising=False)
    with progress(total=3, desc="indexing", unit="vec") as bar:
        assert isinstance(bar, tqdm) and not bar.disable
        bar.update(3)
    assert "indexing" in capsys.readouterr().err
    monkeypatch.setenv("LLMOPS_QUIET", "1")
    with progress(total=3, desc="quiet") as bar:
        assert bar.disable
    monkeypatch.setenv("LLMOPS_QUIET", "0")
    monkeypatch.setenv("CI", "true")
    assert progress(total=3, desc="ci").disable
    monkeypatch.delenv("CI")
    assert progress(total=3, desc="asked", disable=True).disable


class _Recorder:
    """Stands in for the kernel's display publisher (the kernel test above uses the real one)."""

    def __init__(self):
        self.sent = []

    def publish(self, data, metadata=None, *, transient=None, update=False):
        self.sent.append((data, transient["display_id"], update))


def test_lines_say_counts_units_postfix_and_escape_the_description():
    rec = _Recorder()
    bar = NotebookProgress(rec, total=None, desc="finetune <b>x</b>", unit="step")
    bar.update(1)
    bar.set_postfix(loss="0.500", eval="0.600")
    bar.close()
    bar.close()
    data, did, update = rec.sent[-1]
    assert update and all(d == did for _, d, _ in rec.sent) and not rec.sent[0][2]
    assert re.fullmatch(r"finetune <b>x</b>: 1 step in \d\.\ds \(loss=0\.500, eval=0\.600\)", data["text/plain"])
    assert "<b>" not in data["text/html"] and "&lt;b&gt;" in data["text/html"]
    assert len(rec.sent) <= 3, "a second close() says nothing"
    assert units(1, "rec") == "record" and units(2, "vec") == "vectors" and units(2, "text") == "texts"
