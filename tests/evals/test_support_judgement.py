"""The support judgement behind groundedness and hallucination, on real pydoc passages and real MiniLM embeddings:
a sentence that copies the passage's wording but changes one fact (a wrong keyword, a negation, a wrong number, a
wrong exception name) is judged unsupported, while the faithful copy and a paraphrase with the same facts are
supported. The pairs are hand-labelled ones from data/eval/support_labels.jsonl (the benchmark's labels)."""
from pydoc_data.topics import topics

import pytest

from llmops_nb.evals import metrics as M

# (topic, faithful sentence, the same sentence with one fact flipped)
FLIPS = [
    ("continue", "It continues with the next cycle of the nearest enclosing loop.",
     "It continues with the next cycle of the outermost enclosing loop."),
    ("nonlocal", "The nonlocal statement causes the listed identifiers to refer to previously bound variables in the "
                 "nearest enclosing scope, excluding globals.",
     "The nonlocal statement causes the listed identifiers to refer to previously bound variables in the nearest "
     "enclosing scope, including globals."),
    ("unary", "The bitwise inversion of x is defined as -(x+1).", "The bitwise inversion of x is defined as -(x-1)."),
    ("power", "Raising 0.0 to a negative power results in a ZeroDivisionError.",
     "Raising 0.0 to a negative power results in a ValueError."),
]
PARAPHRASES = [
    ("power", "Python raises ZeroDivisionError if you raise 0.0 to a power below zero."),
    ("lambda", "A lambda produces an unnamed function object."),
]
UNRELATED = ("lambda", "The ^ operator computes the square of two integers.")


def _embed():
    from llmops_nb.index.embeddings import embed

    return lambda texts: embed(list(texts), progress=False)


@pytest.fixture(scope="module")
def embed():
    return _embed()


@pytest.mark.parametrize("topic,faithful,flipped", FLIPS, ids=[f[0] for f in FLIPS])
def test_one_flipped_fact_in_copied_wording_is_unsupported_and_the_faithful_copy_is_supported(embed, topic, faithful,
                                                                                              flipped):
    good, bad = M.support_features([[faithful], [flipped]], [topics[topic]] * 2, embed)
    assert M.is_supported(good[0]), f"faithful copy judged unsupported: {good[0]}"
    assert not M.is_supported(bad[0]), f"flipped fact judged supported: {bad[0]}"
    assert bad[0].new_words >= 1 and bad[0].copied_run >= M.EDITED_RUN, "an edited copy: long copied run, new token"
    # the rule shipped before could not tell them apart: both clear its cosine threshold
    assert M.is_supported(bad[0], rule="either") and M.is_supported(good[0], rule="either")


@pytest.mark.parametrize("topic,sentence", PARAPHRASES, ids=[p[0] for p in PARAPHRASES])
def test_a_paraphrase_with_the_same_facts_is_supported(embed, topic, sentence):
    f = M.support_features([[sentence]], [topics[topic]], embed)[0][0]
    assert f.copied_run < M.EDITED_RUN, "reworded, not copied"
    assert M.is_supported(f)


def test_a_claim_the_passage_does_not_make_is_unsupported(embed):
    topic, sentence = UNRELATED
    assert not M.is_supported(M.support_features([[sentence]], [topics[topic]], embed)[0][0])


def test_groundedness_and_hallucination_count_the_flipped_sentence(embed):
    topic, faithful, flipped = FLIPS[0]
    answers = [faithful, f"{faithful} {flipped}", flipped]
    assert M.groundedness(answers, [topics[topic]] * 3, embed) == [1.0, 0.5, 0.0]
    assert M.hallucination(answers, [topics[topic]] * 3, embed) == [0.0, 0.5, 1.0]


def test_alignment_counts_new_content_tokens_and_the_longest_copied_run():
    units = [M.align_tokens(u) for u in ["The cat sat on the mat today.", "Dogs bark at night."]]
    assert M.alignment("The cat sat on the mat.", units) == (0, 4), "a trimmed copy adds nothing (articles dropped)"
    assert M.alignment("The cat sat on the red mat today.", units) == (1, 3), "'red' is new; the run stops there"
    assert M.alignment("The cat did not sit on the mat.", units)[0] == 3, "a negation counts as new content"
    assert M.alignment("Cats purr.", units) == (2, 0)
    assert M.align_tokens("x = -(x+1)") == ["x", "=", "-", "(", "x", "+", "1", ")"], "operators are tokens"
