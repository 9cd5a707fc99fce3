"""The filter language of `search --where`, `VectorIndex.search(where=)`, the explore widget and the curate
`filter:` step: a small language of our own, parsed here and evaluated column by column over a DataFrame.
It is never run as Python (no eval, exec or pandas query), so a filter can only read the columns it names.

    filter      := or
    or          := and ("or" and)*
    and         := not ("and" not)*
    not         := "not" not | comparison
    comparison  := operand (OP operand)*  |  operand ["not"] "in" list
    operand     := column | literal | "(" filter ")"
    list        := "[" [literal ("," literal)* [","]] "]"      (a parenthesized list works too)
    OP          := == | != | < | <= | > | >=
    literal     := 'text' | "text" (backslash escapes)  |  12 | -3 | 2.5 | 1e-3  |  True | False | true | false
                   | None | null
    column      := a column's name: letters, digits and '_', not starting with a digit

Examples: `topic == 'try' and n_words > 20`, `kind in ['bird', 'fish']`, `not (chunk > 0 or lang != 'en')`,
`1 < n <= 5` (a chain means `1 < n and n <= 5`), `note != None`.

Meaning: `and` binds tighter than `or`; `not` tighter than both. Missing values (None, NaN) compare false,
except `== None` (true where missing) and `!= None` (true where present); `in [..., None]` matches missing
values too. Text and numbers never equal each other, and ordering one against the other (`title < 5`) is an
error. A column alone is a condition only when it holds True/False.

Anything else (attribute access, calls, subscripts, arithmetic, Python variables) is a `FilterError`: one line
naming the part that is not allowed, with the columns one can filter on.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Iterable, Optional, Tuple

import numpy as np

from ..errors import did_you_mean
from .evaluate import Evaluator
from .syntax import COLUMNS_LABEL, GRAMMAR, MAX_CHARS, MAX_DEPTH, FilterError, Node, Parser, tokenize


@dataclass(frozen=True)
class Filter:
    """A parsed filter: `mask(frame)` gives one bool per row. Get one with `parse_filter(text)`."""

    text: str
    tree: Node
    columns: Tuple[str, ...]  # the column names it reads, in order of appearance

    def __repr__(self) -> str:
        return f"Filter({self.text!r})"

    def mask(self, frame: Any, *, columns: Optional[Iterable[str]] = None, label: str = COLUMNS_LABEL) -> np.ndarray:
        """A bool array, one per row of `frame` (a pandas DataFrame). `columns` are the ones the filter may
        read (default: all of the frame's); errors list them after `label`."""
        names = [str(c) for c in (frame.columns if columns is None else columns)]
        try:
            for name in self.columns:
                if name not in names:
                    raise FilterError(self.text, f"unknown column '{name}'{did_you_mean(name, names)}",
                                      grammar=False)
            return Evaluator(self.text, frame).condition(self.tree)
        except FilterError as exc:
            raise exc.with_columns(names, label) from None


@functools.lru_cache(maxsize=512)
def _parse(text: str) -> Filter:
    if len(text) > MAX_CHARS:
        raise FilterError(text[:100], f"it is {len(text):,} characters long; the limit is {MAX_CHARS:,}",
                          grammar=False)
    if not text.strip():
        raise FilterError(text, "it is empty")
    parser = Parser(text)
    tree = parser.parse()
    return Filter(text, tree, tuple(parser.columns))


def parse_filter(text: Any, *, columns: Optional[Iterable[str]] = None, label: str = COLUMNS_LABEL) -> Filter:
    """Parse a filter (cached per text). A `FilterError` lists `columns` when given."""
    if isinstance(text, Filter):
        return text
    if not isinstance(text, str):
        raise FilterError(str(text), f"a filter is a string, not a {type(text).__name__}",
                          columns=None if columns is None else list(columns), label=label)
    try:
        return _parse(text)
    except FilterError as exc:
        raise (exc if columns is None else exc.with_columns(list(columns), label)) from None


def filter_mask(text: Any, frame: Any, *, columns: Optional[Iterable[str]] = None,
                label: str = COLUMNS_LABEL) -> np.ndarray:
    """`parse_filter(text).mask(frame)`, every error listing the columns."""
    names = [str(c) for c in (frame.columns if columns is None else columns)]
    return parse_filter(text, columns=names, label=label).mask(frame, columns=names, label=label)


__all__ = ["COLUMNS_LABEL", "Filter", "FilterError", "GRAMMAR", "MAX_CHARS", "MAX_DEPTH", "filter_mask",
           "parse_filter", "tokenize"]
