"""The REST handlers under `<base_url>/llmops/api/` (extension/CONTRACT.md, "REST"). Read-only GETs behind
Jupyter's authentication (token or cookie; anything but GET also needs the XSRF token). Each handler parses its
request into plain values, runs the answer (`api.Api`) in a worker thread so a slow search never blocks the
server, and writes strict JSON. Errors are JSON too, `{"error": "one line"}`: a bad value 400, an unknown name
404, a workspace that cannot be read 503, anything unexpected 500 (the traceback goes to the server log only)."""
from __future__ import annotations

import asyncio
import json
import re
from typing import Any, Callable, Optional

import tornado.web
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler

from ..errors import InputError, LlmopsError, MissingDependencyError, NotFoundError, WorkspaceError
from .api import Api, finite

_INT = re.compile(r"^[+-]?[0-9]{1,18}$")  # ASCII digits only: int() also reads "\u0665" or "\uff15"


def status_for(exc: BaseException) -> int:
    """The HTTP status of a core error."""
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, InputError):
        return 400
    if isinstance(exc, (WorkspaceError, MissingDependencyError)):
        return 503
    if isinstance(exc, LlmopsError):
        return 409  # the workspace holds something the request cannot be answered from (e.g. a damaged index)
    return 500


def one_line(text: str, limit: int = 500) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[:limit - 3] + "..."


class LlmopsHandler(APIHandler):
    """Base of every llmops route: JSON answers and JSON errors, the answer computed in a thread."""

    auth_resource = "llmops"

    @property
    def api(self) -> Api:
        return self.settings["llmops_api"]

    def int_argument(self, name: str, default: int) -> Any:
        """A query argument as an int when it is written as one; else the text itself, which the core's check
        (whole_number) then refuses in its own words: `k must be a whole number from 1 to 100, got 'ten'`."""
        text = self.get_query_argument(name, None)
        if text is None or text == "":
            return default
        return int(text) if _INT.match(text.strip()) else text

    def text_argument(self, name: str) -> Optional[str]:
        text = self.get_query_argument(name, None)
        return text if text not in (None, "") else None

    async def answer(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        try:
            payload = await asyncio.to_thread(fn, *args, **kwargs)
        except LlmopsError as exc:
            self.send_error(status_for(exc), llmops_message=one_line(str(exc)))
            return
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(finite(payload), allow_nan=False))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Every error as `{"error": "one line"}`: never a traceback or an HTML page."""
        message = kwargs.get("llmops_message")
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if message is None and isinstance(exc, tornado.web.HTTPError):
            message = exc.log_message or exc.reason
        if message is None and exc is not None:
            self.log.error("llmops API: %s failed", self.request.path, exc_info=kwargs["exc_info"])
            message = f"internal error ({type(exc).__name__}); the Jupyter server's log has the details"
        if message is None:
            message = self._reason
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps({"error": one_line(message)}))


class RunsHandler(LlmopsHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        await self.answer(self.api.runs, name=self.text_argument("name"), status=self.text_argument("status"),
                          kind=self.text_argument("kind"), tags=self.get_query_arguments("tag"),
                          sort=self.text_argument("sort") or "-started_at", limit=self.int_argument("limit", 50),
                          offset=self.int_argument("offset", 0))


class RunHandler(LlmopsHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        await self.answer(self.api.run, run_id)


class RunNotebookHandler(LlmopsHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        await self.answer(self.api.notebook, run_id)


class DatasetsHandler(LlmopsHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        await self.answer(self.api.datasets)


class DatasetHandler(LlmopsHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        await self.answer(self.api.dataset, name)


class IndexesHandler(LlmopsHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        await self.answer(self.api.indexes)


class SearchHandler(LlmopsHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        await self.answer(self.api.search, name, self.get_query_argument("q", ""), self.int_argument("k", 5),
                          self.text_argument("where"))


class ComparisonHandler(LlmopsHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, run_id: str) -> None:
        await self.answer(self.api.comparison, run_id)


class TracesHandler(LlmopsHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        await self.answer(self.api.traces, model=self.text_argument("model"), since=self.text_argument("since"),
                          until=self.text_argument("until"), tags=self.get_query_arguments("tag"),
                          run=self.text_argument("run"), limit=self.int_argument("limit", 50),
                          offset=self.int_argument("offset", 0))


class TraceHandler(LlmopsHandler):
    @tornado.web.authenticated
    @authorized
    async def get(self, call_id: str) -> None:
        await self.answer(self.api.trace, int(call_id) if _INT.match(call_id) else call_id)


class MonitorHandler(LlmopsHandler):
    """GET: every logged model with its last verdict, or (?model=M) M's last saved report. POST {"model", "since",
    "until", "reference", "sample"}: run a report now (it is saved as the model's last verdict)."""

    @tornado.web.authenticated
    @authorized
    async def get(self) -> None:
        model = self.text_argument("model")
        if model is None:
            await self.answer(self.api.monitored)
        else:
            await self.answer(self.api.last_report, model)

    @tornado.web.authenticated
    @authorized
    async def post(self) -> None:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            self.send_error(400, llmops_message='the body must be a JSON object, e.g. {"model": "NAME"}')
            return
        await self.answer(self.api.run_monitor, body)


class UnknownRouteHandler(LlmopsHandler):
    """Anything else under /llmops/api/: a JSON 404 naming the routes (still behind authentication)."""

    @tornado.web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        self.send_error(404, llmops_message=f"no llmops API route '{one_line(path, 80)}'; the routes are "
                                            f"{', '.join(ROUTE_NAMES)}")


# path segments are anything but '/', matched before percent-decoding; the handlers validate the decoded value
ROUTES = [
    (r"runs", RunsHandler),
    (r"runs/([^/]+)", RunHandler),
    (r"runs/([^/]+)/notebook", RunNotebookHandler),
    (r"datasets", DatasetsHandler),
    (r"datasets/([^/]+)", DatasetHandler),
    (r"indexes", IndexesHandler),
    (r"indexes/([^/]+)/search", SearchHandler),
    (r"comparisons/([^/]+)", ComparisonHandler),
    (r"traces", TracesHandler),
    (r"traces/([^/]+)", TraceHandler),
    (r"monitor", MonitorHandler),
]
ROUTE_NAMES = ["runs", "runs/<id>", "runs/<id>/notebook", "datasets", "datasets/<name>", "indexes",
               "indexes/<name>/search", "comparisons/<run_id>", "traces", "traces/<id>", "monitor"]

__all__ = ["ROUTES", "ROUTE_NAMES", "LlmopsHandler", "UnknownRouteHandler", "one_line", "status_for"]
