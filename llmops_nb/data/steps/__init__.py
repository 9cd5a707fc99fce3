"""Curation steps: pure functions over records, one module per family, found by name in `STEPS`.

A step is `fn(records, ctx, **params) -> Iterator[dict]`: it reads records (dicts with at least `id`
and `text`), yields the ones it keeps (copies when it changes them) and tells `ctx` what it removed,
edited or flagged, and why. It never touches the workspace: `curate` gives it a context whose sink
buffers changes in a `ChangeLog` (spilled to a temp file past a batch), written to the database only in the
transaction that stores the new snapshot; `run_step` gives it one that collects them in a list.

A step's parameters are checked before any record is read (`StepSpec.check`: declared types, ranges and
choices, then the step's own `validate` hook, e.g. filter parsing its expression).

Steps marked `multipass` read their input more than once (near/semantic dedup, select, sample), so
they get a re-iterable source (a list, a `Dataset`, or a spill file `curate` makes for them).
"""
from __future__ import annotations

import importlib
import inspect
import json
import typing
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple

from ...errors import InputError, did_you_mean, not_found
from .params import StepParamError, check_value

FLAGS = "_flags"  # column listing why a kept record was flagged (JSON list), e.g. ["pii:email"]
_FAMILIES = ("text", "minhash", "semantic", "quality", "pii", "subset")


@dataclass
class RecordChange:
    """One thing a step did to one record. `record` is the record before the step (what revert restores)."""

    record_id: str
    step: str
    action: str  # removed | edited | flagged
    reason: str
    duplicate_of: Optional[str] = None
    detail: Dict[str, Any] = field(default_factory=dict)
    record: Optional[dict] = None

    def to_dict(self) -> dict:
        return {"record_id": self.record_id, "step": self.step, "action": self.action, "reason": self.reason,
                "duplicate_of": self.duplicate_of, "detail": self.detail}


class StepContext:
    """What a step reports to: removals, edits, flags (each sent to `sink`), counters and metrics."""

    def __init__(self, step: str, sink: Optional[Callable[[RecordChange], None]] = None, *, progress: bool = False,
                 seed: int = 0):
        self.step = step
        self.changes: List[RecordChange] = []
        self._sink = sink if sink is not None else self.changes.append
        self.progress = progress
        self.seed = seed
        self.removed: Counter = Counter()
        self.edited: Counter = Counter()
        self.flagged: Counter = Counter()
        self.metrics: Dict[str, Any] = {}

    def remove(self, rec: dict, reason: str, *, duplicate_of: Optional[str] = None, **detail) -> None:
        self.removed[reason] += 1
        self._sink(RecordChange(str(rec["id"]), self.step, "removed", reason, duplicate_of, detail, rec))

    def edit(self, before: dict, reason: str, *, keep_original: bool = True, **detail) -> None:
        self.edited[reason] += 1
        self._sink(RecordChange(str(before["id"]), self.step, "edited", reason, None, detail,
                          before if keep_original else None))

    def flag(self, rec: dict, reason: str, **detail) -> dict:
        """Return a copy of `rec` with `reason` added to its `_flags` list."""
        self.flagged[reason] += 1
        out = dict(rec)
        out[FLAGS] = flags_of(rec) + [f"{self.step}:{reason}"]
        self._sink(RecordChange(str(rec["id"]), self.step, "flagged", reason, None, detail, None))
        return out


def flags_of(rec: dict) -> List[str]:
    v = rec.get(FLAGS)
    if not v:
        return []
    if isinstance(v, str):
        try:
            v = json.loads(v)
        except ValueError:
            return [v]
    return list(v)


@dataclass
class StepSpec:
    name: str
    fn: Callable[..., Iterator[dict]]
    family: str
    multipass: bool = False
    primary: Optional[str] = None  # the parameter a bare value sets: "pii:drop", "select:200", "filter:EXPR"
    can_flag: bool = False
    limits: Dict[str, str] = field(default_factory=dict)  # parameter -> allowed range, e.g. "(0, 1]"
    choices: Dict[str, Tuple[Any, ...]] = field(default_factory=dict)  # parameter -> allowed values
    # more checks of the converted params, given the input's columns where they are known (else None)
    validate: Optional[Callable[[Dict[str, Any], Optional[List[str]]], None]] = None

    @property
    def defaults(self) -> Dict[str, Any]:
        sig = inspect.signature(self.fn)
        return {k: p.default for k, p in sig.parameters.items()
                if p.kind == p.KEYWORD_ONLY and p.default is not inspect.Parameter.empty}

    @property
    def params(self) -> List[str]:
        sig = inspect.signature(self.fn)
        return [k for k, p in sig.parameters.items() if p.kind == p.KEYWORD_ONLY]

    @property
    def doc(self) -> str:
        return (inspect.getdoc(self.fn) or "").split("\n")[0]

    def check(self, params: Dict[str, Any], columns: Optional[List[str]] = None) -> Dict[str, Any]:
        """`params` with every value converted to its declared type and checked against the step's ranges and
        choices, then by its `validate` hook (told the input's `columns` when known, for its messages); unknown,
        missing or bad parameters are one InputError naming the step and parameter."""
        known = self.params
        for k in params:
            if k not in known:
                raise InputError(f"step '{self.name}' has no parameter '{k}'{did_you_mean(k, known)}; "
                                 f"its parameters: {', '.join(known) or 'none'}")
        missing = [k for k, p in inspect.signature(self.fn).parameters.items()
                   if p.kind == p.KEYWORD_ONLY and p.default is inspect.Parameter.empty and k not in params]
        if missing:
            raise InputError(f"step '{self.name}' needs {', '.join(missing)}, e.g. ('{self.name}', "
                             f"{{'{missing[0]}': ...}}) or '{self.name}:VALUE'")
        hints, defaults = typing.get_type_hints(self.fn), self.defaults
        checked = {k: check_value(self.name, k, v, hints.get(k, Any), limits=self.limits.get(k),
                                  choices=self.choices.get(k), default=defaults.get(k)) for k, v in params.items()}
        if self.validate is not None:
            self.validate(checked, columns)
        return checked


STEPS: Dict[str, StepSpec] = {}


def step(name: str, *, multipass: bool = False, primary: Optional[str] = None, can_flag: bool = False,
         limits: Optional[Dict[str, str]] = None, choices: Optional[Dict[str, Tuple[Any, ...]]] = None,
         validate: Optional[Callable[[Dict[str, Any], Optional[List[str]]], None]] = None):
    """Register a step function under `name`. `limits` gives parameters' ranges ("(0, 1]", "[1, inf)") and
    `choices` their allowed values; `validate(params, columns)` checks more (raising InputError) once they are
    converted (`columns`: the input's, when known). `StepSpec.check` runs all of them before a curation starts."""

    def deco(fn):
        family = fn.__module__.rsplit(".", 1)[-1]
        STEPS[name] = StepSpec(name, fn, family, multipass, primary, can_flag, dict(limits or {}),
                               dict(choices or {}), validate)
        return fn

    return deco


_loaded = False


def _load() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        for fam in _FAMILIES:
            importlib.import_module(f"{__name__}.{fam}")


def get_step(name: str) -> StepSpec:
    _load()
    if name not in STEPS:
        raise not_found("curation step", name, STEPS, hint=f"steps: {', '.join(STEPS)}")
    return STEPS[name]


def steps() -> Dict[str, StepSpec]:
    _load()
    return dict(STEPS)


@dataclass
class StepRun:
    kept: List[dict]
    changes: List[RecordChange]
    context: StepContext

    @property
    def removed(self) -> List[RecordChange]:
        return [c for c in self.changes if c.action == "removed"]

    @property
    def removed_ids(self) -> List[str]:
        return [c.record_id for c in self.removed]


def run_step(name: str, records: Iterable[dict], *, seed: int = 0, **params) -> StepRun:
    """Run one step over in-memory records: `run_step("near_dedup", recs, threshold=0.8).removed`."""
    spec = get_step(name)
    columns = list(records[0]) if isinstance(records, (list, tuple)) and records else None
    params = spec.check(params, columns)
    records = list(records) if spec.multipass and not isinstance(records, (list, tuple)) else records
    ctx = StepContext(name, seed=seed)
    kept = list(spec.fn(records, ctx, **params))
    return StepRun(kept, ctx.changes, ctx)


__all__ = ["FLAGS", "STEPS", "RecordChange", "StepContext", "StepParamError", "StepRun", "StepSpec", "flags_of",
           "get_step", "run_step", "step", "steps"]
