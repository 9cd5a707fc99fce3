"""The one rule for names users give things (datasets, indexes, prompts, models): they become folder and
file names inside the workspace, so they are checked here before any work starts."""
from __future__ import annotations

import re
from typing import Any

from ..errors import InputError

MAX_NAME = 100
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
RULE = (f"a name starts with a letter or digit, then letters, digits, '.', '_' or '-' (no spaces, '/' or '@'), "
        f"at most {MAX_NAME} characters")


def check_name(kind: str, name: Any, *, origin: str = "") -> str:
    """`name` if it is a valid name for a `kind` ("dataset", "index", ...), else one InputError saying why.

    `origin` says where the name came from when the user did not type it (e.g. "from the file name x.jsonl").
    """
    where = f" ({origin})" if origin else ""
    if not isinstance(name, str) or not name:
        raise InputError(f"give the {kind} a name{where}; {RULE}")
    shown = name if len(name) <= 40 else name[:37] + "..."
    if len(name) > MAX_NAME:
        raise InputError(f"{kind} name '{shown}' is {len(name)} characters long{where}; {RULE}")
    if not _NAME.match(name):
        bad = "it" if not name[0].isalnum() or not name[0].isascii() else \
            "'" + next(c for c in name if not (c.isascii() and (c.isalnum() or c in "_.-"))) + "'"
        why = "it starts with" + f" '{name[0]}'" if bad == "it" else f"it contains {bad}"
        raise InputError(f"invalid {kind} name '{shown}'{where}: {why}; {RULE}")
    return name
