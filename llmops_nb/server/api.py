"""What each REST route answers, as plain functions of already-parsed arguments (the handlers parse the request,
then run these in a worker thread). Everything goes through the core API on the server's workspace; nothing here
touches SQLite or the file system itself, and no request text ever becomes a path."""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any, Dict, Optional, Sequence

from ..checks import whole_number
from ..data.lineage import dataset_summaries, dataset_versions
from ..display import finite
from ..errors import InputError, LlmopsError, NotFoundError
from ..evals.comparison import Comparison
from ..index.vector import indexes, load_index, search
from ..monitoring import monitor, monitored_models
from ..monitoring.store import last_report
from ..monitoring.traceview import trace_view
from ..tracking.runs import check_run_id, get_run, query_runs, reap_crashed_runs
from ..tracking.trace_query import check_model, traces
from ..workspace import DB_NAME, Workspace, check_name, workspace

MAX_K = 100
MAX_QUERY = 2000  # characters of a search query
REAP_EVERY_S = 2.0  # how often run answers look for runs whose process is gone


class Api:
    """The routes' answers over one workspace folder (`home`); `root_dir` is the Jupyter server's root, which
    notebook paths in answers are relative to. The workspace is opened on first use, and never created: while
    `home` holds no workspace, lists are empty and lookups say so."""

    def __init__(self, home: Path, root_dir: Path):
        self.home = Path(home).expanduser().resolve()
        self.root_dir = Path(root_dir).expanduser().resolve()
        self._lock = threading.Lock()
        self._ws: Optional[Workspace] = None
        self._reaped_at = 0.0

    def workspace(self, *, required: bool = True) -> Optional[Workspace]:
        """The workspace (opened once, made the process's current one: the core's lookups by name use it), or
        None / NotFoundError while `home` holds none."""
        with self._lock:
            if self._ws is None:
                if not (self.home / DB_NAME).is_file():
                    if not required:
                        return None
                    raise NotFoundError(f"no llmops workspace at {self.home} yet; run a notebook with "
                                        "'%load_ext llmops_nb', or start the server with LLMOPS_HOME set")
                self._ws = workspace(self.home)
            return self._ws

    def _reap(self, ws: Workspace) -> Workspace:
        """Mark runs whose process is gone as crashed (at most every REAP_EVERY_S): a workspace marks them when it
        is opened, but this server keeps it open, so a kernel killed mid-run would otherwise stay 'running'."""
        now = time.monotonic()
        if now - self._reaped_at >= REAP_EVERY_S:
            self._reaped_at = now
            reap_crashed_runs(ws.db)
        return ws

    # ---- runs ------------------------------------------------------------------------------------
    def runs(self, *, name: Optional[str], status: Optional[str], kind: Optional[str], tags: Sequence[str],
             sort: str, limit: Any, offset: Any) -> Dict[str, Any]:
        ws = self.workspace(required=False)
        if ws is None:  # the arguments are still checked, so a bad one is an error with or without a workspace
            limit = whole_number("limit", limit, minimum=1, maximum=500)
            offset = whole_number("offset", offset, minimum=0)
            return {"version": 1, "total": 0, "offset": offset, "limit": limit, "runs": []}
        return query_runs(name=name, status=status, kind=kind, tags=tags, sort=sort, limit=limit, offset=offset,
                          ws=self._reap(ws))

    def run(self, run_id: str) -> Dict[str, Any]:
        d = get_run(check_run_id(run_id), ws=self._reap(self.workspace())).detail()
        d["notebook"] = self._notebook_path(d["notebook"])
        return d

    def notebook(self, run_id: str) -> Dict[str, Any]:
        """The run's output notebook (the nbformat JSON), for a client that cannot open it through the contents API:
        the default workspace `<root_dir>/.llmops` is a hidden folder, which jupyter_server's ContentsManager
        refuses. The file is the one the core names (RunDetail's `notebook`, from the run's artifacts); its real
        path, symlinks resolved, must lie inside the workspace."""
        run = get_run(check_run_id(run_id), ws=self._reap(self.workspace()))
        rel = run.detail()["notebook"]
        if not rel:
            raise NotFoundError(f"run {run.id} ({run.kind} '{run.name}') has no output notebook; runs/<id>/notebook "
                                "answers for runs that saved one (kind 'notebook')")
        path = (self.home / rel).resolve()
        try:
            path.relative_to(self.home)
        except ValueError:
            raise NotFoundError(f"the output notebook of run {run.id} lies outside the workspace; it is not served")
        if not path.is_file():
            raise NotFoundError(f"the output notebook of run {run.id} ({rel}) is missing from the workspace")
        try:
            nb = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise LlmopsError(f"the output notebook of run {run.id} ({rel}) cannot be read as a notebook: "
                              f"{type(exc).__name__}") from None
        if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list) or "nbformat" not in nb:
            raise LlmopsError(f"the output notebook of run {run.id} ({rel}) is not an nbformat notebook")
        return nb

    def _notebook_path(self, rel: Optional[str]) -> Optional[str]:
        """A workspace-relative path as a path relative to the server's root_dir, or None outside it."""
        if not rel:
            return None
        path = (self.home / rel).resolve()
        try:
            return path.relative_to(self.root_dir).as_posix()
        except ValueError:
            return None

    # ---- datasets ---------------------------------------------------------------------------------
    def datasets(self) -> Dict[str, Any]:
        if self.workspace(required=False) is None:
            return {"version": 1, "datasets": []}
        return dataset_summaries()

    def dataset(self, name: str) -> Dict[str, Any]:
        check_name("dataset", name)
        self.workspace()
        return dataset_versions(name)

    # ---- indexes ----------------------------------------------------------------------------------
    def indexes(self) -> Dict[str, Any]:
        if self.workspace(required=False) is None:
            return {"version": 1, "indexes": []}
        out = []
        for name in indexes().names:
            try:
                out.append(load_index(name).to_dict())
            except LlmopsError as exc:  # one damaged or missing index file: the others are still listed
                out.append({"name": name, "error": str(exc)})
        return {"version": 1, "indexes": out}

    def search(self, name: str, query: str, k: Any, where: Optional[str]) -> Dict[str, Any]:
        check_name("index", name)
        k = whole_number("k", k, minimum=1, maximum=MAX_K, hint="it is how many hits to return")
        if not query.strip():
            raise InputError("give a query to search for: ?q=...")
        if len(query) > MAX_QUERY:
            raise InputError(f"the query is {len(query):,} characters long; use at most {MAX_QUERY:,}")
        self.workspace()
        return search(load_index(name), query, k, where=where or None).to_dict()

    # ---- comparisons ------------------------------------------------------------------------------
    def comparison(self, run_id: str) -> Dict[str, Any]:
        run = get_run(check_run_id(run_id), ws=self.workspace())
        if "comparison.json" not in run.artifacts:
            raise NotFoundError(f"run {run.id} ({run.kind} '{run.name}') holds no comparison; comparisons/<run_id> "
                                "answers for runs of kind 'compare'")
        return Comparison.load(run.id).to_dict(max_examples=None)

    # ---- traces and monitoring -------------------------------------------------------------------
    def traces(self, *, model: Optional[str], since: Optional[str], until: Optional[str], tags: Sequence[str],
               run: Optional[str], limit: Any, offset: Any) -> Dict[str, Any]:
        limit = whole_number("limit", limit, minimum=1, maximum=500)
        offset = whole_number("offset", offset, minimum=0)
        if self.workspace(required=False) is None:
            return {"version": 1, "offset": offset, "limit": limit, "total": 0, "rows": []}
        table = traces(model=model, since=since, until=until, tags=list(tags) or None,
                       run=check_run_id(run) if run else None, limit=limit, offset=offset)
        rows = [{**r, "prompt": _clip(r["prompt"]), "output": _clip(r["output"])} for r in table.rows]
        return {"version": 1, "offset": offset, "limit": limit, "total": table.total, "rows": rows}

    def trace(self, call_id: Any) -> Dict[str, Any]:
        self.workspace()
        return trace_view(call_id).to_dict()

    def monitored(self) -> Dict[str, Any]:
        if self.workspace(required=False) is None:
            return {"version": 1, "models": []}
        return {"version": 1, "models": monitored_models().rows}

    def last_report(self, model: str) -> Dict[str, Any]:
        self.workspace()
        model = check_model(model)
        report = last_report(model)
        if report is None:
            raise NotFoundError(f"model '{model}' has not been checked yet; run %llmops monitor --model {model} "
                                "or POST monitor with {\"model\": ...}")
        return report

    def run_monitor(self, body: Dict[str, Any]) -> Dict[str, Any]:
        unknown = sorted(set(body) - MONITOR_FIELDS)
        if unknown:
            raise InputError(f"unknown field '{unknown[0]}'; a monitor request takes {', '.join(sorted(MONITOR_FIELDS))}")
        for key, value in body.items():
            if value is not None and not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise InputError(f"{key} must be a string or a number, got {type(value).__name__}")
        self.workspace()
        return monitor(model=body.get("model"), since=body.get("since"), until=body.get("until"),
                       reference=body.get("reference"),
                       sample=200 if body.get("sample") is None else body["sample"]).to_dict()


MONITOR_FIELDS = {"model", "since", "until", "reference", "sample"}
MAX_TEXT = 1000  # characters of a prompt or output in a traces list (traces/<id> has them in full)


def _clip(text: Optional[str]) -> Optional[str]:
    if text is None or len(text) <= MAX_TEXT:
        return text
    return text[:MAX_TEXT] + f"… ({len(text) - MAX_TEXT:,} more characters)"


__all__ = ["Api", "MAX_K", "MAX_QUERY", "finite"]
