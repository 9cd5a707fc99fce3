"""compare(): mechanics with tiny-gpt2 on the shipped eval set and a real index; quality path with SmolLM2."""
import json
import math

import pytest

import llmops_nb as L
from llmops_nb.errors import InputError, NotFoundError
from llmops_nb.evals.compare import MIME, Comparison

TINY = ["zero-shot:tiny-gpt2", "few-shot:tiny-gpt2:2", "rag:tiny-gpt2:pydoc:2"]


@pytest.fixture
def pydoc_index(ws):
    ds = L.load_dataset("pydoc", name="pydoc")
    return L.build_index(ds, name="pydoc", chunk_tokens=128, progress=False)


@pytest.mark.slow
def test_compare_mechanics_tracking_and_cache(ws, pydoc_index):
    comp = L.compare("pydoc-qa", TINY, limit=3, max_new_tokens=6)
    df = comp.to_pandas()
    assert len(df) == 9 and set(df["variant"]) == set(TINY)
    rag = df[df["variant"] == TINY[2]]
    assert all(len(c) >= 1 for c in rag["citations"]) and all("[1]" in p or "[1]" in (c or "") for p, c in
                                                                 zip(rag["prompt"], rag["context"]))
    assert df[df["variant"] == TINY[0]]["groundedness"].isna().all(), "no context, no groundedness"
    few = df[df["variant"] == TINY[1]]["prompt"].iloc[0]
    assert few.count("Question:") == 3, "two worked examples, then the question"
    for v in TINY:
        mean, lo, hi = comp.summary[v]["token_f1"]
        assert lo <= mean <= hi
    assert set(comp.paired) == set(TINY[1:])
    run = L.get_run(comp.run_id)
    assert run.kind == "compare" and run.params["variants"] == TINY and f"{TINY[0]}/token_f1" in run.metrics
    bundle = comp._repr_mimebundle_()
    assert json.loads(json.dumps(bundle[MIME]))["best"] == comp.best
    assert "<svg" in comp._repr_html_()
    # a rerun is served from the response cache and gives the same outputs
    again = L.compare("pydoc-qa", TINY, limit=3, max_new_tokens=6)
    assert list(again.to_pandas()["output"]) == list(df["output"])
    assert again.to_pandas()["cached"].all()
    loaded = Comparison.load(comp.run_id)
    assert loaded.variants == TINY and len(loaded.rows) == 9
    delta = again.versus(loaded)
    assert all(r["delta"] == 0 or math.isnan(r["delta"]) for r in delta.rows)
    d = comp.diff(TINY[0], TINY[2], n=2)
    assert len(d.pairs) == 2 and TINY[2] in d._repr_html_()


def test_bad_input_is_refused_before_generation(ws):
    n_before = len(L.runs())
    with pytest.raises(NotFoundError, match="did you mean 'tiny-gpt2'"):
        L.compare("pydoc-qa", ["zero-shot:tiny-gtp2"], limit=1)
    with pytest.raises(NotFoundError, match="unknown index 'nope'"):
        L.compare("pydoc-qa", ["rag:tiny-gpt2:nope:2"], limit=1)
    with pytest.raises(InputError, match="no reference field.*fields present: q, a"):
        L.compare([{"q": "x", "a": "y"}], ["zero-shot:tiny-gpt2"], question_field="q")
    L.register_prompt("needs-ctx", "Use {{ context }} to answer {{ question }}")
    with pytest.raises(InputError, match=r"uses \{\{ context \}\}.*add \+rag:INDEX:K"):
        L.compare("pydoc-qa", ["prompt:tiny-gpt2:needs-ctx@v1"], limit=1)
    with pytest.raises(InputError, match="at least one variant"):
        L.compare("pydoc-qa", [])
    assert len(L.runs()) == n_before, "nothing ran"


def test_compare_command_cli_and_magic(run_cli, ipy, ws):
    p = run_cli("compare", "--variant", "zero-shot:tiny-gpt2", "--limit", "2", "--max-new-tokens", "4",
                "--metric", "token_f1", "--metric", "length", "--json", "-q", check=0)
    data = json.loads(p.stdout)
    assert data["leaderboard"][0]["variant"] == "zero-shot:tiny-gpt2" and data["n_examples"] == 2
    p = run_cli("compare", "--variant", "zero-shot:tiny-gtp2", check=2)
    assert "did you mean 'tiny-gpt2'" in p.stderr
    ipy.run("m = 'tiny-gpt2'")
    comp = ipy.run("%llmops compare --variant zero-shot:{m} --limit 2 --max-new-tokens 4 --metric token_f1 -q -o c")
    assert ipy.ns["c"] is comp and comp.variants == ["zero-shot:tiny-gpt2"]


@pytest.mark.slow
def test_smollm2_rag_beats_zero_shot_on_grounding_questions(ws, smollm2):
    ds = L.load_dataset("pydoc", name="pydoc")
    L.build_index(ds, name="pydoc", chunk_tokens=128, progress=False)
    comp = L.compare("pydoc-qa", ["zero-shot:smollm2-135m-instruct", "rag:smollm2-135m-instruct:pydoc:3"], limit=6,
                     max_new_tokens=32, metrics=["token_f1", "semantic", "groundedness"])
    outs = comp.to_pandas()
    assert (outs["output"].str.len() > 0).all(), "the real model answers every question"
    rag = comp.summary["rag:smollm2-135m-instruct:pydoc:3"]
    assert rag["groundedness"][0] > 0.3, "retrieved context supports a good share of RAG answers"
    assert comp.summary["zero-shot:smollm2-135m-instruct"]["semantic"][0] > 0.2


def test_eval_files_that_are_not_utf8_or_not_objects_are_one_line(run_cli, ws, tmp_path):
    latin1 = tmp_path / "latin1.jsonl"
    latin1.write_bytes('{"question": "Qu\'est-ce que c\'est ?", "answer": "caf\xe9"}\n'.encode("latin-1"))
    p = run_cli("compare", "--eval", str(latin1), "--variant", "zero-shot:tiny-gpt2", check=2)
    assert p.stderr.strip() == ("llmops: error: latin1.jsonl line 1: not valid UTF-8 (byte 0xe9 at column 53); "
                                "re-encode the file as UTF-8")
    lists = tmp_path / "lists.jsonl"
    lists.write_text('["not", "an", "object"]\n')
    with pytest.raises(InputError, match="lists.jsonl line 1: expected a JSON object, got list"):
        L.compare(str(lists), ["zero-shot:tiny-gpt2"])
    with pytest.raises(InputError, match="max_new_tokens must be a whole number >= 1, got 0"):
        L.compare("pydoc-qa", ["zero-shot:tiny-gpt2"], max_new_tokens=0)
    assert len(L.runs()) == 0


def test_eval_files_are_read_like_dataset_files(tmp_path):
    from llmops_nb.evals.evalset import load_rows

    good = tmp_path / "sep.jsonl"
    good.write_text(json.dumps({"question": "a\u2028b?", "answer": "c\u2029d"}, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    assert load_rows(str(good)) == ([{"question": "a\u2028b?", "answer": "c\u2029d"}], str(good))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "q", "answer": "a"}\n{"question": }\n')
    with pytest.raises(InputError) as exc:
        load_rows(str(bad))
    assert str(exc.value) == "bad.jsonl line 2: invalid JSON (Expecting value at column 14)"
