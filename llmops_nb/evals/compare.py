"""`compare`: every variant on every eval example, scored with CIs and paired tests against a baseline.

Everything is checked before the first token is generated (models, indexes, prompts, template variables,
eval fields), generations come from the workspace's response cache when unchanged, and the comparison is a
tracked run whose per-example table can be reloaded (`Comparison.load(run_id)`) and compared with another.
"""
from __future__ import annotations

import contextlib
import math
import random
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

from ..checks import whole_number
from ..cluster import check_scheduler
from ..config import progress_disabled
from ..errors import InputError, LlmopsWarning, not_found
from ..tracking.runs import start_run
from . import metrics as M
from .comparison import MIME, Chart, Comparison, Diff, Versus
from .evalset import BUILTIN_POOL, load_rows, pick_field
from .evidence import Evidence, context_hit_notes, context_hits, gold_evidence
from .variants import Variant, parse_variant


def _embed_fn():
    from ..index.embeddings import embed as cached_embed  # content-hash cache shared with indexing

    return lambda texts: cached_embed(list(texts), progress=False)


# ---------------------------------------------------------------------------------------------
# checks before any generation
def _check_models(variants: List[Variant]) -> None:
    from ..models.ct2_engine import check_engine
    from ..models.registry import models

    for v in variants:  # the int8 engine without ctranslate2: one line with the pip command, before any generation
        check_engine(v.engine or "torch")
    table = models()
    known = table.names
    for v in variants:
        if v.model not in known and not Path(v.model).expanduser().is_dir():
            raise not_found("model", v.model, known, hint=f"in variant '{v.spec}'; known models: {', '.join(known)}")
        row = next((r for r in table if r["name"] == v.model), None)
        if row is not None and row.get("kind") == "embedding":
            raise InputError(f"variant '{v.spec}': '{v.model}' is an embedder, not a language model; use it with "
                             f"load_embedder('{v.model}') or index build DATA --embedder {v.model}")
        if v.kind == "ft":
            if row is not None and row.get("kind") in ("chat", "causal-lm", "embedding") and row.get("source", "").startswith(("PyPI", "built in")):
                raise InputError(f"variant '{v.spec}': '{v.model}' is a base model, not a fine-tune; use zero-shot:{v.model} "
                                 "or fine-tune it first (%llmops finetune)")


def _check_indexes(variants: List[Variant]) -> Dict[str, Any]:
    from ..index.vector import load_index

    return {v.index: load_index(v.index) for v in variants if v.index}


def _templates(variants: List[Variant], provided: set) -> Dict[str, Any]:
    from ..models.prompts import default_prompt, prompt as get_prompt

    out: Dict[str, Any] = {}
    for v in variants:
        if v.kind == "prompt":
            tpl = get_prompt(v.prompt)
        else:
            key = "rag" if v.uses_retrieval else ("few-shot" if v.kind == "few-shot" else "zero-shot")
            tpl = default_prompt(key)
        need = set(tpl.variables)
        have = set(provided) | {"question", "examples"} | ({"context", "passages"} if v.uses_retrieval else set())
        missing = sorted(need - have)
        if missing:
            raise InputError(f"variant '{v.spec}': template {tpl.ref} uses {{{{ {missing[0]} }}}} but the eval set does not "
                             f"provide it (fields: {', '.join(sorted(provided))})" +
                             ("; add +rag:INDEX:K to give it a context" if missing[0] in ("context", "passages") else ""))
        out[v.spec] = tpl
    return out


def _few_shot_pool(parsed: List[Variant], source: Any, rows: List[dict], qf: str) -> List[dict]:
    if not any(v.kind == "few-shot" for v in parsed):
        return []
    pool_rows, pool_desc = load_rows(source)
    pq = pick_field(pool_rows, None, ("question", "prompt", "input"), "question", pool_desc)
    pa = pick_field(pool_rows, None, ("answer", "response", "output"), "reference", pool_desc)
    eval_qs = {M.normalize(r[qf]) for r in rows}
    pool = [{"question": r[pq], "answer": r[pa]} for r in pool_rows if M.normalize(r[pq]) not in eval_qs]
    need = max(v.shots for v in parsed)
    if len(pool) < need:
        raise InputError(f"few-shot pool {pool_desc} has {len(pool)} usable examples, fewer than K={need}")
    return pool


@dataclass
class _Plan:
    """A comparison checked before any generation: what runs on which examples, with which prompts."""

    variants: List[Variant]
    labels: List[str]
    metrics: List[str]
    rows: List[dict]
    desc: str
    question_field: str
    reference_field: str
    baseline: str
    indexes: Dict[str, Any] = field(default_factory=dict)
    templates: Dict[str, Any] = field(default_factory=dict)
    pool: List[dict] = field(default_factory=list)
    evidence: Optional[Evidence] = None

    def params(self, max_new_tokens: int, seed: int) -> dict:
        return {"eval_set": self.desc, "n_examples": len(self.rows), "variants": [v.spec for v in self.variants],
                "labels": self.labels, "metrics": self.metrics, "baseline": self.baseline,
                "max_new_tokens": max_new_tokens, "seed": seed, "question_field": self.question_field,
                "reference_field": self.reference_field}


def _plan(eval_set, variants, metrics, *, baseline, few_shot_pool, question_field, reference_field, limit) -> _Plan:
    if not variants:
        raise InputError("give at least one variant, e.g. zero-shot:smollm2-135m-instruct (--variant SPEC)")
    parsed = [parse_variant(v) for v in variants]
    labels = [v.name for v in parsed]
    if len(set(labels)) != len(labels):
        raise InputError(f"variant '{next(s for s in labels if labels.count(s) > 1)}' is given twice")
    metric_names = M.check_metrics(metrics)
    limit = whole_number("limit", limit, minimum=1) if limit is not None else None
    rows, desc = load_rows(eval_set)
    if not rows:
        raise InputError(f"eval set {desc} is empty")
    qf = pick_field(rows, question_field, ("question", "prompt", "input", "text"), "question", desc)
    rf = pick_field(rows, reference_field, ("answer", "reference", "response", "output", "target"), "reference", desc)
    rows = rows[:limit] if limit is not None else rows
    base = baseline or labels[0]
    if base not in labels:
        raise not_found("baseline variant", base, labels)
    _check_models(parsed)
    indexes = _check_indexes(parsed)
    evidence = gold_evidence(rows, indexes) if {"hallucination", "context_hit"} & set(metric_names) else None
    return _Plan(parsed, labels, metric_names, rows, desc, qf, rf, base, indexes,
                 _templates(parsed, set(rows[0])), _few_shot_pool(parsed, few_shot_pool, rows, qf), evidence)


def _prompts(plan: _Plan, v: Variant, lm, seed: int):
    """The rendered prompt, retrieved context, cited ids and retrieved (id, score) pairs of every example for one
    variant (the pairs are None where the variant does not retrieve)."""
    from ..index.retrieval import retrieve

    rng = random.Random(seed)
    prompts, contexts, cites, scored = [], [], [], []
    for row in plan.rows:
        vars_ = dict(row)
        vars_["question"] = row[plan.question_field]
        vars_["examples"] = rng.sample(plan.pool, v.shots) if v.kind == "few-shot" else []
        ctx, ids, pairs = None, [], None
        if v.uses_retrieval:
            got = retrieve(plan.indexes[v.index], row[plan.question_field], k=v.k)
            ctx, ids, pairs = got.context, got.ids, [(p.id, p.score) for p in got.passages]
            vars_["context"], vars_["passages"] = got.context, got.passages
        contexts.append(ctx)
        cites.append(ids)
        scored.append(pairs)
        prompts.append(plan.templates[v.spec].render_chat(lm, **vars_))
    return prompts, contexts, cites, scored


def _log_tags(plan: _Plan, v: Variant) -> Dict[str, str]:
    """What the generation log keeps about the variant behind each of its generations (traces(tags=...) filters on
    these): its label, kind, prompt version ("qa@v2", or a built-in "rag@builtin"), the fine-tune, the index, the
    eval set."""
    tags = {"variant": v.name, "kind": v.kind, "prompt": plan.templates[v.spec].ref, "eval_set": plan.desc}
    if v.kind == "ft":
        tags["adapter"] = v.model
    if v.index:
        tags["index"] = v.index
    return tags


def _run_variant(plan: _Plan, v: Variant, *, max_new_tokens, seed, batch_size, cache, progress,
                 cluster: Optional["_Cluster"] = None) -> List[dict]:
    from ..models.generation import generate
    from ..models.loading import load_model

    lm = load_model(v.model)
    prompts, contexts, cites, scored = _prompts(plan, v, lm, seed)
    show = progress and not progress_disabled()
    if cluster is not None:
        gens = cluster.generate(v.model, prompts, context=scored, label=v.name, progress=show,
                                options=dict(max_new_tokens=max_new_tokens, seed=seed, batch_size=batch_size,
                                             cache=cache, tags=_log_tags(plan, v), engine=v.engine or "torch"))
    else:
        gens = generate(lm, prompts, max_new_tokens=max_new_tokens, seed=seed, batch_size=batch_size, cache=cache,
                        progress=show, context=scored, tags=_log_tags(plan, v), engine=v.engine or "torch")
    qf, rf = plan.question_field, plan.reference_field
    gold = plan.evidence.gold_ids if plan.evidence else [None] * len(plan.rows)
    return [{"variant": v.name, "example": str(row.get("id", i)), "question": row[qf], "reference": row[rf],
             "output": g.text.strip(), "context": contexts[i], "citations": cites[i], "prompt": prompts[i],
             "tokens_in": g.tokens_in, "tokens": g.tokens_out, "latency_s": g.latency_s, "cached": g.cached,
             "topic": row.get("topic"), "gold": gold[i]} for i, (row, g) in enumerate(zip(plan.rows, gens))]


def compare(eval_set: Any = "pydoc-qa", variants: Sequence[Union[str, Variant]] = (), metrics: Optional[Sequence[str]] = None,
            *, baseline: Optional[str] = None, few_shot_pool: Any = BUILTIN_POOL, question_field: Optional[str] = None,
            reference_field: Optional[str] = None, limit: Optional[int] = None, max_new_tokens: int = 64,
            batch_size: int = 48, seed: int = 0, cache: bool = True, name: Optional[str] = None,
            progress: bool = True, workers: Optional[int] = None, scheduler: Optional[str] = None) -> Comparison:
    """Run every variant on every example of `eval_set` and score them side by side.

    variants: specs like "zero-shot:smollm2-135m-instruct", "few-shot:M:3", "rag:M:INDEX:4",
    "prompt:M:NAME@v2", "ft:MY_LORA", "ft:MY_LORA+rag:INDEX:4" (see evals.variants).
    workers / scheduler: generate on a Dask LocalCluster of that many processes, or on the cluster at that
    address, each variant's examples split into one contiguous shard per worker (answers identical to a local
    run; see evals.sharded).
    """
    max_new_tokens = whole_number("max_new_tokens", max_new_tokens, minimum=1)
    batch_size = whole_number("batch_size", batch_size, minimum=1)
    workers = whole_number("workers", workers, minimum=1, hint="Dask worker processes, e.g. 2") if workers is not None else None
    scheduler = check_scheduler(scheduler) if scheduler else None
    plan = _plan(eval_set, variants, metrics, baseline=baseline, few_shot_pool=few_shot_pool,
                 question_field=question_field, reference_field=reference_field, limit=limit)
    params = plan.params(max_new_tokens, seed)
    if workers or scheduler:
        params.update(workers=workers, scheduler=scheduler)
    with _cluster(workers, scheduler) as cluster:
        return _compare(plan, params, cluster, name=name, max_new_tokens=max_new_tokens, seed=seed,
                        batch_size=batch_size, cache=cache, progress=progress)


@dataclass
class _Cluster:
    """A Dask client for sharded generation, and where its workers find the workspace."""

    client: Any
    shards: int
    workspace_path: str

    def generate(self, model: str, prompts, *, context, options, label, progress) -> list:
        from ..tracking.runs import active_run
        from .sharded import generate_on_cluster

        run = active_run()
        return generate_on_cluster(self.client, model, prompts, context=context, options=options,
                                   workspace_path=self.workspace_path, run_id=run.id if run else None,
                                   shards=self.shards, label=label, progress=progress)


@contextlib.contextmanager
def _cluster(workers: Optional[int], scheduler: Optional[str]):
    if not (workers or scheduler):
        yield None
        return
    from ..cluster import cluster_workers, dask_client
    from ..workspace import workspace

    with dask_client(workers or 1, scheduler, preload=("llmops_nb.models.generation",)) as client:
        yield _Cluster(client, workers if not scheduler else cluster_workers(client), str(workspace().path))


def _compare(plan: _Plan, params: dict, cluster: Optional[_Cluster], *, name, max_new_tokens, seed, batch_size, cache,
             progress) -> Comparison:
    t_start = time.time()
    per_example: List[dict] = []
    with start_run(name or "compare", params=params, kind="compare") as run:
        for v in plan.variants:
            per_example += _run_variant(plan, v, max_new_tokens=max_new_tokens, seed=seed, batch_size=batch_size,
                                        cache=cache, progress=progress, cluster=cluster)
        _score(per_example, plan.metrics)
        notes = _score_evidence(per_example, plan)
        comp = Comparison(per_example, plan.labels, plan.metrics, plan.baseline, params, run.id,
                          time.time() - t_start, notes=notes)
        for spec, ms in comp.summary.items():
            for metric, (mean, lo, hi) in ms.items():
                if not math.isnan(mean):
                    run.log_metric(f"{spec}/{metric}", mean)
        comp.save(run)
    for warning in comp.warnings:  # also in the result's text, HTML and JSON; said here for code that only keeps it
        warnings.warn(warning, LlmopsWarning, stacklevel=3)
    return comp


def _score(rows: List[dict], metric_names: List[str]) -> None:
    for r in rows:
        for m, fn in M.LEXICAL.items():
            if m in metric_names:
                r[m] = fn(r["output"], r["reference"])
        r["length"] = len(r["output"].split())
    need_embed = "semantic" in metric_names or "groundedness" in metric_names
    embed = _embed_fn() if need_embed else None
    if "semantic" in metric_names:
        sims = M.semantic_similarity([r["output"] for r in rows], [str(r["reference"]) for r in rows], embed)
        for r, s in zip(rows, sims):
            r["semantic"] = s
    if "groundedness" in metric_names:
        g = M.groundedness([r["output"] for r in rows], [r["context"] for r in rows], embed)
        for r, s in zip(rows, g):
            r["groundedness"] = s


def _score_evidence(rows: List[dict], plan: _Plan) -> List[str]:
    """hallucination against each example's gold evidence (every variant alike) and context_hit of RAG variants;
    the notes say where the evidence came from and what is missing."""
    ev, want = plan.evidence, set(plan.metrics)
    if ev is None:
        return []
    n = len(plan.rows)
    notes: List[str] = []
    if "hallucination" in want:
        texts = [ev.texts[i % n] for i in range(len(rows))]  # rows hold the examples in order, variant by variant
        for r, h in zip(rows, M.hallucination([r["output"] for r in rows], texts, _embed_fn())):
            r["hallucination"] = h
        notes += ev.notes + _empty_notes(rows, texts, plan.labels)
    if "context_hit" in want:
        for v in plan.variants:
            mine = [r for r in rows if r["variant"] == v.name]
            if not v.uses_retrieval:
                for r in mine:
                    r["context_hit"] = math.nan
                continue
            hits, unknown = context_hits(ev.gold_ids, [r["citations"] for r in mine],
                                         set(plan.indexes[v.index].record_ids()))
            for r, h in zip(mine, hits):
                r["context_hit"] = h
            notes += context_hit_notes(v.name, v.index, ev.gold_field, unknown, n)
    return notes


def _empty_notes(rows: List[dict], texts: List[Optional[str]], labels: List[str]) -> List[str]:
    """Per variant with empty answers among those that have evidence: its hallucination mean leaves them out."""
    out = []
    for v in labels:
        judged = [r for r, t in zip(rows, texts) if r["variant"] == v and t is not None]
        empty = sum(1 for r in judged if not str(r["output"] or "").strip())
        if empty:
            out.append(f"hallucination of {v} is over {len(judged) - empty} of {len(judged)} answers: {empty} are empty "
                       "(an empty answer states nothing, so it has no rate)")
    return out


__all__ = ["MIME", "Chart", "Comparison", "Diff", "Versus", "compare"]
