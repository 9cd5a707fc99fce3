"""finetune_embedder / `finetune-embedder`: refusing too few pairs, a tiny real fine-tune of MiniLM that is registered,
loaded by name, indexed with and tracked, the batches and loss it trains with, and the pydoc pairs builder."""
import json
import math
import random
from pydoc_data.topics import topics

import numpy as np
import pytest
from IPython.core.error import UsageError

import llmops_nb as L
from llmops_nb.errors import InputError
from llmops_nb.models.embedder_finetune import MIN_PAIRS, mnrl_loss, plan_batches


def _topic_pairs(n: int) -> list:
    """n (question-like first sentence, opening passage) pairs from distinct pydoc topics: small and real."""
    out = []
    for key in sorted(topics)[:n]:
        text = " ".join(topics[key].split())
        out.append({"query": f"what does the reference say about {key}?", "positive": text[:240]})
    return out


def test_fewer_than_20_pairs_is_refused_with_the_reason(ws):
    with pytest.raises(InputError, match=r"at least 20 distinct \(query, positive\) pairs; inline:\w+ has 19:"):
        L.finetune_embedder("all-minilm-l6-v2", _topic_pairs(19), name="tiny")
    repeated = _topic_pairs(10) * 3  # 30 rows, 10 distinct pairs
    with pytest.raises(InputError, match="has 10; 20 repeat another pair"):
        L.finetune_embedder("all-minilm-l6-v2", repeated, name="tiny")
    half = _topic_pairs(30)
    for row in half[:12]:
        row["positive"] = "  "
    with pytest.raises(InputError, match="has 18; 12 rows lack a query or positive"):
        L.finetune_embedder("all-minilm-l6-v2", half, name="tiny")
    with pytest.raises(InputError, match="no rows with a query and its positive passage .* fields present: a, b"):
        L.finetune_embedder("all-minilm-l6-v2", [{"a": 1, "b": 2}] * 30, name="tiny")
    with pytest.raises(InputError, match="give the training pairs"):
        L.finetune_embedder("all-minilm-l6-v2", name="tiny")
    # the other field names are read too
    qp = [{"question": p["query"], "passage": p["positive"]} for p in _topic_pairs(5)]
    with pytest.raises(InputError, match="has 5"):
        L.finetune_embedder("all-minilm-l6-v2", qp, name="tiny")
    pairs = _topic_pairs(25)
    for kwargs, msg in [({"batch_size": 1}, "batch_size must be a whole number from 2"),
                        ({"epochs": 0}, "epochs must be a number above 0"),
                        ({"lr": float("nan")}, "lr must be a number above 0"),
                        ({"warmup": 2}, "warmup must be a number from 0 to 1"),
                        ({"name": "all-minilm-l6-v2"}, "is a built-in model's name"),
                        ({"name": "bad name!"}, "model name")]:
        with pytest.raises(InputError, match=msg):
            L.finetune_embedder("all-minilm-l6-v2", pairs, **{"name": "tiny", **kwargs})
    with pytest.raises(InputError, match="is a chat model, not an embedder"):
        L.finetune_embedder("smollm2-135m-instruct", pairs, name="tiny")
    with pytest.raises(L.NotFoundError, match="unknown embedder 'all-minilm-l6'.*did you mean 'all-minilm-l6-v2'"):
        L.finetune_embedder("all-minilm-l6", pairs, name="tiny")
    assert L.models().names == [m for m in L.models().names if m != "tiny"]  # nothing registered


def test_batches_never_repeat_a_positive_and_cover_every_pair():
    queries = [f"q{i}" for i in range(50)]
    positives = [f"p{i % 12}" for i in range(50)]  # many queries share a passage, as sentences of one chunk do
    batches = plan_batches(queries, positives, 8, random.Random(0))
    assert batches == plan_batches(queries, positives, 8, random.Random(0))  # seeded
    for b in batches:
        assert 2 <= len(b) <= 8 and len({positives[i] for i in b}) == len(b)
    covered = sorted(i for b in batches for i in b)
    assert len(covered) == len(set(covered)) and len(covered) >= 50 - 12  # only lone leftovers are dropped


def test_batches_keep_groups_apart_and_hard_negatives_off_other_positives():
    queries = [f"q{i}" for i in range(40)]
    positives = [f"p{i}" for i in range(40)]
    negatives = [f"p{(i + 1) % 40}" for i in range(40)]  # each pair's negative is its neighbour's positive
    groups = [f"g{i % 10}" for i in range(40)]
    batches = plan_batches(queries, positives, 8, random.Random(1), negatives=negatives, groups=groups)
    for b in batches:
        passages = [positives[i] for i in b] + [negatives[i] for i in b]
        assert len(set(passages)) == len(passages)  # no passage is both a positive and another's negative
    assert len({groups[i] for i in batches[0]}) == len(batches[0]) == 8  # one pair per group while groups last
    assert sum(len(b) for b in batches) >= 30


def test_mnrl_loss_is_in_batch_cross_entropy():
    import torch

    eye = torch.eye(4)
    assert float(mnrl_loss(eye, eye)) < 1e-6  # each query nearest its own positive by a margin of 20
    same = torch.ones(4, 3)
    assert math.isclose(float(mnrl_loss(same, same)), math.log(4), rel_tol=1e-5)  # no information: chance
    # hard negatives join the candidates: 4 positives + 4 negatives, all alike, is chance among 8
    assert math.isclose(float(mnrl_loss(same, same, same)), math.log(8), rel_tol=1e-5)


@pytest.mark.slow
def test_tiny_finetune_is_registered_loadable_indexable_and_tracked(ws, ipy, tmp_path):
    pairs = _topic_pairs(40)
    ft = L.finetune_embedder("all-minilm-l6-v2", pairs, name="mini-pydoc", epochs=1, batch_size=8, lr=1e-4,
                             progress=False)
    assert ft.kind == "embedding" and ft.method == "embedding" and ft.base == "all-minilm-l6-v2"
    assert ft.metrics["steps"] == 5 and ft.metrics["pairs"] == 40 and ft.metrics["train_time_s"] > 0
    assert (ft.path / "modules.json").is_file() and (ft.path / "1_Pooling" / "config.json").is_file()
    row = next(r for r in L.models().rows if r["name"] == "mini-pydoc")
    assert "embedding" in row["kind"] and row["installed"]

    run = L.get_run(ft.run_id)
    assert run.kind == "finetune" and run.status == "finished"
    assert run.params["method"] == "embedding" and run.params["pairs"] == 40 and run.params["seed"] == 0
    assert len(run.history("loss")) == 5 and run.records["model"] == "mini-pydoc"

    from llmops_nb.index.embeddings import embed, model_key

    base, tuned = L.load_embedder("all-minilm-l6-v2"), L.load_embedder("mini-pydoc")
    assert tuned.dim == base.dim == 384 and tuned.version == ft.sha256
    assert model_key(tuned) != model_key(base) and ft.sha256[:16] in model_key(tuned)
    texts = [p["query"] for p in pairs[:4]]
    a, b = embed(texts, base, progress=False), embed(texts, tuned, progress=False)
    assert np.allclose(np.linalg.norm(b, axis=1), 1, atol=1e-5) and float(np.min(np.sum(a * b, axis=1))) < 0.999

    L.load_dataset([{"id": f"doc{i}", "text": p["positive"]} for i, p in enumerate(pairs)], name="docs")
    ix = ipy.line("index build docs --name tuned --embedder mini-pydoc -q")  # --embedder: --model's synonym
    assert ix.model == "mini-pydoc" and len(ix) == 40
    assert L.search("tuned", pairs[3]["query"], k=3).ids[0] == "doc3"
    assert "mini-pydoc" in ipy.line("models").names

    with pytest.raises(InputError, match="'mini-pydoc' is a fine-tuned embedder, not a language model"):
        L.load_model("mini-pydoc")
    # the same call again returns the registered model without training; other settings need overwrite=True
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in pairs))
    again = ipy.line(f"finetune-embedder all-minilm-l6-v2 --pairs {path} --as mini-pydoc --batch-size 8 --lr 1e-4")
    assert again.run_id == ft.run_id  # the same pairs (read from a file now) and settings: nothing trained
    with pytest.raises(InputError, match="already registered as a fine-tuned embedder .* overwrite=True"):
        L.finetune_embedder("all-minilm-l6-v2", pairs, name="mini-pydoc", epochs=1, batch_size=8, lr=2e-4)


@pytest.mark.slow
def test_retraining_under_the_same_name_never_reuses_old_vectors(ws):
    pairs = _topic_pairs(24)
    first = L.finetune_embedder("all-minilm-l6-v2", pairs, name="mini", batch_size=12, lr=1e-4, progress=False)
    from llmops_nb.index.embeddings import embed, model_key

    old_key, old = model_key(L.load_embedder("mini")), embed(["a question"], "mini", progress=False)
    second = L.finetune_embedder("all-minilm-l6-v2", pairs, name="mini", batch_size=12, lr=3e-4, overwrite=True,
                                 progress=False)
    assert second.sha256 != first.sha256 and second.run_id != first.run_id
    new = L.load_embedder("mini")
    assert model_key(new) != old_key  # this process's copy and the cache moved to the new weights
    assert not np.allclose(embed(["a question"], "mini", progress=False), old)


def test_cli_and_magic_refuse_too_few_pairs_in_one_line(ws, run_cli, ipy, tmp_path):
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in _topic_pairs(7)))
    p = run_cli("finetune-embedder", "all-minilm-l6-v2", "--pairs", str(path), "--as", "mine", check=2)
    assert "at least 20 distinct (query, positive) pairs; file:pairs.jsonl has 7" in p.stderr
    assert len(p.stderr.strip().splitlines()) == 1 and "Traceback" not in p.stderr
    with pytest.raises(UsageError, match="at least 20 distinct"):
        ipy.line(f"finetune-embedder all-minilm-l6-v2 --pairs {path} --as mine")
    with pytest.raises(UsageError, match="the following arguments are required: --as"):
        ipy.line(f"finetune-embedder all-minilm-l6-v2 --pairs {path}")
    L.load_dataset([{"id": "a", "text": "some text"}], name="docs")
    p = run_cli("index", "build", "docs", "--name", "d", "--embedder", "no-such-embedder", check=2)
    assert "unknown embedder 'no-such-embedder'" in p.stderr and len(p.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_pydoc_pairs_hold_index_chunks_and_no_eval_question(ws):
    from llmops_nb.data.eval.retrieval_pairs import eval_questions, pydoc_retrieval_pairs
    from llmops_nb.index.chunking import chunk_records

    pairs = pydoc_retrieval_pairs(kinds=("heading", "train"))
    assert {p["kind"] for p in pairs} == {"heading", "train"} and len(pairs) >= 250
    tok = L.load_embedder("all-minilm-l6-v2").tokenizer
    chunks = {c.text for c in chunk_records([{"id": k, "text": topics[k]} for k in topics], tok, chunk_tokens=128,
                                            overlap=32)}
    assert all(p["positive"] in chunks for p in pairs)
    questions = {q.lower() for q in eval_questions()}
    assert len(questions) >= 240 and not any(p["query"].lower() in questions for p in pairs)
    assert any(p["query"] == '"except" clause' and p["topic"] == "try" for p in pairs)  # the smallest topic wins
    with pytest.raises(InputError, match="unknown pair kind"):
        pydoc_retrieval_pairs(kinds=("questions",))
    assert len(pairs) >= MIN_PAIRS
