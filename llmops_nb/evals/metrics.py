"""Answer-quality metrics, one registry entry each. Pure functions of (output, reference, context).

Lexical metrics follow SQuAD's normalization (lowercase, strip punctuation and articles). Semantic
similarity and groundedness use the MiniLM embedder, without an LLM judge.
"""
from __future__ import annotations

import math
import re
import string
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation)
_SENT = re.compile(r"(?<=[.!?])\s+|\n+")


def normalize(text: str) -> str:
    text = (text or "").lower().translate(_PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def tokens(text: str) -> List[str]:
    return normalize(text).split()


def exact_match(output: str, reference: str) -> float:
    return float(normalize(output) == normalize(reference))


def token_f1(output: str, reference: str) -> float:
    out, ref = tokens(output), tokens(reference)
    if not out or not ref:
        return float(out == ref)
    common = sum((Counter(out) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(out), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def _lcs(a: Sequence[str], b: Sequence[str]) -> int:
    if not a or not b:
        return 0
    prev = [0] * (len(b) + 1)
    for x in a:
        cur = [0]
        for j, y in enumerate(b, 1):
            cur.append(prev[j - 1] + 1 if x == y else max(prev[j], cur[j - 1]))
        prev = cur
    return prev[-1]


def rouge_l(output: str, reference: str) -> float:
    out, ref = tokens(output), tokens(reference)
    lcs = _lcs(out, ref)
    if lcs == 0:
        return 0.0
    p, r = lcs / len(out), lcs / len(ref)
    return 2 * p * r / (p + r)


def sentences(text: str) -> List[str]:
    return [s.strip() for s in _SENT.split(text or "") if len(s.strip().split()) >= 3]


@dataclass(frozen=True)
class Metric:
    name: str
    description: str
    higher_is_better: bool = True
    kind: str = "lexical"  # lexical | semantic | grounded | cost


METRICS: Dict[str, Metric] = {m.name: m for m in (
    Metric("exact_match", "normalized answer equals the reference"),
    Metric("token_f1", "SQuAD token F1 against the reference"),
    Metric("rouge_l", "ROUGE-L F-measure (longest common subsequence)"),
    Metric("semantic", "MiniLM cosine similarity of answer and reference", kind="semantic"),
    Metric("groundedness", "share of answer sentences supported by the retrieved context (embedding or lexical support)",
           kind="grounded"),
    Metric("length", "answer length in words", higher_is_better=False, kind="cost"),
    Metric("latency_s", "seconds per answer (batch time shared by tokens)", higher_is_better=False, kind="cost"),
    Metric("tokens", "generated tokens", higher_is_better=False, kind="cost"),
)}
DEFAULT_METRICS = ["exact_match", "token_f1", "rouge_l", "semantic", "groundedness", "length", "latency_s", "tokens"]
LEXICAL: Dict[str, Callable[[str, str], float]] = {"exact_match": exact_match, "token_f1": token_f1,
                                                    "rouge_l": rouge_l}

SUPPORT_COSINE = 0.6
SUPPORT_OVERLAP = 0.6
_STOP = frozenset("a an the of to in on for and or is are was were be been it its this that with as by at from "
                  "into if then than so not no can do does you your i we they he she".split())


def _lexical_support(sentence: str, context_tokens: set) -> float:
    words = [w for w in tokens(sentence) if w not in _STOP]
    if not words:
        return 1.0
    return sum(w in context_tokens for w in words) / len(words)


def groundedness(outputs: Sequence[str], contexts: Sequence[Optional[str]], embed) -> List[float]:
    """Share of each answer's sentences supported by its context: a sentence is supported when its
    MiniLM cosine to some context sentence is >= 0.6 or >= 60% of its content words occur in the context.
    NaN where there is no context (non-RAG variants). A one-fragment answer counts as one sentence."""
    import numpy as np

    out: List[float] = []
    pending = []
    for i, (answer, ctx) in enumerate(zip(outputs, contexts)):
        if not ctx:
            out.append(math.nan)
            continue
        sents = sentences(answer) or ([answer.strip()] if answer.strip() else [])
        if not sents:
            out.append(0.0)
            continue
        ctx_sents = sentences(ctx) or [ctx]
        out.append(0.0)
        pending.append((i, sents, ctx_sents, set(tokens(ctx))))
    if not pending:
        return out
    all_texts = [s for _, a, c, _ in pending for s in a + c]
    vecs = embed(all_texts)
    pos = 0
    for i, sents, ctx_sents, ctx_tokens in pending:
        a = vecs[pos: pos + len(sents)]
        c = vecs[pos + len(sents): pos + len(sents) + len(ctx_sents)]
        pos += len(sents) + len(ctx_sents)
        best = (a @ c.T).max(axis=1) if len(c) else np.zeros(len(sents))
        supported = [(b >= SUPPORT_COSINE) or _lexical_support(s, ctx_tokens) >= SUPPORT_OVERLAP
                     for s, b in zip(sents, best)]
        out[i] = sum(supported) / len(supported)
    return out


def semantic_similarity(outputs: Sequence[str], references: Sequence[str], embed) -> List[float]:
    import numpy as np

    if not outputs:
        return []
    texts = [o if o.strip() else "(empty)" for o in outputs]
    v = embed(list(texts) + list(references))
    a, b = v[: len(texts)], v[len(texts):]
    sims = np.sum(a * b, axis=1)
    return [0.0 if not o.strip() else float(s) for o, s in zip(outputs, sims)]


def check_metrics(names: Optional[Sequence[str]]) -> List[str]:
    from ..errors import not_found

    names = list(names) if names else list(DEFAULT_METRICS)
    for n in names:
        if n not in METRICS:
            raise not_found("metric", n, METRICS, hint=f"metrics: {', '.join(METRICS)}")
    return names
