"""Two pools of real, topically distinct texts that ship with Python, for drift tests and benchmarks: the first
sentences of the docstrings of two families of standard-library modules, files and the OS ("files") and network
protocols and email ("net"). Related enough that a global statistic struggles (both are the stdlib's reference
prose), different enough that a person tells them apart at a glance."""
from __future__ import annotations

import importlib
import inspect
import re
from functools import lru_cache
from typing import List, Tuple

FAMILIES = {
    "files": ["os", "os.path", "shutil", "pathlib", "glob", "tempfile", "stat", "io", "filecmp", "fnmatch", "zipfile",
              "tarfile", "gzip", "bz2", "lzma", "fileinput"],
    "net": ["http.client", "http.server", "http.cookiejar", "urllib.request", "urllib.parse", "email.message",
            "email.utils", "smtplib", "socket", "ssl", "ftplib", "imaplib", "poplib", "xmlrpc.client", "socketserver",
            "mailbox", "email.parser", "email.headerregistry"],
    "numbers": ["math", "cmath", "statistics", "random", "decimal", "fractions", "numbers", "array", "bisect", "heapq",
                "operator", "itertools"],
    "text": ["string", "re", "textwrap", "difflib", "unicodedata", "html", "html.parser", "json", "csv", "codecs",
             "locale", "gettext", "stringprep", "xml.dom.minidom", "xml.etree.ElementTree"],
}
_BOILERPLATE = ("Return self", "Implement ", "See ", "Create and return a new object", "Initialize self",
                "Helper for")


_FOREIGN = {"collections", "typing", "abc", "builtins", "enum", "functools", "contextlib", "warnings", "re", "sys",
            "_collections_abc", "types", "codecs", "calendar", "time", "datetime", "errno", "selectors", "base64"}


def first_sentence(doc: str) -> str:
    para = inspect.cleandoc(doc).split("\n\n")[0].replace("\n", " ").strip()
    m = re.match(r"(.+?[.!?])(\s|$)", para)
    return (m.group(1) if m else para).strip()


def _documented(module) -> List[object]:
    found = []
    for name, obj in inspect.getmembers(module):
        if name.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj) or inspect.isbuiltin(obj)):
            continue
        if str(getattr(obj, "__module__", "") or "").split(".")[0] in _FOREIGN:
            continue  # imported from elsewhere (os re-exports collections.abc names, ...)
        found.append(obj)
        if inspect.isclass(obj):
            found += [v for k, v in vars(obj).items() if not k.startswith("_") and inspect.isroutine(v)]
    return found


@lru_cache(maxsize=None)
def pool(family: str) -> Tuple[str, ...]:
    """Sorted unique first sentences (25-200 characters) of the family's docstrings."""
    out = set()
    for name in FAMILIES[family]:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        for obj in _documented(module):
            doc = getattr(obj, "__doc__", None)
            if not doc:
                continue
            s = first_sentence(doc)
            if 25 <= len(s) <= 200 and not s.startswith(_BOILERPLATE):
                out.add(s)
    return tuple(sorted(out))


__all__ = ["FAMILIES", "first_sentence", "pool"]
