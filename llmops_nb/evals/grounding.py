"""`Comparison.grounding()`: does retrieval cut unsupported sentences, and where does a RAG gap come from?

For every variant, the hallucination rate (share of answer sentences the gold evidence does not support) with a
paired test against the baseline; for every RAG variant also against the same model without retrieval (its
"twin": zero-shot for rag:, the fine-tune for ft:X+rag:) and against each fine-tune. For every RAG variant,
the twin gap on the primary metric split exactly into the part from questions whose gold source was not
retrieved and the part from questions where it was (so a bad RAG score can be traced to retrieval or to
generation), how often answers cite [n] and whether the cited passage is the gold source, and how often the model
abstains when the source was missed versus found.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..display import esc, finite, html_table, text_table
from .citations import abstains, cited_ids
from .stats import bootstrap_ci, paired
from .variants import Variant, parse_variant

ALPHA = 0.05  # a paired test with p below this is called significant in the findings


@dataclass
class HallucinationTest:
    """Hallucination of `variant` minus that of `against` on the same examples (negative: fewer unsupported)."""

    variant: str
    against: str
    role: str  # "baseline" | "without retrieval" | "fine-tune"
    diff: float
    ci: Tuple[float, float]
    p: float
    n: int

    @property
    def verdict(self) -> str:
        if self.n == 0 or math.isnan(self.diff):
            return "no paired examples"
        if self.p >= ALPHA:
            return "no significant difference"
        return "significantly fewer unsupported sentences" if self.diff < 0 else "significantly more unsupported sentences"


@dataclass
class RagBreakdown:
    """One RAG variant: retrieval hits and misses, the twin gap split between them, citations, abstentions."""

    variant: str
    twin: Optional[str]
    metric: str
    n: int = 0  # examples with a gold source known to the index
    hits: int = 0
    gap: float = math.nan  # mean (RAG - twin) on `metric` over the n examples
    from_misses: float = math.nan  # the misses' share of that mean: sum over misses / n
    from_hits: float = math.nan
    on_hits: Tuple[float, float] = (math.nan, math.nan)  # (RAG, twin) means on hit examples
    on_misses: Tuple[float, float] = (math.nan, math.nan)
    hallucination_hits: float = math.nan
    hallucination_misses: float = math.nan
    answers: int = 0  # non-empty answers
    citing: int = 0  # answers citing at least one passage that exists
    bad_citations: int = 0  # cited numbers naming no passage
    citing_on_hits: int = 0
    citing_gold: int = 0  # of citing_on_hits: a cited passage is the gold source
    abstain_hits: int = 0
    abstain_misses: int = 0

    @property
    def misses(self) -> int:
        return self.n - self.hits

    def to_dict(self) -> dict:
        return {**asdict(self), "misses": self.misses}


@dataclass
class Grounding:
    """The grounding view of a comparison (see the module docstring); `findings` say it in sentences."""

    baseline: str
    metric: str
    hallucination: Dict[str, Tuple[float, float, float]]
    tests: List[HallucinationTest] = field(default_factory=list)
    rag: List[RagBreakdown] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)

    @property
    def findings(self) -> List[str]:
        out = [_test_sentence(t, self.hallucination) for t in self.tests if t.role != "baseline" or self._is_rag(t.variant)]
        out += [s for r in self.rag for s in _rag_sentences(r)]
        return out

    def _is_rag(self, variant: str) -> bool:
        return any(r.variant == variant for r in self.rag)

    def to_dict(self) -> dict:
        return finite({"baseline": self.baseline, "metric": self.metric, "alpha": ALPHA,
                       "hallucination": {v: {"mean": m, "ci": [lo, hi]} for v, (m, lo, hi) in self.hallucination.items()},
                       "tests": [{**asdict(t), "verdict": t.verdict} for t in self.tests],
                       "rag": [r.to_dict() for r in self.rag], "findings": self.findings, "notes": self.notes})

    # ---- views ---------------------------------------------------------------------------------
    def _test_rows(self) -> List[dict]:
        rows = []
        for v, (m, lo, hi) in self.hallucination.items():
            mine = [t for t in self.tests if t.variant == v] or [None]
            for i, t in enumerate(mine):
                rows.append({"variant": v if i == 0 else "", "hallucination": "" if i else _ci(m, lo, hi),
                             "vs": f"{t.against} ({t.role})" if t else "", "diff": _signed(t.diff) if t else "",
                             "p": _p(t.p)[4:] if t else ""})
        return rows

    def _rag_rows(self) -> List[dict]:
        return [{"variant": r.variant, "source retrieved": f"{r.hits}/{r.n}" if r.n else "",
                 f"{r.metric} gap vs twin": _signed(r.gap), "from misses": _signed(r.from_misses),
                 "from hits": _signed(r.from_hits),
                 "halluc. hits/misses": f"{_dash(r.hallucination_hits)}/{_dash(r.hallucination_misses)}",
                 "cites [n]": f"{r.citing}/{r.answers}", "cites gold": f"{r.citing_gold}/{r.citing_on_hits}",
                 "abstains hits/misses": f"{r.abstain_hits}/{r.hits} · {r.abstain_misses}/{r.misses}"} for r in self.rag]

    _RAG_COLS = ["variant", "source retrieved", "gap vs twin", "from misses", "from hits", "halluc. hits/misses",
                 "cites [n]", "cites gold", "abstains hits/misses"]

    def _rag_cols(self) -> List[str]:
        return [f"{self.metric} gap vs twin" if c == "gap vs twin" else c for c in self._RAG_COLS]

    def __str__(self) -> str:
        out = [f"grounding: hallucination = share of answer sentences the gold source does not support (lower is "
               f"better); paired bootstrap p, significant below {ALPHA}",
               text_table(self._test_rows(), ["variant", "hallucination", "vs", "diff", "p"], max_width=48)]
        if self.rag:
            out += ["retrieval: twin = the same model without retrieval; the gap splits exactly into misses + hits",
                    text_table(self._rag_rows(), self._rag_cols(), max_width=40)]
        out += [f"- {s}" for s in self.findings] + [f"note: {n}" for n in self.notes]
        return "\n".join(out)

    def __repr__(self) -> str:
        return f"Grounding({len(self.hallucination)} variants, {len(self.rag)} with retrieval, baseline={self.baseline!r})"

    def _repr_html_(self) -> str:
        html = html_table(self._test_rows(), ["variant", "hallucination", "vs", "diff", "p"],
                          caption="Hallucination: share of answer sentences the gold source does not support (lower is "
                                  f"better); paired bootstrap p, significant below {ALPHA}",
                          types={"hallucination": "number", "diff": "number", "p": "number"})
        if self.rag:
            html += html_table(self._rag_rows(), self._rag_cols(),
                               caption="Retrieval: twin = the same model without retrieval; the gap splits exactly into "
                                       "questions whose source was missed + those where it was found",
                               types={c: "number" for c in self._rag_cols()[1:]})
        html += "<ul class='llmops-findings'>" + "".join(f"<li>{esc(s)}</li>" for s in self.findings) + "</ul>"
        return html + "".join(f"<div class='llmops-muted llmops-note'>{esc(n)}</div>" for n in self.notes)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {"text/html": self._repr_html_(), "text/plain": str(self)}


# ---- building ------------------------------------------------------------------------------------
def _ci(m: float, lo: float, hi: float) -> str:
    return "" if math.isnan(m) else f"{m:.3f} [{lo:.3f}, {hi:.3f}]"


def _dash(x: float) -> str:
    return "–" if x is None or math.isnan(x) else f"{x:.2f}"


def _p(p: float) -> str:
    return "p = –" if math.isnan(p) else "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _signed(x: float) -> str:
    return "" if x is None or math.isnan(x) else f"{x:+.3f}"


def _num(x) -> float:
    return math.nan if x is None else float(x)


def _variants(specs: Sequence[str], labels: Sequence[str]) -> Dict[str, Variant]:
    out = {}
    for spec, label in zip(specs, labels):
        try:
            out[label] = parse_variant(spec)
        except Exception:  # a comparison saved by an older version with a spec this one no longer reads
            continue
    return out


def twin_of(v: Variant, parsed: Dict[str, Variant]) -> Optional[str]:
    """The label of the same model (on the same engine) asked the same way without retrieval (zero-shot for rag:),
    if compared."""
    want = ("zero-shot", v.model, 0, None) if v.kind == "rag" else (v.kind, v.model, v.shots, v.prompt)
    for label, u in parsed.items():
        if not u.uses_retrieval and (u.kind, u.model, u.shots, u.prompt) == want and u.engine == v.engine:
            return label
    return None


def grounding(rows: Sequence[dict], labels: Sequence[str], specs: Sequence[str], baseline: str,
              metric: str) -> Grounding:
    """The grounding view of a comparison's per-example rows (see the module docstring)."""
    by_variant = {v: [r for r in rows if r["variant"] == v] for v in labels}
    halluc = {v: bootstrap_ci([_num(r.get("hallucination")) for r in by_variant[v]]) for v in labels}
    parsed = _variants(specs, labels)
    g = Grounding(baseline, metric, halluc)
    for v in labels:
        u = parsed.get(v)
        against = [] if v == baseline else [(baseline, "baseline")]
        if u is not None and u.uses_retrieval:
            twin = twin_of(u, parsed)
            if twin and twin != baseline:
                against.append((twin, "without retrieval"))
            against += [(f, "fine-tune") for f, w in parsed.items()
                        if w.kind == "ft" and not w.uses_retrieval and f not in (baseline, twin)]
            g.rag.append(_breakdown(v, twin, by_variant, metric))
        g.tests += [_test(v, a, role, by_variant) for a, role in against]
    if all(math.isnan(m) for m, _, _ in halluc.values()):
        g.notes.append("no variant has a hallucination score (the comparison's notes say why: no gold evidence, or "
                       "only empty answers)")
    return g


def _test(v: str, against: str, role: str, by_variant: Dict[str, List[dict]]) -> HallucinationTest:
    a = [_num(r.get("hallucination")) for r in by_variant[v]]
    b = [_num(r.get("hallucination")) for r in by_variant[against]]
    n = int(np.sum(~(np.isnan(a) | np.isnan(b)))) if a and len(a) == len(b) else 0
    if n == 0:
        return HallucinationTest(v, against, role, math.nan, (math.nan, math.nan), math.nan, 0)
    p = paired(a, b, higher_is_better=True)  # raw difference: a - b, CI of it
    return HallucinationTest(v, against, role, p.mean_diff, (p.ci_low, p.ci_high), p.p_bootstrap, n)


def _breakdown(v: str, twin: Optional[str], by_variant: Dict[str, List[dict]], metric: str) -> RagBreakdown:
    mine = by_variant[v]
    r = RagBreakdown(v, twin, metric)
    hit = [_num(x.get("context_hit")) for x in mine]
    known = [i for i, h in enumerate(hit) if not math.isnan(h)]
    r.n, r.hits = len(known), sum(1 for i in known if hit[i] == 1.0)
    is_hit = {i: hit[i] == 1.0 for i in known}
    for i, x in enumerate(mine):
        out = str(x.get("output") or "").strip()
        ids, bad = cited_ids(out, [str(c) for c in (x.get("citations") or [])])
        r.answers += bool(out)
        r.citing += bool(ids)
        r.bad_citations += bad
        if is_hit.get(i):
            r.citing_on_hits += bool(ids)
            r.citing_gold += bool(ids) and str(x.get("gold")) in ids
        if i in is_hit and abstains(out):
            r.abstain_hits += is_hit[i]
            r.abstain_misses += not is_hit[i]
    hall = [_num(x.get("hallucination")) for x in mine]
    r.hallucination_hits = _mean([hall[i] for i in known if is_hit[i]])
    r.hallucination_misses = _mean([hall[i] for i in known if not is_hit[i]])
    if twin is not None and r.n:
        _split_gap(r, [_num(x.get(metric)) for x in mine], [_num(x.get(metric)) for x in by_variant[twin]], is_hit)
    return r


def _split_gap(r: RagBreakdown, rag: List[float], twin: List[float], is_hit: Dict[int, bool]) -> None:
    """gap = mean over examples of (RAG - twin) = from_misses + from_hits, each a sum over its part / n."""
    pairs = [(i, rag[i], twin[i]) for i in is_hit if i < len(twin) and not (math.isnan(rag[i]) or math.isnan(twin[i]))]
    if not pairs:
        return
    n = len(pairs)
    r.gap = sum(a - b for _, a, b in pairs) / n
    r.from_hits = sum(a - b for i, a, b in pairs if is_hit[i]) / n
    r.from_misses = sum(a - b for i, a, b in pairs if not is_hit[i]) / n
    r.on_hits = (_mean([a for i, a, _ in pairs if is_hit[i]]), _mean([b for i, _, b in pairs if is_hit[i]]))
    r.on_misses = (_mean([a for i, a, _ in pairs if not is_hit[i]]), _mean([b for i, _, b in pairs if not is_hit[i]]))


def _mean(x: List[float]) -> float:
    x = [v for v in x if not math.isnan(v)]
    return sum(x) / len(x) if x else math.nan


# ---- findings in words -----------------------------------------------------------------------------
def _test_sentence(t: HallucinationTest, halluc: Dict[str, tuple]) -> str:
    if t.n == 0:
        return f"{t.variant} vs {t.against}: no example has a hallucination score for both"
    a, b = halluc[t.variant][0], halluc[t.against][0]
    return (f"{t.variant} vs {t.against} ({t.role}): {a:.0%} vs {b:.0%} of answer sentences unsupported "
            f"(diff {t.diff:+.3f}, 95% CI [{t.ci[0]:+.3f}, {t.ci[1]:+.3f}], {_p(t.p)}, {t.n} questions): {t.verdict}")


def _rag_sentences(r: RagBreakdown) -> List[str]:
    out = []
    if r.n and r.twin and not math.isnan(r.gap):
        out.append(f"{r.variant}: the source was retrieved for {r.hits} of {r.n} questions ({r.hits / r.n:.0%}); its "
                   f"{r.metric} gap vs {r.twin} is {r.gap:+.3f}, of which {r.from_misses:+.3f} comes from the "
                   f"{r.misses} misses (retrieval) and {r.from_hits:+.3f} from the {r.hits} hits (generation with "
                   "the source in hand)")
    elif r.n:
        out.append(f"{r.variant}: the source was retrieved for {r.hits} of {r.n} questions ({r.hits / r.n:.0%}); no "
                   "variant without retrieval to split the gap against")
    if r.answers:
        gold = (f"; when the source was retrieved and the answer cites, the gold passage is cited in {r.citing_gold} "
                f"of {r.citing_on_hits}") if r.citing_on_hits else ""
        out.append(f"{r.variant}: {r.citing} of {r.answers} answers cite a passage as [n]{gold}; it abstains on "
                   f"{r.abstain_misses} of {r.misses} questions whose source was not retrieved and {r.abstain_hits} "
                   f"of {r.hits} where it was")
    return out


__all__ = ["ALPHA", "Grounding", "HallucinationTest", "RagBreakdown", "grounding", "twin_of"]
