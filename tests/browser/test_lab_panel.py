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

pytestmark = pytest.mark.browser
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
    """Click a run's name in the panel's runs table; returns the panel."""
    p = panel(lp)
    p.get_by_text(name, exact=True).first.click()
    return p


def test_the_lab_loads_the_llmops_extension(lp):
    names = lp.page.evaluate(
        "() => JSON.parse(document.getElementById('jupyter-config-data').textContent)"
        ".federated_extensions.map(e => e.name)")
    assert "llmops-nb" in names, f"the lab did not load the llmops-nb extension (loaded: {names})"
    assert lp.has_command("llmops:open-panel")


def test_panel_opens_from_the_palette_and_lists_the_runs(lp):
    page = lp.page
    page.locator("#jp-main-dock-panel").click(position={"x": 5, "y": 5})  # focus the app, not the address bar
    page.keyboard.press("Control+Shift+C")
    box = page.locator("#modal-command-palette .lm-CommandPalette-input, .lm-CommandPalette-input").first
    expect(box).to_be_visible()
    box.fill("LLMOps: Open panel")
    item = page.locator(".lm-CommandPalette-item", has_text="LLMOps: Open panel")
    expect(item.first).to_be_visible()
    page.keyboard.press("Enter")
    p = page.locator(PANEL)
    expect(p).to_be_visible()
    for name in mw.RUNS:
        expect(p.get_by_text(name, exact=True).first).to_be_visible()
    lp.assert_no_xss("panel runs table")


def test_a_run_detail_shows_its_params_and_stepped_metrics(lp):
    p = show_run(lp, "train-alpha")
    expect(p).to_contain_text("loss")
    expect(p).to_contain_text("accuracy")
    expect(p).to_contain_text(re.compile(r"0\.250*(?!\d)"))  # the last loss (step 5)
    expect(p).to_contain_text(re.compile(r"0\.8750*(?!\d)"))  # the last accuracy
    expect(p).to_contain_text("lr")
    # a param value holding markup is shown as that text
    expect(p).to_contain_text('<img src=x onerror="window.__llmops_xss=1">')
    assert p.locator('img[src="x"]').count() == 0
    lp.assert_no_xss("run detail")


def test_search_box_returns_hits_and_shows_a_records_markup_as_text(lp):
    p = panel(lp)
    box = p.locator("input[type=search], input[placeholder*='earch' i]").first
    expect(box).to_be_visible()
    box.fill(mw.QUERY)
    box.press("Enter")
    expect(p).to_contain_text("Exception handling: a try statement", timeout=60_000)
    expect(p).to_contain_text("<img src=x onerror=")
    lp.assert_no_xss("panel search hits")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_panel_screenshots(lp, theme):
    lp.set_theme(LIGHT if theme == "light" else DARK)
    show_run(lp, "train-alpha")
    lp.page.wait_for_timeout(500)  # the metrics chart draws after the detail's data
    lp.screenshot(f"panel-run-detail-{theme}")
    p = panel(lp)
    lp.screenshot(f"panel-{theme}-only", p)
    box = p.locator("input[type=search], input[placeholder*='earch' i]").first
    box.fill(mw.QUERY)
    box.press("Enter")
    expect(p).to_contain_text("Exception handling: a try statement", timeout=60_000)
    lp.screenshot(f"panel-search-{theme}")
    lp.assert_no_xss(f"panel in the {theme} theme")
