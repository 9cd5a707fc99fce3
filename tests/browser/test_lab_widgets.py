"""The review and explore widgets live (a kernel runs live.ipynb in the page): they mount over their snapshots and
their text reads in the light and dark themes (contrast from the computed colours, WCAG AA: 4.5)."""
from __future__ import annotations

import re

import make_workspace as mw
import pytest
from pagecheck import DARK, LIGHT, contrast_of
from playwright.sync_api import expect

# a hung page fails its test, not the whole run (the session fixture's build counts in the first test)
pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]
CELLS = list(mw.LIVE_CELLS)
# the live view: inside the extension's renderer (.llmops-live), else where jupyterlab-manager puts it
LIVE = ".llmops-live, .jupyter-widgets"
TEXTS = {"review": "Assert statements are a convenient way", "explore": "Exception handling: a try statement"}


@pytest.fixture(scope="module")
def live(open_page):
    lp = open_page("live-widgets")
    lp.set_theme(LIGHT)
    lp.execute("docmanager:open", {"path": "live.ipynb", "factory": "Notebook"})
    cells = lp.page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell")
    expect(cells).to_have_count(len(CELLS), timeout=60_000)
    assert lp.wait_kernel_idle(), "live.ipynb: no idle kernel in 60 s"
    prompt = cells.nth(0).locator(".jp-InputArea-prompt")
    for attempt in range(2):  # run-all acts on the current notebook: it is, once its kernel is idle
        lp.execute("notebook:run-all-cells", wait=False)
        try:
            expect(prompt).to_have_text("[1]:", timeout=60_000)
            break
        except AssertionError:
            if attempt:
                raise
    for cid, text in TEXTS.items():
        # explore embeds its query with MiniLM in a fresh kernel first
        expect(cells.nth(CELLS.index(cid)).locator(".jp-OutputArea")).to_contain_text(text, timeout=120_000)
    yield lp, cells
    lp.lab.stop_kernels("live.ipynb")
    lp.close()


def test_widgets_mount_live_over_their_snapshots(live):
    lp, cells = live
    for cid in TEXTS:
        out = cells.nth(CELLS.index(cid)).locator(".jp-OutputArea")
        expect(out).not_to_contain_text("model not found")
        expect(out.locator(LIVE).first).to_be_visible()
        renderer = out.locator(".llmops-renderer")
        if renderer.count():  # the extension's renderer holds the live view and the snapshot: live must show
            expect(renderer.first).to_have_attribute("data-llmops-view", "live", timeout=30_000)
            expect(renderer.first.locator(".llmops-saved-note")).to_be_hidden()
    lp.assert_no_xss("live widgets")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_widget_text_reads_in_both_themes(live, theme):
    lp, cells = live
    lp.set_theme(LIGHT if theme == "light" else DARK)
    problems = []
    for cid, text in TEXTS.items():
        out = cells.nth(CELLS.index(cid)).locator(".jp-OutputArea")
        live_view = out.locator(LIVE).first
        target = live_view.get_by_text(text).first
        if not target.count():
            problems.append(f"{cid}: '{text}' not in the live widget")
            continue
        ratio, detail = contrast_of(target)
        if ratio < 4.5:
            problems.append(f"{cid}: {detail}")
    for cid in TEXTS:
        lp.screenshot_at(f"live-{cid}-{theme}", cells.nth(CELLS.index(cid)))
    assert not problems, f"live widgets in the {theme} theme: " + "; ".join(problems)


def live_view(cells, cid: str):
    return cells.nth(CELLS.index(cid)).locator(".jp-OutputArea").locator(LIVE).first


def test_review_button_selects_its_record_so_keys_act_on_it(live):
    """Issue 12: clicking a record's button did not select it, so the next a/r key acted on another record."""
    lp, cells = live
    view = live_view(cells, "review")
    item = view.locator(".lr-item[data-llmops-id='rec-03']")
    item.locator(".lr-accept").click()
    expect(item).to_have_attribute("data-llmops-decision", "accept", timeout=15_000)
    expect(item).to_have_class(re.compile(r"\blr-selected\b"))
    lp.page.keyboard.press("r")
    expect(item).to_have_attribute("data-llmops-decision", "reject", timeout=15_000)
    first = view.locator(".lr-item[data-llmops-id='rec-code']")
    expect(first).to_have_attribute("data-llmops-decision", "")  # the record selected at first: untouched


def test_review_commit_says_what_it_wrote(live):
    """Issue 12: after Commit the widget still said "Review pydoc@v2"."""
    lp, cells = live
    view = live_view(cells, "review")
    view.locator(".lr-commit").click()
    expect(view.locator(".lr-title")).to_contain_text(re.compile(r"Committed docs@v\d+"), timeout=30_000)
    expect(view.locator(".lr-title")).not_to_have_text("Review docs@v1")


def test_explore_bad_filter_clears_hits_and_show_record_opens_under_its_hit(live):
    """Issue 12: a bad filter left stale results under the error; "show record" opened below all results."""
    lp, cells = live
    view = live_view(cells, "explore")
    where = view.locator(".lx-where")
    where.fill("topic ==")
    where.press("Enter")  # the filter is sent on Enter or when the box loses the focus, not on every key
    expect(view.locator(".lx-error")).to_be_visible(timeout=30_000)
    expect(view.locator(".lx-error")).not_to_be_empty()
    expect(view.locator(".lx-hit")).to_have_count(0)
    where.fill("topic == 'xss'")
    where.press("Enter")
    hit = view.locator(".lx-hit[data-llmops-id='rec-xss']")
    expect(hit).to_be_visible(timeout=30_000)
    expect(view.locator(".lx-hit")).to_have_count(1)
    expect(view.locator(".lx-error")).to_be_hidden()
    where.fill("")
    where.press("Enter")
    expect(view.locator(".lx-hit")).to_have_count(5, timeout=30_000)
    second = view.locator(".lx-hit").nth(1)
    second.locator("a.lx-show").click()
    record = view.locator(".lx-record")
    expect(record).to_be_visible(timeout=30_000)
    hit_box, rec_box, third_box = (second.bounding_box(), record.bounding_box(),
                                   view.locator(".lx-hit").nth(2).bounding_box())
    assert hit_box["y"] < rec_box["y"] < third_box["y"], \
        f"the record opened at y={rec_box['y']:.0f}, not between its hit (y={hit_box['y']:.0f}) and the next " \
        f"(y={third_box['y']:.0f})"
    lp.assert_no_xss("explore widget")
