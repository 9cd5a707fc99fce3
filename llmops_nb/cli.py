"""`llmops`: parse, call the core, print. Exit codes: 0 ok, 1 failure, 2 usage error."""
from __future__ import annotations

import json
import os
import sys
from typing import Optional, Sequence

from .commands import Context, HelpRequested, execute, parse
from .errors import LlmopsError


def _to_json(result) -> str:
    from .display import jsonable

    data = result.to_dict() if hasattr(result, "to_dict") else result
    return json.dumps(jsonable(data), indent=2, default=str, ensure_ascii=False)


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        cmd, ns = parse(argv, "cli")
        quiet = getattr(ns, "quiet", False)
        if quiet:
            os.environ["LLMOPS_QUIET"] = "1"
        if ns.workspace_path:
            from .workspace import workspace

            workspace(ns.workspace_path)
        result = execute(cmd, ns, Context(face="cli", quiet=quiet))
    except HelpRequested as h:
        print(h.text.rstrip())
        return 0
    except LlmopsError as exc:
        print(f"llmops: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("llmops: interrupted; finished work was kept", file=sys.stderr)
        return 130
    if result is not None:
        print(_to_json(result) if getattr(ns, "json", False) else str(result))
    # a result can report failure of the work it describes (a failed notebook run): exit 1
    return 1 if getattr(result, "failed_work", False) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
