"""(query, positive) pairs for fine-tuning an embedder on Python's reference topics, made from the topics' own
text and the shipped training prompts, never from an eval question.

`pydoc_retrieval_pairs()` returns dicts {"query", "positive", "topic", "kind"} where `positive` is a chunk of a
topic exactly as `build_index("pydoc", chunk_tokens=K)` cuts it, so the embedder learns the passages it will be
asked to find. Kinds of query:

- "heading": a section heading ('"except" clause') -> the chunk where that section's text starts;
- "sentence": a prose sentence of a topic -> the chunk that holds it (with `ict`, the sentence is cut out of the
  positive, as in the inverse cloze task, so the pair teaches what a passage is about rather than verbatim
  overlap);
- "train": a prompt of pydoc_train.jsonl -> the chunk of its topic that shares the most (IDF-weighted) words
  with the prompt and its response.

pydoc repeats sections inside larger topics (`compound` holds `try`, `specialnames` holds `customization`); a
sentence found in several topics is paired with the chunk of the smallest one, the gold convention of the eval
sets. Any query close to a question of pydoc_qa, pydoc_heldout or pydoc_dev (token F1 >= 0.6) is dropped, so
the reported sets stay unseen and the dev set stays fit for choosing settings.
"""
from __future__ import annotations

import math
import random
import re
from collections import Counter
from dataclasses import dataclass
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from ...errors import InputError
from . import HERE, read_jsonl, train_set

KINDS = ("heading", "sentence", "train")
EVAL_FILES = ("pydoc_qa.jsonl", "pydoc_heldout.jsonl", "pydoc_dev.jsonl")
NEAR_EVAL_F1 = 0.6
_HEADING_RULE = re.compile(r"^\s*([*=\-^~])\1{2,}\s*$")
_BLOCK = re.compile(r"(?:[^\n]*\S[^\n]*(?:\n|$))+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"“(*])")
_WORD = re.compile(r"[a-z0-9_]+")
_STOP = frozenset("a an and are as at be by can do does for from how i if in is it its of on or so that the this "
                  "to was what when which with you your".split())


@dataclass(frozen=True)
class _Span:
    topic: str
    start: int
    end: int
    text: str  # whitespace collapsed


def pydoc_retrieval_pairs(*, kinds: Sequence[str] = KINDS, chunk_tokens: int = 128, overlap: int = 32,
                          model: str = "all-minilm-l6-v2", ict: float = 0.0, max_per_chunk: Optional[int] = None,
                          negatives: bool = False, groups: bool = False, seed: int = 0) -> List[dict]:
    """Training pairs for `finetune_embedder` over the pydoc topics, positives cut as an index of `chunk_tokens`
    (and `overlap`) with `model`'s tokenizer cuts them. `ict` (0-1): the share of sentence pairs whose sentence is
    removed from the positive. `max_per_chunk` caps the sentence pairs of one chunk (a seeded sample).
    `negatives`: each pair gets a hard `negative`, the chunk of another topic that `model` ranks highest for the
    query, leaving out chunks that share a passage with the positive (pydoc's repeated sections). `groups`: each
    pair's `group` is its topic, so one topic's chunks are not each other's in-batch negatives."""
    kinds = tuple(kinds)
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise InputError(f"unknown pair kind(s) {', '.join(map(repr, unknown)) or '(none given)'}; "
                         f"use some of {', '.join(KINDS)}")
    if not 0.0 <= float(ict) <= 1.0:
        raise InputError(f"ict is a share from 0 to 1 (got {ict!r})")
    from pydoc_data.topics import topics

    from ...index.chunking import chunk_records
    from ...models.loading import load_embedder

    tok = load_embedder(model).tokenizer
    records = [{"id": k, "text": topics[k]} for k in sorted(topics)]
    chunks: Dict[str, List[Tuple[int, int, str]]] = {}
    for c in chunk_records(records, tok, chunk_tokens=chunk_tokens, overlap=overlap):
        chunks.setdefault(c.record_id, []).append((c.start, c.end, c.text))
    rng = random.Random(seed)
    pairs: List[dict] = []
    if "heading" in kinds:
        pairs += _heading_pairs(topics, chunks)
    if "sentence" in kinds:
        pairs += _sentence_pairs(topics, chunks, rng, ict, max_per_chunk)
    if "train" in kinds:
        pairs += _train_pairs(chunks)
    pairs = _without_eval_questions(pairs)
    if negatives:
        _add_negatives(pairs, chunks, model)
    if groups:
        for p in pairs:
            p["group"] = p["topic"]
    return pairs


# ---- reading the topics ------------------------------------------------------------------------------------
def _blocks(text: str) -> Iterator[Tuple[int, str]]:
    for m in _BLOCK.finditer(text):
        yield m.start(), m.group(0)


def _heading(block: str) -> Optional[str]:
    lines = block.rstrip("\n").split("\n")
    if len(lines) == 2 and _HEADING_RULE.match(lines[1]) and lines[0].strip():
        return " ".join(lines[0].split())
    return None


def _is_prose(block: str) -> bool:
    """A paragraph of sentences, not grammar, a table, a doctest or a code example."""
    stripped = block.strip()
    if "::=" in block or stripped[:1] in "+|>" or stripped.startswith("..."):
        return False
    lines = [ln for ln in block.split("\n") if ln.strip()]
    if any(ln.rstrip().endswith(":") and not ln.rstrip().endswith("::") and len(ln.split()) <= 4 for ln in lines[:1]):
        return False
    letters = sum(ch.isalpha() or ch == " " for ch in stripped)
    return letters / max(1, len(stripped)) >= 0.8 and len(stripped.split()) >= 6


def _sections(text: str, topic: str) -> Iterator[Tuple[str, Optional[str], int, str]]:
    """("heading", title, offset, block) or ("prose", None, offset, block), in text order."""
    for start, block in _blocks(text):
        title = _heading(block)
        if title is not None:
            yield "heading", title, start, block
        elif _is_prose(block):
            yield "prose", None, start, block


def _sentences(text: str, topic: str) -> Iterator[_Span]:
    for kind, _, start, block in _sections(text, topic):
        if kind != "prose":
            continue
        pos = 0
        for piece in _SENTENCE_END.split(block):
            at = block.find(piece, pos)
            pos = at + len(piece)
            words = piece.split()
            if 6 <= len(words) <= 80:
                yield _Span(topic, start + at, start + at + len(piece.rstrip()), " ".join(words))


def _chunk_of(chunks: List[Tuple[int, int, str]], start: int, end: int) -> Tuple[int, int, str]:
    """The chunk holding [start, end), else the one overlapping it most."""
    for c in chunks:
        if c[0] <= start and end <= c[1]:
            return c
    return max(chunks, key=lambda c: min(end, c[1]) - max(start, c[0]))


# ---- the kinds of pair -------------------------------------------------------------------------------------
def _heading_pairs(topics: Dict[str, str], chunks: Dict[str, List[Tuple[int, int, str]]]) -> List[dict]:
    out, seen = [], set()
    for topic in sorted(topics, key=lambda k: (len(topics[k]), k)):  # a repeated heading goes to the smallest topic
        for kind, title, start, block in _sections(topics[topic], topic):
            if kind != "heading" or title.lower() in seen:
                continue
            seen.add(title.lower())
            body = start + len(block)  # the section's text starts after its heading
            c = _chunk_of(chunks[topic], body, body + 1)
            out.append({"query": title, "positive": c[2], "topic": topic, "kind": "heading"})
    return out


def _sentence_pairs(topics: Dict[str, str], chunks: Dict[str, List[Tuple[int, int, str]]], rng: random.Random,
                    ict: float, max_per_chunk: Optional[int]) -> List[dict]:
    owner: Dict[str, _Span] = {}
    for topic in sorted(topics, key=lambda k: (len(topics[k]), k)):  # smallest topic first: it keeps the sentence
        for span in _sentences(topics[topic], topic):
            owner.setdefault(span.text, span)
    by_chunk: Dict[Tuple[str, int], List[Tuple[_Span, Tuple[int, int, str]]]] = {}
    for span in owner.values():
        c = _chunk_of(chunks[span.topic], span.start, span.end)
        by_chunk.setdefault((span.topic, c[0]), []).append((span, c))
    out = []
    for key in sorted(by_chunk):
        items = by_chunk[key]
        if max_per_chunk is not None and len(items) > max_per_chunk:
            items = rng.sample(items, max_per_chunk)
        for span, (cstart, cend, ctext) in items:
            positive = ctext
            if ict and rng.random() < ict:
                cut = topics[span.topic][max(span.start, cstart):min(span.end, cend)]
                rest = ctext.replace(cut, " ", 1).strip()
                positive = rest if len(rest.split()) >= 8 else ctext
            out.append({"query": span.text, "positive": positive, "topic": span.topic, "kind": "sentence"})
    return out


def _train_pairs(chunks: Dict[str, List[Tuple[int, int, str]]]) -> List[dict]:
    """Each training prompt -> the chunk of its topic sharing the most IDF-weighted words with prompt + response."""
    docs = [c[2] for cs in chunks.values() for c in cs]
    df = Counter(w for d in docs for w in set(_words(d)))
    idf = {w: math.log(len(docs) / n) for w, n in df.items()}
    out = []
    for row in train_set():
        topic = row.get("topic")
        if topic not in chunks:
            continue
        want = set(_words(f"{row['prompt']} {row['response']}")) - _STOP
        best = max(chunks[topic], key=lambda c: sum(idf.get(w, 0.0) for w in want & set(_words(c[2]))))
        out.append({"query": row["prompt"], "positive": best[2], "topic": topic, "kind": "train"})
    return out


def _shingles(text: str, n: int = 8) -> set:
    words = _words(text)
    return {" ".join(words[i:i + n]) for i in range(max(1, len(words) - n + 1))}


def _add_negatives(pairs: List[dict], chunks: Dict[str, List[Tuple[int, int, str]]], model: str) -> None:
    """Give each pair the chunk of another topic its query is nearest to (by `model`), skipping any chunk that
    shares an 8-word passage with the positive or holds the query: a repeated section is no negative."""
    import numpy as np

    from ...index.embeddings import embed

    texts = [c[2] for key in sorted(chunks) for c in chunks[key]]
    owners = [key for key in sorted(chunks) for _ in chunks[key]]
    shingles = [_shingles(t) for t in texts]
    sims = embed([p["query"] for p in pairs], model, progress=False) @ embed(texts, model, progress=False).T
    for p, row in zip(pairs, sims):
        positive = _shingles(p["positive"])
        query = " ".join(_words(p["query"]))
        for j in np.argsort(-row)[:50]:
            if owners[j] != p["topic"] and not shingles[j] & positive and query not in " ".join(_words(texts[j])):
                p["negative"] = texts[j]
                break


# ---- keeping eval questions out --------------------------------------------------------------------------
def _words(text: str) -> List[str]:
    return _WORD.findall(text.lower())


def _f1(a: frozenset, b: frozenset) -> float:
    """Token F1 over distinct words (what "near-verbatim" needs; repeats hardly occur in a question)."""
    common = len(a & b)
    return 2 * common / (len(a) + len(b)) if common else 0.0


def eval_questions() -> List[str]:
    """Every question of the shipped retrieval eval sets (reported and dev): what training pairs must not hold."""
    return [r["question"] for f in EVAL_FILES if (HERE / f).is_file() for r in read_jsonl(HERE / f)]


def _without_eval_questions(pairs: Iterable[dict]) -> List[dict]:
    questions = [frozenset(_words(q)) for q in eval_questions()]
    out = []
    for p in pairs:
        words = frozenset(_words(p["query"]))
        if not any(_f1(words, q) >= NEAR_EVAL_F1 for q in questions):
            out.append(p)
    return out


__all__ = ["EVAL_FILES", "KINDS", "eval_questions", "pydoc_retrieval_pairs"]
