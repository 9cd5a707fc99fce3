"""The kit's own generations in the generation log: compare() logs each generation with its variant's tags (prompt
version, index, ...) and, for RAG variants, the retrieved ids with their scores; generate(context=, tags=) logs
what the caller gives, per prompt position, cache hits included. Real tiny-gpt2, a real index, no mocks."""
import pytest

import llmops_nb as L
from llmops_nb.errors import InputError
from llmops_nb.index.retrieval import retrieve

ZERO, PROMPT, RAG = "zero-shot:tiny-gpt2", "prompt:tiny-gpt2:qa@v2", "rag:tiny-gpt2:pydoc:2"


@pytest.fixture
def pydoc_index(ws):
    ds = L.load_dataset("pydoc", name="pydoc")
    return L.build_index(ds, name="pydoc", chunk_tokens=128, progress=False)


def _rows(limit=500, **filters):
    return L.traces(limit=limit, **filters).rows


@pytest.mark.slow  # the index embeds with MiniLM
@pytest.mark.filterwarnings("ignore::llmops_nb.errors.LlmopsWarning")  # tiny-gpt2 answers empty: scores are 0
def test_compare_logs_tags_and_retrieved_context_per_variant(ws, pydoc_index):
    L.register_prompt("qa", "Answer briefly.\n{{ question }}")
    L.register_prompt("qa", "Answer in one sentence.\nQuestion: {{ question }}\nAnswer:")
    comp = L.compare("pydoc-qa", [ZERO, PROMPT, RAG], limit=3, max_new_tokens=4, metrics=["token_f1"],
                     progress=False)
    rows = _rows(run=comp.run_id)
    assert len(rows) == 9 and {r["source"] for r in rows} == {"generate"}
    by_variant = {v: [r for r in rows if r["tags"]["variant"] == v] for v in (ZERO, PROMPT, RAG)}
    assert all(len(rs) == 3 for rs in by_variant.values())
    want = {ZERO: {"variant": ZERO, "kind": "zero-shot", "prompt": "zero-shot@builtin", "eval_set": "pydoc-qa"},
            PROMPT: {"variant": PROMPT, "kind": "prompt", "prompt": "qa@v2", "eval_set": "pydoc-qa"},
            RAG: {"variant": RAG, "kind": "rag", "prompt": "rag@builtin", "index": "pydoc", "eval_set": "pydoc-qa"}}
    for v, rs in by_variant.items():
        assert all(r["tags"] == want[v] for r in rs), v
    assert all(r["context"] is None for r in by_variant[ZERO] + by_variant[PROMPT])

    # each RAG row carries the ids and scores retrieve() gives for its question, in rank order
    table = comp.to_pandas()
    rag_table = table[table["variant"] == RAG]
    by_prompt = {r["prompt"]: r for r in by_variant[RAG]}
    assert len(by_prompt) == 3
    for question, prompt, cites in zip(rag_table["question"], rag_table["prompt"], rag_table["citations"]):
        got = retrieve(pydoc_index, question, k=2)
        logged = by_prompt[prompt]["context"]
        assert [i for i, _ in logged] == got.ids == list(cites) and len(logged) >= 1
        assert all(isinstance(s, float) for _, s in logged)
        assert [s for _, s in logged] == pytest.approx([float(p.score) for p in got.passages], abs=1e-6)

    # the tag filter finds exactly one variant's rows; several tags combine
    assert sorted(r["id"] for r in _rows(tags={"prompt": "qa@v2"})) == sorted(r["id"] for r in by_variant[PROMPT])
    assert len(_rows(tags={"kind": "rag", "index": "pydoc"})) == 3
    assert _rows(tags={"prompt": "qa@v1"}) == []

    # a rerun is answered from the response cache, and its rows carry the same tags and context
    again = L.compare("pydoc-qa", [ZERO, PROMPT, RAG], limit=3, max_new_tokens=4, metrics=["token_f1"],
                      progress=False)
    assert again.to_pandas()["cached"].all()
    cached = _rows(run=again.run_id)
    assert len(cached) == 9
    assert sorted((r["prompt"], r["tags"]["variant"], str(r["context"])) for r in cached) == \
        sorted((r["prompt"], r["tags"]["variant"], str(r["context"])) for r in rows)


@pytest.mark.slow
def test_ft_variant_tags_name_the_adapter_and_rag_suffix_the_index(ws, pydoc_index):
    from llmops_nb.evals.compare import _log_tags, _plan
    from llmops_nb.evals.variants import Variant

    plan = _plan("pydoc-qa", ["zero-shot:tiny-gpt2+rag:pydoc:2", "mine=few-shot:tiny-gpt2:1"], ["token_f1"],
                 baseline=None, few_shot_pool="pydoc-train", question_field=None, reference_field=None, limit=1)
    assert _log_tags(plan, plan.variants[0]) == {"variant": "zero-shot:tiny-gpt2+rag:pydoc:2", "kind": "zero-shot",
                                                 "prompt": "rag@builtin", "index": "pydoc", "eval_set": "pydoc-qa"}
    assert _log_tags(plan, plan.variants[1]) == {"variant": "mine", "kind": "few-shot", "prompt": "few-shot@builtin",
                                                 "eval_set": "pydoc-qa"}
    ft = Variant("ft", "my-lora", index="pydoc", k=2)  # tags only: no fine-tune needs to exist
    plan.templates[ft.spec] = plan.templates[plan.variants[0].spec]
    assert _log_tags(plan, ft)["adapter"] == "my-lora" and _log_tags(plan, ft)["index"] == "pydoc"


def test_generate_logs_context_and_tags_per_prompt_position(ws):
    prompts = ["The sky is", "Water is", "The sky is"]  # the repeat is generated once, logged at both positions
    ctx = [[("doc-1", 0.75), ("doc-2", 0.5)], None, ["doc-3"]]
    first = L.generate("tiny-gpt2", prompts, max_new_tokens=3, context=ctx, tags={"exp": "a", "n": 2},
                       progress=False)
    assert [g.cached for g in first] == [False, False, False]
    rows = sorted(_rows(tags={"exp": "a"}), key=lambda r: r["id"])
    assert len(rows) == 3 and all(r["tags"] == {"exp": "a", "n": 2} for r in rows)
    assert sorted((r["prompt"], str(r["context"])) for r in rows) == sorted(
        [("The sky is", "[['doc-1', 0.75], ['doc-2', 0.5]]"), ("Water is", "None"), ("The sky is", "[['doc-3', None]]")])
    # cache hits are logged with this call's context and tags
    again = L.generate("tiny-gpt2", prompts[:2], max_new_tokens=3, context=[None, [("doc-9", 1)]], tags={"exp": "b"},
                       progress=False)
    assert all(g.cached for g in again)
    hits = _rows(tags={"exp": "b"})
    assert sorted((r["prompt"], str(r["context"])) for r in hits) == [("The sky is", "None"),
                                                                      ("Water is", "[['doc-9', 1.0]]")]
    # no context, no tags: the row says so
    L.generate("tiny-gpt2", ["Water is"], max_new_tokens=3, progress=False)
    assert _rows(limit=1)[0]["context"] is None and _rows(limit=1)[0]["tags"] == {}


@pytest.mark.parametrize("kw, needle", [
    ({"context": [None]}, r"^context has 1 entries for 2 prompts; give one per prompt"),
    ({"context": [None, None, None]}, r"^context has 3 entries for 2 prompts"),
    ({"context": "doc-1"}, r"^context must be a list with one entry per prompt, got str"),
    ({"context": [None, "doc-1"]}, r"^context\[1\] must be None or a list of ids or \(id, score\) pairs"),
    ({"context": [None, [("a", 1, 2)]]}, r"^context\[1\]: a retrieved item is an id or an \(id, score\) pair"),
    ({"context": [None, [("a", "high")]]}, r"^context\[1\]: the score of 'a' must be a number, got str"),
    ({"tags": ["exp"]}, r"^tags must be a dict"),
    ({"tags": {1: "x"}}, r"^tag names must be strings, got 1 \(int\)"),
])
def test_generate_refuses_bad_context_or_tags_before_loading(ws, kw, needle):
    before = len(_rows())
    with pytest.raises(InputError, match=needle) as exc:
        L.generate("no-such-model-is-loaded", ["a", "b"], **kw)
    assert "\n" not in str(exc.value)
    assert len(_rows()) == before
