"""`explore(index)`: search an index as you type.

State lives in synced traits only: the front-end (explore.js) writes `query`, `k`, `where` and
`selected` (debounced while typing); Python runs the core search and writes `results`, `note`,
`error` and `record`, and sets `busy` while a search runs (the first one in a fresh kernel loads the
embedder). Every piece of text reaches the page through textContent, never as HTML.

Beside the live view its mime bundle carries a static snapshot of the current search
(`application/vnd.llmops.search+json`, the shape of `SearchResults.to_dict()`), refreshed after each search.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Union

import anywidget
import traitlets as t

from ..errors import LlmopsError
from ..index.results import query_terms, snippet
from .snapshot import Snapshotted, esc, frame

HERE = Path(__file__).resolve().parent
MIME = "application/vnd.llmops.search+json"
SNAPSHOT_CHARS = 2000  # of each hit's text in the snapshot


class Explorer(Snapshotted, anywidget.AnyWidget):
    _esm = HERE / "explore.js"
    _css = HERE / "explore.css"
    snapshot_mime = MIME

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
    busy = t.Bool(False).tag(sync=True)  # True while a search runs: the front-end says "searching…"

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
        """Run the search for the current query, k and filter; publish results, or clear them and say the error."""
        query = self.query.strip()
        self._hits = []
        if not query:
            self.results, self.terms, self.note, self.error = [], [], "", ""
            self.refresh_snapshot()
            return
        self.busy = True  # synced at once: the front-end shows "searching…" while the search below runs
        try:
            res = self._index.search(query, k=self.k, where=self.where.strip() or None)
            terms = query_terms(query)
            rows = [{"rank": h.rank, "id": h.id, "chunk": h.chunk, "score": round(h.score, 4),
                     "text": snippet(h.text, terms, 480), "metadata": {k: _plain(v) for k, v in h.metadata.items()}}
                    for h in res]
        except LlmopsError as exc:  # stale results under the error would read as the answer to this search
            self.results, self.terms, self.note, self.elapsed_ms = [], [], "", 0.0
            self.error = (str(exc).strip().splitlines() or ["search failed"])[0]
            self.refresh_snapshot()
            return
        finally:
            self.busy = False
        self.error = ""
        self.terms = terms
        self.note = res.note
        self.elapsed_ms = round(res.elapsed_ms, 2)
        self._hits = [{"rank": h.rank, "id": h.id, "chunk": h.chunk, "score": round(float(h.score), 6),
                       "text": h.text[:SNAPSHOT_CHARS], "metadata": {k: _plain(v) for k, v in h.metadata.items()},
                       "start": h.start, "end": h.end} for h in res]
        self._method = (res.exact, res.method)
        self.results = rows
        self.refresh_snapshot()

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

    # ---- snapshot (saved with the notebook) -------------------------------------------------------
    def snapshot(self) -> dict:
        """The contract's Search shape (as `SearchResults.to_dict()`), from the widget's current state."""
        hits = getattr(self, "_hits", None) or []
        exact, method = getattr(self, "_method", None) if hits else (None, None)
        return {"version": 1, "index": self.index_name, "query": self.query, "where": self.where.strip() or None,
                "k": self.k, "elapsed_ms": self.elapsed_ms, "note": self.note, "terms": list(self.terms),
                "exact": exact, "method": method, "error": self.error or None, "hits": hits}

    def snapshot_text(self) -> str:
        snap = self.snapshot()
        lines = [self._title(snap)]
        if snap["error"]:
            lines.append(f"error: {snap['error']}")
        if snap["note"]:
            lines.append(f"note: {snap['note']}")
        for h in snap["hits"]:
            text = " ".join(snippet(h["text"], snap["terms"], 160).split())
            lines.append(f"[{h['rank']}] {h['score']:.3f}  {h['id']}#{h['chunk']}  {text}")
        return "\n".join(lines)

    def snapshot_html(self) -> str:
        snap = self.snapshot()
        rows = []
        for h in snap["hits"]:
            meta = "  ".join(f"{k}={v}" for k, v in list(h["metadata"].items())[:4])
            rows.append(f"<tr data-llmops-id='{esc(h['id'])}'><td class='ls-num'>{h['rank']}</td>"
                        f"<td class='ls-num'>{h['score']:.3f}</td><td>{esc(h['id'])} <span class='ls-muted'>#"
                        f"{esc(h['chunk'])}</span><br><span class='ls-muted'>{esc(meta)}</span></td>"
                        f"<td class='ls-pre'>{esc(snippet(h['text'], snap['terms'], 480))}</td></tr>")
        body = f"<div class='ls-error'>{esc(snap['error'])}</div>" if snap["error"] else ""
        if snap["note"]:
            body += f"<div class='ls-muted'>{esc(snap['note'])}</div>"
        if rows:
            body += ("<table class='ls-t'><thead><tr><th>#</th><th>score</th><th>record</th><th>text</th></tr></thead>"
                     f"<tbody>{''.join(rows)}</tbody></table>")
        elif snap["query"] and not snap["error"]:
            body += "<div class='ls-muted'>no results</div>"
        return frame("search", self._title(snap), body)

    @staticmethod
    def _title(snap: dict) -> str:
        if not snap["query"].strip():
            return f"explore {snap['index']}: no query yet"
        where = f" where {snap['where']}" if snap["where"] else ""
        n = len(snap["hits"])
        return (f"search {snap['index']} for '{snap['query']}'{where} (k={snap['k']}): {n} result{'s' * (n != 1)}"
                f" in {snap['elapsed_ms']} ms")

    def __repr__(self) -> str:
        return f"Explorer(index={self.index_name!r}, query={self.query!r}, results={len(self.results)})"


def _plain(v: Any) -> Any:
    return v if isinstance(v, (str, int, float, bool)) or v is None else str(v)


def explore(index: Union[str, Any], query: str = "", *, k: int = 5, where: str = "") -> Explorer:
    """A search box over `index` (name or VectorIndex): results update as you type."""
    return Explorer(index, query=query, k=k, where=where)


__all__ = ["Explorer", "explore"]
