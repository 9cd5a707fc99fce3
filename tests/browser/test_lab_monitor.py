"""The Monitor tab of the LLMOps panel and the monitor report's output, in a real `jupyter lab` in headless Chromium.

The module's fixture logs real calls into the lab's workspace with `llmops_nb.trace` on a plain function (60 questions
about Python errors, then 60 about cooking, a few failing) and two calls with retrieved context from the builder's
index, runs `llmops_nb.monitor(model=..., since=<between the two>)` so a drift verdict is saved, and writes
monitor.ipynb holding that report's output as IPython formats it (no kernel ran it in the lab). It runs as a script
in a subprocess (`python test_lab_monitor.py ROOT`), so torch and MiniLM load there, never in the pytest process.
"""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pagecheck import DARK, LIGHT, contrast_of
from playwright.sync_api import expect

# a hung page fails its test, not the whole run (the session fixture's build counts in the first test)
pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]
HERE = Path(__file__).resolve().parent
PANEL = "#llmops-panel"
MODEL, RAG = "support-bot", "rag-bot"
XSS = '<img src=x onerror="window.__llmops_xss=1">'
NEWEST = f"How long should I bake sourdough bread? {XSS}\n    (asked twice, indented)"
RAG_PROMPT = "Which clause of a try statement always runs?"
PASSAGES = [("rec-xss", 0.71), ("rec-00", 0.52)]  # records of make_workspace's docs-idx
NOTEBOOK = "monitor.ipynb"


# ---- the workspace's calls and report (run in a subprocess) -------------------------------------------------------
def build(root: Path) -> dict:
    import nbformat
    from IPython.core.formatters import DisplayFormatter

    import llmops_nb as L

    rng = random.Random(7)
    python = ["How do I catch {} in Python?", "Why does my {} loop stop early?", "What does {} do in a try statement?",
              "Explain the {} exception and when it is raised"]
    cooking = ["Give me a recipe for {} soup", "How long should I bake {} bread?", "What spices go well with {} curry?",
               "Can I freeze cooked {} for later?"]
    words_a = ["KeyError", "ValueError", "while", "finally", "OSError", "IndexError", "for", "except"]
    words_b = ["tomato", "pumpkin", "lentil", "banana", "sourdough", "chickpea", "rice", "mushroom"]

    @L.trace(model=MODEL)
    def answer(prompt):
        time.sleep(rng.uniform(0.001, 0.006))
        if "never end" in prompt:
            raise TimeoutError("the model took too long")
        return f"Here is what I know about: {prompt.lower()}"

    def ask(templates, words, i):
        try:
            answer(rng.choice(templates).format(rng.choice(words)) + f" (#{i})")
        except TimeoutError:
            pass

    t0 = time.time()
    for i in range(60):
        ask(["Why does my {} loop never end?"] if i % 20 == 3 else python, words_a, i)  # 3 calls raise
    since = time.time()
    for i in range(59):
        ask(cooking, words_b, i)
    answer(NEWEST)
    with L.trace(model=RAG, tags={"index": "docs-idx"}) as t:
        for _ in range(2):
            t.log(prompt=RAG_PROMPT, output="The finally clause.", context_ids=[p for p, _ in PASSAGES],
                  scores=[s for _, s in PASSAGES], tokens_in=14, tokens_out=4)
    # the reference is the window of equal length before `since`: it must reach back past the first call
    while time.time() - since < since - t0 + 0.5:
        time.sleep(0.05)
    report = L.monitor(model=MODEL, since=since)
    empty = L.monitor(model=MODEL, since=t0 - 7200, until=t0 - 3600, save=False)  # status "no data"

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    fmt = DisplayFormatter()
    for n, (cid, src, obj) in enumerate([
            ("report", f"L.monitor(model={MODEL!r}, since={since!r})", report),
            ("no-data", f"L.monitor(model={MODEL!r}, since={t0 - 7200!r}, until={t0 - 3600!r}, save=False)", empty)], 1):
        data, meta = fmt.format(obj)
        cell = nbformat.v4.new_code_cell(src, execution_count=n)
        cell["id"] = cid
        cell.outputs = [nbformat.v4.new_output("execute_result", data=data, metadata=meta, execution_count=n)]
        nb.cells.append(cell)
    nbformat.write(nb, root / NOTEBOOK)
    return {"verdict": report.verdict, "flagged": report.flagged, "status": report.status, "empty": empty.status,
            "p": {k: d.p_value for k, d in report.drift.items()}, "volume": report.volume}


@pytest.fixture(scope="module")
def logged(lab):
    env = dict(os.environ, LLMOPS_HOME=str(lab.root / ".llmops"), PYTHONUNBUFFERED="1")
    env.setdefault("LLMOPS_CACHE", str(HERE.parents[1] / ".cache" / "llmops"))
    env.pop("LLMOPS_RUN_ID", None)
    log = HERE / "artifacts" / "monitor_workspace.log"
    with open(log, "w") as f:
        rc = subprocess.run([sys.executable, __file__, str(lab.root)], cwd=lab.root, env=env, stdout=f,
                            stderr=subprocess.STDOUT, timeout=300).returncode
    text = log.read_text(errors="replace")
    if rc != 0:
        pytest.fail(f"logging the calls and the monitor report failed:\n{text[-3000:]}", pytrace=False)
    info = json.loads(text.strip().splitlines()[-1])
    assert info["flagged"] and info["status"] == "ok", f"no drift verdict to show: {info}"
    assert info["empty"] == "no data", info
    return info


# ---- the browser ----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def lp(open_page, logged):
    page = open_page("monitor")
    page.set_theme(LIGHT)  # the theme is a user setting: another module's page may have left it dark
    yield page
    page.close()


def monitor_tab(lp):
    """The panel on its Monitor tab, back at the models list."""
    p = lp.page.locator(PANEL)
    if not p.is_visible():
        lp.execute("llmops:open-panel")
    expect(p).to_be_visible()
    p.locator("#llmops-tab-monitor").click()
    rows, back = p.locator("table.llmops-monitor-table"), p.locator(".llmops-back")
    expect(rows.or_(back).first).to_be_visible()
    while back.first.is_visible():
        back.first.click()
    expect(rows).to_be_visible()
    return p


def open_model(lp, model: str):
    p = monitor_tab(lp)
    p.locator(f"tr.llmops-monitor-row[data-model='{model}']").click()
    detail = p.locator(f".llmops-monitor-detail[data-model='{model}']")
    expect(detail).to_be_visible()
    return detail


def open_notebook(lp):
    """monitor.ipynb in the main area (its kernel is stopped: the outputs are what was saved)."""
    nb = lp.page.locator(".jp-NotebookPanel:visible")
    if not nb.count():
        lp.execute("docmanager:open", {"path": NOTEBOOK, "factory": "Notebook"})
        expect(nb.locator(".jp-Cell")).to_have_count(2, timeout=60_000)
        lp.wait_kernel_idle(30_000)
        lp.lab.stop_kernels(NOTEBOOK)
    return nb


def test_monitor_tab_lists_the_models_with_volume_and_verdict(lp, logged):
    p = monitor_tab(lp)
    bot = p.locator(f"tr.llmops-monitor-row[data-model='{MODEL}']")
    expect(bot.locator("td.llmops-num").first).to_have_text("120")
    expect(bot.locator("td.llmops-num").nth(1)).to_have_text("3")  # the calls that raised
    expect(bot.locator(".llmops-verdict-chip")).to_have_attribute("data-verdict", "drift")
    expect(bot.locator(".llmops-pvalues")).to_contain_text("prompt p 0.002")
    rag = p.locator(f"tr.llmops-monitor-row[data-model='{RAG}']")
    expect(rag.locator(".llmops-verdict-chip")).to_have_text("not checked")
    lp.assert_no_xss("monitor models")


def test_a_models_report_and_a_calls_trace_view(lp, logged):
    detail = open_model(lp, MODEL)
    report = detail.locator(".llmops-monitor-report .llmops-mime-monitor")
    expect(report.locator(".llmops-monitor-verdict.llmops-flagged")).to_contain_text(logged["verdict"])
    expect(report.locator("tr.llmops-drift-row[data-kind='prompt'].llmops-flagged")).to_be_visible()
    expect(report.locator("svg.llmops-histogram[data-kind='prompt'] line.llmops-observed")).to_have_count(1)
    expect(report.locator("svg.llmops-timeline rect.llmops-timeline-bar")).to_have_count(24)
    rows = detail.locator("tr.llmops-trace-row")
    expect(rows).to_have_count(50)
    expect(detail.locator(".llmops-traces-status")).to_have_text("calls 1–50, newest first")
    expect(rows.first).to_contain_text("How long should I bake sourdough bread?")
    rows.first.click()
    trace = lp.page.locator(f"{PANEL} .llmops-trace")
    expect(trace.locator(".llmops-trace-prompt")).to_have_text(NEWEST)
    ws = trace.locator(".llmops-trace-prompt").evaluate("(e) => getComputedStyle(e).whiteSpace")
    assert ws == "pre-wrap", f"the trace's prompt has white-space: {ws}"
    expect(trace.locator(".llmops-trace-output")).to_contain_text("Here is what I know about: how long should i bake")
    lp.assert_no_xss("trace view")


def test_paging_and_a_failed_call(lp, logged):
    detail = open_model(lp, MODEL)
    detail.locator("button.llmops-traces-older").click()
    expect(detail.locator(".llmops-traces-status")).to_have_text("calls 51–100, newest first")
    detail.locator("button.llmops-traces-older").click()
    expect(detail.locator(".llmops-traces-status")).to_have_text("calls 101–120, newest first")
    expect(detail.locator("button.llmops-traces-older")).to_be_disabled()
    failed = detail.locator("tr.llmops-trace-row.llmops-trace-failed")
    expect(failed.first).to_be_visible()
    failed.first.click()
    expect(lp.page.locator(f"{PANEL} .llmops-trace-error")).to_have_text("error: TimeoutError: the model took too long")


def test_a_trace_shows_its_retrieved_passages(lp, logged):
    detail = open_model(lp, RAG)
    expect(detail.locator(".llmops-monitor-report")).to_contain_text("not checked yet")
    detail.locator("tr.llmops-trace-row").first.click()
    trace = lp.page.locator(f"{PANEL} .llmops-trace")
    expect(trace.locator(".llmops-trace-prompt")).to_have_text(RAG_PROMPT)
    for pid, score in PASSAGES:
        passage = trace.locator(f"li.llmops-passage[data-id='{pid}']")
        expect(passage.locator(".llmops-hit-score")).to_have_text(str(score))
    expect(trace.locator("li.llmops-passage[data-id='rec-xss'] .llmops-passage-text")).to_contain_text(
        XSS + " Exception handling: a try statement")
    lp.assert_no_xss("retrieved passages")
    lp.screenshot("monitor-trace-passages-light")


def test_the_report_output_of_a_saved_notebook(lp, logged):
    nb = open_notebook(lp)
    out = nb.locator(".jp-Cell").nth(0).locator(".jp-OutputArea-output")
    view = out.locator(".llmops-mime-monitor")
    expect(view).to_be_visible()
    expect(view.locator(".llmops-title")).to_contain_text(f"monitor {MODEL}:")
    expect(view.locator(".llmops-monitor-verdict.llmops-flagged")).to_contain_text(logged["verdict"])
    expect(view.locator(".llmops-monitor-figures tr[data-figure='volume'] td.llmops-num").first).to_have_text("60")
    expect(view.locator("svg.llmops-histogram")).to_have_count(2)
    expect(view.locator("table.llmops-monitor-examples[data-kind='prompt'] tbody tr")).to_have_count(5)
    empty = nb.locator(".jp-Cell").nth(1).locator(".llmops-mime-monitor[data-status='no data']")
    expect(empty.locator(".llmops-monitor-verdict")).to_have_text("verdict: no data")
    expect(empty.locator("table")).to_have_count(0)
    lp.assert_no_xss("monitor output")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_screenshots_and_contrast(lp, logged, theme):
    lp.set_theme(LIGHT if theme == "light" else DARK)
    problems = []

    def readable(what, locator):
        ratio, detail = contrast_of(locator)
        if ratio < 4.5:
            problems.append(f"{what}: {detail}")

    nb = open_notebook(lp)
    view = nb.locator(".jp-Cell").nth(0).locator(".llmops-mime-monitor")
    readable("the flagged verdict", view.locator(".llmops-monitor-verdict strong"))
    readable("a drift verdict cell", view.locator("tr.llmops-drift-row td.llmops-wrap").first)
    readable("an example's text", view.locator("table.llmops-monitor-examples td.llmops-longtext").first)
    detail = open_model(lp, MODEL)
    readable("a verdict in the panel", detail.locator(".llmops-monitor-verdict strong"))
    readable("a call's prompt", detail.locator(".llmops-trace-prompt-cell").first)
    lp.screenshot_at(f"monitor-panel-report-{theme}", detail)
    lp.screenshot_at(f"monitor-output-{theme}", view.locator(".llmops-monitor-charts"))
    lp.screenshot_at(f"monitor-panel-calls-{theme}", detail.locator(".llmops-traces"))
    lp.screenshot_at(f"monitor-output-no-data-{theme}", nb.locator(".jp-Cell").nth(1))
    detail.locator("tr.llmops-trace-row").first.click()
    expect(lp.page.locator(f"{PANEL} .llmops-trace-prompt")).to_have_text(NEWEST)
    readable("the trace's prompt", lp.page.locator(f"{PANEL} .llmops-trace-prompt"))
    lp.screenshot(f"monitor-trace-{theme}")
    monitor_tab(lp)
    lp.screenshot(f"monitor-models-{theme}")
    lp.assert_no_xss(f"monitor in the {theme} theme")
    assert not problems, f"the monitor views in the {theme} theme: " + "; ".join(problems)


def test_check_now_runs_a_report_and_saves_its_verdict(lp, logged):
    """Last: it replaces the saved verdict (POST monitor {"model"}: the last 24 hours against the 24 before, where
    nothing was logged, so "insufficient data"; no embedding is needed for that)."""
    lp.set_theme(LIGHT)
    detail = open_model(lp, MODEL)
    button = detail.locator("button.llmops-monitor-check")
    button.click()
    expect(detail.locator(".llmops-monitor-report .llmops-monitor-verdict")).to_have_text(
        "verdict: insufficient data", timeout=90_000)
    expect(button).to_be_enabled()
    expect(button).to_have_text("Check now")
    expect(detail.locator(".llmops-monitor-check-note")).to_contain_text("insufficient data")
    lp.screenshot_at("monitor-checked-light", detail)
    row = monitor_tab(lp).locator(f"tr.llmops-monitor-row[data-model='{MODEL}']")
    expect(row.locator(".llmops-verdict-chip")).to_have_attribute("data-verdict", "insufficient")


if __name__ == "__main__":
    print(json.dumps(build(Path(sys.argv[1]))))
