"""Of two copies of a passage, the one from the more specific source (the record with fewer chunks) ranks first:
pydoc's "try" topic is also a section of the much longer "compound" topic. Real MiniLM index, real usearch;
distinct_hits is given the search's own candidates (distinct=False), in an order chosen where the test needs
one copy ahead of the other."""
import numpy as np
import pytest

import llmops_nb as L
from llmops_nb.index.distinct import containment, distinct_hits, distinct_positions, shingles

TRY = ("The try statement specifies exception handlers and cleanup code for a group of statements. To catch several "
       "exceptions in one except clause, give them as a parenthesized tuple, for example except (TypeError, "
       "ValueError) as err handles either type. The finally clause always runs on the way out.")
OTHER_SECTIONS = [
    "The if statement is used for conditional execution: it selects exactly one of the suites by evaluating the "
    "expressions one by one until one is found to be true, then that suite is executed.",
    "The while statement is used for repeated execution as long as an expression is true; a break statement "
    "executed in the first suite terminates the loop without executing the else clause's suite.",
    "The with statement wraps the execution of a block with methods defined by a context manager, which lets "
    "common try, except and finally usage patterns be encapsulated for convenient reuse.",
    "A function definition defines a user-defined function object; decorators are evaluated when the function "
    "is defined, in the scope that contains the function definition.",
]
COMPOUND = " ".join(OTHER_SECTIONS[:2] + [TRY] + OTHER_SECTIONS[2:])
NESTED = [{"id": "try", "text": TRY}, {"id": "compound", "text": COMPOUND},
          {"id": "assert", "text": "An assert statement checks a condition while debugging and raises AssertionError "
                                   "when it is false; with -O it is removed."}]
PLAIN = [{"id": f"doc{i}", "text": text} for i, text in enumerate(OTHER_SECTIONS)] + [
    {"id": "long", "text": " ".join(f"Section {n} of the long record talks about topic number {n} and its own "
                                    f"particular detail {n * 7}." for n in range(30))},
    NESTED[2]]
QUESTION = "how do I catch several exceptions in one except clause"


def _build(records, name):
    return L.build_index(records, name=name, chunk_tokens=48, overlap=8, progress=False)


def _collapse(ix, keys, scores, k, **kw):
    return distinct_hits(ix._wsobj.db, ix.id, keys, scores, k, **kw)


def test_a_later_copy_from_a_smaller_record_takes_the_earlier_copys_place():
    a = "the try statement catches exceptions raised in its suite and runs handlers"
    assert distinct_positions([a, "other text entirely here", a], 3) == ([0, 1], 1)
    assert distinct_positions([a, "other text entirely here", a], 3, sizes=[9, 1, 2]) == ([2, 1], 1)
    assert distinct_positions([a, a], 3, sizes=[2, 2]) == ([0], 1), "equal sizes keep the better-ranked copy"


@pytest.mark.slow  # MiniLM
def test_the_specific_record_takes_the_rank_of_the_larger_record_holding_its_text(ws):
    ix = _build(NESTED, "nested")
    assert len(ix.record("compound")["chunks"]) > len(ix.record("try")["chunks"])
    raw = ix.search(QUESTION, k=len(ix), distinct=False)
    assert {"try", "compound"} <= set(raw.ids), "distinct=False keeps both copies"
    by_id = {}
    for key, rid, score in zip(raw.keys, raw.ids, raw.scores):
        by_id.setdefault(rid, []).append((int(key), float(score)))
    # compound's chunk holding the try section first, then its other chunks, then try's own passage
    held = max(by_id["compound"], key=lambda ks: containment(shingles(ix._fetch([ks[0]])[0]["text"]), shingles(TRY)))
    ck = held[0]
    assert containment(shingles(ix._fetch([ck])[0]["text"]), shingles(TRY)) >= 0.8
    order = [held] + [ks for ks in by_id["compound"] if ks != held] + by_id["try"] + by_id["assert"]
    keys = [key for key, _ in order]
    scores = np.sort(np.asarray([s for _, s in order]))[::-1]  # as a search returns them: best first
    before, before_scores, before_note = _collapse(ix, keys, scores, 3, specific=False)
    assert before[0] == ck and before_scores[0] == scores[0]
    after, after_scores, note = _collapse(ix, keys, scores, 3)
    first = ix._fetch([after[0]])[0]
    assert first["id"] == "try" and after_scores[0] == scores[0], "try takes compound's rank and score"
    assert ck not in after, "compound's copy of the try section is collapsed"
    assert "ranked under the smaller record holding its text" in note
    assert list(after_scores) == sorted(after_scores, reverse=True)
    # the search itself puts try ahead of compound whichever copy its embedding ranked first
    ids = [ix._fetch([key])[0]["id"] for key in _collapse(ix, raw.keys, raw.scores, 3)[0]]
    assert ids.index("try") < (ids.index("compound") if "compound" in ids else len(ids))


@pytest.mark.slow  # MiniLM
def test_an_edited_record_is_read_again_not_taken_from_the_cache(ws):
    ix = _build(NESTED, "nested-edit")
    raw = ix.search(QUESTION, k=len(ix), distinct=False)
    assert ix._fetch([_collapse(ix, raw.keys, raw.scores, 1)[0][0]])[0]["id"] == "try"
    ix.upsert([{"id": "try", "text": "Nothing about statements here: a recipe for bread needs flour, water, salt, "
                                     "yeast and time to rise before it is baked in a hot oven."}], progress=False)
    raw = ix.search(QUESTION, k=len(ix), distinct=False)
    keys, scores, note = _collapse(ix, raw.keys, raw.scores, 3)
    assert ix._fetch([keys[0]])[0]["id"] == "compound" and "smaller record" not in note


@pytest.mark.slow  # MiniLM
def test_a_corpus_without_repeated_text_ranks_exactly_as_before(ws):
    ix = _build(PLAIN, "plain")
    assert len(ix.record("long")["chunks"]) > 3
    for q in [QUESTION, "conditional execution", "repeat while true", "topic number 12 detail", "decorators",
              "context manager", "assert with -O", "the long record"]:
        raw = ix.search(q, k=len(ix), distinct=False)
        for k in (1, 3, 5):
            new_keys, new_scores, new_note = _collapse(ix, raw.keys, raw.scores, k)
            old_keys, old_scores, old_note = _collapse(ix, raw.keys, raw.scores, k, specific=False)
            assert new_keys == old_keys == [int(x) for x in raw.keys[:k]]
            assert np.array_equal(new_scores, old_scores) and np.array_equal(new_scores, raw.scores[:k])
            assert new_note == old_note == ""
        assert ix.search(q, k=3).ids == raw.ids[:3]
