"""The LLMOps panel in a real `jupyter lab`, driven in headless Chromium: palette, runs, a run's detail, search,
a record's markup shown as text, screenshots in the light and dark themes.

One page for the module (a lab load costs seconds on these 2 cores); the tests run in file order on it and each
opens the panel itself if an earlier one failed before doing so.
"""
from __future__ import annotations

import re

import make_workspace as mw
import pytest
from pagecheck import DARK, LIGHT
from playwright.sync_api import expect

# a hung page fails its test, not the whole run (the session fixture's build counts in the first test)
pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]
PANEL = "#llmops-panel"


@pytest.fixture(scope="module")
def lp(open_page):
    page = open_page("panel")
    yield page
    page.close()


def panel(lp):
    """The panel, opened through its command when it is not showing yet."""
    loc = lp.page.locator(PANEL)
    if not loc.is_visible():
        assert lp.has_command("llmops:open-panel"), "the llmops-nb lab extension registered no llmops:open-panel"
        lp.execute("llmops:open-panel")
    expect(loc).to_be_visible()
    return loc


def show_run(lp, name: str):
    """The runs tab, then a click on a run's name; returns the run's detail."""
    p = panel(lp)
    p.locator("#llmops-tab-runs").click()
    p.locator(".llmops-run-name").get_by_text(name, exact=True).first.click()
    detail = p.locator(".llmops-run-detail")
    expect(detail).to_be_visible()
    return detail


def show_runs(lp):
    p = panel(lp)
    p.locator("#llmops-tab-runs").click()
    p.locator(".llmops-runs-table, .llmops-back").first.wait_for()
    if p.locator(".llmops-back").is_visible():  # a run's detail is showing
        p.locator(".llmops-back").click()
    expect(p.locator(".llmops-runs-table")).to_be_visible()
    return p


def search(lp, query: str, index: str = mw.INDEX):
    """The indexes tab, `index` selected, `query` searched; returns the results element."""
    p = panel(lp)
    p.locator("#llmops-tab-indexes").click()
    p.locator(f"tr.llmops-index-row[data-index='{index}']").click()
    box = p.locator("input.llmops-search-q")
    box.fill(query)
    p.locator(".llmops-search-submit").click()
    results = p.locator(".llmops-search-results")
    # the first query in a fresh server loads MiniLM: give it time
    expect(results).to_contain_text("Exception handling: a try statement", timeout=90_000)
    return results


def test_the_lab_loads_the_llmops_extension(lp):
    names = lp.page.evaluate(
        "() => JSON.parse(document.getElementById('jupyter-config-data').textContent)"
        ".federated_extensions.map(e => e.name)")
    assert "llmops-nb" in names, f"the lab did not load the llmops-nb extension (loaded: {names})"
    assert lp.has_command("llmops:open-panel")


def test_panel_opens_from_the_palette_and_lists_the_runs(lp):
    page = lp.page
    box = page.locator("#modal-command-palette .lm-CommandPalette-input")
    # after `restored` the launcher takes the focus, and the modal palette closes when it loses the focus: wait
    # for that first; then press the keys (again if something still took the focus away)
    page.wait_for_function("() => document.activeElement && document.activeElement !== document.body")
    for attempt in range(3):
        if not box.is_visible():
            page.keyboard.press("Control+Shift+C")
        try:
            box.fill("LLMOps: Open panel", timeout=3_000)
            break
        except Exception:
            if attempt == 2:
                raise
    item = page.locator(".lm-CommandPalette-item", has_text="LLMOps: Open panel")
    expect(item.first).to_be_visible()
    page.keyboard.press("Enter")
    p = page.locator(PANEL)
    expect(p).to_be_visible()
    names = p.locator(".llmops-runs-table .llmops-run-name")
    for name in mw.RUNS:
        expect(names.get_by_text(name, exact=True).first).to_be_visible()
    lp.assert_no_xss("panel runs table")


def test_a_run_detail_shows_its_params_and_stepped_metrics(lp):
    detail = show_run(lp, "train-alpha")
    expect(detail).to_contain_text("loss")
    expect(detail).to_contain_text("accuracy")
    expect(detail).to_contain_text(re.compile(r"0\.250*(?!\d)"))  # the last loss (step 5)
    expect(detail).to_contain_text(re.compile(r"0\.8750*(?!\d)"))  # the last accuracy
    expect(detail).to_contain_text("lr")
    # a param value holding markup is shown as that text
    expect(detail).to_contain_text(mw.XSS)
    assert detail.locator('img[src="x"]').count() == 0
    lp.assert_no_xss("run detail")


def test_search_box_returns_hits_and_shows_a_records_markup_as_text(lp):
    results = search(lp, mw.QUERY)
    expect(results).to_contain_text(mw.XSS)
    lp.assert_no_xss("panel search hits")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_panel_screenshots(lp, theme):
    lp.set_theme(LIGHT if theme == "light" else DARK)
    show_runs(lp)
    lp.screenshot(f"panel-runs-{theme}")
    show_run(lp, "train-alpha")
    lp.page.wait_for_timeout(300)  # the metrics chart draws after the detail's data
    lp.screenshot(f"panel-run-detail-{theme}")
    search(lp, mw.QUERY)
    lp.screenshot(f"panel-search-{theme}")
    lp.assert_no_xss(f"panel in the {theme} theme")
