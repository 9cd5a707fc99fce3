"""Evaluating a parsed filter over a DataFrame, column at a time: numpy over each column's values."""
from __future__ import annotations

import operator
import warnings
from dataclasses import dataclass
from typing import Any, Tuple

import numpy as np

from .syntax import FilterError, Node, shown

_OPS = {"==": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt,
        ">=": operator.ge}
_FLIP = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}


@dataclass
class _Column:
    name: str
    values: np.ndarray
    missing: np.ndarray
    numeric: bool  # a numpy int/float/bool array: compared by numpy directly


class _Literal:
    __slots__ = ("value",)

    def __init__(self, value: Any):
        self.value = value


def _kind(value: Any) -> str:
    if value is None:
        return "None"
    if isinstance(value, str):
        return f"the text {shown(value, 40)}"
    if isinstance(value, (bool, np.bool_)):
        return f"the boolean {value}"
    if isinstance(value, (int, float, np.number)):
        return f"the number {value}"
    return f"a {type(value).__name__} ({shown(str(value), 40)})"


class Evaluator:
    """Evaluates a tree over a DataFrame, column at a time (numpy over the column's values)."""

    def __init__(self, text: str, frame: Any):
        self.text = text
        self.frame = frame
        self.n = len(frame)
        self.cache: dict = {}

    def fail(self, problem: str) -> FilterError:
        return FilterError(self.text, problem, grammar=False)

    def column(self, name: str) -> _Column:
        col = self.cache.get(name)
        if col is None:
            series = self.frame[name]
            dtype = series.dtype
            if isinstance(dtype, np.dtype) and dtype.kind in "iufb":
                values = series.to_numpy()
                missing = np.isnan(values) if dtype.kind == "f" else np.zeros(self.n, dtype=bool)
                col = _Column(name, values, missing, True)
            else:
                import pandas as pd

                values = series.to_numpy(dtype=object)
                col = _Column(name, values, np.asarray(pd.isna(values), dtype=bool).reshape(self.n), False)
            self.cache[name] = col
        return col

    def operand(self, node: Node):
        return self.column(node[1]) if node[0] == "col" else _Literal(node[1])

    def condition(self, node: Node) -> np.ndarray:
        tag = node[0]
        if tag == "or":
            return np.logical_or.reduce([self.condition(p) for p in node[1]])
        if tag == "and":
            return np.logical_and.reduce([self.condition(p) for p in node[1]])
        if tag == "not":
            return ~self.condition(node[1])
        if tag == "cmp":
            return self.compare(node[1], self.operand(node[2]), self.operand(node[3]))
        if tag == "in":
            return self.member(self.operand(node[1]), node[2], node[3])
        if tag == "lit":
            if isinstance(node[1], bool):
                return np.full(self.n, node[1])
            raise self.fail(f"{_kind(node[1])} alone is not a condition; compare a column with it")
        col = self.column(node[1])
        present = col.values[~col.missing]
        if col.values.dtype == bool or all(isinstance(v, (bool, np.bool_)) for v in present):
            out = np.zeros(self.n, dtype=bool)
            out[~col.missing] = present.astype(bool)
            return out
        raise self.fail(f"column '{col.name}' alone is not a condition (it does not hold True/False); "
                        f"compare it, e.g. {col.name} == {self.example(col)}")

    @staticmethod
    def example(col: _Column) -> str:
        present = col.values[~col.missing]
        first = present[0] if len(present) else 1
        return shown(first, 30) if isinstance(first, str) else repr(getattr(first, "item", lambda: first)())

    def compare(self, op: str, a, b) -> np.ndarray:
        if isinstance(a, _Literal) and isinstance(b, _Literal):
            return np.full(self.n, self.pair(op, a.value, b.value))
        if isinstance(a, _Literal):
            a, b, op = b, a, _FLIP[op]
        if isinstance(b, _Literal):
            return self.versus_value(op, a, b.value)
        return self.versus_column(op, a, b)

    def pair(self, op: str, x: Any, y: Any, where_x: str = "", where_y: str = "") -> bool:
        """One Python comparison; for == and != anything that does not compare is simply unequal."""
        try:
            return bool(_OPS[op](x, y))
        except (TypeError, ValueError):
            if op in ("==", "!="):
                return op == "!="
            subject = f"{where_x}{_kind(x)}, which" if where_x else _kind(x)
            raise self.fail(f"{subject} does not order against {where_y}{_kind(y)} ({op}); "
                            "compare text with text and numbers with numbers") from None

    def versus_value(self, op: str, col: _Column, value: Any) -> np.ndarray:
        if value is None:
            if op == "==":
                return col.missing.copy()
            if op == "!=":
                return ~col.missing
            raise self.fail(f"None only compares with == or != (got {col.name} {op} None)")
        present = ~col.missing
        if col.numeric and not isinstance(value, str):
            try:
                res = _OPS[op](col.values, value)
            except OverflowError:  # an integer beyond int64
                res = _OPS[op](col.values.astype(float), float(value))
            return np.asarray(res, dtype=bool) & present
        if col.numeric and op in ("==", "!="):  # numbers never equal text
            return np.zeros(self.n, dtype=bool) if op == "==" else present
        if col.numeric:
            raise self.fail(f"column '{col.name}' holds numbers, which do not order against {_kind(value)} ({op}); "
                            "compare text with text and numbers with numbers")
        out = np.zeros(self.n, dtype=bool)
        vals = col.values[present]
        try:
            with warnings.catch_warnings():  # numpy warns where an element (a list) does not compare elementwise
                warnings.simplefilter("ignore")
                res = _OPS[op](vals, value)
            if not (isinstance(res, np.ndarray) and res.shape == vals.shape):
                raise TypeError
            out[present] = res.astype(bool)
        except (TypeError, ValueError):  # mixed or odd values: compare one by one to name the one that fails
            where = f"column '{col.name}' holds "
            out[present] = [self.pair(op, v, value, where, "") for v in vals]
        return out

    def versus_column(self, op: str, a: _Column, b: _Column) -> np.ndarray:
        both = ~(a.missing | b.missing)
        if a.numeric and b.numeric:
            return np.asarray(_OPS[op](a.values, b.values), dtype=bool) & both
        out = np.zeros(self.n, dtype=bool)
        x, y = a.values[both].astype(object), b.values[both].astype(object)
        out[both] = [self.pair(op, u, v, f"column '{a.name}' holds ", f"column '{b.name}' holding ")
                     for u, v in zip(x, y)]
        return out

    def member(self, col: _Column, values: Tuple[Any, ...], negated: bool) -> np.ndarray:
        wanted = [v for v in values if v is not None]
        with_none = len(wanted) < len(values)
        present = ~col.missing
        hit = np.zeros(self.n, dtype=bool)
        if col.numeric:
            numbers = [w for w in wanted if not isinstance(w, str)]
            if numbers:
                hit = np.isin(col.values, np.asarray(numbers)) & present
        elif wanted:
            vals = col.values[present]
            lookup = set(wanted)
            try:
                hit[present] = np.fromiter((v in lookup for v in vals), dtype=bool, count=len(vals))
            except TypeError:  # an unhashable value (a list): compare it one by one
                hit[present] = [any(self.pair("==", v, w) for w in wanted) for v in vals]
        if with_none:
            hit |= col.missing
        return ~hit & present if negated else hit


