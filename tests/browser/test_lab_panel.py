"""The LLMOps panel in a real `jupyter lab`, driven in headless Chromium: palette, runs, a run's detail, search,
a record's markup shown as text, screenshots in the light and dark themes.

One page for the module (a lab load costs seconds on these 2 cores); the tests run in file order on it and each
opens the panel itself if an earlier one failed before doing so.
"""
from __future__ import annotations

import re

import make_workspace as mw
import pytest
from pagecheck import DARK, LIGHT, contrast_of
from playwright.sync_api import expect

# a hung page fails its test, not the whole run (the session fixture's build counts in the first test)
pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]
PANEL = "#llmops-panel"


@pytest.fixture(scope="module")
def lp(open_page):
    page = open_page("panel")
    page.set_theme(LIGHT)  # the theme is a user setting: another module's page may have left it dark
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


def show_tab(lp, tab: str, body: str):
    """Click a tab; the tab may redraw the detail it showed last: go back to its list (`body`) then."""
    p = panel(lp)
    p.locator(f"#llmops-tab-{tab}").click()
    listing, back = p.locator(body), p.locator(".llmops-back", has_text=tab)
    expect(listing.or_(back).first).to_be_visible()
    if back.is_visible():
        back.click()
    expect(listing).to_be_visible()
    return p


def show_runs(lp):
    return show_tab(lp, "runs", ".llmops-runs-table")


def show_run(lp, name: str):
    """The runs table, then a click on a run's name; returns the run's detail."""
    p = show_runs(lp)
    p.locator(".llmops-run-name").get_by_text(name, exact=True).first.click()
    detail = p.locator(".llmops-run-detail")
    expect(detail).to_be_visible()
    return detail


def search(lp, query: str, index: str = mw.INDEX):
    """The indexes tab, `index` selected, `query` searched; returns the results element."""
    p = show_tab(lp, "indexes", ".llmops-indexes-table")
    p.locator(f"tr.llmops-index-row[data-index='{index}']").click()
    box = p.locator("input.llmops-search-q")
    box.fill(query)
    p.locator(".llmops-search-where").fill("")
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


def test_search_filter_narrows_hits_and_a_bad_one_is_an_error_without_stale_hits(lp):
    results = search(lp, mw.QUERY)
    p = panel(lp)
    where = p.locator(".llmops-search-where")
    where.fill("topic == 'xss'")
    p.locator(".llmops-search-submit").click()
    expect(results.locator(".llmops-hit")).to_have_count(1, timeout=30_000)
    expect(results.locator(".llmops-hit[data-id='rec-xss']")).to_be_visible()
    where.fill("topic ==")
    p.locator(".llmops-search-submit").click()
    expect(results.locator(".llmops-error")).to_be_visible(timeout=30_000)
    expect(results.locator(".llmops-hit")).to_have_count(0)


def test_data_steps_are_runs_too(lp):
    """load, curate and index build recorded runs (issue item 6), so the panel shows the whole history."""
    p = show_runs(lp)
    kinds = p.locator(".llmops-runs-table tr.llmops-run-row td:nth-child(2)").all_inner_texts()
    for kind in ("load", "curate", "index", "compare"):
        assert kind in kinds, f"no run of kind {kind!r} in the panel's runs table (kinds shown: {sorted(set(kinds))})"


def test_a_comparison_run_shows_its_leaderboard(lp):
    p = show_runs(lp)
    p.locator(f"tr.llmops-run-row[data-run-id='{lp.lab.info['comparison']}']").click()
    board = p.locator(".llmops-run-detail .llmops-run-comparison")
    for v in mw.VARIANTS:
        expect(board).to_contain_text(v, timeout=30_000)
    lp.screenshot_at("panel-comparison-light", board)


def test_datasets_tab_shows_versions_and_lineage(lp):
    p = show_tab(lp, "datasets", ".llmops-datasets-table")
    p.locator("tr.llmops-dataset-row[data-dataset='docs-clean']").click()
    detail = p.locator(".llmops-dataset-detail[data-dataset='docs-clean']")
    expect(detail).to_contain_text("docs@v1 → docs-clean@v1")
    for step in ("normalize", "exact_dedup", "near_dedup", "quality", "pii"):
        expect(detail.locator(f".llmops-step[data-step='{step}']")).to_be_visible()
    expect(detail).to_contain_text("26")  # records in
    lp.screenshot("panel-dataset-lineage-light")


def test_launcher_item_opens_a_notebook_that_loads_the_magics(lp):
    page = lp.page
    lp.execute("launcher:create")
    card = page.locator(".jp-LauncherCard:visible", has_text="LLMOps notebook").first
    expect(card).to_be_visible()
    card.click()
    first = page.locator(".jp-NotebookPanel:visible .jp-Cell").first
    expect(first.locator(".jp-InputArea-editor")).to_contain_text("%load_ext llmops_nb", timeout=30_000)
    lp.lab.stop_kernels("Untitled")  # its kernel is not needed (2 cores); closing the tab could ask to save


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_panel_screenshots_and_contrast(lp, theme):
    lp.set_theme(LIGHT if theme == "light" else DARK)
    problems = []

    def readable(what, locator):
        ratio, detail = contrast_of(locator)
        if ratio < 4.5:
            problems.append(f"{what}: {detail}")

    p = show_runs(lp)
    readable("a run's name", p.locator(".llmops-run-name").first)
    readable("a runs table header", p.locator(".llmops-runs-table th button").first)
    lp.screenshot(f"panel-runs-{theme}")
    detail = show_run(lp, "train-alpha")
    readable("a metric value", detail.locator("td.llmops-num").first)
    lp.page.wait_for_timeout(300)  # the metrics chart draws after the detail's data
    lp.screenshot(f"panel-run-detail-{theme}")
    results = search(lp, mw.QUERY)
    readable("a search hit's text", results.locator(".llmops-hit-text").first)
    lp.screenshot(f"panel-search-{theme}")
    lp.assert_no_xss(f"panel in the {theme} theme")
    assert not problems, f"the panel in the {theme} theme: " + "; ".join(problems)
