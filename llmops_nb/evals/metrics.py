"""Answer-quality metrics, one registry entry each. Pure functions of (output, reference, context).

Lexical metrics follow SQuAD's normalization (lowercase, strip punctuation and articles). Semantic
similarity, groundedness and hallucination use the MiniLM embedder, without an LLM judge (SmolLM2-135M asked
"does the passage support the statement?" agreed with the hand labels less than chance).
"""
from __future__ import annotations

import math
import re
import string
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

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
    kind: str = "lexical"  # lexical | semantic | grounded | retrieval | cost


METRICS: Dict[str, Metric] = {m.name: m for m in (
    Metric("exact_match", "normalized answer equals the reference"),
    Metric("token_f1", "SQuAD token F1 against the reference"),
    Metric("rouge_l", "ROUGE-L F-measure (longest common subsequence)"),
    Metric("semantic", "MiniLM cosine similarity of answer and reference", kind="semantic"),
    Metric("groundedness", "share of answer sentences supported by the retrieved context (copied wording or, for a "
           "paraphrase, embedding similarity)",
           kind="grounded"),
    Metric("hallucination", "share of answer sentences not supported by the example's gold evidence (same source for "
           "every variant)", higher_is_better=False, kind="grounded"),
    Metric("context_hit", "1 if the example's gold source is among the passages a RAG variant retrieved",
           kind="retrieval"),
    Metric("length", "answer length in words", higher_is_better=False, kind="cost"),
    Metric("latency_s", "seconds per answer (batch time shared by tokens)", higher_is_better=False, kind="cost"),
    Metric("tokens", "generated tokens", higher_is_better=False, kind="cost"),
)}
DEFAULT_METRICS = ["exact_match", "token_f1", "rouge_l", "semantic", "groundedness", "hallucination", "context_hit",
                   "length", "latency_s", "tokens"]
LEXICAL: Dict[str, Callable[[str, str], float]] = {"exact_match": exact_match, "token_f1": token_f1,
                                                    "rouge_l": rouge_l}

# The support judgement behind groundedness and hallucination: is an answer sentence stated or directly implied
# by a passage? Checked against hand labels (data/eval/support_labels.jsonl) by benchmarks/bench_support.py, which
# picked the rule on one half of the labels and reports it on the other (figures in benchmarks/results.md,
# support). A sentence is supported when every content token it has appears, in order, in one passage sentence
# (an exact or trimmed copy); otherwise it is unsupported when it copies a run of EDITED_RUN or more tokens from a
# passage sentence (an edited copy: the usual shape of one changed fact - a wrong name, number or negation - in
# copied wording), and judged by MiniLM cosine when it copies no such run (a paraphrase). It still cannot check a
# paraphrase's facts, so on real model sentences it agrees with the labels little better than chance: read
# hallucination as a comparison between variants on the same evidence, not as a per-sentence verdict.
SUPPORT_COSINE = 0.6  # MiniLM cosine to the closest passage sentence
EDITED_RUN = 5  # tokens copied in a row from one passage sentence that make a sentence an edited copy
SUPPORT_OVERLAP = 0.6  # share of the sentence's content words found within one stretch of the passage
SUPPORT_RULE = "aligned"  # the rule above; "either"/"both"/"cosine"/"overlap" (cosine, overlap) are the old ones
OVERLAP_WINDOW = 80  # words: content words must co-occur within this stretch, not anywhere in a long source
_STOP = frozenset("a an the of to in on for and or is are was were be been it its this that with as by at from "
                  "into if then than so not no can do does you your i we they he she".split())
_NEGATION = frozenset({"not", "no"})  # stop words that still count as content when an edit adds them
_WRAP = re.compile(r"(?<=\S)[ \t]*\n(?=[ \t]*\S)")  # a line break inside a paragraph (hard-wrapped text)
_ALIGN_TOKEN = re.compile(r"\w+|[-+*/<>=^~%&|()\[\]]")  # words, numbers and operator characters


class SupportFeatures(NamedTuple):
    cosine: float  # best MiniLM cosine to a passage sentence
    overlap: float  # share of content words found within one OVERLAP_WINDOW stretch of the passage
    new_words: int  # content tokens left over after aligning to the passage sentence it shares most tokens with
    copied_run: int  # longest run of tokens copied in a row from one passage sentence


def content_words(sentence: str) -> List[str]:
    return [w for w in tokens(sentence) if w not in _STOP]


def passage_sentences(text: str) -> List[str]:
    """A passage's sentences: hard-wrapped lines joined first (pydoc and most plain-text sources wrap at ~70
    characters), then split as answers are."""
    text = text or ""
    return sentences(_WRAP.sub(" ", text)) or ([text.strip()] if text.strip() else [])


def _windows(text: str, window: Optional[int]) -> List[set]:
    words = tokens(text)
    if not window or len(words) <= window:
        return [set(words)]
    step = max(1, window // 2)
    return [set(words[i: i + window]) for i in range(0, len(words) - step, step)]


def lexical_support(sentence: str, windows: Sequence[set]) -> float:
    """Largest share of the sentence's content words found together in one window of the passage (1.0 for a
    sentence without content words)."""
    words = content_words(sentence)
    if not words:
        return 1.0
    return max(sum(w in win for w in words) / len(words) for win in windows) if windows else 0.0


def align_tokens(text: str) -> List[str]:
    """Lowercased words, numbers and operator characters, articles dropped: what alignment compares."""
    return [w for w in _ALIGN_TOKEN.findall((text or "").lower()) if w not in ("a", "an", "the")]


def alignment(sentence: str, units: Sequence[Sequence[str]]) -> Tuple[int, int]:
    """(new_words, copied_run) of a sentence against passage sentences given as align_tokens lists: the content
    tokens outside the in-order matches with the unit that matches most tokens, and the longest run of tokens
    copied in a row from any unit."""
    from difflib import SequenceMatcher

    mine = align_tokens(sentence)
    have = Counter(mine)
    bounds = sorted((-sum((Counter(u) & have).values()), i) for i, u in enumerate(units))
    best, kept, run = -1, set(), 0
    for neg_bound, i in bounds:
        bound = -neg_bound
        if bound <= run and bound <= best:
            break  # neither the match count nor the run can beat what is found: both are at most the bound
        blocks = SequenceMatcher(None, mine, units[i], autojunk=False).get_matching_blocks()
        run = max([run] + [b.size for b in blocks])
        matched = sum(b.size for b in blocks)
        if matched > best:
            best, kept = matched, {j for b in blocks for j in range(b.a, b.a + b.size)}
    new = sum(1 for j, w in enumerate(mine) if j not in kept and (w not in _STOP or w in _NEGATION))
    return new, run


def is_supported(f: SupportFeatures, *, min_cosine: Optional[float] = None, min_overlap: Optional[float] = None,
                 edited_run: Optional[int] = None, rule: Optional[str] = None) -> bool:
    """The support judgement (see SUPPORT_RULE); the keyword arguments override the constants (the benchmark's
    grid and the old rules)."""
    c = f.cosine >= (SUPPORT_COSINE if min_cosine is None else min_cosine)
    rule = rule or SUPPORT_RULE
    if rule == "aligned":
        return f.new_words == 0 or (c and f.copied_run < (EDITED_RUN if edited_run is None else edited_run))
    o = f.overlap >= (SUPPORT_OVERLAP if min_overlap is None else min_overlap)
    return {"either": c or o, "both": c and o, "cosine": c, "overlap": o}[rule]


def support_features(claims: Sequence[Sequence[str]], passages: Sequence[str], embed, *,
                     window: Optional[int] = OVERLAP_WINDOW) -> List[List[SupportFeatures]]:
    """For each (sentences, passage) pair: every sentence's SupportFeatures against the passage. Each distinct
    passage is split, tokenized and embedded once, however many answers share it."""
    import numpy as np

    distinct = list(dict.fromkeys(p for p, c in zip(passages, claims) if c))
    units = {p: passage_sentences(p) for p in distinct}
    wins = {p: _windows(p, window) for p in distinct}
    aligned = {p: [align_tokens(u) for u in units[p]] for p in distinct}
    texts = list(dict.fromkeys([u for p in distinct for u in units[p]] + [s for c in claims for s in c]))
    vecs = embed(texts) if texts else np.zeros((0, 1))
    row = {t: i for i, t in enumerate(texts)}
    out: List[List[SupportFeatures]] = []
    for sents, passage in zip(claims, passages):
        if not sents:
            out.append([])
            continue
        a = vecs[[row[s] for s in sents]]
        c = vecs[[row[u] for u in units[passage]]]
        best = (a @ c.T).max(axis=1)
        out.append([SupportFeatures(float(b), lexical_support(s, wins[passage]), *alignment(s, aligned[passage]))
                    for s, b in zip(sents, best)])
    return out


def answer_sentences(answer: str) -> List[str]:
    """The sentences judged for support; a one-fragment answer counts as one sentence."""
    answer = answer or ""
    return sentences(answer) or ([answer.strip()] if answer.strip() else [])


def supported_share(outputs: Sequence[str], passages: Sequence[Optional[str]], embed, *,
                    empty: float = math.nan) -> List[float]:
    """Share of each answer's sentences supported by its passage; NaN where there is no passage, `empty` where
    the answer has no sentence."""
    keep = [i for i, p in enumerate(passages) if p and str(p).strip()]
    claims = [answer_sentences(outputs[i]) for i in keep]
    feats = support_features(claims, [str(passages[i]) for i in keep], embed)
    out = [math.nan] * len(outputs)
    for i, f in zip(keep, feats):
        out[i] = sum(map(is_supported, f)) / len(f) if f else empty
    return out


def groundedness(outputs: Sequence[str], contexts: Sequence[Optional[str]], embed) -> List[float]:
    """Share of each answer's sentences supported by its retrieved context (see is_supported). NaN where there is
    no context (non-RAG variants); 0.0 for an empty answer with a context."""
    return supported_share(outputs, contexts, embed, empty=0.0)


def hallucination(outputs: Sequence[str], evidence: Sequence[Optional[str]], embed) -> List[float]:
    """Share of each answer's sentences NOT supported by its example's gold evidence (the source it should rest
    on, the same for every variant). NaN where the example has no evidence, and NaN for an empty answer: it states
    nothing, so it has no rate (0 would reward saying nothing); the empty-answer warning counts those."""
    return [1.0 - s if not math.isnan(s) else math.nan for s in supported_share(outputs, evidence, embed)]


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
