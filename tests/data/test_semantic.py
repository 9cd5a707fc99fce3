"""Steps on MiniLM embeddings: semantic_dedup (usearch neighbours over a cosine threshold) and select (coverage)."""
from pydoc_data.topics import topics

import numpy as np
import pytest

import llmops_nb as L
from llmops_nb.data.steps import run_step
from llmops_nb.data.steps.semantic import coverage, facility_location, k_center, neighbour_pairs

pytestmark = pytest.mark.slow

PYDOC = [{"id": k, "text": v} for k, v in sorted(topics.items())]
QUESTIONS = [
    {"id": "q1", "text": "How do I remove duplicates from a Python list?"},
    {"id": "q2", "text": "What is the way to deduplicate a list in Python?"},
    {"id": "q3", "text": "Remove duplicate entries from a list in Python"},
    {"id": "q4", "text": "The weather in Paris is sunny today."},
    {"id": "q5", "text": "How do I read a CSV file with pandas?"},
    {"id": "q6", "text": "Which train goes to the airport?"},
]


def test_semantic_dedup_on_paraphrases_and_pydoc():
    r = run_step("semantic_dedup", QUESTIONS + PYDOC)
    removed = {c.record_id: c for c in r.removed}
    assert set(removed) == {"q3", "if"}  # cos 0.96 with q1; 'if' and 'else' are the same text
    assert removed["q3"].duplicate_of == "q1" and removed["q3"].detail["similarity_to_kept"] >= 0.95
    assert removed["if"].duplicate_of == "else"
    looser = run_step("semantic_dedup", QUESTIONS, threshold=0.8)
    assert {c.record_id for c in looser.removed} == {"q2", "q3"}
    assert all(c.duplicate_of == "q1" for c in looser.removed)


def test_select_covers_pydoc_better_than_a_random_sample():
    r = run_step("select", PYDOC, n=12, seed=0)
    m = r.context.metrics
    assert len(r.kept) == 12 and len(r.removed) == len(PYDOC) - 12
    assert m["coverage"] > m["random_coverage"]
    kept = {x["id"] for x in r.kept}
    assert all(c.reason == "not_selected" and c.duplicate_of in kept for c in r.removed)
    order = [x["id"] for x in PYDOC]
    assert [order.index(x["id"]) for x in r.kept] == sorted(order.index(x["id"]) for x in r.kept)
    kc = run_step("select", PYDOC, n=12, method="kcenter")
    assert len(kc.kept) == 12 and kc.context.metrics["method"] == "kcenter"


def test_selection_math_on_clustered_vectors():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(5, 16))
    x = np.vstack([c + 0.05 * rng.normal(size=(40, 16)) for c in centers] + [rng.normal(size=(3, 16)) * 3])
    x = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)
    fl = facility_location(x, 5)
    assert sorted({i // 40 for i in fl}) == [0, 1, 2, 3, 4]  # one representative per dense cluster
    assert coverage(x, fl) > coverage(x, rng.choice(len(x), 5, replace=False))
    assert any(i >= 200 for i in k_center(x, 5))  # k-center goes for the outliers
    pairs, sims = neighbour_pairs(np.vstack([x[:1], x[:1], x[50:51]]), 0.99)
    assert pairs.tolist() == [[0, 1]] and sims[0] == pytest.approx(1.0, abs=1e-5)


def test_curate_with_select_budget(ws):
    L.load_dataset("pydoc")
    res = L.curate("pydoc", ["exact_dedup"], select=15, name="pydoc15")
    assert len(res.dataset) == 15
    sel = res.report[-1]
    assert sel["step"] == "select" and sel["metrics"]["coverage"] > sel["metrics"]["random_coverage"]
    assert "coverage=" in str(res) and "random_coverage=" in str(res)
