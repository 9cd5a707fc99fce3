"""A generated corpus with planted near-duplicates of known similarity, to measure near-dup detection.

Documents are 100-300 words drawn (Zipf-like) from a made-up vocabulary; some are the bases of clusters
of 2-5 documents, each variant made from its base by word substitutions, insertions and deletions
spread so that each edit changes `ngram` shingles, aiming at a Jaccard similarity drawn from
[low, high]. Ground truth is the exact Jaccard of the word n-gram sets of every pair inside a cluster,
measured after the fact (pairs across clusters share essentially no 5-grams; `pair_scores` checks any
predicted one exactly).
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from itertools import accumulate, combinations
from typing import Dict, Iterable, List, Set, Tuple

from .steps.minhash import words

Pair = Tuple[int, int]


def _vocabulary(size: int, rng: random.Random) -> List[str]:
    syllables = [c + v for c in "bcdfghjklmnprstvwz" for v in "aeiou"] + ["th", "ch", "st", "qu"]
    out, seen = [], set()
    while len(out) < size:
        w = "".join(rng.choice(syllables) for _ in range(rng.choice((1, 2, 2, 3, 3, 4))))
        if w not in seen:
            seen.add(w)
            out.append(w)
    return out


def shingles(text: str, n: int = 5) -> Set[Tuple[str, ...]]:
    w = words(text)
    if len(w) < n:
        return {tuple(w)} if w else set()
    return {tuple(w[i:i + n]) for i in range(len(w) - n + 1)}


def jaccard(a: Set, b: Set) -> float:
    if not a and not b:
        return 1.0
    return len(a & b) / len(a | b)


@dataclass
class Corpus:
    texts: List[str]
    clusters: List[List[int]]  # planted clusters (indices into texts)
    similarity: Dict[Pair, float] = field(default_factory=dict)  # exact Jaccard of every pair inside a cluster
    ngram: int = 5

    def positives(self, threshold: float) -> Set[Pair]:
        return {p for p, s in self.similarity.items() if s >= threshold}

    @property
    def n_bytes(self) -> int:
        return sum(len(t.encode()) for t in self.texts)


def _variant(base: List[str], target: float, ngram: int, vocab: List[str], cum, rng: random.Random) -> List[str]:
    s = max(len(base) - ngram + 1, 1)
    edits = max(1, round(s * (1 - target) / (ngram * (1 + target))))
    # non-overlapping windows, so each edit changes about `ngram` shingles
    slots = list(range(ngram, max(len(base) - ngram, ngram + 1), ngram + 1))
    rng.shuffle(slots)
    chosen = sorted(slots[:edits], reverse=True)
    out = list(base)
    for pos in chosen:
        kind = rng.random()
        new = rng.choices(vocab, cum_weights=cum)[0]
        if kind < 0.6:
            out[pos] = new
        elif kind < 0.8:
            out.insert(pos, new)
        else:
            del out[pos]
    return out


def near_duplicate_corpus(n_docs: int = 20_000, *, seed: int = 0, clustered: float = 0.4, low: float = 0.5,
                          high: float = 0.95, ngram: int = 5, vocab_size: int = 8000,
                          min_words: int = 100, max_words: int = 300) -> Corpus:
    """`n_docs` texts, about `clustered` of them in planted clusters of 2-5 with similarity in [low, high]."""
    rng = random.Random(seed)
    vocab = _vocabulary(vocab_size, rng)
    weights = [1.0 / (r + 1) for r in range(vocab_size)]
    cum = list(accumulate(weights))
    docs: List[List[str]] = []
    groups: List[List[int]] = []
    target_clustered = int(n_docs * clustered)
    while len(docs) < n_docs:
        base = rng.choices(vocab, cum_weights=cum, k=rng.randint(min_words, max_words))
        in_cluster = sum(len(g) for g in groups) < target_clustered
        size = min(rng.randint(2, 5), n_docs - len(docs)) if in_cluster else 1
        group = [len(docs)]
        docs.append(base)
        for _ in range(size - 1):
            group.append(len(docs))
            docs.append(_variant(base, rng.uniform(low, high), ngram, vocab, cum, rng))
        if len(group) > 1:
            groups.append(group)
    order = list(range(len(docs)))
    rng.shuffle(order)
    where = {old: new for new, old in enumerate(order)}
    texts = [""] * len(docs)
    for old, new in where.items():
        w = docs[old]
        # a little punctuation and capitalization, which the tokenizer ignores
        texts[new] = " ".join(w).capitalize() + "."
    clusters = [sorted(where[i] for i in g) for g in groups]
    sim: Dict[Pair, float] = {}
    for g in clusters:
        sets = {i: shingles(texts[i], ngram) for i in g}
        for i, j in combinations(g, 2):
            sim[(i, j)] = jaccard(sets[i], sets[j])
    return Corpus(texts, clusters, sim, ngram)


@dataclass
class PairScores:
    precision: float
    recall: float
    f1: float
    true_positives: int
    predicted: int
    positives: int

    def to_dict(self) -> dict:
        return self.__dict__.copy()


def pair_scores(corpus: Corpus, predicted: Iterable[Pair], threshold: float) -> PairScores:
    """Pair precision/recall/F1 against the exact Jaccard; a predicted pair outside the planted clusters is
    checked exactly (and counts as a positive if it really is one)."""
    truth = corpus.positives(threshold)
    pred = {(min(i, j), max(i, j)) for i, j in predicted}
    extra = 0
    tp = 0
    for p in pred:
        if p in truth:
            tp += 1
        elif p not in corpus.similarity:
            s = jaccard(shingles(corpus.texts[p[0]], corpus.ngram), shingles(corpus.texts[p[1]], corpus.ngram))
            if s >= threshold:
                tp += 1
                extra += 1
    positives = len(truth) + extra
    precision = tp / len(pred) if pred else 1.0
    recall = tp / positives if positives else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PairScores(precision, recall, f1, tp, len(pred), positives)
