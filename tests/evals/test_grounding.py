"""Comparison.grounding(): hallucination tests per variant (RAG against the baseline, the same model without
retrieval and each fine-tune), the RAG gap split into retrieval misses and hits, citations of [n] and abstentions.
Hand-made answers through the real Comparison (bootstrap, paired tests), and one real tiny-gpt2 compare run."""
import json
import math

import pytest

import llmops_nb as L
from llmops_nb.evals.citations import abstains, cited_ids, cited_numbers
from llmops_nb.evals.comparison import Comparison


@pytest.mark.parametrize("answer, numbers", [
    ("Use except (A, B) [1].", [1]),
    ("See [1, 3] and [2].", [1, 3, 2]),
    ("It is a no-op [2][1][2].", [2, 1]),
    ("Passages [1-3] agree.", [1, 2, 3]),
    ("A list like [x, y] or a[0] is not a citation, nor is [].", [0]),  # a[0] reads as [0]: cited_ids drops it
    ("no citation at all", []),
])
def test_cited_numbers(answer, numbers):
    assert cited_numbers(answer) == numbers


def test_cited_ids_keeps_passages_that_exist_and_counts_the_rest():
    assert cited_ids("as [2] and [5] say, and a[0]", ["try", "compound"]) == (["compound"], 2)
    assert cited_ids("", ["try"]) == ([], 0)


@pytest.mark.parametrize("answer", [
    "I don't know.", "I do not know the answer.", "The passages do not contain the answer.",
    "This is not mentioned in the context.", "The context doesn't say.", "It cannot be determined from the text.",
    "I’m not sure.", "There is no information about that in the passages.",
])
def test_abstentions_are_recognised(answer):
    assert abstains(answer)


@pytest.mark.parametrize("answer", [
    "An unknown attribute raises AttributeError.", "Use `except (A, B):` to catch both [1].",
    "It does not contain a return statement.", "None is returned when nothing is known to be true.",
])
def test_answers_are_not_abstentions(answer):
    assert not abstains(answer)


def _rows(variant, outputs, metric, halluc, hits=None, citations=None, gold=None):
    n = len(outputs)
    return [{"variant": variant, "example": str(i), "question": f"q{i}", "reference": "r", "output": outputs[i],
             "token_f1": metric[i], "hallucination": halluc[i],
             "context_hit": hits[i] if hits else math.nan, "citations": (citations or [[]] * n)[i],
             "gold": (gold or [None] * n)[i]} for i in range(n)]


def _comparison(rows, labels, specs, baseline):
    params = {"variants": specs, "labels": labels, "n_examples": 8, "eval_set": "hand-made"}
    return Comparison(rows, labels, ["token_f1", "hallucination", "context_hit"], baseline, params, None, 0.0)


GOLD = ["try", "pass", "try", "lambda", "pass", "try", "break", "pass"]
HITS = [1.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, math.nan]  # the last gold id names no record: left out
CITES = [["try", "compound"], ["try", "pass"], ["compound", "while"], ["lambda", "def"], ["if", "while"],
         ["compound", "try"], ["break", "for"], ["x", "y"]]
RAG_OUT = ["Use try [1].", "pass does nothing [2].", "The passages do not contain the answer.", "A lambda [1][2].",
           "I don't know.", "Use try [1].", "It stops the loop [3].", "Nothing."]


def test_gap_splits_exactly_into_misses_and_hits_and_citations_are_counted():
    zs = _rows("zero-shot", ["a"] * 8, [0.5] * 8, [0.5] * 8)
    ft = _rows("ft", ["a"] * 8, [0.6] * 8, [0.2] * 8)
    rag_f1 = [0.7, 0.6, 0.0, 0.8, 0.1, 0.4, 0.6, 0.9]
    rag = _rows("rag", RAG_OUT, rag_f1, [0.0, 0.0, math.nan, 0.0, math.nan, 0.5, 0.0, 0.0], HITS, CITES, GOLD)
    comp = _comparison(zs + ft + rag, ["zero-shot", "ft", "rag"],
                       ["zero-shot:tiny-gpt2", "ft:my-lora", "rag:tiny-gpt2:mini:2"], "zero-shot")
    g = comp.grounding()
    (r,) = g.rag
    assert (r.twin, r.n, r.hits, r.misses) == ("zero-shot", 7, 5, 2)
    deltas = [f - 0.5 for f in rag_f1[:7]]
    assert r.gap == pytest.approx(sum(deltas) / 7)
    assert r.from_misses == pytest.approx((deltas[2] + deltas[4]) / 7)
    assert r.from_hits + r.from_misses == pytest.approx(r.gap), "the split is exact"
    assert r.on_misses == pytest.approx((0.05, 0.5))
    assert (r.answers, r.citing, r.bad_citations) == (8, 4, 1), "[3] with two passages names none"
    assert (r.citing_on_hits, r.citing_gold) == (4, 3), "answer 6 cites [1] = compound, not the gold 'try'"
    assert (r.abstain_misses, r.abstain_hits) == (2, 0)
    assert r.hallucination_hits == pytest.approx(0.1) and math.isnan(r.hallucination_misses)

    roles = [(t.variant, t.against, t.role) for t in g.tests]
    assert roles == [("ft", "zero-shot", "baseline"), ("rag", "zero-shot", "baseline"), ("rag", "ft", "fine-tune")]
    vs_zero = g.tests[1]
    assert vs_zero.diff == pytest.approx(0.5 / 6 - 0.5) and vs_zero.n == 6 and vs_zero.p < 0.05
    assert vs_zero.verdict == "significantly fewer unsupported sentences"
    text = "\n".join(g.findings)
    assert "rag: the source was retrieved for 5 of 7 questions (71%)" in text
    assert "comes from the 2 misses (retrieval)" in text and "abstains on 2 of 2 questions whose source" in text


def test_twin_of_a_fine_tune_with_retrieval_is_the_fine_tune_and_html_escapes_labels():
    zs = _rows("zero-shot", ["a"] * 8, [0.5] * 8, [0.5] * 8)
    ft = _rows("<b>ft</b>", ["a"] * 8, [0.6] * 8, [0.2] * 8)
    ftr = _rows("ft+rag", RAG_OUT, [0.6] * 8, [0.2] * 8, HITS, CITES, GOLD)
    comp = _comparison(zs + ft + ftr, ["zero-shot", "<b>ft</b>", "ft+rag"],
                       ["zero-shot:tiny-gpt2", "ft:my-lora", "ft:my-lora+rag:mini:2"], "zero-shot")
    g = comp.grounding()
    assert g.rag[0].twin == "<b>ft</b>" and g.rag[0].gap == pytest.approx(0.0)
    assert [(t.against, t.role) for t in g.tests if t.variant == "ft+rag"] == [("zero-shot", "baseline"),
                                                                               ("<b>ft</b>", "without retrieval")]
    assert g.tests[-1].verdict == "no significant difference"
    html = comp._repr_html_()
    assert "<b>ft</b>" not in html and "&lt;b&gt;ft&lt;/b&gt;" in html


@pytest.mark.filterwarnings("ignore::llmops_nb.errors.LlmopsWarning")  # tiny-gpt2 answers empty
def test_a_real_compare_carries_grounding_in_text_html_json_and_after_reload(ws):
    from pydoc_data.topics import topics

    ds = L.load_dataset([{"id": k, "text": topics[k]} for k in ("try", "pass", "lambda")], name="mini3")
    L.build_index(ds, name="mini3", chunk_tokens=128, progress=False)
    variants = ["zero-shot:tiny-gpt2", "rag:tiny-gpt2:mini3:2"]
    comp = L.compare("pydoc-qa", variants, ["token_f1", "hallucination", "context_hit"], limit=5, max_new_tokens=3,
                     progress=False)
    g = comp.grounding()
    assert g.rag[0].twin == "zero-shot:tiny-gpt2" and g.rag[0].n == 5
    assert "grounding (cmp.grounding() for the tables):" in str(comp)
    data = json.loads(json.dumps(comp._repr_mimebundle_()["application/vnd.llmops.comparison+json"], allow_nan=False))
    assert data["grounding"]["rag"][0]["variant"] == variants[1] and data["grounding"]["rag"][0]["n"] == 5
    assert data["grounding"]["findings"] == g.findings
    again = Comparison.load(comp.run_id).grounding()
    assert again.to_dict() == g.to_dict()
