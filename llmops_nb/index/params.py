"""An index's parameters (stored vector type, metric, usearch's HNSW settings), their defaults, and the checks
every entry point runs on them before any work starts."""
from __future__ import annotations

from typing import Any, Optional

from ..checks import whole_number
from ..errors import InputError
from ..filters import Filter
from ..workspace import check_name

DTYPES = {"f32": "f32", "float32": "f32", "f16": "f16", "float16": "f16", "bf16": "bf16", "i8": "i8", "int8": "i8"}
METRICS = ("cos", "ip", "l2sq")
DEFAULT_MODEL = "all-minilm-l6-v2"
DEFAULT_CONNECTIVITY = 16
DEFAULT_EXPANSION_ADD = 128
DEFAULT_EXPANSION_SEARCH = 64
MAX_BREADTH = 1_000_000  # connectivity / expansion above this only exhausts memory (usearch allocates per search)


def positive_int(label: str, value: Any) -> int:
    return whole_number(label, value, minimum=1)


def int_in_range(label: str, value: Any, lo: int, hi: int = MAX_BREADTH) -> int:
    return whole_number(label, value, minimum=lo, maximum=hi)


def filter_text(where: Any) -> Optional[str]:
    """The text of a `where` filter (a string or a parsed `Filter`), None for no filter; anything else, or an
    empty string, is one InputError."""
    if where is None:
        return None
    if isinstance(where, Filter):
        return where.text
    if not isinstance(where, str):
        raise InputError(f"a filter is a string such as \"topic == 'try'\" (or a parse_filter() result), not a "
                         f"{type(where).__name__}")
    text = where.strip()
    if not text:
        raise InputError("the filter is empty; give a condition such as \"topic == 'try'\", or no filter to search "
                         "everything")
    return text


def check_params(dtype: str, metric: str, connectivity: int, expansion_add: int, expansion_search: int) -> str:
    """The canonical dtype name, once every parameter is valid."""
    if dtype not in DTYPES:
        raise InputError(f"unknown dtype '{dtype}'; use f32, f16 or i8 (i8 is 4x smaller, with slightly lower recall)")
    if metric not in METRICS:
        raise InputError(f"unknown metric '{metric}'; use {', '.join(METRICS)}")
    int_in_range("connectivity", connectivity, 2, 1024)
    int_in_range("expansion_add", expansion_add, 1)
    int_in_range("expansion_search", expansion_search, 1)
    return DTYPES[dtype]


def check_index_name(name: Any) -> str:
    """`name` if it is a valid index name (the workspace's one rule for names), else one InputError."""
    return check_name("index", name)


__all__ = ["DEFAULT_CONNECTIVITY", "DEFAULT_EXPANSION_ADD", "DEFAULT_EXPANSION_SEARCH", "DEFAULT_MODEL", "DTYPES",
           "MAX_BREADTH", "METRICS", "check_index_name", "check_params", "filter_text", "int_in_range",
           "positive_int"]
