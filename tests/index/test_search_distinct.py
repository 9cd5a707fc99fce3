"""Near-identical passages collapse in search results (pydoc repeats a section under several topics), so k hits
show k different texts; `distinct=False` keeps them all. Real MiniLM index."""
import pytest

import llmops_nb as L
from llmops_nb.index.distinct import distinct_positions, near_identical, shingles

SAME = ("To catch several exceptions in one except clause, give them as a parenthesized tuple, for example "
        "except (TypeError, ValueError) as err: handles either type.")
DOCS = [{"id": "try", "text": SAME},
        {"id": "compound", "text": SAME.replace("for example", "for  example")},  # whitespace differs only
        {"id": "raise", "text": "The raise statement raises an exception; raise without an expression re-raises "
                                "the exception that is being handled."},
        {"id": "assert", "text": "An assert statement checks a condition while debugging and raises AssertionError "
                                 "when it is false."}]


def test_near_identical_is_about_the_words_not_the_spacing():
    a, b = shingles(SAME), shingles(SAME.upper().replace(" ", "  "))
    assert near_identical(a, b)
    assert not near_identical(a, shingles(DOCS[2]["text"]))
    assert distinct_positions([SAME, SAME + " Also.", DOCS[2]["text"], SAME], 2) == ([0, 2], 1)


@pytest.mark.slow  # MiniLM
def test_search_collapses_copies_and_keeps_k_distinct_hits(ws):
    ix = L.build_index(DOCS, name="dup", progress=False)
    hits = L.search(ix, "how do I catch several exceptions in one clause", k=2)
    assert hits.ids[0] in ("try", "compound") and len(hits) == 2
    assert set(hits.ids) != {"try", "compound"}, "the copy is collapsed, the next different passage takes its place"
    assert "1 near-identical passage collapsed" in hits.note
    raw = ix.search("how do I catch several exceptions in one clause", k=2, distinct=False)
    assert set(raw.ids) == {"try", "compound"} and "collapsed" not in raw.note
    every = ix.search("exceptions", k=10)
    assert len(every) == 3 and "k=10 is more than the 4 chunks" in every.note and "collapsed" in every.note
    filtered = ix.search("exceptions", k=1, where="chunk == 0")
    assert len(filtered) == 1 and filtered.note == ""
