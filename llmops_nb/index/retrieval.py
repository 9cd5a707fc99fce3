"""Retrieval for grounding: the passages a prompt should cite, numbered [1]..[k].

`retrieve(index, question, k)` searches the index and returns `Retrieved`: passages with their
record id and score, and `.context`, a string ready to paste into a prompt with [n] markers that the
model can cite. Overlapping chunks of one record (neighbours share `overlap` tokens) are merged into
one passage, so the context does not repeat itself.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from ..display import STYLE, esc, jsonable
from ..errors import InputError
from .catalog import load_index
from .params import positive_int
from .results import highlight, query_terms


@dataclass
class Passage:
    n: int  # citation number, from 1
    id: str  # record id
    score: float
    text: str
    chunks: List[int]
    start: int
    end: int
    metadata: Dict[str, Any] = field(default_factory=dict)

    @property
    def citation(self) -> str:
        return f"[{self.n}]"

    def __repr__(self) -> str:
        return f"Passage([{self.n}] {self.id!r}, score={self.score:.3f}, {self.text[:40]!r})"


@dataclass
class Retrieved:
    """Passages for one question, best first, with `.context` for a prompt."""

    question: str
    index: str
    passages: List[Passage]
    k: int
    note: str = ""

    def __repr__(self) -> str:
        return f"Retrieved({self.question!r}, index={self.index!r}, passages={len(self)})"

    @property
    def context(self) -> str:
        return "\n\n".join(f"[{p.n}] (source: {p.id}) {p.text}" for p in self.passages)

    @property
    def ids(self) -> List[str]:
        return [p.id for p in self.passages]

    @property
    def citations(self) -> List[Dict[str, Any]]:
        return [{"n": p.n, "id": p.id, "score": p.score, "chunks": p.chunks} for p in self.passages]

    def __len__(self) -> int:
        return len(self.passages)

    def __iter__(self):
        return iter(self.passages)

    def __getitem__(self, i):
        return self.passages[i]

    def to_dict(self) -> dict:
        return jsonable({"question": self.question, "index": self.index, "k": self.k, "note": self.note or None,
                         "context": self.context,
                         "passages": [{"n": p.n, "id": p.id, "score": p.score, "chunks": p.chunks, "start": p.start,
                                       "end": p.end, "text": p.text, "metadata": p.metadata} for p in self.passages]})

    def __str__(self) -> str:
        head = f"retrieved {len(self)} passages from {self.index} for '{self.question}'"
        cites = [f"[{p.n}] {p.score:.3f} {p.id}: {' '.join(p.text.split())[:140]}" for p in self.passages]
        return "\n".join([head] + ([f"note: {self.note}"] if self.note else []) + cites)

    def _repr_html_(self) -> str:
        terms = query_terms(self.question)
        items = "".join(
            f"<li value='{p.n}'><b>{esc(p.id)}</b> <span class='llmops-muted'>score {p.score:.3f}</span><br>"
            f"{highlight(p.text[:800] + ('…' if len(p.text) > 800 else ''), terms)}</li>" for p in self.passages)
        return (f"{STYLE}<div class='llmops-cap'>{esc(str(len(self)))} passages from {esc(self.index)} for "
                f"{esc(self.question)}</div><ol>{items}</ol>")


def retrieve(index: Any, question: str, k: int = 4, *, where: Optional[str] = None,
             max_chars: Optional[int] = None) -> Retrieved:
    """The k best passages for `question` from `index` (name or VectorIndex), numbered for citation.

    `max_chars` caps the total length of the passages (the last one is cut), for small context windows.
    """
    ix = load_index(index)
    if not isinstance(question, str) or not question.strip():
        raise InputError("empty question; give the question to retrieve passages for")
    if max_chars is not None and (not isinstance(max_chars, int) or max_chars <= 0):
        raise InputError(f"max_chars must be a positive integer (got {max_chars!r})")
    k = positive_int("k", k)
    # ask for more chunks than passages: neighbouring chunks of one record merge into one passage
    res = ix.search(question, k=max(1, min(2 * k, len(ix))), where=where)
    merged: List[dict] = []
    for hit in res:
        for m in merged:
            if m["id"] == hit.id and hit.start <= m["end"] and hit.end >= m["start"]:
                m["start"], m["end"] = min(m["start"], hit.start), max(m["end"], hit.end)
                m["chunks"].append(hit.chunk)
                m["parts"].append(hit)
                break
        else:
            merged.append({"id": hit.id, "score": hit.score, "start": hit.start, "end": hit.end, "chunks": [hit.chunk],
                           "parts": [hit], "metadata": hit.metadata})
    merged = merged[:k]
    passages: List[Passage] = []
    budget = max_chars
    for n, m in enumerate(merged, 1):
        if len(m["parts"]) == 1:
            text = m["parts"][0].text
        else:
            text = ix.record(m["id"])["text"][m["start"]:m["end"]]
        if budget is not None:
            if budget <= 0:
                break
            text = text[:budget]
            budget -= len(text)
        passages.append(Passage(n=n, id=m["id"], score=m["score"], text=text, chunks=sorted(m["chunks"]),
                                start=m["start"], end=m["end"], metadata=m["metadata"]))
    note = ""
    if len(passages) < k:
        note = f"only {len(passages)} passages for k={k}" + (f" ({res.note})" if res.note else "")
    return Retrieved(question.strip(), ix.name, passages, k, note=note)


__all__ = ["Passage", "Retrieved", "retrieve"]
