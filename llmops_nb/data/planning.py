"""Planning a curation: step names, "name:params" strings, (name, params) pairs and per-record functions
become `PlannedStep`s whose parameters are converted and checked before any record is read."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from ..display import jsonable
from ..errors import InputError, did_you_mean
from .steps import StepContext, StepSpec, get_step, steps as all_steps

DEFAULT_STEPS: Tuple[str, ...] = ("normalize", "exact_dedup", "near_dedup", "quality", "pii")
StepLike = Union[str, Tuple[str, Any], Callable[[dict], Any]]
_KV = re.compile(r"^\s*([A-Za-z_]\w*)\s*=(?!=)(.*)$", re.S)
_PII_MODES = ("redact", "drop", "flag")


@dataclass
class PlannedStep:
    name: str
    spec: StepSpec
    params: Dict[str, Any]

    def describe(self) -> Dict[str, Any]:
        return {"step": self.name, "params": {k: (getattr(v, "__name__", "callable") if callable(v) else jsonable(v))
                                              for k, v in self.params.items()}}


def _value(text: str) -> Any:
    text = text.strip()
    if text in ("None", "none", "null"):
        return None
    try:
        return json.loads(text)
    except ValueError:
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        return text.strip("'\"")


def parse_step(text: str) -> Tuple[str, Dict[str, Any]]:
    """'near_dedup' / 'near_dedup:threshold=0.85,ngram=3' / 'pii:drop' / 'select:200' / 'filter:n_words > 20'.
    Values are parsed as JSON where they can be; `plan` converts and checks them."""
    name, _, rest = text.partition(":")
    name = name.strip()
    spec = get_step(name)
    if not rest.strip():
        return name, {}
    if spec.primary == "expr":
        m = _KV.match(rest)
        return name, {"expr": m.group(2).strip() if m and m.group(1) == "expr" else rest.strip()}
    parts = [p for p in rest.split(",") if p.strip()]
    matches = [_KV.match(p) for p in parts]
    if all(matches) and all(m.group(1) in spec.params for m in matches):
        return name, {m.group(1): _value(m.group(2)) for m in matches}
    if spec.primary is None or any(matches):
        bad = next((m.group(1) for m in matches if m and m.group(1) not in spec.params), rest)
        raise InputError(f"step '{name}' has no parameter '{bad}'{did_you_mean(bad, spec.params)}; "
                         f"write {name}:KEY=VALUE[,KEY=VALUE] with KEY in {', '.join(spec.params) or 'none'}")
    return name, {spec.primary: _value(rest)}


def _callable_spec(fn: Callable[[dict], Any]) -> StepSpec:
    """A per-record function as a step: True keeps, False drops, a str replaces the text, a dict the record."""
    label = getattr(fn, "__name__", "custom")
    if label == "<lambda>":
        label = "custom"

    def run(records: Iterable[dict], ctx: StepContext) -> Iterator[dict]:
        for rec in records:
            out = fn(rec)
            if out is True:
                yield rec
            elif out is False:
                ctx.remove(rec, label)
            elif isinstance(out, str):
                if out != rec["text"]:
                    ctx.edit(rec, label)
                yield {**rec, "text": out} if out != rec["text"] else rec
            elif isinstance(out, dict):
                new = {**out, "id": rec["id"]}
                if not isinstance(new.get("text"), str):
                    raise InputError(f"custom step {label} returned a dict without a 'text' string")
                if new != rec:
                    ctx.edit(rec, label)
                yield new
            else:
                raise InputError(f"custom step {label} returned {type(out).__name__}; return True/False (keep/drop), "
                                 "a str (new text) or a dict (new record)")

    run.__name__ = label
    return StepSpec(label, run, "custom")


def _unchecked(item: StepLike) -> PlannedStep:
    if callable(item) and not isinstance(item, str):
        spec = _callable_spec(item)
        return PlannedStep(spec.name, spec, {})
    if isinstance(item, str):
        name, params = parse_step(item)
        return PlannedStep(name, get_step(name), params)
    if isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str):
        name, params = item
        spec = get_step(name)
        if not isinstance(params, dict):
            if spec.primary is None:
                raise InputError(f"step '{name}' takes a dict of parameters, got {params!r}")
            params = {spec.primary: params}
        return PlannedStep(name, spec, dict(params))
    raise InputError(f"a step is a name ('near_dedup'), a (name, params) pair or a function; got {item!r}")


def _set(out: List[PlannedStep], name: str, key: str, value: Any, *, add: bool) -> List[PlannedStep]:
    """Set `key` on the planned step `name`, appending the step when `add` and it is not planned."""
    found = [p for p in out if p.name == name]
    for p in found:
        p.params[key] = value
    if not found and add:
        out.append(PlannedStep(name, get_step(name), {key: value}))
    return out


def plan(steps: Optional[Sequence[StepLike]] = None, *, near_threshold: Optional[float] = None,
         pii: Optional[str] = None, select: Optional[int] = None,
         columns: Optional[List[str]] = None) -> List[PlannedStep]:
    """Turn names, (name, params), 'name:params' strings and callables into steps with checked params (each
    step's own `validate` hook included, e.g. a filter expression is parsed here, before any record is read).
    `near_threshold`, `pii` and `select` set (or add) the near_dedup, pii and select steps; `columns` (the
    input's) only make error messages more helpful."""
    items = list(DEFAULT_STEPS if steps is None else ([steps] if isinstance(steps, str) else steps))
    out = [_unchecked(item) for item in items]
    if near_threshold is not None:
        if not any(p.name == "near_dedup" for p in out):
            raise InputError("near_threshold is set but near_dedup is not among the steps; add it to steps")
        _set(out, "near_dedup", "threshold", near_threshold, add=False)
    if pii is False or (pii is not None and str(pii) in ("off", "none", "no")):
        out = [p for p in out if p.name != "pii"]
    elif pii is not None:
        if str(pii) not in _PII_MODES:
            raise InputError(f"pii must be redact, drop, flag or off; got '{pii}'")
        _set(out, "pii", "mode", str(pii), add=True)
    if select is not None:
        _set(out, "select", "n", select, add=True)
    if not out:
        raise InputError(f"no curation steps given; steps: {', '.join(all_steps())}")
    for p in out:
        p.params = p.spec.check(p.params, columns)
    return out


__all__ = ["DEFAULT_STEPS", "PlannedStep", "StepLike", "parse_step", "plan"]
