"""`SearchResults`: what a search returns: record ids, scores, chunk texts and metadata, in rank order.

Texts and metadata are read from the workspace database on first use (one query for all hits), so a
search that only needs ids and scores (a benchmark, a recall check) never touches them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence

import numpy as np

from ..display import STYLE, esc, finite, fmt

MIME = "application/vnd.llmops.search+json"

_STOP = frozenset("""a an and are as at be by can do does for from how i if in is it of on or so that the this to
was what when where which who why will with you your my me we our""".split())
_SNIPPET = 360  # characters of a chunk shown in tables


@dataclass
class Hit:
    rank: int
    id: str  # the record id
    score: float
    text: str
    chunk: int
    start: int
    end: int
    key: int
    metadata: Dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Hit({self.rank}, id={self.id!r}, score={self.score:.3f}, chunk={self.chunk}, text={self.text[:40]!r})"


def query_terms(query: str) -> List[str]:
    """Words of the query worth highlighting: 3+ characters, not stop words, longest first."""
    words = {w.lower() for w in re.findall(r"\w+", query or "") if len(w) >= 3 and w.lower() not in _STOP}
    return sorted(words, key=lambda w: (-len(w), w))


def highlight(text: str, terms: Sequence[str]) -> str:
    """HTML-escape `text`, THEN wrap the query's terms in <mark>.

    Terms are escaped the same way and matched only outside HTML entities, so no user text ever
    reaches the page unescaped and `&amp;` is never split by a term like "amp".
    """
    escaped = esc(text)
    if not terms:
        return escaped
    alts = "|".join(re.escape(esc(t)) for t in terms)
    pattern = re.compile(r"(&(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);)|\b((?:" + alts + r")\w*)", re.IGNORECASE)

    def repl(m: re.Match) -> str:
        if m.group(1):
            return m.group(1)
        return f"<mark class='llmops-hl'>{m.group(2)}</mark>"

    return pattern.sub(repl, escaped)


def snippet(text: str, terms: Sequence[str], width: int = _SNIPPET) -> str:
    """A window of `text` around the first query term (or its start), marked with … where cut."""
    if len(text) <= width:
        return text
    first = None
    if terms:
        m = re.search(r"\b(?:" + "|".join(re.escape(t) for t in terms) + r")", text, re.IGNORECASE)
        first = m.start() if m else None
    start = 0 if first is None or first < width // 3 else max(0, first - width // 3)
    end = min(len(text), start + width)
    start = max(0, end - width)
    return ("…" if start > 0 else "") + text[start:end] + ("…" if end < len(text) else "")


@dataclass(repr=False, eq=False, kw_only=True)
class SearchResults:
    """Hits of one query, best first. Iterate for `Hit`s; `.ids`, `.scores`, `.texts`, `.metadata` as lists.

    `fetch(keys)` reads the hits' rows (text, metadata) from the workspace on first use."""

    index: str
    query: Optional[str]
    keys: List[int]
    scores: List[float]
    fetch: Callable[[List[int]], List[dict]]
    k: int
    where: Optional[str] = None
    exact: bool = False
    note: str = ""
    elapsed_ms: float = 0.0
    method: str = "hnsw"
    _rows: Optional[List[dict]] = field(default=None, init=False)

    def __post_init__(self) -> None:
        self.keys = np.asarray(self.keys).tolist()
        self.scores = np.asarray(self.scores, dtype=np.float64).tolist()

    # ---- payload, read on first use -----------------------------------------------------------
    def _payload(self) -> List[dict]:
        if self._rows is None:
            self._rows = self.fetch(self.keys) if self.keys else []
        return self._rows

    @property
    def ids(self) -> List[str]:
        return [r["id"] for r in self._payload()]

    @property
    def texts(self) -> List[str]:
        return [r["text"] for r in self._payload()]

    @property
    def metadata(self) -> List[Dict[str, Any]]:
        return [r["metadata"] for r in self._payload()]

    @property
    def hits(self) -> List[Hit]:
        return [Hit(rank=i + 1, id=r["id"], score=s, text=r["text"], chunk=r["chunk"], start=r["start"],
                    end=r["end"], key=key, metadata=r["metadata"])
                for i, (r, s, key) in enumerate(zip(self._payload(), self.scores, self.keys))]

    def __iter__(self):
        return iter(self.hits)

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, i):
        return self.hits[i]

    def record_ids(self) -> List[str]:
        """Distinct record ids in rank order (a record can match through several chunks)."""
        return list(dict.fromkeys(self.ids))

    # ---- results protocol ----------------------------------------------------------------------
    def to_pandas(self):
        import pandas as pd

        rows = [{"rank": h.rank, "id": h.id, "score": h.score, "chunk": h.chunk, "text": h.text,
                 "start": h.start, "end": h.end, **h.metadata} for h in self.hits]
        return pd.DataFrame(rows, columns=None if rows else ["rank", "id", "score", "chunk", "text", "start", "end"])

    def to_dict(self) -> dict:
        """The contract's Search shape (`hits`), plus `exact`, `method`, each hit's `start`/`end`, and `results`:
        the same hits under the name the CLI's --json used first."""
        hits = [{"rank": h.rank, "id": h.id, "chunk": h.chunk, "score": round(h.score, 6), "text": h.text,
                 "metadata": h.metadata, "start": h.start, "end": h.end} for h in self.hits]
        return finite({"version": 1, "index": self.index, "query": self.query, "where": self.where, "k": self.k,
                       "elapsed_ms": round(self.elapsed_ms, 3), "note": self.note or "",
                       "terms": query_terms(self.query or ""), "exact": self.exact, "method": self.method,
                       "hits": hits, "results": hits})

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        payload = self.to_dict()
        payload.pop("results")  # saved notebooks keep one copy of the texts
        return {MIME: payload, "text/html": self._repr_html_(), "text/plain": str(self)}

    def _header(self) -> str:
        what = f"'{self.query}'" if self.query is not None else "a vector"
        filt = f" where {self.where}" if self.where else ""
        return (f"search {self.index} for {what}{filt}: {len(self)} result{'s' if len(self) != 1 else ''} "
                f"({self.elapsed_ms:.1f} ms, {self.method})")

    def __str__(self) -> str:
        lines = [self._header()]
        if self.note:
            lines.append(f"note: {self.note}")
        terms = query_terms(self.query or "")
        for h in self.hits:
            text = " ".join(snippet(h.text, terms, 160).split())
            lines.append(f"[{h.rank}] {h.score:.3f}  {h.id}#{h.chunk}  {text}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"SearchResults(index={self.index!r}, query={self.query!r}, n={len(self)})"

    def _repr_html_(self) -> str:
        terms = query_terms(self.query or "")
        meta_cols: List[str] = []
        for h in self.hits:
            for c in h.metadata:
                if c not in meta_cols and len(meta_cols) < 4:
                    meta_cols.append(c)
        head = "".join(f"<th class='llmops-num'>{c}</th>" for c in ["#", "score"])
        head += "".join(f"<th>{esc(c)}</th>" for c in ["record", *meta_cols, "text"])
        body = []
        for h in self.hits:
            cells = [str(h.rank), f"{h.score:.3f}", f"{esc(h.id)} <span class='llmops-muted'>#{h.chunk}</span>"]
            cells += [esc(fmt(h.metadata.get(c))) for c in meta_cols]
            cells.append(highlight(snippet(h.text, terms), terms))  # line breaks kept by the table's pre-wrap
            body.append("<tr>" + "".join(f"<td class='llmops-num'>{c}</td>" if i < 2 else f"<td>{c}</td>"
                                         for i, c in enumerate(cells)) + "</tr>")
        note = f"<div class='llmops-muted'>{esc(self.note)}</div>" if self.note else ""
        empty = "" if self.hits else "<div class='llmops-muted'>no results</div>"
        return (f"{STYLE}<div class='llmops-cap'>{esc(self._header())}</div>{note}"
                f"<table class='llmops-t'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{empty}")


__all__ = ["MIME", "Hit", "SearchResults", "highlight", "query_terms", "snippet"]
