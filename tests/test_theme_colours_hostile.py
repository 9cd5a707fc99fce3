"""Python's HTML fallbacks take colours from JupyterLab's theme variables (with a fallback), never a bare hex
colour: a notebook run's status was dark green (#1a7f37) on the dark theme's dark background."""
import re
from pathlib import Path

from llmops_nb.batch.notebooks import NotebookRun

BARE = re.compile(r"(?:color|background|fill|stroke)\s*:\s*#[0-9a-fA-F]{3,6}")


def _bare_colours(html: str) -> list:
    return BARE.findall(re.sub(r"var\(--jp-[\w-]+,\s*#[0-9a-fA-F]{3,6}\)", "var()", html))


def test_notebook_run_status_and_error_use_theme_colours():
    ok = NotebookRun("abc123abc123", "train.ipynb", "finished", Path("out.ipynb"), {}, 1.0, {"f1": 0.5})
    failed = NotebookRun("abc123abc124", "train.ipynb", "failed", Path("out.ipynb"), {}, 1.0, {},
                         error="cell 3: ValueError: <b>bad</b>", failed_cell=3)
    for run in (ok, failed):
        html = run._repr_html_()
        assert not _bare_colours(html), _bare_colours(html)
    html = failed._repr_html_()
    assert "var(--jp-error-color1" in html and "&lt;b&gt;bad&lt;/b&gt;" in html
