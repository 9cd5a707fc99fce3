"""A saved notebook whose kernel is gone, reopened in a real `jupyter lab`: every llmops output still reads.

make_workspace.py executed the notebook with a real kernel and saved it without widget state (as JupyterLab
saves), once signed (as JupyterLab saves a notebook it ran: trusted) and once unsigned (as papermill and
`make demo` leave it). Reopened here, no widget model exists: JupyterLab may start a fresh kernel, which never
made them. Cells are found by their ids in make_workspace.CELLS (same order in the page).
"""
from __future__ import annotations

import re

import make_workspace as mw
import pytest
from pagecheck import DARK, LIGHT, contrast_of
from playwright.sync_api import expect

# a hung page fails its test, not the whole run (the session fixture's build counts in the first test)
pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]
CELL_IDS = list(mw.CELLS)
WIDGET_ERRORS = re.compile(r"Error displaying widget|model not found", re.I)


class Notebook:
    def __init__(self, lp, path: str):
        self.lp, self.path, self.page = lp, path, lp.page
        self.tag = "trusted" if path == "saved.ipynb" else "untrusted"

    def cell(self, cid: str):
        return self.page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").nth(CELL_IDS.index(cid))

    def outputs(self, cid: str):
        return self.cell(cid).locator(".jp-OutputArea")


@pytest.fixture(scope="module", params=["saved.ipynb", "saved-untrusted.ipynb"])
def nb(request, open_page):
    lp = open_page(f"outputs-{request.param}")
    lp.set_theme(LIGHT)
    lp.execute("docmanager:open", {"path": request.param, "factory": "Notebook"})
    cells = lp.page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell")
    expect(cells).to_have_count(len(CELL_IDS), timeout=60_000)
    expect(cells.nth(CELL_IDS.index("comparison")).locator(".jp-OutputArea-output").first).to_be_visible()
    # a kernel JupyterLab starts for it gets its chance to (not) find the widget models before anything is read
    lp.wait_kernel_idle(30_000)
    lp.page.wait_for_timeout(1500)
    yield Notebook(lp, request.param)
    lp.close()


def test_comparison_leaderboard_shows(nb):
    out = nb.outputs("comparison")
    for v in mw.VARIANTS:
        expect(out).to_contain_text(v)
    # the grounding part under the leaderboard: the hallucination tests and what they found, in words
    expect(out.locator(".llmops-findings").first).to_contain_text(f"{mw.VARIANTS[2]} vs {mw.VARIANTS[0]}")
    table = out.locator("table").first
    expect(table).to_be_visible()
    # a leaderboard wider than the output must scroll, not lose its last columns
    fit = table.evaluate(
        "(t) => { const out = t.closest('.jp-OutputArea-output'); let scroller = null;"
        " for (let n = t.parentElement; n && n !== out.parentElement; n = n.parentElement) {"
        "   const s = getComputedStyle(n).overflowX;"
        "   if ((s === 'auto' || s === 'scroll') && n.scrollWidth > n.clientWidth + 1) { scroller = n.className; break; } }"
        " return {table: t.getBoundingClientRect().right, out: out.getBoundingClientRect().right, scroller}; }")
    assert fit["table"] <= fit["out"] + 1 or fit["scroller"] is not None, \
        f"{nb.path}: the leaderboard is cut off at the right (table ends at {fit['table']:.0f}px, its output at " \
        f"{fit['out']:.0f}px, nothing scrolls)"


def test_search_hits_show_and_a_records_markup_is_text(nb):
    out = nb.outputs("search")
    expect(out).to_contain_text("Exception handling: a try statement")
    expect(out).to_contain_text(mw.XSS)
    assert out.locator('img[src="x"]').count() == 0
    nb.lp.assert_no_xss(f"{nb.path}: search hits")


def test_review_snapshot_shows_dataset_and_counts(nb):
    out = nb.outputs("review")
    text = out.inner_text()
    assert "docs@v1" in text, f"no dataset ref in the review output: {text[:400]!r}"
    assert not WIDGET_ERRORS.search(text), f"the review output shows a widget error: {text[:400]!r}"
    assert re.search(r"(\b2\b\W*accepted|accepted\W*\b2\b)", text, re.I), f"no '2 accepted' in: {text[:400]!r}"
    assert re.search(r"(\b1\b\W*rejected|rejected\W*\b1\b)", text, re.I), f"no '1 rejected' in: {text[:400]!r}"
    assert "26" in text, f"no record count (26) in: {text[:400]!r}"
    assert not re.fullmatch(r"\s*ReviewWidget\(.*\)\s*", text), "only a bare repr"
    expect(out).to_contain_text("Assert statements are a convenient way")  # a record's text
    expect(out).to_contain_text("saved view")  # labelled as the saved view (contract), no live widget behind it


def test_explore_snapshot_shows_the_query_and_its_hits(nb):
    out = nb.outputs("explore")
    text = out.inner_text()
    assert not WIDGET_ERRORS.search(text), f"the explore output shows a widget error: {text[:400]!r}"
    assert mw.QUERY in text, f"the explore snapshot does not show its query: {text[:400]!r}"
    assert "Exception handling: a try statement" in text, f"the explore snapshot shows no hits: {text[:400]!r}"
    assert out.locator('img[src="x"]').count() == 0
    expect(out).to_contain_text("saved view")


def test_curation_result_shows(nb):
    out = nb.outputs("curation")
    expect(out).to_contain_text("docs-curated")
    expect(out).to_contain_text("26")
    for step in ("normalize", "exact_dedup", "quality"):
        expect(out).to_contain_text(step)


def test_progress_ends_as_one_static_line(nb):
    out = nb.outputs("progress")
    text = out.inner_text()
    assert not WIDGET_ERRORS.search(text), f"a progress bar is a widget that is gone: {text!r}"
    assert re.search(r"embedding \(all-minilm-l6-v2\)", text), f"no progress line: {text!r}"
    assert re.search(r"\b[\d,]+ texts in [\d.]+ ?s\b", text), f"the progress line is not its final static form: {text!r}"
    assert out.locator("progress, .widget-progress, .jupyter-widgets").count() == 0


def test_no_output_says_model_not_found(nb):
    text = nb.page.locator(".jp-NotebookPanel .jp-Notebook").inner_text()
    bad = [m.group(0) for m in WIDGET_ERRORS.finditer(text)]
    assert not bad, f"{nb.path}: {len(bad)} widget error(s) in the outputs, e.g. {bad[0]!r}"
    errors = [cid for cid in CELL_IDS if nb.cell(cid).locator("[data-mime-type='application/vnd.jupyter.stderr'], "
                                                              ".jp-OutputArea-output.jp-mod-error").count()]
    assert not errors, f"cells with an error output: {errors}"
    nb.lp.assert_no_xss(nb.path)


def test_text_columns_are_left_aligned(nb):
    """JupyterLab's `.jp-RenderedHTMLCommon td {text-align: right}` must not win over the llmops tables' rules."""
    html = nb.outputs("html_fallback").locator(".jp-RenderedHTMLCommon")
    expect(html.first).to_be_visible()
    hit = html.locator("td").filter(has_text="Exception handling: a try statement").first
    name = html.locator("td").get_by_text("docs-clean", exact=True).first
    for what, td in (("a search hit's text", hit), ("a dataset name", name)):
        style = td.evaluate("(e) => { const s = getComputedStyle(e); return [s.textAlign, s.whiteSpace]; }")
        assert style[0] in ("left", "start"), f"{nb.path}: {what} in the HTML fallback is text-align: {style[0]}"
    ws = hit.evaluate("(e) => getComputedStyle(e).whiteSpace")
    assert ws in ("pre-wrap", "pre-line", "break-spaces"), f"{nb.path}: a hit's text has white-space: {ws}"
    # the extension's own tables too: every text cell of every llmops table the notebook shows
    cells = nb.page.locator(".jp-NotebookPanel td.llmops-text, .jp-NotebookPanel td.llmops-longtext")
    aligns = cells.evaluate_all("(es) => es.map(e => [getComputedStyle(e).textAlign, e.textContent.slice(0, 40)])")
    wrong = [a for a in aligns if a[0] not in ("left", "start")]
    assert not wrong, f"{nb.path}: {len(wrong)} of {len(aligns)} text cells are not left-aligned, e.g. {wrong[:3]}"


# what each output must show readably in both themes: (cell, where inside its output, a text in it)
READABLE = [("review", "", "Assert statements are a convenient way"),
            ("explore", "", "Exception handling: a try statement"),
            ("search", "", "Exception handling: a try statement"),
            ("comparison", "td", mw.VARIANTS[0]),  # the leaderboard's own cell
            ("comparison", "", "every answer is empty"),  # compare's warning (tiny-gpt2 answers nothing here)
            ("html_fallback", "td", "docs-clean")]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_outputs_read_in_both_themes_screenshots(nb, theme):
    nb.lp.set_theme(LIGHT if theme == "light" else DARK)
    problems = []
    for cid, inside, snippet in READABLE:
        out = nb.outputs(cid)
        target = (out.locator(inside) if inside else out).get_by_text(snippet).first
        if not target.count():
            problems.append(f"{cid}: '{snippet}' not shown")
            continue
        ratio, detail = contrast_of(target)
        if ratio < 4.5:
            problems.append(f"{cid} '{snippet}': {detail}")
    for cid in ("search", "comparison", "review", "explore", "curation", "html_fallback"):
        nb.lp.screenshot_at(f"notebook-{nb.tag}-{cid}-{theme}", nb.cell(cid))
    assert not problems, f"{nb.path} in the {theme} theme: " + "; ".join(problems)
