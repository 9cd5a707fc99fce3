"""`Comparison`: the result of `compare` -- leaderboard (means with bootstrap 95% CIs), paired tests against
the baseline, per-example outputs -- and its views (`diff`, `chart`, `versus`, `widget`). Saved with its run
as comparison.json, so `Comparison.load(run_id)` brings it back."""
from __future__ import annotations

import json
import math
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np

from ..charts import Chart
from ..display import esc, finite, fmt, html_table, jsonable, text_table, widget
from ..errors import InputError, not_found
from ..tracking.runs import get_run
from . import metrics as M
from .grounding import Grounding, grounding
from .stats import bootstrap_ci, paired

MIME = "application/vnd.llmops.comparison+json"
HINT = ("per-example view: cmp.widget()  (keep the result: cmp = llmops_nb.compare(...) or "
        "%llmops compare ... -o cmp)")
MOSTLY_EMPTY = 0.5  # a variant with at least this share of empty answers is named in a warning


@dataclass(repr=False, eq=False)  # compared and hashed by identity, as before it was a dataclass
class Comparison:
    """Leaderboard (means with bootstrap 95% CIs), paired tests vs the baseline, per-example outputs."""

    rows: List[dict]
    variants: List[str]
    metrics: List[str]
    baseline: str
    params: dict
    run_id: Optional[str]
    duration_s: float
    notes: List[str] = field(default_factory=list)  # how the comparison was measured: evidence source, gaps
    summary: Dict[str, Dict[str, tuple]] = field(init=False)
    paired: Dict[str, Dict[str, Any]] = field(init=False)
    _grounding: Optional[Grounding] = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
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
    def best(self) -> Optional[str]:
        """The variant with the highest mean on the primary metric; None when two or more share the top (a tie
        is never called best) or no variant has a score."""
        leaders, _ = self._leaders()
        return leaders[0] if len(leaders) == 1 else None

    def _leaders(self) -> tuple:
        """The variants sharing the top mean on the primary metric, and that mean (NaN when none has one)."""
        means = {v: self.summary[v][self.primary_metric][0] for v in self.variants}
        scored = {v: m for v, m in means.items() if not math.isnan(m)}
        if not scored:
            return [], math.nan
        top = max(scored.values())
        return [v for v, m in scored.items() if math.isclose(m, top, rel_tol=1e-9, abs_tol=1e-12)], top

    @property
    def warnings(self) -> List[str]:
        """What makes this comparison less than it looks: variants whose answers are (mostly) empty, ties."""
        out = []
        for v in self.variants:
            outputs = [r.get("output") for r in self.rows if r["variant"] == v]
            empty = sum(1 for o in outputs if not str(o or "").strip())
            if outputs and empty == len(outputs):
                out.append(f"variant {v}: every answer is empty ({empty} of {len(outputs)}), so its scores are 0; "
                           "check the model, the prompt template and max_new_tokens")
            elif outputs and empty / len(outputs) >= MOSTLY_EMPTY:
                out.append(f"variant {v}: {empty} of {len(outputs)} answers ({empty / len(outputs):.0%}) are empty")
        out += self._tie_warnings()
        return out

    def _tie_warnings(self) -> List[str]:
        m = self.primary_metric
        leaders, top = self._leaders()
        if len(self.variants) < 2:
            return []
        if not leaders:
            return [f"no variant has a {m} score; no variant is best"]
        if len(leaders) == len(self.variants):
            return [f"all {len(self.variants)} variants tie on {m} ({top:.3f}); no variant is best"]
        if len(leaders) > 1:
            return [f"{', '.join(leaders)} tie for the top {m} ({top:.3f}); no variant is best"]
        return []

    def examples(self, max_examples: Optional[int] = 200) -> List[dict]:
        """Per-example rows (example, variant, question, reference, output, metric values), example by example,
        every variant of the first `max_examples` examples (None: all)."""
        order = list(dict.fromkeys(r["example"] for r in self.rows))
        keep = set(order if max_examples is None else order[:max_examples])
        rank = {e: i for i, e in enumerate(order)}
        vrank = {v: i for i, v in enumerate(self.variants)}
        rows = sorted((r for r in self.rows if r["example"] in keep),
                      key=lambda r: (rank[r["example"]], vrank.get(r["variant"], len(vrank))))
        return [{"example": r["example"], "variant": r["variant"], "question": r.get("question"),
                 "reference": r.get("reference"), "output": r.get("output"),
                 **{m: r.get(m) for m in self.metrics}} for r in rows]

    def _best_text(self) -> str:
        best = self.best
        return f"best by {self.primary_metric}: {best}" if best else f"no best variant by {self.primary_metric} (tie)"

    # ---- views -------------------------------------------------------------------------------
    def grounding(self) -> Grounding:
        """Hallucination of every variant with paired tests (RAG vs the baseline, vs the same model without
        retrieval and vs each fine-tune), and per RAG variant: the gap on the primary metric split into retrieval
        misses and hits, citations of [n] and abstentions."""
        if self._grounding is None:  # bootstrap tests: computed once, then shared by the text, HTML and JSON views
            self._grounding = grounding(self.rows, self.variants, self.params.get("variants") or self.variants,
                                        self.baseline, self.primary_metric)
        return self._grounding

    @property
    def _grounded(self) -> bool:
        return bool({"hallucination", "context_hit"} & set(self.metrics))

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
    def save(self, run) -> None:
        """Attach the comparison to its run (comparison.json) and record the best variant."""
        payload = {"rows": self.rows, "variants": self.variants, "metrics": self.metrics, "baseline": self.baseline,
                   "params": self.params, "duration_s": self.duration_s, "notes": self.notes}
        with tempfile.TemporaryDirectory() as tmp:
            p = Path(tmp) / "comparison.json"
            p.write_text(json.dumps(jsonable(payload), ensure_ascii=False))
            run.log_artifact(p)
        run.record("best_variant", self.best)  # None on a tie
        if self.warnings:
            run.record("warnings", self.warnings)

    @classmethod
    def load(cls, run_id: str) -> "Comparison":
        run = get_run(run_id)
        path = run.artifacts.get("comparison.json")
        if path is None or not path.exists():
            raise InputError(f"run {run.id} is not a comparison (no comparison.json artifact)")
        d = json.loads(path.read_text())
        for r in d["rows"]:
            for k, v in list(r.items()):
                if v is None and k in M.METRICS:
                    r[k] = math.nan
        return cls(d["rows"], d["variants"], d["metrics"], d["baseline"], d["params"], run.id, d["duration_s"],
                   notes=list(d.get("notes") or []))

    # ---- results protocol --------------------------------------------------------------------
    def to_dict(self, max_examples: Optional[int] = 200) -> dict:
        """The contract's Comparison shape: leaderboard, paired tests, `best` (None on a tie), `warnings`,
        per-example rows (`max_examples` examples with every variant; None: all) and the widget `hint`."""
        n_examples = len(dict.fromkeys(r["example"] for r in self.rows))
        return finite({
            "version": 1, "run_id": self.run_id, "eval_set": self.params.get("eval_set"),
            "n_examples": self.params.get("n_examples"), "variants": self.variants,
            "baseline": self.baseline, "primary_metric": self.primary_metric, "best": self.best,
            "metrics": self.metrics, "warnings": self.warnings, "notes": self.notes,
            "leaderboard": [{"variant": v, **{m: {"mean": s[0], "ci": [s[1], s[2]]} for m, s in self.summary[v].items()}}
                            for v in self.variants],
            "paired": {v: {m: p.to_dict() for m, p in ms.items()} for v, ms in self.paired.items()},
            "examples": self.examples(max_examples), "examples_total": n_examples, "hint": HINT,
            **({"grounding": self.grounding().to_dict()} if self._grounded else {}),
        })

    def _repr_mimebundle_(self, include=None, exclude=None):
        return {MIME: self.to_dict(), "text/html": self._repr_html_(), "text/plain": str(self)}

    def __repr__(self) -> str:
        best = f"best={self.best!r}" if self.best else "no best (tie)"
        return (f"Comparison({len(self.variants)} variants x {self.params.get('n_examples')} examples, "
                f"{best} by {self.primary_metric}, run={self.run_id!r})")

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
                f"{self.params.get('eval_set')}; {self._best_text()}\n")
        warns = "".join(f"warning: {w}\n" for w in self.warnings)
        notes = (f"means with bootstrap 95% CIs; W/T/L and p (paired bootstrap) vs {self.baseline} on "
                 f"{self.primary_metric}\n") + "".join(f"note: {n}\n" for n in self.notes)
        found = "".join(f"- {f}\n" for f in self.grounding().findings) if self._grounded else ""
        return (head + warns + notes + text_table(self._table_rows(False), self._columns(), max_width=40) + "\n" +
                (f"grounding (cmp.grounding() for the tables):\n{found}" if found else "") + HINT)

    def _repr_html_(self) -> str:
        cap = (f"Comparison · {len(self.variants)} variants × {self.params.get('n_examples')} examples of "
               f"{self.params.get('eval_set')} · {self._best_text()} · run {self.run_id}")
        warns = "".join(f"<div class='llmops-warn'>⚠ {esc(w)}</div>" for w in self.warnings)
        numeric = {c: "number" for c in self._columns() if c != "variant"}  # "0.412 [0.371, 0.455]": right, tabular
        return (html_table(self._table_rows(True), self._columns(), caption=cap, types=numeric) + warns +
                "<div class='llmops-muted'>means with bootstrap 95% CIs; W/T/L and p (paired bootstrap) vs the baseline "
                f"on {esc(self.primary_metric)}</div>" +
                "".join(f"<div class='llmops-muted llmops-note'>{esc(n)}</div>" for n in self.notes) + self.chart().svg(standalone=False) +
                (self.grounding()._repr_html_() if self._grounded else "") +
                f"<div class='llmops-hint'>{esc(HINT)}</div>")


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

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"text/html": self._repr_html_(), "text/plain": str(self)}

    def _repr_html_(self) -> str:
        rows = [{"question": x["question"], "reference": x["reference"],
                 self.a: f"{x['output']}  ({fmt(x.get(self.metric))})", self.b: f"{y['output']}  ({fmt(y.get(self.metric))})"}
                for x, y in self.pairs]
        return html_table(rows, ["question", "reference", self.a, self.b],
                          caption=f"where {self.a} and {self.b} disagree most on {self.metric}")


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

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"text/html": self._repr_html_(), "text/plain": str(self)}

    def _repr_html_(self) -> str:
        return html_table(self.rows, ["variant", "metric", "before", "after", "delta"],
                          caption=f"run {self.after} vs {self.before}")
