"""Hallucination, measured one way for every compare variant: the share of an answer's sentences that its example's
gold evidence (for pydoc-qa the text of the pydoc topic it names) does not support; and context_hit, whether a RAG
variant retrieved the gold source. Real MiniLM embeddings, real tiny-gpt2 compare runs (whose answers are empty, so
the scores themselves are checked on hand-made answers through the same code), a real usearch index."""
import json
import math
from pydoc_data.topics import topics

import pytest

import llmops_nb as L
from llmops_nb.evals import metrics as M
from llmops_nb.evals.compare import _plan, _score_evidence
from llmops_nb.evals.comparison import Comparison
from llmops_nb.evals.evidence import gold_evidence

COPIED = ("Changed in version 3.8: Prior to Python 3.8, a \"continue\" statement was illegal in the \"finally\" clause "
          "due to a problem with the implementation.")
MADE_UP = "The try statement was removed in Python 2.4 and replaced by the rescue keyword from Ruby."
TOPICS = ("try", "pass", "lambda", "break")


def _embed():
    from llmops_nb.index.embeddings import embed

    return lambda texts: embed(list(texts), progress=False)


@pytest.fixture
def mini_index(ws):
    """A real index over four pydoc topics (record id = topic), small enough to embed in seconds."""
    ds = L.load_dataset([{"id": k, "text": topics[k]} for k in TOPICS], name="mini")
    return L.build_index(ds, name="mini", chunk_tokens=128, progress=False)


def test_a_sentence_copied_from_the_topic_is_supported_and_a_made_up_one_is_not():
    assert " ".join(COPIED.split()) in " ".join(topics["try"].split())  # really copied (modulo line wrapping)
    outputs = [COPIED, MADE_UP, f"{COPIED} {MADE_UP}", "", COPIED]
    evidence = [topics["try"]] * 4 + [None]
    got = M.hallucination(outputs, evidence, _embed())
    assert got[:3] == [0.0, 1.0, 0.5]
    assert math.isnan(got[3]), "an empty answer states nothing: no rate, not a perfect score"
    assert math.isnan(got[4]), "no evidence, no score"
    # the same judgement as groundedness, which keeps 0.0 for an empty answer with a context
    assert M.groundedness(outputs[:4], evidence[:4], _embed()) == [1.0, 0.0, 0.5, 0.0]


def test_support_features_embed_a_shared_passage_once():
    seen = []
    embed = _embed()

    def counting(texts):
        seen.extend(texts)
        return embed(texts)

    M.support_features([[COPIED], [MADE_UP], [COPIED]], [topics["try"]] * 3, counting)
    assert len(seen) == len(set(seen)), "each distinct sentence and passage sentence embedded once"


def test_gold_evidence_sources_and_notes():
    qa = [{"question": "q", "answer": "a", "topic": "try"}, {"question": "q2", "answer": "a", "topic": "pass"}]
    ev = gold_evidence(qa)
    assert ev.texts == [topics["try"], topics["pass"]] and ev.gold_ids == ["try", "pass"]
    assert ev.notes == ["hallucination is judged against pydoc topics named by 'topic'"]

    own = [{"question": "q", "answer": "a", "evidence": "Cats sleep sixteen hours a day."}, {"question": "q", "answer": "a"}]
    ev = gold_evidence(own)
    assert ev.texts == ["Cats sleep sixteen hours a day.", None] and ev.missing == 1
    assert "1 of 2 examples have no gold evidence" in ev.notes[0] and "1 have neither evidence text nor a gold id" in ev.notes[0]

    none = gold_evidence([{"question": "q", "answer": "a"}])
    assert none.texts == [None] and none.notes[0].startswith("no gold evidence: the eval set has no 'evidence' text")

    foreign = gold_evidence([{"question": "q", "answer": "a", "source_id": "doc-7"}])
    assert foreign.texts == [None] and "name no pydoc topic" in foreign.notes[0]
    assert "no RAG variant's index is in the comparison" in foreign.notes[0]


@pytest.mark.filterwarnings("ignore::llmops_nb.errors.LlmopsWarning")  # tiny-gpt2 answers empty
def test_every_variant_gets_the_column_with_ci_and_paired_test_and_rag_gets_context_hit(ws, mini_index):
    L.register_prompt("qa", "Answer briefly.\nQuestion: {{ question }}\nAnswer:")
    variants = ["zero-shot:tiny-gpt2", "few-shot:tiny-gpt2:1", "prompt:tiny-gpt2:qa@v1", "rag:tiny-gpt2:mini:1"]
    comp = L.compare("pydoc-qa", variants, ["token_f1", "hallucination", "context_hit"], limit=6, max_new_tokens=4,
                     progress=False)
    for v in variants:
        assert set(comp.summary[v]) >= {"hallucination", "context_hit"}
    for v in variants[1:]:
        assert "hallucination" in comp.paired[v], "paired test vs the baseline, as for every metric"
    columns = comp._columns()
    assert "hallucination" in columns and "context_hit" in columns
    rows = comp.to_pandas()
    assert list(rows[rows["variant"] == variants[0]]["gold"]) == ["try", "try", "try", "pass", "lambda", "lambda"]

    rag = rows[rows["variant"] == variants[3]]
    for cites, gold, hit in zip(rag["citations"], rag["gold"], rag["context_hit"]):
        assert hit == float(gold in cites)
    assert not rag["context_hit"].isna().any()
    assert rows[rows["variant"] != variants[3]]["context_hit"].isna().all(), "no retrieval, no context hit"

    assert comp.notes[0] == "hallucination is judged against pydoc topics named by 'topic'"
    assert comp.notes[1:] == [f"hallucination of {v} is over 0 of 6 answers: 6 are empty (an empty answer states "
                              "nothing, so it has no rate)" for v in variants]
    assert "note: hallucination is judged against pydoc topics" in str(comp)
    data = json.loads(json.dumps(comp.to_dict(), allow_nan=False))  # strict JSON: NaN means are null
    assert data["notes"] == comp.notes and "hallucination" in data["leaderboard"][0]
    assert data["paired"][variants[1]]["hallucination"]["wins"] == 0
    again = Comparison.load(comp.run_id)
    assert again.notes == comp.notes and "hallucination" in again.summary[variants[0]]


def test_hand_made_answers_through_compare_scoring(ws, mini_index):
    """The scoring step of compare on hand-made answers: evidence looked up in the RAG variant's index for an eval
    set whose gold ids are not pydoc topics, context_hit from the retrieved ids, an unknown gold id listed."""
    record = mini_index.record("pass")["text"]
    copied = next(s for s in M.passage_sentences(record) if "null operation" in s)
    rows = [{"question": "What does pass do?", "answer": "nothing", "source_id": "pass"},
            {"question": "What does pass do?", "answer": "nothing", "source_id": "pass"},
            {"question": "What is a lambda?", "answer": "a function", "source_id": "no-such-doc"}]
    plan = _plan(rows, ["zero-shot:tiny-gpt2", "rag:tiny-gpt2:mini:2"], ["hallucination", "context_hit"],
                 baseline=None, few_shot_pool=None, question_field=None, reference_field=None, limit=None)
    assert plan.evidence.texts[:2] == [record, record] and plan.evidence.texts[2] is None
    outputs = [copied, MADE_UP, "Lambdas are anonymous."]
    cites = [["pass", "try"], ["lambda"], ["lambda"]]
    per_example = [{"variant": v.name, "output": o, "citations": c if v.uses_retrieval else [], "gold": g}
                   for v in plan.variants for o, c, g in zip(outputs, cites, plan.evidence.gold_ids)]
    notes = _score_evidence(per_example, plan)
    zero, rag = per_example[:3], per_example[3:]
    for r in (zero, rag):
        assert r[0]["hallucination"] == 0.0 and r[1]["hallucination"] == 1.0 and math.isnan(r[2]["hallucination"])
    assert [r["context_hit"] for r in rag[:2]] == [1.0, 0.0] and math.isnan(rag[2]["context_hit"])
    assert all(math.isnan(r["context_hit"]) for r in zero)
    assert any("records of index 'mini' named by 'source_id'" in n and "no-such-doc" in n for n in notes)
    assert not any("empty" in n for n in notes), "no answer is empty"
    assert any("context_hit of rag:tiny-gpt2:mini:2: 1 of 3 gold ids name no record of index 'mini' ('no-such-doc')"
               in n for n in notes)


@pytest.mark.filterwarnings("ignore::llmops_nb.errors.LlmopsWarning")
def test_missing_gold_evidence_is_stated_and_the_column_is_empty(ws):
    rows = [{"question": "What does pass do?", "answer": "Nothing."}, {"question": "Is 1 odd?", "answer": "Yes."}]
    comp = L.compare(rows, ["zero-shot:tiny-gpt2"], ["token_f1", "hallucination"], max_new_tokens=2, progress=False)
    assert comp.to_pandas()["hallucination"].isna().all()
    assert comp.notes and comp.notes[0].startswith("no gold evidence: the eval set has no 'evidence' text and no gold id")
    assert "note: no gold evidence" in str(comp) and "no gold evidence" in comp._repr_html_()
    data = json.loads(json.dumps(comp._repr_mimebundle_()["application/vnd.llmops.comparison+json"], allow_nan=False))
    assert data["leaderboard"][0]["hallucination"]["mean"] is None and data["notes"] == comp.notes
