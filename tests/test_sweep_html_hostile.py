"""A sweep's HTML: its caption escaped once (a notebook named 'a&b <x>.ipynb' read 'a&amp;b' on the page), and the
best run marked without a hard-coded light background (light text on light green in the dark theme)."""
import re

from llmops_nb.batch.sweep import Sweep


def _sweep(notebook: str) -> Sweep:
    results = [{"run_id": f"abc00000000{i}", "status": "finished", "params": {"lr": lr}, "records": {"f1": f1},
                "error": None, "duration_s": 1.0} for i, (lr, f1) in enumerate([(0.1, 0.5), (0.01, 0.7)])]
    return Sweep("sw1", notebook, {"lr": [0.1, 0.01]}, results, 2.0, metric="f1")


def test_the_caption_is_escaped_once_and_user_text_never_raw():
    html = _sweep("a&b <img src=x onerror=alert(1)>.ipynb")._repr_html_()
    assert "a&amp;b &lt;img src=x onerror=alert(1)&gt;.ipynb" in html, html
    assert "&amp;amp;" not in html and "&amp;lt;" not in html
    assert "<img" not in html


def test_the_best_run_is_marked_with_theme_colours_only():
    html = _sweep("train.ipynb")._repr_html_()
    assert "★ abc000000001" in html
    cell = re.search(r"<td[^>]*><b[^>]*>★ abc000000001</b></td>", html)
    assert cell, html
    assert not re.search(r"#[0-9a-fA-F]{3,6}", cell.group(0)), cell.group(0)
