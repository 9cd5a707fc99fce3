"""The checks every numeric option goes through (k, batch sizes, token counts, learning rates, timeouts...): a
bad value is one InputError naming the option, the value and what to give instead, raised before any work.
One rule everywhere: a whole number may be given as 8 or 8.0 (not 8.5, "8" or True); NaN and inf never pass."""
from __future__ import annotations

import math
import numbers
from typing import Any, Optional

import numpy as np

from .errors import InputError


def whole_number(what: str, value: Any, *, minimum: Optional[int] = None, maximum: Optional[int] = None,
                 hint: str = "") -> int:
    """`value` as an int if it is a whole number within the bounds given: 8 and 8.0 pass, 8.5 and "8" do not."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        ok = False
    elif isinstance(value, numbers.Integral):  # exact: a float check rounds past 2**53 (and overflows past 1e308)
        ok = -2 ** 63 <= int(value) < 2 ** 63  # past int64, SQLite, numpy and torch take none of them
    else:
        ok = math.isfinite(value) and float(value) == int(value)
    ok = ok and (minimum is None or int(value) >= minimum) and (maximum is None or int(value) <= maximum)
    if not ok:
        if minimum is not None and maximum is not None:
            need = f"a whole number from {minimum:,} to {maximum:,}"
        else:
            need = "a whole number" + (f" >= {minimum}" if minimum is not None else "") + \
                (f" <= {maximum:,}" if maximum is not None else "")
        raise InputError(f"{what} must be {need}, got {value!r}" + (f"; {hint}" if hint else ""))
    return int(value)


def real_number(what: str, value: Any, *, minimum: Optional[float] = None, above: Optional[float] = None,
                below: Optional[float] = None, hint: str = "") -> float:
    """`value` as a float if it is finite (NaN and inf never pass) and within the bounds given:
    >= minimum, > above, < below."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    bounds = []
    if minimum is not None:
        bounds.append(f">= {minimum:g}")
        ok = ok and value >= minimum
    if above is not None:
        bounds.append(f"> {above:g}")
        ok = ok and value > above
    if below is not None:
        bounds.append(f"< {below:g}")
        ok = ok and value < below
    if not ok:
        need = "a finite number" + (" " + " and ".join(bounds) if bounds else "")
        raise InputError(f"{what} must be {need}, got {value!r}" + (f"; {hint}" if hint else ""))
    return float(value)


__all__ = ["real_number", "whole_number"]
