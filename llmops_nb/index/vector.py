"""The vector index's public API in one place: `build_index`, `load_index`, `indexes`, `search`, `drop_index`,
`VectorIndex` and its results.

The package splits it by concern: records in (`records`), parameters and their checks (`params`), the usearch
file and the database rows (`storage`), the index object and its searches (`vector_index`), add/upsert/delete
(`changes`), metadata filters (`filtered`, over the language of `llmops_nb.filters`), the recall check
(`recall`), and the workspace's indexes by name (`catalog`).
"""
from __future__ import annotations

from .catalog import IndexesTable, build_index, drop_index, indexes, load_index, search
from .changes import IndexChange
from .params import (
                     DEFAULT_CONNECTIVITY,
                     DEFAULT_EXPANSION_ADD,
                     DEFAULT_EXPANSION_SEARCH,
                     DEFAULT_MODEL,
                     DTYPES,
                     METRICS,
                     check_index_name,
)
from .recall import RecallReport
from .results import SearchResults
from .storage import DamagedIndexError
from .vector_index import VectorIndex

__all__ = ["DEFAULT_CONNECTIVITY", "DEFAULT_EXPANSION_ADD", "DEFAULT_EXPANSION_SEARCH", "DEFAULT_MODEL", "DTYPES",
           "METRICS", "DamagedIndexError", "IndexChange", "IndexesTable", "RecallReport", "SearchResults", "VectorIndex",
           "build_index", "check_index_name", "drop_index", "indexes", "load_index", "search"]
