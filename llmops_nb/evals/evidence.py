"""Gold evidence for `compare`: the source text each eval example's answer should rest on, and the gold source id
that retrieval should find. The same evidence serves every variant, so hallucination is measured one way for
zero-shot, few-shot, fine-tuned and RAG answers alike.

Where the evidence comes from, first match wins:
1. an `evidence` field (text) on the example;
2. a gold id field (`topic`, `source_id` or `gold`) naming a topic of Python's reference (`pydoc_data.topics`),
   when every gold id of the eval set names one (pydoc-qa and sets like it);
3. the same gold id as a record of a RAG variant's index in the comparison (`load_index(name).record(id)`).
Examples left without evidence get no hallucination score (NaN), and `notes` say why.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

EVIDENCE_FIELD = "evidence"
GOLD_FIELDS = ("topic", "source_id", "gold")
_SHOWN = 5  # ids named in a note


@dataclass
class Evidence:
    """Per eval example (in eval-set order): its gold id and its evidence text (None where there is none)."""

    gold_ids: List[Optional[str]]
    texts: List[Optional[str]]
    gold_field: Optional[str] = None
    source: str = ""  # where the texts came from, in words
    notes: List[str] = field(default_factory=list)

    @property
    def missing(self) -> int:
        return sum(t is None for t in self.texts)


def _text(value: Any) -> Optional[str]:
    return value if isinstance(value, str) and value.strip() else None


def gold_field(rows: Sequence[dict]) -> Optional[str]:
    """The first of GOLD_FIELDS that some example fills with a non-empty string or number."""
    for f in GOLD_FIELDS:
        if any(_id(r.get(f)) is not None for r in rows):
            return f
    return None


def _id(value: Any) -> Optional[str]:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, str)):
        text = str(value).strip()
        return text or None
    return None


def _pydoc_topics() -> Dict[str, str]:
    from pydoc_data.topics import topics

    return topics


def _named(ids: Sequence[str]) -> str:
    shown = ", ".join(repr(i) for i in ids[:_SHOWN])
    return shown + (f" and {len(ids) - _SHOWN} more" if len(ids) > _SHOWN else "")


def _from_indexes(ids: List[Optional[str]], indexes: Dict[str, Any]) -> tuple:
    """Texts of gold ids looked up as records of the comparison's indexes (the first index holding each)."""
    texts: List[Optional[str]] = [None] * len(ids)
    used = []
    for name, ix in indexes.items():
        have = set(ix.record_ids())
        for i, gid in enumerate(ids):
            if texts[i] is None and gid is not None and gid in have:
                texts[i] = ix.record(gid)["text"]
                if name not in used:
                    used.append(name)
    return texts, used


def gold_evidence(rows: Sequence[dict], indexes: Optional[Dict[str, Any]] = None) -> Evidence:
    """Evidence for every example of an eval set; `indexes` are the comparison's RAG indexes by name."""
    indexes = indexes or {}
    gf = gold_field(rows)
    ids = [_id(r.get(gf)) if gf else None for r in rows]
    texts = [_text(r.get(EVIDENCE_FIELD)) for r in rows]
    sources = ["the 'evidence' field"] if any(t is not None for t in texts) else []
    need = [i for i, t in enumerate(texts) if t is None and ids[i] is not None]
    if need:
        topics = _pydoc_topics()
        gold = {ids[i] for i in range(len(rows)) if ids[i] is not None}
        if gold <= set(topics):  # pydoc-qa-like: every gold id names a topic of Python's reference
            for i in need:
                texts[i] = topics[ids[i]]
            sources.append(f"pydoc topics named by '{gf}'")
        elif indexes:
            found, used = _from_indexes([ids[i] for i in need], indexes)
            for i, t in zip(need, found):
                texts[i] = t
            if used:
                sources.append(f"records of index {', '.join(repr(u) for u in used)} named by '{gf}'")
    ev = Evidence(ids, texts, gf, "; ".join(sources) or "none")
    ev.notes = _notes(ev, bool(indexes))
    return ev


def _notes(ev: Evidence, have_index: bool) -> List[str]:
    n = len(ev.texts)
    if ev.missing == 0:
        return [f"hallucination is judged against {ev.source}"]
    if ev.missing == n:
        if ev.gold_field is None:
            return ["no gold evidence: the eval set has no 'evidence' text and no gold id field "
                    f"({'/'.join(GOLD_FIELDS)}), so the hallucination column is empty; add one of them"]
        where = "no pydoc topic" + (" and no record of the comparison's indexes" if have_index else
                                    ", and no RAG variant's index is in the comparison to look them up in")
        return [f"no gold evidence: the gold ids in '{ev.gold_field}' name {where}, so the hallucination column is "
                f"empty; add an 'evidence' field with the source text" +
                ("" if have_index else " or a rag variant over the corpus they name")]
    unresolved = [g for g, t in zip(ev.gold_ids, ev.texts) if t is None and g is not None]
    no_id = sum(1 for g, t in zip(ev.gold_ids, ev.texts) if t is None and g is None)
    parts = []
    if unresolved:
        parts.append(f"{len(unresolved)} name no source found ({_named(unresolved)})")
    if no_id:
        parts.append(f"{no_id} have neither evidence text nor a gold id")
    return [f"hallucination is judged against {ev.source}; {ev.missing} of {n} examples have no gold evidence "
            f"({'; '.join(parts)}) and no hallucination score"]


def context_hits(gold_ids: Sequence[Optional[str]], retrieved: Sequence[Sequence[str]], record_ids: set) -> tuple:
    """Per example of one RAG variant: 1.0 when its gold id is among the retrieved ids, 0.0 when not, NaN when it has
    no gold id or the id names no record of the index (never a silent miss); and those unknown ids."""
    out, unknown = [], []
    for gid, got in zip(gold_ids, retrieved):
        if gid is None:
            out.append(float("nan"))
        elif gid not in record_ids:
            out.append(float("nan"))
            unknown.append(gid)
        else:
            out.append(1.0 if gid in set(map(str, got or [])) else 0.0)
    return out, unknown


def context_hit_notes(variant: str, index: str, gold_field_name: Optional[str], unknown: List[str], n: int) -> List[str]:
    if gold_field_name is None:
        return [f"context_hit of {variant} is empty: the eval set has no gold id field ({'/'.join(GOLD_FIELDS)})"]
    if unknown:
        uniq = list(dict.fromkeys(unknown))
        return [f"context_hit of {variant}: {len(unknown)} of {n} gold ids name no record of index '{index}' "
                f"({_named(uniq)}); they are left out, not counted as misses"]
    return []


__all__ = ["EVIDENCE_FIELD", "GOLD_FIELDS", "Evidence", "context_hit_notes", "context_hits", "gold_evidence",
           "gold_field"]
