"""`compare`: every variant on every eval example, scored with CIs and paired tests against a baseline.

Everything is checked before the first token is generated (models, indexes, prompts, template variables,
eval fields), generations come from the workspace's response cache when unchanged, and the comparison is a
tracked run whose per-example table can be reloaded (`Comparison.load(run_id)`) and compared with another.
"""
from __future__ import annotations

import json
import math
import random
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Union

from ..config import progress_disabled
from ..display import STYLE, esc, fmt, html_table, jsonable, text_table
from ..errors import InputError, not_found
from . import metrics as M
from .evalset import BUILTIN_POOL, load_rows, pick_field
from .stats import bootstrap_ci, paired
from .variants import Variant, parse_variant

MIME = "application/vnd.llmops.comparison+json"


def _embed_fn():
    try:
        from ..index.embeddings import embed as cached_embed  # content-hash cache shared with indexing

        return lambda texts: cached_embed(list(texts), progress=False)
    except ImportError:
        from ..models.loading import load_embedder

        emb = load_embedder()
        return lambda texts: emb.encode(list(texts))


# ---------------------------------------------------------------------------------------------
# checks before any generation
def _check_models(variants: List[Variant]) -> None:
    from pathlib import Path

    from ..models.registry import models

    known = models().names
    for v in variants:
        if v.model not in known and not Path(v.model).expanduser().is_dir():
            raise not_found("model", v.model, known, hint=f"in variant '{v.spec}'; known models: {', '.join(known)}")
        if v.kind == "ft":
            row = next((r for r in models() if r["name"] == v.model), None)
            if row is not None and row.get("kind") in ("chat", "causal-lm", "embedding") and row.get("source", "").startswith(("PyPI", "built in")):
                raise InputError(f"variant '{v.spec}': '{v.model}' is a base model, not a fine-tune; use zero-shot:{v.model} "
                                 "or fine-tune it first (%llmops finetune)")


def _check_indexes(variants: List[Variant]) -> Dict[str, Any]:
    out = {}
    for v in variants:
        if v.index and v.index not in out:
            from ..index.vector import load_index

            out[v.index] = load_index(v.index)
    return out


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


# ---------------------------------------------------------------------------------------------
def compare(eval_set: Any = "pydoc-qa", variants: Sequence[Union[str, Variant]] = (), metrics: Optional[Sequence[str]] = None,
            *, baseline: Optional[str] = None, few_shot_pool: Any = BUILTIN_POOL, question_field: Optional[str] = None,
            reference_field: Optional[str] = None, limit: Optional[int] = None, max_new_tokens: int = 64,
            batch_size: int = 48, seed: int = 0, cache: bool = True, name: Optional[str] = None,
            progress: bool = True) -> "Comparison":
    """Run every variant on every example of `eval_set` and score them side by side.

    variants: specs like "zero-shot:smollm2-135m-instruct", "few-shot:M:3", "rag:M:INDEX:4",
    "prompt:M:NAME@v2", "ft:MY_LORA", "ft:MY_LORA+rag:INDEX:4" (see evals.variants).
    """
    if not variants:
        raise InputError("give at least one variant, e.g. zero-shot:smollm2-135m-instruct (--variant SPEC)")
    parsed = [parse_variant(v) for v in variants]
    specs = [v.name for v in parsed]
    if len(set(specs)) != len(specs):
        raise InputError(f"variant '{next(s for s in specs if specs.count(s) > 1)}' is given twice")
    metric_names = M.check_metrics(metrics)
    rows, desc = load_rows(eval_set)
    if not rows:
        raise InputError(f"eval set {desc} is empty")
    qf = pick_field(rows, question_field, ("question", "prompt", "input", "text"), "question", desc)
    rf = pick_field(rows, reference_field, ("answer", "reference", "response", "output", "target"), "reference", desc)
    if limit is not None:
        if limit <= 0:
            raise InputError(f"limit must be positive, got {limit}")
        rows = rows[:limit]
    base = baseline or specs[0]
    if base not in specs:
        raise not_found("baseline variant", base, specs)
    _check_models(parsed)
    indexes = _check_indexes(parsed)
    templates = _templates(parsed, set(rows[0]))
    pool = []
    if any(v.kind == "few-shot" for v in parsed):
        pool_rows, pool_desc = load_rows(few_shot_pool)
        pq = pick_field(pool_rows, None, ("question", "prompt", "input"), "question", pool_desc)
        pa = pick_field(pool_rows, None, ("answer", "response", "output"), "reference", pool_desc)
        eval_qs = {M.normalize(r[qf]) for r in rows}
        pool = [{"question": r[pq], "answer": r[pa]} for r in pool_rows if M.normalize(r[pq]) not in eval_qs]
        need = max(v.shots for v in parsed)
        if len(pool) < need:
            raise InputError(f"few-shot pool {pool_desc} has {len(pool)} usable examples, fewer than K={need}")

    from ..models.generation import generate
    from ..models.loading import load_model
    from ..tracking.runs import start_run

    params = {"eval_set": desc, "n_examples": len(rows), "variants": [v.spec for v in parsed], "labels": specs,
              "metrics": metric_names, "baseline": base, "max_new_tokens": max_new_tokens, "seed": seed,
              "question_field": qf, "reference_field": rf}
    t_start = time.time()
    per_example: List[dict] = []
    with start_run(name or "compare", params=params, kind="compare") as run:
        for v in parsed:
            rng = random.Random(seed)
            lm = load_model(v.model)
            prompts, contexts, cites = [], [], []
            for i, row in enumerate(rows):
                vars_ = dict(row)
                vars_["question"] = row[qf]
                if v.kind == "few-shot":
                    vars_["examples"] = rng.sample(pool, v.shots)
                else:
                    vars_["examples"] = []
                ctx = None
                if v.uses_retrieval:
                    from ..index.retrieval import retrieve

                    got = retrieve(indexes[v.index], row[qf], k=v.k)
                    ctx = got.context
                    vars_["context"], vars_["passages"] = got.context, got.passages
                    cites.append(got.ids)
                else:
                    cites.append([])
                contexts.append(ctx)
                prompts.append(templates[v.spec].render_chat(lm, **vars_))
            gens = generate(lm, prompts, max_new_tokens=max_new_tokens, seed=seed, batch_size=batch_size, cache=cache,
                            progress=progress and not progress_disabled())
            for i, (row, g) in enumerate(zip(rows, gens)):
                per_example.append({"variant": v.name, "example": str(row.get("id", i)), "question": row[qf],
                                    "reference": row[rf], "output": g.text.strip(), "context": contexts[i],
                                    "citations": cites[i], "prompt": prompts[i], "tokens_in": g.tokens_in,
                                    "tokens": g.tokens_out, "latency_s": g.latency_s, "cached": g.cached,
                                    "topic": row.get("topic")})
        _score(per_example, metric_names)
        comp = Comparison(per_example, specs, metric_names, base, params, run.id, time.time() - t_start)
        for spec, ms in comp.summary.items():
            for metric, (mean, lo, hi) in ms.items():
                if not math.isnan(mean):
                    run.log_metric(f"{spec}/{metric}", mean)
        comp._save(run)
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


# ---------------------------------------------------------------------------------------------
class Comparison:
    """Leaderboard (means with bootstrap 95% CIs), paired tests vs the baseline, per-example outputs."""

    def __init__(self, rows: List[dict], variants: List[str], metrics: List[str], baseline: str, params: dict,
                 run_id: Optional[str], duration_s: float):
        self.rows = rows
        self.variants = variants
        self.metrics = metrics
        self.baseline = baseline
        self.params = params
        self.run_id = run_id
        self.duration_s = duration_s
        self.summary = self._summarize()
        self.paired = self._paired()

    # ---- numbers ---------------------------------------------------------------------------
    def _values(self, variant: str, metric: str) -> List[float]:
        return [float(r[metric]) if r.get(metric) is not None else math.nan for r in self.rows if r["variant"] == variant]

    def _summarize(self) -> Dict[str, Dict[str, tuple]]:
        out = {}
        for v in self.variants:
            out[v] = {}
            for m in self.metrics:
                vals = self._values(v, m)
                if m == "latency_s":
                    import numpy as np

                    arr = np.asarray([x for x in vals if not math.isnan(x)])
                    p50, p95 = (float(np.percentile(arr, 50)), float(np.percentile(arr, 95))) if arr.size else (math.nan,) * 2
                    out[v]["latency_p50"] = (p50, p50, p50)
                    out[v]["latency_p95"] = (p95, p95, p95)
                out[v][m] = bootstrap_ci(vals)
        return out

    def _paired(self) -> Dict[str, Dict[str, Any]]:
        out = {}
        base = {m: self._values(self.baseline, m) for m in self.metrics}
        for v in self.variants:
            if v == self.baseline:
                continue
            out[v] = {m: paired(self._values(v, m), base[m], higher_is_better=M.METRICS[m].higher_is_better)
                      for m in self.metrics if M.METRICS[m].kind != "cost" or m == "latency_s"}
        return out

    @property
    def primary_metric(self) -> str:
        for m in ("token_f1", "rouge_l", "semantic", "exact_match"):
            if m in self.metrics:
                return m
        return self.metrics[0]

    def leaderboard(self):
        import pandas as pd

        recs = []
        for v in self.variants:
            rec = {"variant": v}
            for m, (mean, lo, hi) in self.summary[v].items():
                rec[m] = mean
                if M.METRICS.get(m) and M.METRICS[m].kind != "cost":
                    rec[f"{m}_ci"] = (lo, hi)
            if v in self.paired:
                p = self.paired[v].get(self.primary_metric)
                if p:
                    rec["vs_baseline"] = f"{p.wins}/{p.ties}/{p.losses}"
                    rec["p_value"] = p.p_bootstrap
            recs.append(rec)
        return pd.DataFrame(recs).sort_values(self.primary_metric, ascending=False, kind="stable")

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame(self.rows)

    @property
    def best(self) -> str:
        return max(self.variants, key=lambda v: _nan_low(self.summary[v][self.primary_metric][0]))

    # ---- views -------------------------------------------------------------------------------
    def diff(self, a: str, b: str, *, metric: Optional[str] = None, n: int = 5) -> "Diff":
        """Examples where variants a and b disagree most on `metric`, outputs side by side."""
        for v in (a, b):
            if v not in self.variants:
                raise not_found("variant", v, self.variants)
        metric = metric or self.primary_metric
        A = {r["example"]: r for r in self.rows if r["variant"] == a}
        B = {r["example"]: r for r in self.rows if r["variant"] == b}
        pairs = [(A[k], B[k]) for k in A if k in B]
        pairs.sort(key=lambda p: -abs(_nan0(p[0].get(metric)) - _nan0(p[1].get(metric))))
        return Diff(a, b, metric, pairs[:n])

    def chart(self, metric: Optional[str] = None) -> "Chart":
        metric = metric or self.primary_metric
        bars = [(v, *self.summary[v][metric]) for v in self.variants]
        return Chart(metric, bars, self.baseline)

    def widget(self):
        """An interactive view: pick variants, sort examples, read answers side by side."""
        from ..display import widget

        return widget("comparison", self)

    def versus(self, other: "Comparison") -> "Versus":
        """Metric deltas of this comparison against an earlier one, for variants both contain."""
        rows = []
        for v in self.variants:
            if v in other.variants:
                for m in self.metrics:
                    if m in other.metrics:
                        new, old = self.summary[v][m][0], other.summary[v][m][0]
                        rows.append({"variant": v, "metric": m, "before": old, "after": new, "delta": new - old})
        return Versus(other.run_id, self.run_id, rows)

    # ---- persistence -------------------------------------------------------------------------
    def _save(self, run) -> None:
        import tempfile
        from pathlib import Path

        payload = {"rows": self.rows, "variants": self.variants, "metrics": self.metrics, "baseline": self.baseline,
                   "params": self.params, "duration_s": self.duration_s}
        with tempfile.TemporaryDirectory() as tmp:
            p = Path(tmp) / "comparison.json"
            p.write_text(json.dumps(jsonable(payload), ensure_ascii=False))
            run.log_artifact(p)
        run.record("best_variant", self.best)

    @classmethod
    def load(cls, run_id: str) -> "Comparison":
        from ..tracking.runs import get_run

        run = get_run(run_id)
        path = run.artifacts.get("comparison.json")
        if path is None or not path.exists():
            raise InputError(f"run {run.id} is not a comparison (no comparison.json artifact)")
        d = json.loads(path.read_text())
        for r in d["rows"]:
            for k, v in list(r.items()):
                if v is None and k in M.METRICS:
                    r[k] = math.nan
        return cls(d["rows"], d["variants"], d["metrics"], d["baseline"], d["params"], run.id, d["duration_s"])

    # ---- results protocol --------------------------------------------------------------------
    def to_dict(self) -> dict:
        return jsonable({
            "run_id": self.run_id, "eval_set": self.params.get("eval_set"), "n_examples": self.params.get("n_examples"),
            "baseline": self.baseline, "primary_metric": self.primary_metric, "best": self.best,
            "metrics": self.metrics,
            "leaderboard": [{"variant": v, **{m: {"mean": s[0], "ci": [s[1], s[2]]} for m, s in self.summary[v].items()}}
                            for v in self.variants],
            "paired": {v: {m: p.to_dict() for m, p in ms.items()} for v, ms in self.paired.items()},
        })

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {MIME: self.to_dict(), "text/html": self._repr_html_(), "text/plain": repr(self)}

    def __repr__(self) -> str:
        return (f"Comparison({len(self.variants)} variants x {self.params.get('n_examples')} examples, "
                f"best={self.best!r} by {self.primary_metric}, run={self.run_id!r})")

    def _table_rows(self, html: bool) -> List[dict]:
        out = []
        order = sorted(self.variants, key=lambda v: -_nan_low(self.summary[v][self.primary_metric][0]))
        for v in order:
            row = {"variant": v + (" (baseline)" if v == self.baseline else "")}
            for m in self.metrics:
                mean, lo, hi = self.summary[v][m]
                if m == "latency_s":
                    row["latency p50/p95"] = f"{fmt(self.summary[v]['latency_p50'][0])}/{fmt(self.summary[v]['latency_p95'][0])}"
                elif M.METRICS[m].kind == "cost":
                    row[m] = fmt(mean)
                else:
                    row[m] = "" if math.isnan(mean) else f"{mean:.3f} [{lo:.3f}, {hi:.3f}]"
            p = self.paired.get(v, {}).get(self.primary_metric)
            row["W/T/L vs base"] = f"{p.wins}/{p.ties}/{p.losses}" if p else ""
            row["p"] = f"{p.p_bootstrap:.3f}" if p else ""
            out.append(row)
        return out

    def _columns(self) -> List[str]:
        cols = ["variant"]
        for m in self.metrics:
            cols.append("latency p50/p95" if m == "latency_s" else m)
        return cols + ["W/T/L vs base", "p"]

    def __str__(self) -> str:
        head = (f"comparison {self.run_id}: {len(self.variants)} variants on {self.params.get('n_examples')} examples of "
                f"{self.params.get('eval_set')}; best by {self.primary_metric}: {self.best}\n"
                f"means with bootstrap 95% CIs; W/T/L and p (paired bootstrap) vs {self.baseline} on {self.primary_metric}\n")
        return head + text_table(self._table_rows(False), self._columns(), max_width=40)

    def _repr_html_(self) -> str:
        cap = (f"Comparison · {len(self.variants)} variants × {self.params.get('n_examples')} examples of "
               f"{self.params.get('eval_set')} · best by {self.primary_metric}: {self.best} · run {self.run_id}")
        return (html_table(self._table_rows(True), self._columns(), caption=cap) +
                "<div class='llmops-muted'>means with bootstrap 95% CIs; W/T/L and p (paired bootstrap) vs the baseline "
                f"on {esc(self.primary_metric)}</div>" + self.chart()._repr_svg_())


def _nan0(x) -> float:
    return 0.0 if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _nan_low(x) -> float:
    return -1e18 if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


@dataclass
class Diff:
    a: str
    b: str
    metric: str
    pairs: List[tuple]

    def to_dict(self) -> dict:
        return {"a": self.a, "b": self.b, "metric": self.metric,
                "examples": [{"question": x["question"], "reference": x["reference"], self.a: x["output"],
                              self.b: y["output"], f"{self.metric}_a": x.get(self.metric),
                              f"{self.metric}_b": y.get(self.metric)} for x, y in self.pairs]}

    def __str__(self) -> str:
        out = [f"where {self.a} and {self.b} disagree most on {self.metric}:"]
        for x, y in self.pairs:
            out += [f"\nQ: {x['question']}\n   reference: {x['reference']}",
                    f"   {self.a} ({fmt(x.get(self.metric))}): {x['output']}",
                    f"   {self.b} ({fmt(y.get(self.metric))}): {y['output']}"]
        return "\n".join(out)

    def _repr_html_(self) -> str:
        rows = [{"question": x["question"], "reference": x["reference"],
                 self.a: f"{x['output']}  ({fmt(x.get(self.metric))})", self.b: f"{y['output']}  ({fmt(y.get(self.metric))})"}
                for x, y in self.pairs]
        return html_table(rows, ["question", "reference", self.a, self.b],
                          caption=f"where {self.a} and {self.b} disagree most on {self.metric}")


@dataclass
class Chart:
    """Metric by variant with 95% CI bars, as inline SVG (no plotting library needed)."""

    metric: str
    bars: List[tuple]  # (variant, mean, lo, hi)
    baseline: str

    def _repr_svg_(self) -> str:
        w, row_h, left, right = 560, 26, 230, 60
        h = row_h * len(self.bars) + 34
        vals = [x for b in self.bars for x in b[1:] if not math.isnan(x)]
        top = max(vals + [1e-9]) * 1.05
        scale = (w - left - right) / top
        parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' font-family='sans-serif' font-size='12'>",
                 f"<text x='{left}' y='14' fill='#444'>{esc(self.metric)} (mean, 95% CI)</text>"]
        for i, (v, mean, lo, hi) in enumerate(self.bars):
            y = 22 + i * row_h
            color = "#8c959f" if v == self.baseline else "#0969da"
            parts.append(f"<text x='{left - 6}' y='{y + 15}' text-anchor='end'>{esc(v[:34])}</text>")
            if not math.isnan(mean):
                parts.append(f"<rect x='{left}' y='{y + 4}' width='{mean * scale:.1f}' height='{row_h - 10}' fill='{color}'/>")
                parts.append(f"<line x1='{left + lo * scale:.1f}' x2='{left + hi * scale:.1f}' y1='{y + row_h / 2:.1f}' "
                             f"y2='{y + row_h / 2:.1f}' stroke='#24292f' stroke-width='1.5'/>")
                parts.append(f"<text x='{left + hi * scale + 4:.1f}' y='{y + 15}' fill='#444'>{mean:.3f}</text>")
        parts.append("</svg>")
        return "".join(parts)

    def to_dict(self) -> dict:
        return {"metric": self.metric, "bars": [{"variant": v, "mean": m, "low": lo, "high": hi} for v, m, lo, hi in self.bars]}


@dataclass
class Versus:
    before: Optional[str]
    after: Optional[str]
    rows: List[dict] = field(default_factory=list)

    def to_pandas(self):
        import pandas as pd

        return pd.DataFrame(self.rows)

    def to_dict(self) -> dict:
        return {"before": self.before, "after": self.after, "rows": self.rows}

    def __str__(self) -> str:
        return f"run {self.after} vs {self.before}\n" + text_table(self.rows, ["variant", "metric", "before", "after", "delta"])

    def _repr_html_(self) -> str:
        return html_table(self.rows, ["variant", "metric", "before", "after", "delta"],
                          caption=f"run {self.after} vs {self.before}")
