"""One real `jupyter lab` (session) over a temp root whose workspace the real core API made, one headless Chromium.

Debian's chromium is driven by Playwright through executable_path (never `playwright install`). A missing
browser or a lab that does not start fails the tests with the reason: they never skip. Logs (the lab's, the
workspace builder's, each page's console) and screenshots go to tests/browser/artifacts/.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
ARTIFACTS = HERE / "artifacts"
CHROMIUM = os.environ.get("LLMOPS_CHROMIUM", "/usr/bin/chromium")
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--disable-sync"]
sys.path.insert(0, str(HERE))  # the helpers beside the tests, whatever pytest's import mode
from pagecheck import LIGHT  # noqa: E402

# the lab's own settings: no news or update checks (no internet; a toast would cover screenshots)
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                        "checkForUpdates": False},
    # every cell in the DOM (no virtual scrolling), so a test reads any output without scrolling to it
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    # the saved notebooks stay as the builder wrote them
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, n: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


class Lab:
    """The running server: base url, token, root dir, what the builder made (build.json)."""

    def __init__(self, base: str, token: str, root: Path, info: dict, proc: subprocess.Popen, log: Path):
        self.base, self.token, self.root, self.info, self.proc, self.log = base, token, root, info, proc, log

    @property
    def url(self) -> str:
        return f"{self.base}/lab?token={self.token}"

    def workspace_url(self, name: str) -> str:
        """A page of its own JupyterLab workspace, reset: pages never restore each other's open notebooks."""
        return f"{self.base}/lab/workspaces/{name}?reset&token={self.token}"

    def api(self, path: str, method: str = "GET"):
        """A token-authenticated request to the server; the JSON answer (None when empty)."""
        req = urllib.request.Request(f"{self.base}{path}", method=method,
                                     headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read()
        return json.loads(body) if body else None

    def stop_kernels(self, path_prefix: str = "") -> None:
        """Shut down the kernels of notebooks whose path starts with `path_prefix` (no UI dialog to answer)."""
        for s in self.api("/api/sessions"):
            if s.get("path", "").startswith(path_prefix):
                self.api(f"/api/sessions/{s['id']}", method="DELETE")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's chromium; run `make chromium` "
                    "(installs it with apt-get as root, otherwise says how)", pytrace=False)
    return CHROMIUM


@pytest.fixture(scope="session")
def lab(tmp_path_factory, chromium_path):
    ARTIFACTS.mkdir(exist_ok=True)
    labext = REPO / "llmops_nb" / "labextension"  # test_lab_panel fails with the reason when it is not built
    base = tmp_path_factory.mktemp("lab")
    root = base / "root"
    dirs = {name: base / name for name in ("config", "data", "runtime", "ipython", "home", "settings", "workspaces",
                                           "out")}
    for d in (root, *dirs.values()):
        d.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(JUPYTER_CONFIG_DIR=str(dirs["config"]), JUPYTER_DATA_DIR=str(dirs["data"]),
               JUPYTER_RUNTIME_DIR=str(dirs["runtime"]), IPYTHONDIR=str(dirs["ipython"]), HOME=str(dirs["home"]),
               XDG_CACHE_HOME=str(dirs["home"] / ".cache"), LLMOPS_HOME=str(root / ".llmops"), PYTHONUNBUFFERED="1")
    env.pop("LLMOPS_RUN_ID", None)
    env.setdefault("LLMOPS_CACHE", str(REPO / ".cache" / "llmops"))
    # the checkout's built extension, whatever the venv links (user data dir is searched before sys-prefix)
    (dirs["data"] / "labextensions").mkdir()
    if (labext / "package.json").is_file():
        (dirs["data"] / "labextensions" / "llmops-nb").symlink_to(labext, target_is_directory=True)
    # the server extension, whether or not `make install` enabled it in the venv's sys-prefix config
    (dirs["config"] / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"llmops_nb": True}}}))
    for rel, value in LAB_SETTINGS.items():
        path = dirs["settings"] / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))

    build_log = ARTIFACTS / "make_workspace.log"
    with open(build_log, "w") as blog:
        builder = subprocess.Popen([sys.executable, str(HERE / "make_workspace.py"), str(root), str(dirs["out"])],
                                   cwd=root, env=env, stdout=blog, stderr=subprocess.STDOUT)
    port, token = _free_port(), secrets.token_hex(16)
    lab_log = ARTIFACTS / "jupyter-lab.log"
    cmd = [str(Path(sys.executable).with_name("jupyter")), "lab", "--no-browser", "--allow-root", f"--port={port}",
           "--ServerApp.ip=127.0.0.1", f"--ServerApp.token={token}", f"--ServerApp.root_dir={root}",
           "--ServerApp.port_retries=0", "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.extension_manager=readonly",
           f"--LabApp.user_settings_dir={dirs['settings']}", f"--LabApp.workspaces_dir={dirs['workspaces']}"]
    with open(lab_log, "w") as llog:
        proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=llog, stderr=subprocess.STDOUT, start_new_session=True)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"jupyter lab exited with {proc.returncode}:\n{_tail(lab_log)}", pytrace=False)
            try:
                with urllib.request.urlopen(f"{base_url}/api/status?token={token}", timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.time() > deadline:
                pytest.fail(f"jupyter lab did not answer on {base_url} in 120 s:\n{_tail(lab_log)}", pytrace=False)
            time.sleep(0.5)
        try:
            rc = builder.wait(timeout=600)
        except subprocess.TimeoutExpired:
            builder.kill()
            pytest.fail(f"the workspace builder took over 600 s:\n{_tail(build_log)}", pytrace=False)
        if rc != 0:
            pytest.fail(f"the workspace builder (tests/browser/make_workspace.py) failed:\n{_tail(build_log)}",
                        pytrace=False)
        info = json.loads((dirs["out"] / "build.json").read_text())
        yield Lab(base_url, token, root, info, proc, lab_log)
    finally:
        if builder.poll() is None:
            builder.kill()
        proc.send_signal(signal.SIGTERM)  # the server shuts its kernels down
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the group this fixture started (server and its kernels)
            proc.wait()


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=chromium_path, args=LAUNCH_ARGS)
    except Exception as exc:
        pw.stop()
        pytest.fail(f"Chromium ({chromium_path}) did not start under Playwright: {exc}", pytrace=False)
    yield b
    b.close()
    pw.stop()


class LabPage:
    """One browser page (its own context) on the lab, with the few things every test does."""

    def __init__(self, context, lab: Lab, name: str):
        self.context, self.page, self.lab, self.name = context, context.new_page(), lab, name
        self.console: list = []
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))

    def open(self) -> "LabPage":
        self.page.goto(self.lab.workspace_url(re.sub(r"[^A-Za-z0-9-]+", "-", self.name)), wait_until="domcontentloaded")
        self.page.wait_for_selector("#jp-main-dock-panel", timeout=90_000)
        self.page.wait_for_function("() => window.jupyterapp !== undefined", timeout=60_000)
        self.page.evaluate("async () => { await window.jupyterapp.started; await window.jupyterapp.restored; }")
        return self

    def execute(self, command: str, args: dict | None = None, *, wait: bool = True):
        """app.commands.execute; the widget it may return is not sent back (its id is). wait=False: do not wait
        for the command's promise (notebook:run-all-cells resolves only when every cell ran, or never)."""
        if not wait:
            return self.page.evaluate("([c, a]) => { window.jupyterapp.commands.execute(c, a); return null; }",
                                      [command, args or {}])
        return self.page.evaluate(
            "async ([c, a]) => { const r = await window.jupyterapp.commands.execute(c, a); "
            "return (r === undefined || r === null || typeof r !== 'object') ? r ?? null : (r.id ?? true); }",
            [command, args or {}])

    def has_command(self, command: str) -> bool:
        return self.page.evaluate("(c) => window.jupyterapp.commands.hasCommand(c)", command)

    def set_theme(self, theme: str) -> None:
        self.execute("apputils:change-theme", {"theme": theme})
        self.page.wait_for_function("(t) => document.body.dataset.jpThemeName === t", arg=theme, timeout=30_000)
        # the theme's CSS is in once the layout colour resolves light or dark as the theme says
        self.page.wait_for_function(
            "(light) => { if (document.body.dataset.jpThemeLight !== String(light)) return false;"
            " const d = document.createElement('div'); d.style.background = 'var(--jp-layout-color0)';"
            " document.body.appendChild(d); const c = getComputedStyle(d).backgroundColor; d.remove();"
            " const m = c.match(/\\d+/g); if (!m) return false; return light ? +m[0] > 128 : +m[0] < 128; }",
            arg=theme == LIGHT, timeout=30_000)
        self.page.wait_for_timeout(300)

    def wait_kernel_idle(self, timeout: int = 60_000) -> bool:
        """Until the current notebook's kernel (if any) is idle; False when it did not get there in time."""
        try:
            self.page.wait_for_function(
                "() => { const w = window.jupyterapp.shell.currentWidget; const k = w && w.sessionContext &&"
                " w.sessionContext.session && w.sessionContext.session.kernel; return !!k && k.status === 'idle'; }",
                timeout=timeout)
            return True
        except Exception:
            return False

    def screenshot(self, name: str, locator=None) -> Path:
        path = ARTIFACTS / f"{name}.png"
        (locator or self.page).screenshot(path=str(path))
        return path

    def screenshot_at(self, name: str, locator) -> Path:
        """The window with `locator` scrolled to its top (an element shot of something taller than the window
        comes out garbled)."""
        locator.first.evaluate("(e) => e.scrollIntoView({block: 'start'})")
        self.page.wait_for_timeout(150)
        return self.screenshot(name)

    def assert_no_xss(self, where: str) -> None:
        fired = self.page.evaluate("() => window.__llmops_xss")
        assert fired is None, f"{where}: a dataset record's <img onerror> ran (window.__llmops_xss={fired!r})"
        imgs = self.page.evaluate("() => document.querySelectorAll('img[src=\"x\"]').length")
        assert imgs == 0, f"{where}: {imgs} <img src=x> element(s) were made from a record's text"

    def close(self) -> None:
        if self.context is not None:
            (ARTIFACTS / f"console-{self.name}.log").write_text("\n".join(self.console))
            self.context.close()
            self.context = None


@pytest.fixture(scope="session")
def open_page(lab, browser):
    """open_page(name) -> a LabPage on a fresh context (1400x900), the lab loaded; closed at the end of the session
    unless its user closes it first."""
    pages: list = []

    def make(name: str, viewport=(1400, 900)) -> LabPage:
        ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        ctx.set_default_timeout(30_000)
        lp = LabPage(ctx, lab, re.sub(r"[^A-Za-z0-9_.-]+", "_", name))
        pages.append(lp)
        return lp.open()

    yield make
    for lp in pages:
        lp.close()


@pytest.fixture
def lab_page(request, open_page):
    """lab_page() -> a LabPage for this test, closed after it."""
    made: list = []

    def make(**kw) -> LabPage:
        made.append(open_page(request.node.name + (f"-{len(made)}" if made else ""), **kw))
        return made[-1]

    yield make
    for lp in made:
        lp.close()
