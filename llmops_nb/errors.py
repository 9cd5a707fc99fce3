"""Errors users see. Each message is one line that says what is wrong and what to do next."""
from __future__ import annotations

import difflib
from typing import Iterable


class LlmopsError(Exception):
    """Base class. The CLI prints the message and exits with `exit_code`; the magic raises UsageError."""

    exit_code = 1


class InputError(LlmopsError):
    """The user's input is wrong (bad option, value or name). CLI exit 2."""

    exit_code = 2


class NotFoundError(InputError):
    """A named thing (run, dataset, index, model, prompt) does not exist."""


class WorkspaceError(LlmopsError):
    """The workspace cannot be opened or written (a file in the way, no permission, a corrupt database)."""


class MissingDependencyError(LlmopsError):
    """An optional package (a model package, torch, usearch) is not installed; the message names the pip command."""


class LlmopsWarning(UserWarning):
    """Something was done, but not quite as asked (e.g. a NaN stored as a missing value); said once."""


def did_you_mean(name: str, choices: Iterable[str], *, n: int = 1) -> str:
    """' (did you mean "x"?)' or '' — to append to a not-found message."""
    matches = difflib.get_close_matches(str(name), [str(c) for c in choices], n=n, cutoff=0.5)
    if not matches:
        return ""
    return " (did you mean " + " or ".join(f"'{m}'" for m in matches) + "?)"


def not_found(kind: str, name: str, choices: Iterable[str], hint: str = "") -> NotFoundError:
    choices = list(choices)
    msg = f"unknown {kind} '{name}'" + did_you_mean(name, choices)
    if hint:
        msg += f"; {hint}"
    elif not choices:
        msg += f"; there are no {kind}s in this workspace yet"
    return NotFoundError(msg)
