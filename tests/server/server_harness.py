"""The harness of the REST API tests: a real jupyter_server on 127.0.0.1 (a subprocess with its own Jupyter folders,
a known token and the llmops_nb server extension), an HTTP client for it, and the workspace content it serves."""
from __future__ import annotations

import http.cookiejar
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional

TOKEN = "llmops-test-token-0123456789"
SECRET = "TOPSECRET-outside-the-workspace"
DOCS = [
    {"id": "d1", "text": "Use try and except to catch exceptions raised while reading a file.", "topic": "errors"},
    {"id": "d2", "text": "A with statement closes the file even when an exception is raised inside it.",
     "topic": "files"},
    {"id": "d3", "text": "A record that mentions <img src=x onerror=alert(1)> inside a longer sentence about "
                         "escaping HTML in notebook outputs.", "topic": "html"},
    {"id": "d4", "text": "Use try and except to catch exceptions raised while reading a file.", "topic": "errors"},
    {"id": "d5", "text": "List comprehensions build a new list from an iterable in a single expression.",
     "topic": "lists"},
]
XSS = "<img src=x onerror=alert(1)>"


@dataclass
class Reply:
    status: int
    body: bytes
    headers: Dict[str, str]

    @property
    def data(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


@dataclass
class Server:
    url: str
    root: Path
    home: Path
    proc: subprocess.Popen
    log: Path
    ids: Dict[str, str] = field(default_factory=dict)

    def request(self, path: str, *, params: Optional[dict] = None, token: bool = True, method: str = "GET",
                headers: Optional[dict] = None, opener=None, data: Optional[bytes] = None) -> Reply:
        """`path` is sent as written (so percent-escapes reach the server untouched); params are encoded."""
        url = self.url + path
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        req = urllib.request.Request(url, method=method, data=data, headers=dict(headers or {}))
        if token:
            req.add_header("Authorization", f"token {TOKEN}")
        try:
            with (opener or urllib.request.build_opener(_NoRedirect)).open(req, timeout=120) as resp:
                return Reply(resp.status, resp.read(), dict(resp.headers))
        except urllib.error.HTTPError as err:
            return Reply(err.code, err.read(), dict(err.headers))

    def api(self, route: str, **kw) -> Reply:
        return self.request("/llmops/api/" + route, **kw)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # a redirect (to a login page) is an answer, not followed
        return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fill_workspace(root: Path, home: Path) -> Dict[str, str]:
    """Runs with params, stepped metrics, tags, an artifact and an output notebook; a dataset loaded from dicts
    and curated (one record holds an <img onerror> text)."""
    import llmops_nb as L

    notebook = root / "made.ipynb"
    notebook.write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    ids = {}
    with L.start_run("train-a", params={"lr": 0.1, "layers": 2}, tags={"stage": "dev", "epochs": 3}) as a:
        for step in range(5):
            a.log_metric("loss", 1.0 / (step + 1), step=step)
        a.log_metric("acc", 0.5, step=0)
        a.log_metric("acc", 0.75, step=1)
        a.log_metric("weird", float("inf"))
        a.record("note", "hello <b>there</b>")
        a.log_artifact(notebook, name="output-made.ipynb")
        with L.start_run("child-of-a", tags={"stage": "dev"}) as child:
            child.log_metric("x", 1.0)
        ids["a"], ids["child"] = a.id, child.id
    time.sleep(0.02)
    with L.start_run("train-b", params={"lr": 0.01}, tags={"stage": "prod"}) as b:
        b.log_metric("loss", 0.3, step=0)
        time.sleep(0.3)  # the longest run
        ids["b"] = b.id
    time.sleep(0.02)
    try:
        with L.start_run("broken", tags={"stage": "dev"}) as broken:
            ids["broken"] = broken.id
            raise ValueError("boom\nsecond line")
    except ValueError:
        pass
    L.load_dataset(DOCS, name="docs")
    L.curate("docs", steps=["normalize", "exact_dedup"], progress=False)
    (root / "secret.txt").write_text(SECRET)
    return ids


def start_server(root: Path, home: Path, tmp: Path) -> tuple:
    port = _free_port()
    env = dict(os.environ)
    for var in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR", "HOME"):
        env[var] = str(tmp / var.lower())
        (tmp / var.lower()).mkdir(parents=True, exist_ok=True)
    (tmp / "jupyter_config_dir" / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": {"llmops_nb": True}}}))
    env["LLMOPS_HOME"] = str(home)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    log = tmp / "server.log"
    cmd = [str(Path(sys.executable).with_name("jupyter-server")), "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--port-retries=0", f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # a container running as root
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=str(root), stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter server exited ({proc.returncode}): {log.read_text()[-3000:]}")
        try:
            req = urllib.request.Request(url + "/api/status", headers={"Authorization": f"token {TOKEN}"})
            with urllib.request.urlopen(req, timeout=5) as resp:
                if resp.status == 200:
                    return url, proc, log
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"jupyter server did not answer in 90 s: {log.read_text()[-3000:]}")


def cookie_opener(server: Server):
    """An opener logged in with the login cookie (the token typed into /login), as a browser is."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect)
    server.request("/login", token=False, opener=opener)
    xsrf = next(c.value for c in jar if c.name == "_xsrf")
    body = urllib.parse.urlencode({"password": TOKEN, "_xsrf": xsrf}).encode()
    reply = server.request("/login", token=False, opener=opener, method="POST", data=body,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert reply.status in (200, 302), (reply.status, reply.text[:300])
    return opener, xsrf


def json_error(reply, status: int) -> str:
    """A JSON error of one line (never a traceback or an HTML page) with this status; returns the line."""
    assert reply.status == status, (reply.status, reply.text[:500])
    assert reply.headers.get("Content-Type", "").startswith("application/json"), reply.headers
    data = reply.data
    assert set(data) == {"error"} and data["error"] and "\n" not in data["error"], data
    assert "Traceback" not in reply.text and "<html" not in reply.text.lower()
    return data["error"]
