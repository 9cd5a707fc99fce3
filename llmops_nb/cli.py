"""`llmops`: parse, call the core, print. Exit codes: 0 ok, 1 failure, 2 usage error."""
from __future__ import annotations

import json
import math
import os
import sqlite3
import sys
import warnings
from typing import List, Optional, Sequence

from .commands import Context, HelpRequested, execute, parse
from .errors import InputError, LlmopsError, LlmopsWarning


def _strict(value):
    """JSON has no infinity: +-inf become the strings "Infinity" / "-Infinity" (what JavaScript prints)."""
    if isinstance(value, float) and math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, dict):
        return {k: _strict(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_strict(v) for v in value]
    return value


def _to_json(result) -> str:
    from .display import jsonable

    data = result.to_dict() if hasattr(result, "to_dict") else result
    return json.dumps(_strict(jsonable(data)), indent=2, default=str, ensure_ascii=False, allow_nan=False)


def _check_utf8(argv: List[str]) -> None:
    """Python hands undecodable argv bytes over as lone surrogates; say which argument, not a traceback later."""
    for i, arg in enumerate(argv, 1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError as exc:
            byte = ord(arg[exc.start]) - 0xDC00 if 0xDC80 <= ord(arg[exc.start]) <= 0xDCFF else None
            shown = f" (byte 0x{byte:02x} at character {exc.start + 1})" if byte is not None else ""
            raise InputError(f"argument {i} is not valid UTF-8 text{shown}; pass UTF-8 (e.g. set LANG=C.UTF-8 in the "
                             "terminal, or re-encode the text)") from None


def _print(text: str) -> int:
    """Print; a reader that went away (`llmops runs | head -1`) ends the output quietly, as other tools do."""
    try:
        print(text)
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    except OSError as exc:  # a full disk or a closed terminal: say so once, do not leave a traceback
        _silence_stdout()
        print(f"llmops: error: cannot write the output ({exc.strerror or exc})", file=sys.stderr)
        return 1
    return 0


def _silence_stdout() -> None:
    # stdout is gone: point it at /dev/null so the interpreter's final flush does not complain either
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    """The kit's own warnings (empty answers, a tie) print as one line, like its errors; others as Python does."""
    if issubclass(category, LlmopsWarning):
        return f"llmops: warning: {message}\n"
    return _python_formatwarning(message, category, filename, lineno, line)


_python_formatwarning = warnings.formatwarning


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    warnings.formatwarning = _one_line_warning
    for stream in (sys.stdout, sys.stderr):  # stored text may hold lone surrogates: print them escaped
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        _check_utf8(argv)
        cmd, ns = parse(argv, "cli")
        quiet = getattr(ns, "quiet", False)
        if quiet:
            os.environ["LLMOPS_QUIET"] = "1"
        if ns.workspace_path:
            from .workspace import workspace

            workspace(ns.workspace_path)
        result = execute(cmd, ns, Context(face="cli", quiet=quiet))
    except HelpRequested as h:
        return _print(h.text.rstrip())
    except LlmopsError as exc:
        print(f"llmops: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except sqlite3.DatabaseError as exc:  # raised while reading rows, past where the connection translates it
        from .workspace import storage_error_while_reading

        err = storage_error_while_reading(exc)
        if not isinstance(err, LlmopsError):
            raise
        print(f"llmops: error: {err}", file=sys.stderr)
        return err.exit_code
    except KeyboardInterrupt:
        print("llmops: interrupted; finished work was kept", file=sys.stderr)
        return 130
    if result is not None and _print(_to_json(result) if getattr(ns, "json", False) else str(result)):
        return 1
    # a result can report failure of the work it describes (a failed notebook run): exit 1
    return 1 if getattr(result, "failed_work", False) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
