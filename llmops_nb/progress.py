"""Progress of long work: `progress(total=, desc=, unit=, disable=, leave=)`, the one bar every step uses.

In a notebook kernel the bar is an HTML output updated in place through a display id (no widget, so a saved
notebook never shows "model not found"), at most four times a second, and it ends as ONE static line:
`embedding (all-minilm-l6-v2): 1,024 texts in 3.2s`. Elsewhere (a terminal, the CLI, papermill's stderr) it is
tqdm's text bar. Silent under --quiet/LLMOPS_QUIET and in CI logs, as before.

The kernel is reached through the `get_ipython` IPython puts in builtins while it runs a cell, so the core
never imports IPython.
"""
from __future__ import annotations

import builtins
import html
import time
import uuid
from typing import Any, Optional

from .config import progress_disabled
from .display import fmt_duration

MIN_INTERVAL_S = 0.25  # at most ~4 updates a second: each one is a message to the front end, saved in the notebook
_PLURAL = {"rec": "records", "vec": "vectors", "it": "items"}
_SINGULAR = {"rec": "record", "vec": "vector", "it": "item"}


def units(n: int, unit: str) -> str:
    if n == 1:
        return _SINGULAR.get(unit, unit)
    return _PLURAL.get(unit, unit if unit.endswith("s") else unit + "s")


def kernel_shell() -> Any:
    """The running IPython kernel's shell, or None outside a kernel (terminal IPython included)."""
    get_ipython = getattr(builtins, "get_ipython", None)
    shell = get_ipython() if get_ipython is not None else None
    if shell is None or not hasattr(shell, "kernel") or getattr(shell, "display_pub", None) is None:
        return None
    return shell


def progress(total: Optional[int] = None, *, desc: str = "", unit: str = "it", disable: bool = False,
             leave: bool = True, initial: int = 0):
    """A progress bar with tqdm's calls (`update`, `set_postfix`, `close`, `n`, `with ... as bar`)."""
    if disable or progress_disabled():
        from tqdm import tqdm

        return tqdm(total=total, desc=desc, unit=unit, disable=True, initial=initial)
    shell = kernel_shell()
    if shell is None:
        from tqdm import tqdm  # the text bar; tqdm.auto would pick its ipywidgets bar in a kernel

        return tqdm(total=total, desc=desc, unit=unit, leave=leave, initial=initial)
    return NotebookProgress(shell.display_pub, total=total, desc=desc, unit=unit, initial=initial)


class NotebookProgress:
    """An HTML progress output in a notebook, replaced in place through its display id."""

    def __init__(self, publisher: Any, *, total: Optional[int], desc: str, unit: str, initial: int = 0):
        self.publisher = publisher
        self.total = total
        self.desc = desc
        self.unit = unit
        self.n = initial
        self.postfix = ""
        self.display_id = f"llmops-progress-{uuid.uuid4().hex}"
        self.started = time.perf_counter()
        self.closed = False
        self._shown_at = 0.0
        self._publish(update=False)

    # ---- tqdm's calls ----------------------------------------------------------------------------
    def update(self, n: int = 1) -> None:
        self.n += n
        if time.perf_counter() - self._shown_at >= MIN_INTERVAL_S:
            self._publish(update=True)

    def set_postfix(self, ordered_dict: Optional[dict] = None, refresh: bool = True, **kwargs: Any) -> None:
        items = {**(ordered_dict or {}), **kwargs}
        self.postfix = ", ".join(f"{k}={v}" for k, v in items.items())

    def set_description(self, desc: str, refresh: bool = True) -> None:
        self.desc = desc

    def refresh(self) -> None:
        self._publish(update=True)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        line = self.final_line()
        self._send({"text/html": f"<div class='llmops-progress'>{html.escape(line)}</div>", "text/plain": line},
                   update=True)

    def __enter__(self) -> "NotebookProgress":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---- text ------------------------------------------------------------------------------------
    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def final_line(self) -> str:
        """`desc: 1,024 texts in 3.2s`, with `/total ... (stopped)` when it ended early and the postfix."""
        done = f"{self.n:,}"
        stopped = self.total is not None and self.n < self.total
        if stopped:
            done += f"/{self.total:,}"
        head = f"{self.desc}: " if self.desc else ""
        line = f"{head}{done} {units(self.total if stopped else self.n, self.unit)} in {fmt_duration(self.elapsed)}"
        extras = [x for x in (self.postfix, "stopped" if stopped else "") if x]
        return line + (f" ({'; '.join(extras)})" if extras else "")

    def status_line(self) -> str:
        """`desc: 40% 400/1,000 texts · 3.2s · ~4.8s left · loss=0.5`."""
        elapsed = self.elapsed
        if self.total:
            count = f"{100 * self.n / self.total:.0f}% {self.n:,}/{self.total:,} {units(self.total, self.unit)}"
        else:
            count = f"{self.n:,} {units(self.n, self.unit)}"
        parts = [f"{self.desc}: {count}" if self.desc else count, fmt_duration(elapsed)]
        if self.total and 0 < self.n < self.total:
            parts.append(f"~{fmt_duration(elapsed / self.n * (self.total - self.n))} left")
        if self.postfix:
            parts.append(self.postfix)
        return " · ".join(parts)

    def _publish(self, *, update: bool) -> None:
        line = self.status_line()
        bar = (f"<progress value='{self.n}' max='{self.total}'></progress> " if self.total else
               "<progress></progress> ")
        self._send({"text/html": f"<div class='llmops-progress'>{bar}{html.escape(line)}</div>",
                    "text/plain": line}, update=update)

    def _send(self, data: dict, *, update: bool) -> None:
        self._shown_at = time.perf_counter()
        self.publisher.publish(data=data, metadata={}, transient={"display_id": self.display_id}, update=update)


__all__ = ["MIN_INTERVAL_S", "NotebookProgress", "kernel_shell", "progress", "units"]
