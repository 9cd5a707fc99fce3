"""The Jupyter server extension: a read-only REST API under `<base_url>/llmops/api/` over the workspace the server
runs in (`LLMOPS_HOME` if set, else `<root_dir>/.llmops`), for the JupyterLab panel. extension/CONTRACT.md
("REST") gives the routes and their shapes; `handlers` parses requests, `api` answers them with the core API.

Enabled by jupyter-config/server-config/llmops_nb.json (`jupyter server extension list` shows llmops_nb).
"""
from __future__ import annotations

import os
from pathlib import Path

from jupyter_server.utils import url_path_join

from .api import Api
from .handlers import ROUTES, UnknownRouteHandler

API_PATH = "llmops/api"


def workspace_home(root_dir: str) -> Path:
    """The workspace folder the server answers from: LLMOPS_HOME if set, else `<root_dir>/.llmops`."""
    home = os.environ.get("LLMOPS_HOME")
    return Path(home).expanduser() if home else Path(root_dir).expanduser() / ".llmops"


def _load_jupyter_server_extension(serverapp) -> None:
    """Register the handlers (called by jupyter_server for the module named in _jupyter_server_extension_points)."""
    web_app = serverapp.web_app
    root_dir = getattr(serverapp, "root_dir", None) or os.getcwd()
    api = Api(workspace_home(root_dir), Path(root_dir))
    web_app.settings["llmops_api"] = api
    base = url_path_join(web_app.settings["base_url"], API_PATH)
    handlers = [(url_path_join(base, pattern), handler) for pattern, handler in ROUTES]
    handlers.append((url_path_join(base, "(.*)"), UnknownRouteHandler))
    web_app.add_handlers(".*$", handlers)
    serverapp.log.info("llmops_nb: REST API at %s over the workspace %s", base + "/", api.home)


def _jupyter_server_extension_points():
    return [{"module": "llmops_nb.server"}]


__all__ = ["API_PATH", "workspace_home"]
