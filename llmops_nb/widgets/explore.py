"""`explore(index)`: search an index as you type.

State lives in synced traits only: the front-end (explore.js) writes `query`, `k`, `where` and
`selected` (debounced while typing); Python runs the core search and writes `results`, `note`,
`error` and `record`. Every piece of text reaches the page through textContent, never as HTML.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Union

import anywidget
import traitlets as t

from ..errors import LlmopsError
from ..index.results import query_terms, snippet

HERE = Path(__file__).resolve().parent


class Explorer(anywidget.AnyWidget):
    _esm = HERE / "explore.js"
    _css = HERE / "explore.css"

    index_name = t.Unicode("").tag(sync=True)
    query = t.Unicode("").tag(sync=True)
    k = t.Int(5).tag(sync=True)
    where = t.Unicode("").tag(sync=True)
    columns = t.List(t.Unicode()).tag(sync=True)
    results = t.List(t.Dict()).tag(sync=True)
    terms = t.List(t.Unicode()).tag(sync=True)
    note = t.Unicode("").tag(sync=True)
    error = t.Unicode("").tag(sync=True)
    elapsed_ms = t.Float(0.0).tag(sync=True)
    selected = t.Unicode("").tag(sync=True)  # a record id the user asked to see
    record = t.Dict().tag(sync=True)  # that record: id, text, metadata

    def __init__(self, index: Any, **kwargs):
        from ..index.vector import load_index

        self._index = load_index(index)
        super().__init__(index_name=self._index.name, **kwargs)
        try:
            self.columns = self._index.columns
        except LlmopsError:
            self.columns = []
        if self.query:
            self.refresh()

    @t.observe("query", "k", "where")
    def _changed(self, change) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Run the search for the current query, k and filter; publish results or the error."""
        query = self.query.strip()
        if not query:
            self.results, self.terms, self.note, self.error = [], [], "", ""
            return
        try:
            res = self._index.search(query, k=self.k, where=self.where.strip() or None)
            terms = query_terms(query)
            rows = [{"rank": h.rank, "id": h.id, "chunk": h.chunk, "score": round(h.score, 4),
                     "text": snippet(h.text, terms, 480), "metadata": {k: _plain(v) for k, v in h.metadata.items()}}
                    for h in res]
        except LlmopsError as exc:
            self.error = str(exc)
            return
        self.error = ""
        self.terms = terms
        self.note = res.note
        self.elapsed_ms = round(res.elapsed_ms, 2)
        self.results = rows

    @t.observe("selected")
    def _show(self, change) -> None:
        rid = change["new"]
        if not rid:
            self.record = {}
            return
        try:
            rec = self._index.record(rid)
        except LlmopsError as exc:
            self.error = str(exc)
            return
        self.record = {"id": rec["id"], "text": rec["text"], "metadata": {k: _plain(v) for k, v in rec["metadata"].items()}}

    def __repr__(self) -> str:
        return f"Explorer(index={self.index_name!r}, query={self.query!r}, results={len(self.results)})"


def _plain(v: Any) -> Any:
    return v if isinstance(v, (str, int, float, bool)) or v is None else str(v)


def explore(index: Union[str, Any], query: str = "", *, k: int = 5, where: str = "") -> Explorer:
    """A search box over `index` (name or VectorIndex): results update as you type."""
    return Explorer(index, query=query, k=k, where=where)


__all__ = ["Explorer", "explore"]
