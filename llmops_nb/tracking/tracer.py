"""`trace`: log the user's own model calls to the workspace's generation log, as a decorator or a context manager.

    @trace(model="my-llm", tags={"team": "search"})
    def ask(prompt): ...            # sync, async, generator and async generator functions

    with trace(model="my-llm") as t:
        t.log(prompt=p, output=out, context_ids=ids, scores=scores, tokens_in=12, tokens_out=40)

Each call is one row (source 'trace'), committed when the call returns (trace_log.write_trace), stamped with the
active run. A call that raises is logged with its error type and message, and the exception propagates.
"""
from __future__ import annotations

import functools
import inspect
import time
from typing import Any, Callable, Dict, Optional, Sequence

from ..checks import real_number, whole_number
from ..errors import InputError
from .runs import active_run
from .trace_log import trace_row, write_trace


def _run_id() -> Optional[str]:
    try:
        run = active_run()
    except Exception:
        return None
    return run.id if run is not None else None


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _first_prompt(fn: Callable, args: tuple, kwargs: dict) -> Any:
    """The `prompt` argument if the call has one, else the first positional argument (after self/cls)."""
    if "prompt" in kwargs:
        return kwargs["prompt"]
    try:
        bound = inspect.signature(fn).bind_partial(*args, **kwargs)
    except (TypeError, ValueError):
        return args[0] if args else None
    params = list(bound.arguments.items())
    if "prompt" in bound.arguments:
        return bound.arguments["prompt"]
    params = [(n, v) for n, v in params if n not in ("self", "cls")]
    return params[0][1] if params else None


def _joined(chunks: list) -> Any:
    if all(isinstance(c, str) for c in chunks):
        return "".join(chunks)
    if all(isinstance(c, bytes) for c in chunks):
        return b"".join(chunks).decode("utf-8", "replace")
    return "".join(c if isinstance(c, str) else repr(c) for c in chunks)


class trace:  # noqa: N801  (a function-like name: `@trace(...)` and `with trace(...)`)
    """Trace calls to a model: decorate a function, or use `with trace(model=...) as t: t.log(...)`."""

    def __init__(self, model: Optional[str] = None, tags: Optional[Dict[str, Any]] = None):
        if model is not None and not str(model).strip():
            raise InputError("trace(model=...) needs a non-empty model name")
        if tags is not None and not isinstance(tags, dict):
            raise InputError(f"trace tags must be a dict, got {type(tags).__name__}")
        self.model = model
        self.tags = dict(tags or {})
        self._start: Optional[float] = None
        self._logged = False
        self._pending: Optional[dict] = None

    # ---- the row ------------------------------------------------------------------------------------
    def _write(self, model: str, prompt: Any, output: Any, latency_s: float, error: Optional[str] = None,
               **extra) -> None:
        write_trace(trace_row(model=model, prompt=prompt, output=output, latency_s=latency_s, run_id=_run_id(),
                              error=error, tags=self.tags, **extra))

    # ---- context manager ----------------------------------------------------------------------------
    def __enter__(self) -> "trace":
        if self.model is None:
            raise InputError("with trace(model=...): name the model")
        self._start, self._logged, self._pending = time.perf_counter(), False, None
        return self

    def log(self, prompt: Any = None, output: Any = None, *, context_ids: Optional[Sequence[Any]] = None,
            scores: Optional[Sequence[float]] = None, tokens_in: Optional[int] = None,
            tokens_out: Optional[int] = None, latency_s: Optional[float] = None) -> None:
        """Log one call made inside the `with` block (latency: since the block began, unless given). Logged now."""
        start = self._start if self._start is not None else time.perf_counter()
        latency = real_number("latency_s", latency_s, minimum=0) if latency_s is not None else \
            time.perf_counter() - start
        tokens_in, tokens_out = (None if v is None else whole_number(name, v, minimum=0)
                                 for name, v in (("tokens_in", tokens_in), ("tokens_out", tokens_out)))
        self._write(str(self.model), prompt, output, latency, context_ids=context_ids, scores=scores,
                    tokens_in=tokens_in, tokens_out=tokens_out)
        self._logged = True
        self._start = time.perf_counter()  # a second log() times from the first

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc is not None and not self._logged:
            self._write(str(self.model), None, None, time.perf_counter() - (self._start or time.perf_counter()),
                        error=_error(exc))
        return False  # the exception propagates

    # ---- decorator ----------------------------------------------------------------------------------
    def __call__(self, fn: Callable) -> Callable:
        if not callable(fn):
            raise InputError(f"@trace decorates a callable, got {type(fn).__name__}")
        model = str(self.model or getattr(fn, "__qualname__", None) or type(fn).__name__)
        target = fn if (inspect.isfunction(fn) or inspect.ismethod(fn)) else getattr(fn, "__call__", fn)
        if inspect.isasyncgenfunction(target):
            wrapper = self._async_gen(fn, model)
        elif inspect.iscoroutinefunction(target):
            wrapper = self._async(fn, model)
        elif inspect.isgeneratorfunction(target):
            wrapper = self._gen(fn, model)
        else:
            wrapper = self._sync(fn, model)
        try:
            return functools.wraps(fn)(wrapper)
        except (AttributeError, TypeError):
            return wrapper

    def _sync(self, fn: Callable, model: str) -> Callable:
        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                out = fn(*args, **kwargs)
            except BaseException as exc:
                self._write(model, _first_prompt(fn, args, kwargs), None, time.perf_counter() - start, _error(exc))
                raise
            self._write(model, _first_prompt(fn, args, kwargs), out, time.perf_counter() - start)
            return out
        return wrapper

    def _async(self, fn: Callable, model: str) -> Callable:
        async def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                out = await fn(*args, **kwargs)
            except BaseException as exc:
                self._write(model, _first_prompt(fn, args, kwargs), None, time.perf_counter() - start, _error(exc))
                raise
            self._write(model, _first_prompt(fn, args, kwargs), out, time.perf_counter() - start)
            return out
        return wrapper

    def _gen(self, fn: Callable, model: str) -> Callable:
        def wrapper(*args, **kwargs):
            start, chunks, error = time.perf_counter(), [], None
            try:
                for chunk in fn(*args, **kwargs):
                    chunks.append(chunk)
                    yield chunk
            except GeneratorExit:  # the consumer stopped early: what was streamed is the output, not an error
                raise
            except BaseException as exc:
                error = _error(exc)
                raise
            finally:
                self._write(model, _first_prompt(fn, args, kwargs), _joined(chunks), time.perf_counter() - start,
                            error)
        return wrapper

    def _async_gen(self, fn: Callable, model: str) -> Callable:
        async def wrapper(*args, **kwargs):
            start, chunks, error = time.perf_counter(), [], None
            try:
                async for chunk in fn(*args, **kwargs):
                    chunks.append(chunk)
                    yield chunk
            except GeneratorExit:  # the consumer stopped early: what was streamed is the output, not an error
                raise
            except BaseException as exc:
                error = _error(exc)
                raise
            finally:
                self._write(model, _first_prompt(fn, args, kwargs), _joined(chunks), time.perf_counter() - start,
                            error)
        return wrapper


__all__ = ["trace"]
