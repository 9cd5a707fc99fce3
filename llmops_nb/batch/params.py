"""Notebook parameters: read the `parameters`-tagged cell, refuse unknown names, coerce CLI strings to the
declared types."""
from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any, Dict, Mapping, Set, Tuple

from ..errors import InputError

TAG_HELP = ("tag one cell 'parameters': in JupyterLab select the cell, open the property inspector (gear icon, "
            "right sidebar) and add the tag 'parameters'; put the defaults there, e.g. `lr = 3e-4`")


def declared_parameters(path: Path) -> Dict[str, Dict[str, Any]]:
    """{name: {"type": "int", "default": "3"}} from the notebook's parameters cell."""
    import nbformat

    try:
        nb = nbformat.read(str(path), as_version=4)
    except Exception as exc:
        raise InputError(f"{path} is not a readable notebook ({type(exc).__name__}: {exc})") from None
    cell = next((c for c in nb.cells if "parameters" in (c.get("metadata", {}).get("tags") or [])), None)
    if cell is None:
        raise InputError(f"{path.name} has no cell tagged 'parameters'; {TAG_HELP}")
    from papermill.translators import PythonTranslator

    # papermill's own parser of the parameters cell (no kernel needed)
    out = {}
    for p in PythonTranslator.inspect(cell):
        default = _default_value(p.default)
        inferred = p.inferred_type_name if p.inferred_type_name not in (None, "None") else None
        out[p.name] = {"type": inferred or (type(default).__name__ if default is not None else "any"),
                       "default": p.default}
    return out


def _default_value(text: Any) -> Any:
    if not isinstance(text, str):
        return text
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None


def coerce(name: str, value: Any, decl: Dict[str, Any]) -> Any:
    """CLI values arrive as strings; turn them into the type the notebook declares (by its default)."""
    default = _default_value(decl.get("default"))
    target = type(default) if default is not None else None
    if not isinstance(value, str):
        if target in (int, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
            return target(value) if target is float or float(value).is_integer() else _type_error(name, value, decl)
        if target is not None and not isinstance(value, target) and not (target is float and isinstance(value, int)):
            _type_error(name, value, decl)
        return value
    if target is None or target is str:
        if target is None:
            try:
                return ast.literal_eval(value)
            except (ValueError, SyntaxError):
                return value
        return value
    if target is bool:
        low = value.strip().lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off"):
            return False
        _type_error(name, value, decl)
    if target in (int, float):
        try:
            num = float(value)
        except ValueError:
            _type_error(name, value, decl)
        if target is int:
            if not num.is_integer():
                _type_error(name, value, decl)
            return int(num)
        return num
    if target in (list, dict, tuple):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            try:
                parsed = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                parsed = [v.strip() for v in value.split(",")] if target is list else _type_error(name, value, decl)
        if not isinstance(parsed, (list, tuple) if target in (list, tuple) else dict):
            _type_error(name, value, decl)
        return parsed
    return value


def _type_error(name: str, value: Any, decl: Dict[str, Any]):
    raise InputError(f"parameter '{name}' expects {decl.get('type')} (default {decl.get('default')}), got {value!r}")


def check_parameters(path: Path, parameters: Mapping[str, Any]) -> Dict[str, Any]:
    declared = declared_parameters(path)
    unknown = [k for k in parameters if k not in declared]
    if unknown:
        from ..errors import did_you_mean

        raise InputError(f"{path.name} does not declare parameter '{unknown[0]}'{did_you_mean(unknown[0], declared)}; "
                         f"valid: {', '.join(declared) or '(none)'}")
    return {k: coerce(k, v, declared[k]) for k, v in parameters.items()}


_RECORD_CALL = re.compile(r"""\brecord\(\s*(?P<f>[fFrRbBuU]*)(?P<q>["'])(?P<name>[^"'\\\n]*)(?P=q)""")


def recorded_names(path: Path) -> Tuple[Set[str], bool]:
    """Names the notebook's code passes to `record(...)` as string literals, and whether that list is complete.

    It is complete only when every mention of `record` in the code is such a call: a computed name (an f-string,
    a variable), `record` passed around (`log = L.record`), or no mention at all (a helper module records) means
    the notebook may record other names, so only the runs can tell."""
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    names: Set[str] = set()
    complete = True
    for cell in nb.cells:
        if cell.get("cell_type") != "code":
            continue
        src = cell.get("source", "")
        literal = 0
        for m in _RECORD_CALL.finditer(src):
            if "f" in m.group("f").lower() and "{" in m.group("name"):
                continue
            names.add(m.group("name"))
            literal += 1
        if literal < len(re.findall(r"\brecord\b", src)):
            complete = False
    return names, complete and bool(names)
