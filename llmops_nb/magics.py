"""`%llmops` / `%%llmops`: interpolate {var} on the line, parse with the shared tree, call the core, display.

LlmopsError becomes IPython's UsageError: one line, no traceback.
"""
from __future__ import annotations

import os
import re
import shlex
import sqlite3
from typing import Any, Dict, List, Optional

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from traitlets import Bool, Int, Unicode, observe

from .commands import Context, HelpRequested, execute, parse
from .errors import LlmopsError

_BRACES = re.compile(r"\{\{|\}\}|\{([^{}]+)\}")


def _split_with_interpolation(line: str, namespace: Dict[str, Any]) -> List[str]:
    """shlex-split the line, then substitute {expr} inside tokens, so a value with spaces stays one argument.

    `{{` and `}}` give literal braces. An undefined name is an error that names it.
    """
    values: List[str] = []

    def stash(m: re.Match) -> str:
        text = m.group(0)
        if text in ("{{", "}}"):
            values.append(text[0])
        else:
            expr = m.group(1).strip()
            try:
                values.append(str(eval(expr, namespace)))  # noqa: S307 (the user's own notebook namespace)
            except NameError as exc:
                name = getattr(exc, "name", None) or str(exc)
                raise UsageError(f"undefined variable '{name}' in {{{expr}}}; define it first or escape braces as {{{{ }}}}") from None
            except Exception as exc:
                raise UsageError(f"cannot interpolate {{{expr}}}: {type(exc).__name__}: {exc}") from None
        return f"\x00{len(values) - 1}\x00"

    protected = _BRACES.sub(stash, line)
    try:
        tokens = shlex.split(protected)
    except ValueError as exc:
        raise UsageError(f"cannot parse the line: {exc} (check the quotes)") from None
    return [re.sub("\x00(\\d+)\x00", lambda m: values[int(m.group(1))], t) for t in tokens]


@magics_class
class LlmopsMagics(Magics):
    """`%llmops COMMAND ...` — run `%llmops help` for the commands. Settings: `%config LlmopsMagics.<name>`."""

    workspace = Unicode(None, allow_none=True, help="Workspace folder for this session (default ./.llmops).").tag(config=True)
    quiet = Bool(False, help="Hide progress bars.").tag(config=True)
    log_text = Unicode(None, allow_none=True, help="What the generation/trace log keeps of prompts and outputs: "
                       "full, redacted (PII removed before writing) or none (sets LLMOPS_LOG_TEXT).").tag(config=True)
    max_rows = Int(50, help="Rows shown in result tables.").tag(config=True)
    embed_backend = Unicode(None, allow_none=True, help="What runs the embedder for new indexes and embed(): torch, "
                            "onnx or onnx-int8 (sets LLMOPS_EMBED_BACKEND; an index keeps its own).").tag(config=True)

    @observe("workspace")
    def _workspace_changed(self, change):
        if change["new"]:
            from .workspace import workspace

            workspace(change["new"])

    @observe("quiet")
    def _quiet_changed(self, change):
        os.environ["LLMOPS_QUIET"] = "1" if change["new"] else "0"

    @observe("log_text")
    def _log_text_changed(self, change):
        from .config import LOG_TEXT_MODES
        from .errors import InputError

        value = str(change["new"] or "").strip().lower()
        if value and value not in LOG_TEXT_MODES:
            raise InputError(f"log_text must be full, redacted or none; got '{change['new']}'")
        if value:
            os.environ["LLMOPS_LOG_TEXT"] = value
        else:
            os.environ.pop("LLMOPS_LOG_TEXT", None)

    @observe("embed_backend")
    def _embed_backend_changed(self, change):
        from .index.embeddings import check_backend

        if change["new"]:
            os.environ["LLMOPS_EMBED_BACKEND"] = check_backend(change["new"])
        else:
            os.environ.pop("LLMOPS_EMBED_BACKEND", None)

    @no_var_expand
    @line_cell_magic
    def llmops(self, line: str = "", cell: Optional[str] = None):
        argv = _split_with_interpolation(line, self.shell.user_ns if self.shell else {})
        try:
            cmd, ns = parse(argv, "magic")
            quiet = self.quiet or getattr(ns, "quiet", False)
            result = execute(cmd, ns, Context(face="magic", cell=cell, quiet=quiet))
        except HelpRequested as h:
            print(h.text.rstrip())
            return None
        except LlmopsError as exc:
            raise UsageError(str(exc)) from None
        except sqlite3.DatabaseError as exc:  # raised while reading rows, past where the connection translates it
            from .workspace import storage_error_while_reading

            err = storage_error_while_reading(exc)
            if not isinstance(err, LlmopsError):
                raise
            raise UsageError(str(err)) from None
        name = getattr(ns, "output_var", None)
        if name:
            if not name.isidentifier():
                raise UsageError(f"-o {name}: not a valid Python variable name")
            self.shell.user_ns[name] = result
        return result


def load_ipython_extension(ipython) -> None:
    ipython.register_magics(LlmopsMagics)
