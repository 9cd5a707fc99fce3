"""Retrieval evaluation (`evaluate_retrieval`, `llmops index eval`, `%llmops index eval`): exact ranks on a small
real MiniLM index of facts written here, record-level ranking (chunks of one record count once), the metrics'
arithmetic, pydoc + pydoc-qa in sane ranges, and bad input: no gold field, unknown gold ids, empty questions, bad k.

Tests that embed load the real MiniLM and are marked slow; the bad-input checks that refuse before any embedding
run on an index of given vectors."""
import json
import math

import numpy as np
import pytest
from IPython.core.error import UsageError

import llmops_nb as L
from llmops_nb.errors import InputError
from llmops_nb.index.retrieval_eval import bootstrap, gold_ids, question_scores, ranked_records

FOOTBALL = " ".join([
    "Association football is played by two teams of eleven players on a rectangular grass pitch with a goal at each end.",
    "The object of the game is to score by moving the ball beyond the goal line into the opposing goal.",
    "Only the goalkeepers may handle the ball, and only within their penalty areas; outfield players use their feet, "
    "head and body.",
    "A match lasts ninety minutes in two halves of forty-five minutes, with added time for stoppages.",
    "The referee enforces the laws of the game, shows yellow cards as cautions and red cards for sending players off.",
    "The offside rule stops attackers from waiting near the opposing goal ahead of the ball and the second-last defender.",
    "The World Cup, held every four years, is the most watched football tournament in the world.",
    "Clubs compete in national leagues, where teams earn three points for a win and one for a draw.",
])
FACTS = {
    "bread": "To bake bread, mix flour, water, yeast and salt, knead the dough, let it rise for an hour and bake it in a "
             "hot oven.",
    "volcano": "A volcano is an opening in the crust of a planet where molten rock, ash and gases escape from below the "
               "surface.",
    "chess": "In chess each player starts with sixteen pieces; the goal is to checkmate the opposing king.",
    "bicycle": "To fix a flat bicycle tyre, take off the wheel, find the puncture in the inner tube and glue a patch over it.",
    "photosynthesis": "Plants turn sunlight, water and carbon dioxide into sugar and oxygen in their green leaves.",
    "tides": "Ocean tides rise and fall about twice a day, pulled mainly by the gravity of the moon.",
    "piano": "A piano has 88 keys; pressing a key makes a felt hammer strike a tuned steel string.",
    "coffee": "Espresso is brewed by forcing hot water through finely ground coffee beans under high pressure.",
    "python-lists": "A Python list is a mutable sequence; list.append(x) adds an item to its end.",
    "passwords": "A strong password is long, unique for each site, and kept in a password manager.",
    "sleep": "Adults need seven to nine hours of sleep a night; bright screens before bed make falling asleep harder.",
    "rainbows": "A rainbow appears when sunlight is refracted and reflected inside raindrops and splits into colours.",
    "football": FOOTBALL,  # long: several chunks of one record
}
# (question, gold record, its rank among the first 3 distinct records, measured with MiniLM; None: not in the top 3)
QUESTIONS = [
    ("How do I make a loaf of bread at home?", "bread", 1),
    ("Why does the sea go up and down each day?", "tides", 1),
    ("How many keys does a piano have?", "piano", 1),
    ("How do I repair a punctured tyre?", "bicycle", 1),
    ("How is espresso made?", "coffee", 1),
    ("How do I add an item to the end of a Python list?", "python-lists", 1),
    ("How long is a football match?", "football", 1),
    ("What comes out of a volcano?", "volcano", 1),
    ("Why does light split into colours?", "rainbows", 1),
    ("What do plants make from sunlight?", "rainbows", 2),  # photosynthesis first
    ("How should I store my passwords?", "chess", None),  # a deliberately wrong gold id: passwords, sleep, bread
    ("How can I fall asleep faster?", "sleep", 1),
]
DIM = 16


def facts_index(name="facts", extra=None):
    records = [{"id": k, "text": v} for k, v in {**FACTS, **(extra or {})}.items()]
    L.load_dataset(records, name=name)
    return L.build_index(name, name=name, chunk_tokens=32, overlap=8, progress=False)


def questions(rows=QUESTIONS):
    return [{"id": f"q{i}", "question": q, "topic": gold} for i, (q, gold, _) in enumerate(rows)]


def one_line(proc, code):
    err = proc.stderr.strip()
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def strict_json(text):
    def refuse(name):
        raise AssertionError(f"{name} in JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def vector_ix(ws):
    """An index of given vectors (no model): enough for the input checks that refuse before embedding."""
    recs = [{"id": f"d{i}", "text": f"document {i}"} for i in range(6)]
    vecs = np.random.default_rng(0).standard_normal((6, DIM)).astype(np.float32)
    L.load_dataset(recs, name="docs")
    return L.build_index("docs", name="docs-ix", vectors=vecs, model=None, progress=False)


# ---- arithmetic (no model) ------------------------------------------------------------------------------
def test_per_question_scores_rank_records_by_first_appearance():
    rank, s = question_scores(["a", "b", "c"], ["b"], 3)
    assert rank == 2 and s == {"hit@1": 0.0, "hit@3": 1.0, "mrr": 0.5, "ndcg@3": pytest.approx(1 / math.log2(3))}
    rank, s = question_scores(["a", "b", "c", "d", "e"], ["z"], 5)
    assert rank is None and s["hit@5"] == 0.0 and s["mrr"] == 0.0 and s["ndcg@5"] == 0.0
    # several gold records: the first one found gives the rank, nDCG counts them all
    rank, s = question_scores(["a", "b", "c"], ["a", "c"], 3)
    assert rank == 1 and s["ndcg@3"] == pytest.approx((1 + 0.5) / (1 + 1 / math.log2(3)))
    assert set(question_scores(["a"] * 12, ["a"], 12)[1]) == {"hit@1", "hit@3", "hit@5", "hit@10", "hit@12", "mrr",
                                                                "ndcg@10"}


def test_bootstrap_is_seeded_and_brackets_the_mean():
    cols = {"hit@1": [1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0], "all": [1.0] * 8}
    a, b = bootstrap(cols), bootstrap(cols)
    assert a == b and a["hit@1"]["value"] == 0.75 and a["hit@1"]["n"] == 8
    assert 0.3 < a["hit@1"]["low"] < 0.75 < a["hit@1"]["high"] <= 1.0
    assert (a["all"]["low"], a["all"]["high"]) == (1.0, 1.0)
    assert bootstrap({"x": [0.5]})["x"] == {"value": 0.5, "low": 0.5, "high": 0.5, "n": 1}


def test_gold_ids_take_one_id_or_a_list():
    assert gold_ids("try") == ["try"] and gold_ids(["try", "with", "try"]) == ["try", "with"]
    assert gold_ids(None) == gold_ids(float("nan")) == gold_ids("  ") == gold_ids([]) == []
    assert gold_ids(3.0) == ["3"] and gold_ids(np.array(["a", "b"])) == ["a", "b"]


# ---- bad input (no model: refused before anything is embedded) -----------------------------------------
def test_eval_set_without_the_gold_field_says_why_metrics_need_it(vector_ix):
    rows = [{"id": "q1", "question": "what is d1?", "answer": "a document"}]
    with pytest.raises(InputError) as err:
        L.evaluate_retrieval(vector_ix, rows, progress=False)
    msg = str(err.value)
    assert "no gold ids in a 'topic' field (fields: id, question, answer)" in msg
    assert "retrieval metrics need each question's gold record id" in msg and "--gold-field" in msg
    assert "\n" not in msg


def test_gold_ids_that_all_name_no_record_are_refused(vector_ix):
    rows = [{"question": "what is d1?", "topic": "d99"}, {"question": "and d2?", "topic": "x"}]
    with pytest.raises(InputError, match=r"none of the gold ids in list of 2 dicts's 'topic' field names a record of "
                                         r"index 'docs-ix' \(e.g. 'd99', 'x'; its record ids look like 'd0', 'd1'"):
        L.evaluate_retrieval(vector_ix, rows, progress=False)


@pytest.mark.parametrize("k", [0, 101, 2.5, "10", True, float("nan")])
def test_k_is_a_whole_number_from_1_to_100(vector_ix, k):
    with pytest.raises(InputError, match=r"k must be a whole number from 1 to 100, got"):
        L.evaluate_retrieval(vector_ix, [{"question": "q", "topic": "d1"}], k=k, progress=False)


def test_other_bad_questions_are_one_input_error(vector_ix, tmp_path):
    cases = [([], "has no questions"), (["what?"], "question 0 is a str"), (42, "cannot use a int as questions"),
             (str(tmp_path / "none.jsonl"), "no such file"), ("nosuchset", "unknown dataset 'nosuchset'"),
             ([{"q": "x", "topic": "d1"}], "has no question field (question/query/prompt/input/text; fields: q, topic)"),
             ([{"question": " ", "topic": "d1"}, {"question": "x", "topic": None}], "has no question to evaluate")]
    for source, expected in cases:
        with pytest.raises(InputError) as err:
            L.evaluate_retrieval(vector_ix, source, progress=False)
        assert expected in str(err.value), (source, str(err.value))
    with pytest.raises(InputError, match="no 'prompt' field"):
        L.evaluate_retrieval(vector_ix, [{"question": "x", "topic": "d1"}], question_field="prompt", progress=False)
    with pytest.raises(InputError, match="holds given vectors without a model"):
        L.evaluate_retrieval(vector_ix, [{"question": "x", "topic": "d1"}], progress=False)
    assert not [r for r in L.runs() if r.get("kind") == "index-eval"]  # refusals are not history


def test_bad_input_through_the_cli_is_one_line_exit_2(vector_ix, run_cli, tmp_path):
    path = tmp_path / "qs.jsonl"
    path.write_text(json.dumps({"question": "what is d1?", "answer": "x"}) + "\n")
    err = one_line(run_cli("index", "eval", "docs-ix", "--questions", str(path)), 2)
    assert err.startswith("llmops: error: eval set ") and "--gold-field" in err and "fields: question, answer" in err
    path.write_text(json.dumps({"question": "what is d1?", "topic": "nope"}) + "\n")
    assert "names a record of index 'docs-ix'" in one_line(run_cli("index", "eval", "docs-ix", "--questions",
                                                                   str(path)), 2)
    assert "k must be a whole number from 1 to 100, got 0" in one_line(
        run_cli("index", "eval", "docs-ix", "--questions", str(path), "--k", "0"), 2)
    assert "unknown index 'docs-iks' (did you mean 'docs-ix'?)" in one_line(
        run_cli("index", "eval", "docs-iks", "--questions", str(path)), 2)
    one_line(run_cli("index", "eval", "docs-ix"), 2)  # --questions is required


def test_bad_input_through_the_magic_is_a_usage_error(vector_ix, ipy):
    L.load_dataset([{"question": "what is d1?", "answer": "a document"}], name="qs")
    with pytest.raises(UsageError, match="retrieval metrics need each question's gold record id"):
        ipy.line("index eval docs-ix --questions qs")
    with pytest.raises(UsageError, match="no 'nope' field"):
        ipy.line("index eval docs-ix --questions qs --gold-field answer --question-field nope")


# ---- a real MiniLM index ---------------------------------------------------------------------------------
@pytest.mark.slow
def test_exact_ranks_and_metrics_on_a_small_real_index(ws):
    ix = facts_index()
    assert ix.n_records == 13 and ix.n_chunks > 13  # the football record spans several chunks
    rep = L.evaluate_retrieval(ix, questions(), k=3, progress=False)
    assert rep.ranks == [rank for _, _, rank in QUESTIONS]
    assert rep.n == 12 and rep.k == 3 and rep.unknown_gold == [] and rep.skipped == []
    assert rep["hit@1"] == 10 / 12 and rep["hit@3"] == 11 / 12
    assert rep["mrr"] == pytest.approx((10 + 0.5) / 12)
    assert rep["ndcg@3"] == pytest.approx((10 + 1 / math.log2(3)) / 12)
    assert set(rep.metrics) == {"hit@1", "hit@3", "mrr", "ndcg@3"}
    for m in rep.metrics.values():
        assert m["low"] <= m["value"] <= m["high"] and m["n"] == 12
    # each question's retrieved records are distinct, and agree with an exact search's records
    for r, (q, _, _) in zip(rep.results, QUESTIONS):
        assert len(r["retrieved"]) == 3 == len(set(r["retrieved"]))
        assert r["retrieved"] == ix.search(q, k=len(ix), exact=True).record_ids()[:3]
        assert r["search_ms"] >= 0
    misses = rep.misses
    assert [(m["question"], m["rank"]) for m in misses] == [(QUESTIONS[9][0], 2), (QUESTIONS[10][0], None)]
    assert [i["id"] for i in misses[0]["instead"]] == ["photosynthesis"]
    assert [i["id"] for i in misses[1]["instead"]] == ["passwords", "sleep", "bread"]
    assert misses[1]["instead"][0]["text"] == FACTS["passwords"]
    lat = rep.latency
    assert 0 < lat["search_ms_median"] <= lat["search_ms_p95"] and lat["embed_ms_per_question"] > 0
    text = str(rep)
    assert "hit@1   0.833" in text and "2 not ranked first, 1 not in the top 3" in text
    assert "[not in top 3] 'How should I store my passwords?' gold chess; first: passwords, sleep, bread" in text


@pytest.mark.slow
def test_chunks_of_one_record_count_once_and_more_are_searched_for_k_records(ws):
    ix = facts_index()
    query = "football match rules: referee, offside, goals, world cup, league points"
    assert set(ix.search(query, k=8).ids) == {"football"}  # the first 4k chunks are all one record
    vec = L.load_embedder("all-minilm-l6-v2").encode([query], normalize=True)[0].astype(np.float32)
    assert [r["id"] for r in ranked_records(ix, vec, 2, None)] == ["football", "chess"]
    rep = L.evaluate_retrieval(ix, [{"question": query, "topic": "chess"}], k=2, progress=False)
    assert rep.ranks == [2] and rep.results[0]["retrieved"] == ["football", "chess"]
    assert rep.metrics["hit@1"]["value"] == 0.0 and rep["mrr"] == 0.5


@pytest.mark.slow
def test_unknown_gold_ids_are_listed_not_counted_as_misses(ws):
    ix = facts_index()
    rows = questions(QUESTIONS[:3]) + [
        {"id": "u1", "question": "Who wins a game of chess?", "topic": "chesss"},  # a typo: no such record
        {"id": "u2", "question": "How do I bake bread?", "topic": ["bread", "baking"]},  # one known, one not
        {"id": "e1", "question": "   ", "topic": "bread"},
        {"id": "e2", "question": "What is a volcano?", "topic": None},
    ]
    rep = L.evaluate_retrieval(ix, rows, k=3, progress=False)
    assert rep.n == 4 and rep.ranks == [1, 1, 1, 1] and rep.misses == [] and rep["hit@1"] == 1.0
    assert [(u["id"], u["gold"], u["did_you_mean"], u["evaluated"]) for u in rep.unknown_gold] == [
        ("u1", ["chesss"], ["chess"], False), ("u2", ["baking"], [None], True)]
    assert rep.results[3]["gold"] == ["bread"]
    assert [(s["id"], s["reason"]) for s in rep.skipped] == [("e1", "empty question"), ("e2", "no gold id in 'topic'")]
    notes = " | ".join(rep.notes)
    assert "1 question skipped: empty question (row 5)" in notes
    assert "1 question skipped: no gold id in 'topic' (row 6)" in notes
    assert ("2 gold ids in 'topic' name no record of index 'facts' ('chesss', 'baking'): 1 question left out of the "
            "metrics, not counted as misses; see .unknown_gold") in notes
    d = strict_json(json.dumps(rep.to_dict(), allow_nan=False))
    assert d["unknown_gold"][0]["gold"] == ["chesss"] and d["n"] == 4 and d["metrics"]["hit@1"]["value"] == 1.0


@pytest.mark.slow
def test_every_form_of_questions_gives_the_same_ranks(ws, tmp_path):
    ix = facts_index()
    rows = questions(QUESTIONS[8:11])
    path = tmp_path / "qs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    ds = L.load_dataset(rows, name="facts-qa")
    import pandas as pd

    for source in (rows, path, str(path), "facts-qa", "facts-qa@v1", ds, pd.DataFrame(rows)):
        rep = L.evaluate_retrieval("facts", source, k=3, progress=False)
        assert rep.ranks == [1, 2, None], source
    renamed = [{"prompt": r["question"], "source": r["topic"]} for r in rows]
    rep = L.evaluate_retrieval(ix, renamed, gold_field="source", question_field="prompt", k=3, progress=False)
    assert rep.ranks == [1, 2, None] and rep.question_field == "prompt"


@pytest.mark.slow
def test_the_evaluation_is_a_tracked_run(ws):
    facts_index()
    rep = L.evaluate_retrieval("facts", questions(), k=3, progress=False)
    run = L.get_run(rep.run_id)
    assert run.kind == "index-eval" and run.name == "index-eval facts" and run.status == "finished"
    assert run.metrics["hit@1"] == rep["hit@1"] and run.metrics["questions"] == 12
    assert run.params["k"] == 3 and run.params["gold_field"] == "topic" and run.params["questions"] == "list of 12 dicts"
    assert run.records["ranks"] == rep.ranks and run.records["retrieval"]["mrr"]["n"] == 12


@pytest.mark.slow
def test_cli_and_magic_share_the_command(ws, run_cli, ipy, tmp_path):
    facts_index()
    path = tmp_path / "qs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in questions()))
    # one CLI run (each loads MiniLM in a new process); its plain text is str(report), checked through the magic
    data = strict_json(run_cli("index", "eval", "facts", "--questions", str(path), "-k", "3", "--json",
                               check=0).stdout)
    assert [r["rank"] for r in data["results"]] == [rank for _, _, rank in QUESTIONS]
    assert data["metrics"]["hit@1"]["value"] == pytest.approx(10 / 12) and data["misses"] == 2
    rep = ipy.line(f"index eval facts --questions {path} --k 3")
    assert isinstance(rep, L.RetrievalReport) and rep.ranks == [r["rank"] for r in data["results"]]
    assert str(rep).startswith(f"retrieval eval of index facts on {path}: 12 questions, gold field 'topic', k=3")
    bundle = rep._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"}, "HTML shows the metrics AND the misses, in JupyterLab too"
    html = bundle["text/html"]
    assert all(m in html for m in ("hit@1", "hit@3", "MRR@3", "nDCG@3")) and bundle["text/plain"] == str(rep)
    assert "2 not ranked first" in str(rep) and html.count("<table") >= 2


@pytest.mark.slow
def test_hostile_text_is_escaped_in_html(ws):
    evil = "<script>alert('x')</script> Espresso <img src=x onerror=alert(2)> crema is bitter coffee foam"
    facts_index("hostile", extra={"<b>evil</b>": evil})
    rows = [{"question": "What is espresso crema? <iframe src=javascript:alert(3)>", "topic": "bread"},
            {"question": "Who checkmates the king?", "topic": "<svg onload=alert(4)>"}]
    rep = L.evaluate_retrieval("hostile", rows, k=3, progress=False)
    assert rep.misses and rep.unknown_gold
    html = rep._repr_html_()
    for raw in ("<script>", "<img", "<iframe", "<svg", "<b>evil"):
        assert raw not in html, raw
    assert "&lt;script&gt;" in html and "&lt;b&gt;evil&lt;/b&gt;" in html and "&lt;svg onload=alert(4)&gt;" in html
    assert "&lt;iframe src=javascript:alert(3)&gt;" in html


@pytest.mark.slow
def test_pydoc_index_on_pydoc_qa_is_in_a_sane_range(ws):
    ds = L.load_dataset("pydoc", name="pydoc")
    ix = L.build_index(ds, name="pydoc", chunk_tokens=128, progress=False)
    rep = L.evaluate_retrieval(ix, "pydoc-qa", progress=False)
    v = rep.values
    assert rep.n == 88 and rep.unknown_gold == [] and rep.skipped == []  # every pydoc-qa topic names a record
    assert 0.45 <= v["hit@1"] <= v["hit@3"] <= v["hit@5"] <= v["hit@10"] <= 1.0
    assert v["hit@5"] >= 0.85 and v["hit@1"] <= v["mrr"] <= v["hit@10"]
    assert 0.6 <= v["ndcg@10"] <= 1.0
    assert all(r is None or 1 <= r <= 10 for r in rep.ranks)
    assert len(rep.misses) == sum(r != 1 for r in rep.ranks)
    assert rep.latency["search_ms_median"] < 50
