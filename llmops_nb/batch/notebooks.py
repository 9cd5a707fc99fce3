"""Run a parameterized notebook with papermill as a tracked run, and re-run it to check reproducibility."""
from __future__ import annotations

import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Union

from ..checks import whole_number
from ..config import progress_disabled
from ..display import STYLE, esc, fmt_duration, html_table
from ..errors import InputError, did_you_mean
from ..tracking.runs import RUN_ENV_VAR, Run, get_run, start_run
from .params import check_parameters, declared_parameters

_env_lock = threading.Lock()


@dataclass
class NotebookRun:
    """The outcome of one notebook run: status, the output notebook, and what it `record()`ed."""

    run_id: str
    notebook: str
    status: str
    output: Path
    parameters: Dict[str, Any]
    duration_s: float
    records: Dict[str, Any] = field(default_factory=dict)
    error: Optional[str] = None
    failed_cell: Optional[int] = None

    @property
    def ok(self) -> bool:
        return self.status == "finished"

    @property
    def failed_work(self) -> bool:
        return not self.ok

    @property
    def run(self) -> Run:
        return get_run(self.run_id)

    def to_dict(self) -> dict:
        return {"run_id": self.run_id, "notebook": self.notebook, "status": self.status, "output": str(self.output),
                "parameters": self.parameters, "duration_s": self.duration_s, "records": self.records,
                "error": self.error, "failed_cell": self.failed_cell}

    def __str__(self) -> str:
        lines = [f"notebook {self.notebook} [{self.status}] run {self.run_id} in {fmt_duration(self.duration_s)}",
                 f"output: {self.output}"]
        if self.error:
            lines.append(f"error: {self.error}")
        lines += [f"  {k} = {v}" for k, v in self.records.items()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        color = "var(--jp-success-color1,#1a7f37)" if self.ok else "var(--jp-error-color1,#cf222e)"  # theme colours
        head = (f"{STYLE}<div class='llmops-cap'>{esc(self.notebook)} · <span style='color:{color}'>{esc(self.status)}"
                f"</span> · run {esc(self.run_id)} · {esc(fmt_duration(self.duration_s))}</div>"
                f"<div class='llmops-muted'>output: {esc(self.output)}</div>")
        if self.error:
            head += f"<pre style='color:var(--jp-error-color1,#cf222e)'>{esc(self.error)}</pre>"
        rows = [{"name": k, "value": v} for k, v in self.records.items()]
        return head + (html_table(rows, ["name", "value"], caption="recorded") if rows else "")


def resolve_notebook(path: Union[str, os.PathLike]) -> Path:
    p = Path(path).expanduser()
    if not p.exists() and p.suffix != ".ipynb" and p.with_suffix(".ipynb").exists():
        p = p.with_suffix(".ipynb")
    if not p.exists():
        near = sorted(x.name for x in (p.parent if p.parent.exists() else Path(".")).glob("*.ipynb"))
        raise InputError(f"no such notebook: {p}{did_you_mean(p.name, near)}" +
                         (f"; notebooks there: {', '.join(near[:8])}" if near else ""))
    if p.suffix != ".ipynb":
        raise InputError(f"{p} is not a notebook (.ipynb)")
    return p.resolve()


def _device_check(device: str) -> str:
    device = (device or "auto").lower()
    if device not in ("auto", "cpu", "cuda"):
        raise InputError(f"unknown device '{device}'; use auto, cpu or cuda")
    if device == "cuda":
        from ..tracking.environment import detect_device

        if detect_device() != "cuda":
            raise InputError("--device cuda asked for but no CUDA GPU is visible here; use --device cpu or auto")
    return device


def run_notebook(path: Union[str, os.PathLike], parameters: Optional[Mapping[str, Any]] = None, *,
                 device: str = "auto", kernel: Optional[str] = None, timeout: Optional[int] = None,
                 parent_id: Optional[str] = None, name: Optional[str] = None, progress: bool = True) -> NotebookRun:
    """Execute a notebook with papermill into the workspace as a tracked run (kind 'notebook').

    Parameters not declared in its `parameters` cell are refused. A `device` parameter, when declared,
    gets the device; the kernel also sees LLMOPS_DEVICE. Failures do not raise: the result's status is
    'failed' with the failing cell, and the partial output notebook is kept.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from ..workspace import workspace

    nb_path = resolve_notebook(path)
    device = _device_check(device)
    if timeout is not None:
        timeout = whole_number("--timeout", timeout, minimum=1, hint="it is seconds per cell; omit it for no limit")
    params = dict(parameters or {})
    declared = declared_parameters(nb_path)
    if "device" in declared and "device" not in params:
        params["device"] = device
    params = check_parameters(nb_path, params)
    ws = workspace()
    run = start_run(name or nb_path.stem, params=params, kind="notebook",
                    tags={"notebook": str(nb_path), "device": device})
    if parent_id:
        ws.db.execute("UPDATE runs SET parent_id=? WHERE id=?", (parent_id, run.id))
    out_dir = ws.dir("notebooks") / run.id
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / nb_path.name
    env = {RUN_ENV_VAR: run.id, "LLMOPS_HOME": str(ws.path), "LLMOPS_DEVICE": device}
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""
    t0 = time.time()
    status, error, failed_cell = "finished", None, None
    with _env_lock:
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            papermill.execute_notebook(
                str(nb_path), str(output), parameters=params, kernel_name=kernel or "python3", language="python",
                progress_bar=progress and not progress_disabled(), request_save_on_cell_execute=True,
                cwd=str(nb_path.parent), execution_timeout=timeout, start_timeout=120)
        except PapermillExecutionError as exc:
            status, failed_cell = "failed", _user_cell_index(output, failed_only=True)
            error = f"cell {failed_cell} (execution count {exc.exec_count}): {exc.ename}: {exc.evalue}"
        except KeyboardInterrupt:
            status, error = "interrupted", "KeyboardInterrupt"
        except Exception as exc:  # a dead kernel, a timeout, a missing kernel
            status, error = "failed", f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
            failed_cell = _user_cell_index(output, failed_only=False)
            if failed_cell is not None:
                error = f"cell {failed_cell}: {error}"
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
    duration = time.time() - t0
    if output.exists():
        run.log_artifact(output, name=f"output-{nb_path.name}")
    run.log_metric("duration_s", duration)
    run.end(status, error)
    result = NotebookRun(run.id, nb_path.name, status, output, params, duration, run.records, error, failed_cell)
    if status == "interrupted":
        raise KeyboardInterrupt
    return result


_ADDED_TAGS = {"injected-parameters", "papermill-error-cell-tag"}


def _user_cell_index(output: Path, *, failed_only: bool) -> Optional[int]:
    """Index, in the user's own notebook, of the failed cell (or of the last cell that started).

    papermill adds an injected-parameters cell and error banners; those are not the user's cells.
    """
    if not output.exists():
        return None
    import nbformat

    try:
        nb = nbformat.read(str(output), as_version=4)
    except Exception:
        return None
    found, i = None, -1
    for cell in nb.cells:
        if _ADDED_TAGS & set(cell.get("metadata", {}).get("tags") or []):
            continue
        i += 1
        meta = cell.get("metadata", {}).get("papermill", {})
        if meta.get("status") == "failed" or (not failed_only and meta.get("start_time")):
            found = i
    return found


@dataclass
class Reproduction:
    """A re-run of a finished notebook run with the same parameters, and which recorded values changed."""

    original: NotebookRun
    rerun: NotebookRun
    changed: Dict[str, tuple]
    same: List[str]
    env_changes: Dict[str, tuple]

    @property
    def reproducible(self) -> bool:
        return self.rerun.ok and not self.changed

    @property
    def failed_work(self) -> bool:
        return not self.reproducible

    def to_dict(self) -> dict:
        return {"reproducible": self.reproducible, "original": self.original.run_id, "rerun": self.rerun.run_id,
                "changed": {k: list(v) for k, v in self.changed.items()}, "same": self.same,
                "env_changes": {k: list(v) for k, v in self.env_changes.items()}}

    def __str__(self) -> str:
        verdict = "reproducible" if self.reproducible else "NOT reproducible"
        lines = [f"{verdict}: run {self.rerun.run_id} vs {self.original.run_id} "
                 f"({len(self.same)} recorded values identical, {len(self.changed)} changed)"]
        lines += [f"  {k}: {a!r} -> {b!r}" for k, (a, b) in self.changed.items()]
        if self.rerun.error:
            lines.append(f"rerun failed: {self.rerun.error}")
        lines += [f"  env {k}: {a} -> {b}" for k, (a, b) in self.env_changes.items()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        rows = [{"value": k, "original": a, "rerun": b} for k, (a, b) in self.changed.items()]
        color = "#1a7f37" if self.reproducible else "#cf222e"
        return (f"{STYLE}<div class='llmops-cap' style='color:{color}'>{esc(str(self).splitlines()[0])}</div>"
                + (html_table(rows, ["value", "original", "rerun"], caption="changed") if rows else ""))


def _as_notebook_run(run: Run) -> NotebookRun:
    tags = run.tags
    arts = run.artifacts
    out = next((p for n, p in arts.items() if n.startswith("output-")), Path(""))
    return NotebookRun(run.id, Path(tags.get("notebook", "")).name, run.status, out, run.params,
                       run.duration or 0.0, run.records, run.error)


_SNAPSHOT_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*@v\d+$")


def _same_value(a: Any, b: Any) -> bool:
    """Equal values, or two dataset versions holding the same records: a snapshot's label may differ between
    runs while its content (what reproducibility is about) does not."""
    if a == b:
        return True
    if isinstance(a, str) and isinstance(b, str) and _SNAPSHOT_REF.match(a) and _SNAPSHOT_REF.match(b):
        from ..data.datasets import dataset

        try:
            return dataset(a).snapshot == dataset(b).snapshot
        except InputError:
            return False
    return False


def reproduce(run_id: str, **kwargs) -> Reproduction:
    """Re-run a notebook run with the same parameters and report which recorded values changed."""
    original = get_run(run_id)
    tags = original.tags
    if original.kind != "notebook" or "notebook" not in tags:
        raise InputError(f"run {original.id} is a '{original.kind}' run, not a notebook run; only notebook runs can be re-run")
    nb = Path(tags["notebook"])
    if not nb.exists():
        raise InputError(f"the notebook of run {original.id} is gone: {nb}")
    params = original.params
    rerun = run_notebook(nb, params, device=tags.get("device", "auto"), **kwargs)
    a, b = original.records, rerun.records
    changed = {k: (a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if not _same_value(a.get(k), b.get(k))}
    same = sorted(k for k in a if k in b and k not in changed)
    env_a = original.env.get("packages", {})
    env_b = get_run(rerun.run_id).env.get("packages", {})
    env_changes = {k: (env_a.get(k), env_b.get(k)) for k in sorted(set(env_a) | set(env_b)) if env_a.get(k) != env_b.get(k)}
    rerun_run = get_run(rerun.run_id)
    rerun_run.set_tag("reproduces", original.id)
    rerun_run.set_tag("reproducible", not changed and rerun.ok)
    return Reproduction(_as_notebook_run(original), rerun, changed, same, env_changes)
