"""Checking a step's parameters before any record is read: each value is converted to the type the step
function declares (`threshold: float`, `n: Optional[int]`, ...) and tested against the ranges and choices
the step registered, so `near_dedup:threshold=abc` is one line naming the step, the parameter, the value
and what it takes, instead of a traceback halfway through a curation."""
from __future__ import annotations

import collections.abc
import math
import re
import typing
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Sequence, Tuple

from ...errors import InputError

_INTERVAL = re.compile(r"^\s*([\[(])\s*(-?[\d.]+|-inf)\s*,\s*(-?[\d.]+|inf)\s*([\])])\s*$")


class StepParamError(InputError):
    """A curation step parameter of the wrong type, out of its range or not one of its choices."""


@dataclass(frozen=True)
class Interval:
    """A closed or open range of numbers, written as in maths: "(0, 1]", "[1, inf)"."""

    low: float
    high: float
    low_open: bool
    high_open: bool

    @classmethod
    def parse(cls, text: str) -> "Interval":
        m = _INTERVAL.match(text)
        if not m:
            raise ValueError(f"not an interval: {text!r}")
        return cls(float(m.group(2)), float(m.group(3)), m.group(1) == "(", m.group(4) == ")")

    def __contains__(self, x: float) -> bool:
        above = x > self.low if self.low_open else x >= self.low
        below = x < self.high if self.high_open else x <= self.high
        return above and below

    def __str__(self) -> str:
        def num(v: float) -> str:
            return str(int(v)) if v.is_integer() else str(v)

        if math.isinf(self.high):
            return f"{'>' if self.low_open else '>='} {num(self.low)}"
        return f"in {'(' if self.low_open else '['}{num(self.low)}, {num(self.high)}{')' if self.high_open else ']'}"


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else str(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _as_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise TypeError("true or false")


def _as_int(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError("a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise TypeError("a whole number")


def _as_float(value: Any) -> float:
    if isinstance(value, bool):
        raise TypeError("a number")
    try:
        out = float(value) if isinstance(value, (int, float, str)) else None
    except ValueError:
        out = None
    if out is None or math.isnan(out):
        raise TypeError("a number")
    return out


def _as_str(value: Any) -> str:
    if isinstance(value, str):
        return value
    raise TypeError("text")


def _as_strings(value: Any) -> Any:
    if isinstance(value, str):
        return value  # a step taking a list of names also takes "a,b"
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise TypeError("a list of names")


_CONVERTERS: Dict[Any, Callable[[Any], Any]] = {bool: _as_bool, int: _as_int, float: _as_float, str: _as_str}


def _converter(hint: Any) -> Tuple[Optional[Callable[[Any], Any]], bool]:
    """(function converting a value to `hint`, whether None is allowed). No function: anything goes."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Union:
        optional = type(None) in args
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return _converter(rest[0])[0], optional
        classes = tuple(a for a in rest if isinstance(a, type) and a is not str)
        takes_function = any(typing.get_origin(a) is collections.abc.Callable for a in rest)
        if str in rest and (classes or takes_function):
            def str_or_other(value: Any) -> Any:  # e.g. a filter: its text, a parsed Filter, or a function
                if isinstance(value, (str, *classes)) or (takes_function and callable(value)):
                    return value
                raise TypeError("text or a function" if takes_function else "text")

            return str_or_other, optional
        return None, optional
    if origin in (list, tuple, collections.abc.Sequence) and args and args[0] is str:
        return _as_strings, False
    return _CONVERTERS.get(hint), hint is Any


def check_value(step: str, param: str, value: Any, hint: Any, *, limits: Optional[str] = None,
                choices: Optional[Sequence[Any]] = None, default: Any = None) -> Any:
    """`value` converted to the parameter's type, or a StepParamError saying what the step takes."""
    convert, optional = _converter(hint)
    if value is None and (optional or convert is None):
        return None
    interval = Interval.parse(limits) if limits is not None else None
    given = value
    try:
        if convert is not None:
            value = convert(value)
        wrong = (interval is not None and isinstance(value, (int, float)) and value not in interval) or \
            (choices is not None and value not in choices)
    except TypeError as exc:
        expected, wrong = str(exc), True
    else:
        expected = "a whole number" if isinstance(value, int) and not isinstance(value, bool) else "a number"
    if not wrong:
        return value
    if choices is not None:
        expected = f"one of {', '.join(map(repr, choices))}"
    elif interval is not None:
        expected = f"{expected} {interval}"
    example = f"; e.g. {step}:{param}={default}" if default is not None and not isinstance(default, bool) else ""
    raise StepParamError(f"step '{step}': {param} must be {expected}, got {_shown(given)}{example}")


__all__ = ["Interval", "StepParamError", "check_value"]
