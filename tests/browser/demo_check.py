"""By hand, after `make demo`: `.venv/bin/python tests/browser/demo_check.py [REPO]` starts `jupyter lab` on the
repo (its ./.llmops is the demo's workspace), opens the LLMOps panel in headless Chromium, lists the demo's runs,
opens the comparison run's leaderboard and the compare notebook's saved output (its kernel long gone), and saves
screenshots to tests/browser/artifacts/demo-*.png. Prints what it saw; exit 1 when something is missing.

Not a pytest test: it needs the demo's workspace (8 minutes to make), which `make test` does not build.
"""
from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_lab(repo: Path, token: str, port: int, tmp: Path) -> subprocess.Popen:
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(tmp / "config"), JUPYTER_DATA_DIR=str(tmp / "data"),
               JUPYTER_RUNTIME_DIR=str(tmp / "runtime"), IPYTHONDIR=str(tmp / "ipython"),
               PATH=f"{repo / '.venv/bin'}:{os.environ['PATH']}")
    env.pop("LLMOPS_HOME", None)
    cmd = [str(repo / ".venv/bin/jupyter"), "lab", "--no-browser", "--allow-root", f"--port={port}",
           f"--ServerApp.token={token}", f"--ServerApp.root_dir={repo}", "--LabApp.news_url=None",
           "--LabApp.expose_app_in_browser=True",
           f"--LabApp.workspaces_dir={tmp / 'workspaces'}"]
    log = open(tmp / "lab.log", "w")
    proc = subprocess.Popen(cmd, cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(120):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2)
            return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"jupyter lab did not start; see {tmp / 'lab.log'}")


def _check(page, base: str, token: str, out: Path) -> list:
    problems = []
    page.goto(f"{base}/lab?token={token}")
    page.wait_for_selector("#jp-main-dock-panel", timeout=120_000)
    page.wait_for_function("window.jupyterapp && window.jupyterapp.commands.hasCommand('llmops:open-panel')",
                           timeout=60_000)
    page.evaluate("window.jupyterapp.commands.execute('llmops:open-panel')")
    rows = page.locator("#llmops-panel tr.llmops-run-row")
    rows.first.wait_for(timeout=60_000)
    names = rows.locator(".llmops-run-name").all_inner_texts()
    print(f"panel lists {len(names)} runs: {', '.join(names[:12])}")
    page.screenshot(path=str(out / "demo-panel-runs.png"))
    compare = page.locator("#llmops-panel tr.llmops-run-row", has_text="04_compare")
    if not compare.count():
        return problems + ["no 04_compare run in the panel"]
    compare.first.click()
    page.locator("#llmops-panel .llmops-run-detail").wait_for(timeout=30_000)
    button = page.locator("#llmops-panel button.llmops-open-notebook")
    if not button.count():
        return problems + ["the compare run has no Open notebook button"]
    button.first.click()
    page.locator(".jp-NotebookPanel .jp-OutputArea-output").first.wait_for(timeout=60_000)
    time.sleep(3)
    text = page.locator(".jp-NotebookPanel").last.inner_text()
    for want in ("zero-shot", "rag:", "ft:"):
        if want not in text:
            problems.append(f"the saved compare notebook does not show {want!r}")
    if "model not found" in text:
        problems.append("a saved output says 'model not found'")
    print(f"saved compare notebook: {len(text)} characters shown, leaderboard variants present: "
          f"{all(w in text for w in ('zero-shot', 'rag:', 'ft:'))}")
    page.screenshot(path=str(out / "demo-compare-notebook.png"))
    return problems


def main(repo: Path) -> int:
    from playwright.sync_api import sync_playwright

    out = HERE / "artifacts"
    out.mkdir(exist_ok=True)
    token, port = secrets.token_hex(16), _port()
    with tempfile.TemporaryDirectory() as t:
        proc = _start_lab(repo, token, port, Path(t))
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                problems = _check(page, f"http://127.0.0.1:{port}", token, out)
                browser.close()
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    for p in problems:
        print(f"problem: {p}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else HERE.parents[1]).resolve()))
