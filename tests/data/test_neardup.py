"""Near-duplicate detection: the vectorized MinHash equals a plain per-document computation, and on the
benchmark's generated corpus (planted clusters of known Jaccard) it finds the pairs at 0.8 with F1 >= 0.95."""
import numpy as np
import pytest

from llmops_nb.data.steps.minhash import (
    MinHasher,
    candidate_probability,
    choose_bands,
    find_near_duplicates,
    lsh_pairs,
    words,
)
from llmops_nb.data.synthetic import near_duplicate_corpus, pair_scores, shingles


def _reference_signature(h: MinHasher, text: str) -> np.ndarray:
    """One document, one permutation at a time: what the batch code must equal."""
    sh = np.array(sorted(h.shingle_set(text)), dtype=np.uint64)
    out = []
    for p in range(h.num_perm):
        v = h.a[p, 0] * sh + h.b[p, 0]  # uint64 arithmetic wraps: (a*x + b) mod 2^64
        out.append(int(v.min()) >> 32)
    return np.array(out, dtype=np.uint32)


def test_batch_signatures_equal_per_document_reference():
    corpus = near_duplicate_corpus(60, seed=1)
    texts = corpus.texts[:20] + ["short text", "", "Ünïcode wörds — “quoted” and ascii words mixed here ok"]
    h = MinHasher(num_perm=32, ngram=5, seed=7)
    sig = h.signatures(texts)
    for i, t in enumerate(texts):
        if sig.n_shingles[i]:
            assert np.array_equal(sig.sig[i], _reference_signature(h, t)), i
        assert sig.n_shingles[i] == len(shingles(t)), i
    assert words("Hello, WORLD! snake_case 3.14") == ["hello", "world", "snake_case", "3", "14"]


def test_band_choice_and_candidate_pairs():
    assert choose_bands(0.8, 112) == (14, 8)
    b, r = choose_bands(0.5, 128)
    assert b * r <= 128 and candidate_probability(0.5, b, r) >= 0.9
    sig = np.array([[1, 2, 3, 4], [1, 2, 9, 9], [7, 7, 3, 4], [5, 5, 5, 5]], dtype=np.uint32)
    assert lsh_pairs(sig, 2, 2).tolist() == [[0, 1], [0, 2]]
    assert lsh_pairs(sig, 2, 2, valid=np.array([True, False, True, True])).tolist() == [[0, 2]]


def test_generated_corpus_f1_at_threshold_08():
    corpus = near_duplicate_corpus(2500, seed=3)
    sims = np.array(list(corpus.similarity.values()))
    assert len(corpus.clusters) > 200 and sims.max() <= 1.0 and (sims >= 0.8).sum() > 100
    assert ((sims > 0.75) & (sims < 0.85)).sum() > 50  # plenty of pairs near the threshold
    dup = find_near_duplicates(corpus.texts, threshold=0.8)
    scores = pair_scores(corpus, [tuple(p) for p in dup.pairs.tolist()], 0.8)
    assert scores.f1 >= 0.95 and scores.precision == 1.0, scores
    # one representative per cluster: every removed text maps to a kept one, never to a removed one
    rep = dup.representative
    assert rep and all(k not in rep for k in rep.values())
    assert len(rep) == sum(len(c) - 1 for c in dup.clusters)


def test_no_false_clusters_among_distinct_texts_and_deterministic():
    corpus = near_duplicate_corpus(400, seed=5, clustered=0.0)
    a = find_near_duplicates(corpus.texts)
    assert a.pairs.size == 0 and not a.representative
    texts = near_duplicate_corpus(300, seed=9).texts
    x, y = find_near_duplicates(texts), find_near_duplicates(lambda: iter(texts))
    assert x.pairs.tolist() == y.pairs.tolist() and x.representative == y.representative


@pytest.mark.parametrize("bad", [dict(threshold=0), dict(threshold=1.5), dict(bands=20, rows=8), dict(keep="last")])
def test_bad_parameters_are_input_errors(bad):
    from llmops_nb.errors import InputError

    with pytest.raises(InputError):
        find_near_duplicates(["a b c"], **bad)
