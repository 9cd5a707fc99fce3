"""Retrieval evaluation: does the index find the record each question's answer is in?

`evaluate_retrieval(index, questions, gold_field="topic")` searches the index once per question and ranks the
*records* the hits come from (several chunks of one record count once, at the record's first appearance; more
chunks are searched when needed so k distinct records are ranked). The gold field names the record ids that
answer each question (pydoc-qa's `topic` names pydoc's topic records). The report gives hit@1/3/5/10, MRR@k and
nDCG@10 with seeded 95% bootstrap CIs, each question's rank and what was retrieved, the misses beside what came
first instead, and the search latency per query. Gold ids that name no record of the index are listed apart,
never counted as misses. The evaluation is a tracked run of kind "index-eval".
"""
from __future__ import annotations

import difflib
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from ..checks import whole_number
from ..data.datasets import Dataset, dataset
from ..data.loaders import read_jsonl_file
from ..data.tracked import describe_source, step_run
from ..display import STYLE, esc, finite, html_table, text_table
from ..errors import InputError
from ..progress import progress as progress_bar
from ..workspace import workspace
from .catalog import load_index
from .embeddings import EmbedStats, embed
from .params import filter_text

BUILTIN_QUESTIONS = "pydoc-qa"  # the eval set shipped in llmops_nb/data/eval
QUESTION_FIELDS = ("question", "query", "prompt", "input", "text")
CUTOFFS = (1, 3, 5, 10)
NDCG_AT = 10
MAX_K = 100
N_BOOT = 1000
SEED = 0
_INSTEAD = 3  # records shown in place of a missed gold record
_CLIP = 240  # characters of a retrieved chunk kept beside a miss


# ---- the questions --------------------------------------------------------------------------------------
def question_rows(source: Any) -> Tuple[List[dict], str]:
    """(rows, description) of an eval set: 'pydoc-qa', a dataset NAME[@vN], a Dataset, a .jsonl path, a DataFrame
    or a list of dicts."""
    if isinstance(source, (str, os.PathLike)):
        text = os.fspath(source)
        if text == BUILTIN_QUESTIONS:
            from ..data.eval import eval_set_path

            return read_jsonl_file(eval_set_path(), what="eval set"), text
        path = Path(text).expanduser()
        if path.suffix.lower() in (".jsonl", ".ndjson") or not isinstance(source, str):
            if not path.is_file():
                raise InputError(f"no such file: {path}; give a .jsonl path, a dataset name (NAME or NAME@vN) or "
                                 f"'{BUILTIN_QUESTIONS}'")
            return read_jsonl_file(path, what="eval set"), str(path)
        ds = dataset(text)
        return list(ds.records()), ds.ref
    if isinstance(source, Dataset):
        return list(source.records()), source.ref
    if hasattr(source, "to_dict") and hasattr(source, "columns"):
        return source.to_dict("records"), describe_source(source)
    if isinstance(source, (list, tuple)):
        for i, row in enumerate(source):
            if not isinstance(row, Mapping):
                raise InputError(f"question {i} is a {type(row).__name__}; give dicts with the question and its gold "
                                 "record id, e.g. {'question': 'How do I ...?', 'topic': 'try'}")
        return [dict(r) for r in source], describe_source(source)
    raise InputError(f"cannot use a {type(source).__name__} as questions; give '{BUILTIN_QUESTIONS}', a dataset name, "
                     "a .jsonl path, a DataFrame or a list of dicts")


def _fields(rows: Sequence[dict]) -> str:
    seen: Dict[str, None] = {}
    for r in rows[:1000]:
        seen.update(dict.fromkeys(map(str, r)))
    names = list(seen)
    return ", ".join(names[:20]) + (f" (+{len(names) - 20} more)" if len(names) > 20 else "") if names else "none"


def _question_field(rows: Sequence[dict], wanted: Optional[str], desc: str) -> str:
    if wanted is not None:
        if not any(wanted in r for r in rows):
            raise InputError(f"eval set {desc} has no '{wanted}' field (fields: {_fields(rows)}); pass the field that "
                             "holds the questions with question_field=NAME (--question-field NAME)")
        return wanted
    for name in QUESTION_FIELDS:
        if any(name in r for r in rows):
            return name
    raise InputError(f"eval set {desc} has no question field ({'/'.join(QUESTION_FIELDS)}; fields: {_fields(rows)}); "
                     "pass question_field=NAME (--question-field NAME)")


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def gold_ids(value: Any) -> List[str]:
    """The record ids a gold value names: one id, or a list of them (any one of which answers the question)."""
    items = list(value) if isinstance(value, (list, tuple, set, frozenset, np.ndarray)) else [value]
    out: List[str] = []
    for v in items:
        if _missing(v):
            continue
        if isinstance(v, float) and v.is_integer():
            v = int(v)  # a DataFrame turns integer ids with gaps into floats
        s = v if isinstance(v, str) else str(v)
        if s.strip() and s not in out:
            out.append(s)
    return out


@dataclass
class _Question:
    row: int
    id: Any
    text: str
    gold: List[str]


def _sort_questions(rows: Sequence[dict], qf: str, gf: str, known: set) -> Tuple[List[_Question], List[dict],
                                                                                  List[dict]]:
    """(questions to evaluate, skipped rows, rows whose gold ids name no record)."""
    questions: List[_Question] = []
    skipped: List[dict] = []
    unknown: List[dict] = []
    for i, r in enumerate(rows):
        q = r.get(qf)
        q = "" if _missing(q) else (q if isinstance(q, str) else str(q)).strip()
        gold = gold_ids(r.get(gf))
        if not q:
            skipped.append({"row": i, "id": r.get("id"), "reason": "empty question"})
            continue
        if not gold:
            skipped.append({"row": i, "id": r.get("id"), "reason": f"no gold id in '{gf}'"})
            continue
        bad = [g for g in gold if g not in known]
        if bad:
            unknown.append({"row": i, "id": r.get("id"), "question": q, "gold": bad,
                            "did_you_mean": [(difflib.get_close_matches(g, known, n=1, cutoff=0.6) or [None])[0]
                                             for g in bad],
                            "evaluated": len(bad) < len(gold)})
        good = [g for g in gold if g in known]
        if good:
            questions.append(_Question(i, r.get("id"), q, good))
    return questions, skipped, unknown


# ---- searching and scoring -----------------------------------------------------------------------------
def ranked_records(ix, vector: np.ndarray, k: int, where: Optional[str]) -> List[dict]:
    """The first k distinct records among the nearest chunks ({id, score, text} of each record's best chunk),
    searching more chunks until k records are found or the index (or filter) has no more."""
    size = len(ix)
    count = min(size, 4 * k)
    while True:
        res = ix.search(vector, k=max(count, 1), where=where)
        best: Dict[str, dict] = {}
        for hit in res:
            if hit.id not in best:
                best[hit.id] = {"id": hit.id, "score": hit.score, "text": hit.text}
        if len(best) >= k or count >= size or len(res) < count:
            return list(best.values())[:k]
        count = min(size, count * 4)


def question_scores(retrieved: Sequence[str], gold: Sequence[str], k: int) -> Tuple[Optional[int], Dict[str, float]]:
    """(rank of the first gold record or None, the per-question metrics) with binary relevance."""
    gold_set = set(gold)
    rank = next((i + 1 for i, rid in enumerate(retrieved[:k]) if rid in gold_set), None)
    scores = {f"hit@{c}": float(rank is not None and rank <= c) for c in cutoffs(k)}
    scores["mrr"] = 1.0 / rank if rank is not None else 0.0
    at = min(NDCG_AT, k)
    dcg = sum(1.0 / math.log2(i + 2) for i, rid in enumerate(retrieved[:at]) if rid in gold_set)
    ideal = sum(1.0 / math.log2(i + 2) for i in range(min(len(gold_set), at)))
    scores[f"ndcg@{at}"] = dcg / ideal
    return rank, scores


def cutoffs(k: int) -> List[int]:
    return [c for c in CUTOFFS if c <= k] + ([k] if k not in CUTOFFS else [])


def bootstrap(columns: Dict[str, List[float]], *, n_boot: int = N_BOOT, seed: int = SEED,
              level: float = 0.95) -> Dict[str, Dict[str, Any]]:
    """Mean and percentile-bootstrap CI of each column; every column is resampled with the same draws."""
    n = len(next(iter(columns.values())))
    idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    tail = (1 - level) / 2
    out = {}
    for name, values in columns.items():
        x = np.asarray(values, dtype=np.float64)
        lo, hi = np.quantile(x[idx].mean(axis=1), [tail, 1 - tail]) if n > 1 else (x[0], x[0])
        out[name] = {"value": float(x.mean()), "low": float(lo), "high": float(hi), "n": n}
    return out


def _latency(search_ms: List[float], embed_s: float, stats: EmbedStats, n: int) -> Dict[str, Any]:
    ms = np.asarray(search_ms)
    return {"search_ms_median": float(np.median(ms)), "search_ms_p95": float(np.percentile(ms, 95)),
            "search_ms_mean": float(ms.mean()), "embed_ms_per_question": embed_s * 1e3 / n,
            "embedded": int(stats.embedded), "from_cache": int(stats.cached)}


def _evaluate(ix, embedder, questions: List[_Question], k: int, where: Optional[str], progress: bool):
    """(per-question results, metric columns, latency) of the questions on the index."""
    t0, stats = time.perf_counter(), EmbedStats()
    vectors = embed([q.text for q in questions], embedder, progress=progress, stats=stats)
    embed_s = time.perf_counter() - t0
    results, columns, search_ms = [], {}, []
    bar = progress_bar(total=len(questions), desc=f"evaluating {ix.name}", unit="question", disable=not progress)
    try:
        for q, vec in zip(questions, vectors):
            t = time.perf_counter()
            found = ranked_records(ix, vec, k, where)
            search_ms.append((time.perf_counter() - t) * 1e3)
            ids = [f["id"] for f in found]
            rank, scores = question_scores(ids, q.gold, k)
            for name, v in scores.items():
                columns.setdefault(name, []).append(v)
            result = {"row": q.row, "id": q.id, "question": q.text, "gold": q.gold, "rank": rank, "retrieved": ids,
                      "scores": [round(f["score"], 6) for f in found], "search_ms": round(search_ms[-1], 3)}
            if rank != 1:
                above = found[:rank - 1] if rank else found
                result["instead"] = [{"id": f["id"], "score": round(f["score"], 6),
                                      "text": " ".join(f["text"].split())[:_CLIP]} for f in above[:_INSTEAD]]
            results.append(result)
            bar.update(1)
    finally:
        bar.close()
    return results, columns, _latency(search_ms, embed_s, stats, len(questions))


def _notes(skipped: List[dict], unknown: List[dict], ix_name: str, gf: str, k: int, where: Optional[str]) -> List[str]:
    notes = []
    reasons: Dict[str, List[int]] = {}
    for s in skipped:
        reasons.setdefault(s["reason"], []).append(s["row"])
    for reason, rows in reasons.items():
        shown = ", ".join(map(str, rows[:8])) + (", ..." if len(rows) > 8 else "")
        notes.append(f"{len(rows)} question{'s' if len(rows) != 1 else ''} skipped: {reason} (row{'s' if len(rows) != 1 else ''} "
                     f"{shown})")
    if unknown:
        ids = list(dict.fromkeys(g for u in unknown for g in u["gold"]))
        dropped = sum(not u["evaluated"] for u in unknown)
        notes.append(f"{len(ids)} gold id{'s' if len(ids) != 1 else ''} in '{gf}' name no record of index '{ix_name}' "
                     f"({', '.join(repr(g) for g in ids[:5])}{', ...' if len(ids) > 5 else ''}): {dropped} question"
                     f"{'s' if dropped != 1 else ''} left out of the metrics, not counted as misses; see .unknown_gold")
    if k < NDCG_AT:
        notes.append(f"k={k}: hit@k and nDCG are cut at {k}")
    if where:
        notes.append(f"only chunks where {where} were searched")
    return notes


def evaluate_retrieval(index: Any, questions: Any, *, gold_field: str = "topic", question_field: Optional[str] = None,
                       k: int = 10, where: Optional[str] = None, progress: bool = True) -> "RetrievalReport":
    """How well `index` (name or VectorIndex) finds the record that answers each question.

    `questions`: 'pydoc-qa', a dataset NAME[@vN], a Dataset, a .jsonl path, a DataFrame or a list of dicts, each
    with a question (`question_field`, default question/query/prompt/input/text) and the id(s) of the index record
    that answers it (`gold_field`, default "topic"; a list means any of them). k (1-100) records are ranked per
    question. Empty questions and rows without a gold id are skipped and stated; gold ids that name no record
    are listed in `.unknown_gold` and left out of the metrics. Tracked as a run of kind "index-eval".
    """
    k = whole_number("k", k, minimum=1, maximum=MAX_K)
    where = filter_text(where)
    if not isinstance(gold_field, str) or not gold_field.strip():
        raise InputError("gold_field names the field holding each question's gold record id, e.g. 'topic'")
    ix = load_index(index)
    rows, desc = question_rows(questions)
    if not rows:
        raise InputError(f"eval set {desc} has no questions")
    qf = _question_field(rows, question_field, desc)
    if not any(gold_ids(r.get(gold_field)) for r in rows):
        raise InputError(f"eval set {desc} has no gold ids in a '{gold_field}' field (fields: {_fields(rows)}); "
                         "retrieval metrics need each question's gold record id (the index record that answers it): "
                         "name that field with gold_field=NAME (--gold-field NAME), e.g. --gold-field topic")
    known = set(ix.record_ids())
    todo, skipped, unknown = _sort_questions(rows, qf, gold_field, known)
    if not todo:
        _refuse(ix, desc, gold_field, skipped, unknown, known)
    if not ix.model:
        raise InputError(f"index '{ix.name}' holds given vectors without a model, so questions cannot be embedded; "
                         "evaluate an index built with a model (build_index(..., model='all-minilm-l6-v2'))")
    embedder = ix.embedder
    if where:
        ix.search(todo[0].text, k=1, where=where)  # a bad filter fails before the run starts
    workspace().require_writable()
    params = {"index": ix.name, "questions": desc, "gold_field": gold_field, "question_field": qf, "k": k,
              "where": where, "model": ix.model, "chunk_tokens": ix.chunk_tokens, "dataset": ix.dataset_ref}
    with step_run("index-eval", ix.name, params) as run:
        results, columns, latency = _evaluate(ix, embedder, todo, k, where, progress)
        report = RetrievalReport(index=ix.name, source=desc, gold_field=gold_field, question_field=qf, k=k,
                                 metrics=bootstrap(columns), results=results, unknown_gold=unknown, skipped=skipped,
                                 notes=_notes(skipped, unknown, ix.name, gold_field, k, where), latency=latency,
                                 where=where, run_id=run.id)
        run.log_metrics({**report.values, "questions": report.n, "skipped": len(skipped),
                         "unknown_gold": len(unknown), **{x: latency[x] for x in ("search_ms_median", "search_ms_p95",
                                                                                  "embed_ms_per_question")}})
        run.record("retrieval", report.metrics)
        run.record("ranks", report.ranks)
        run.record("index", ix.name)
        run.set_tag("index", ix.name)
    return report


def _refuse(ix, desc: str, gf: str, skipped: List[dict], unknown: List[dict], known: set) -> None:
    if not known:
        raise InputError(f"index '{ix.name}' has no records; add some or rebuild it with {ix.rebuild_command()}")
    if unknown:
        ids = list(dict.fromkeys(g for u in unknown for g in u["gold"]))
        sample = ", ".join(repr(r) for r in sorted(known)[:5])
        raise InputError(f"none of the gold ids in {desc}'s '{gf}' field names a record of index '{ix.name}' (e.g. "
                         f"{', '.join(repr(g) for g in ids[:3])}; its record ids look like {sample}); pick the field "
                         "that holds record ids with --gold-field, or evaluate the index built from the questions' "
                         "source")
    raise InputError(f"eval set {desc} has no question to evaluate ({len(skipped)} skipped: empty questions or no "
                     f"gold id in '{gf}')")


# ---- the report ----------------------------------------------------------------------------------------
_METRIC_COLUMNS = ["metric", "value", "95% CI low", "95% CI high", "n"]



@dataclass(repr=False, eq=False, kw_only=True)
class RetrievalReport:
    """Retrieval quality of one index on one eval set. `.metrics` maps hit@1/3/5/10, mrr and ndcg@10 to
    {value, low, high, n} (95% bootstrap CI); `.ranks` is each question's gold rank (None: not in the top k);
    `.results` the per-question detail; `.misses` the questions whose gold record was not ranked first, with
    what came first instead; `.unknown_gold` the gold ids that name no record of the index."""

    index: str
    source: str
    gold_field: str
    question_field: str
    k: int
    metrics: Dict[str, Dict[str, Any]]
    results: List[Dict[str, Any]]
    unknown_gold: List[Dict[str, Any]] = field(default_factory=list)
    skipped: List[Dict[str, Any]] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    latency: Dict[str, Any] = field(default_factory=dict)
    where: Optional[str] = None
    run_id: Optional[str] = None

    @property
    def n(self) -> int:
        return len(self.results)

    @property
    def ranks(self) -> List[Optional[int]]:
        return [r["rank"] for r in self.results]

    @property
    def values(self) -> Dict[str, float]:
        return {name: m["value"] for name, m in self.metrics.items()}

    @property
    def misses(self) -> List[Dict[str, Any]]:
        """Questions whose gold record was not ranked first (rank None: not in the top k), each with `instead`:
        the records ranked above it."""
        return [r for r in self.results if r["rank"] != 1]

    def __getitem__(self, metric: str) -> float:
        return self.metrics[metric]["value"]

    def to_dict(self) -> dict:
        return finite({"version": 1, "index": self.index, "questions": self.source, "gold_field": self.gold_field,
                       "question_field": self.question_field, "k": self.k, "where": self.where, "n": self.n,
                       "metrics": self.metrics, "latency": self.latency, "notes": self.notes,
                       "unknown_gold": self.unknown_gold, "skipped": self.skipped, "results": self.results,
                       "misses": len(self.misses), "run_id": self.run_id})

    def to_pandas(self):
        import pandas as pd

        cols = ["row", "id", "question", "gold", "rank", "retrieved", "search_ms"]
        return pd.DataFrame([{c: r.get(c) for c in cols} for r in self.results], columns=cols)

    # ---- views ------------------------------------------------------------------------------------------
    def _label(self, name: str) -> str:
        return f"MRR@{self.k}" if name == "mrr" else name.replace("ndcg@", "nDCG@")

    def _metric_rows(self) -> List[dict]:
        return [{"metric": self._label(name), "value": round(m["value"], 4), "95% CI low": round(m["low"], 4),
                 "95% CI high": round(m["high"], 4), "n": m["n"]} for name, m in self.metrics.items()]

    def _header(self) -> str:
        where = f" where {self.where}" if self.where else ""
        return (f"retrieval eval of index {self.index}{where} on {self.source}: {self.n} question"
                f"{'s' if self.n != 1 else ''}, gold field '{self.gold_field}', k={self.k}")

    def _latency_line(self) -> str:
        lat = self.latency
        return (f"search {lat['search_ms_median']:.2f} ms per query (median; p95 {lat['search_ms_p95']:.2f} ms), "
                f"embedding {lat['embed_ms_per_question']:.1f} ms per question ({lat['embedded']} embedded, "
                f"{lat['from_cache']} from cache)")

    def _miss_summary(self) -> str:
        out = sum(r["rank"] is None for r in self.results)
        return f"{len(self.misses)} not ranked first, {out} not in the top {self.k}"

    def _miss_rows(self) -> List[dict]:
        return [{"row": r["row"], "question": r["question"], "gold": ", ".join(r["gold"]),
                 "rank": r["rank"] if r["rank"] is not None else f">{self.k}",
                 "retrieved instead": "\n".join(f"{i['id']} ({i['score']:.3f}): {i['text']}" for i in r["instead"])}
                for r in self.misses]

    def __str__(self) -> str:
        rows = [{**m, "95% CI": f"{m['95% CI low']:.3f}-{m['95% CI high']:.3f}", "value": f"{m['value']:.3f}"}
                for m in self._metric_rows()]
        lines = [self._header(), text_table(rows, ["metric", "value", "95% CI", "n"]), self._latency_line()]
        lines += [f"note: {n}" for n in self.notes]
        lines.append(f"misses: {self._miss_summary()}")
        for r in self.misses[:10]:
            rank = f"rank {r['rank']}" if r["rank"] is not None else f"not in top {self.k}"
            instead = ", ".join(i["id"] for i in r["instead"])
            lines.append(f"  [{rank}] {r['question'][:80]!r} gold {', '.join(r['gold'])}; first: {instead}")
        if len(self.misses) > 10:
            lines.append(f"  ... {len(self.misses) - 10} more (report.misses)")
        if self.run_id:
            lines.append(f"run {self.run_id}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        vals = ", ".join(f"{self._label(k)}={v:.3f}" for k, v in self.values.items())
        return f"RetrievalReport(index={self.index!r}, questions={self.source!r}, n={self.n}, {vals})"

    def _repr_html_(self) -> str:
        parts = [STYLE, f"<div class='llmops-cap'>{esc(self._header())}</div>",
                 html_table(self._metric_rows(), _METRIC_COLUMNS),
                 f"<div class='llmops-muted'>{esc(self._latency_line())}</div>"]
        parts += [f"<div class='llmops-warn'>{esc(n)}</div>" for n in self.notes]
        if self.misses:
            parts.append(html_table(self._miss_rows(), ["row", "question", "gold", "rank", "retrieved instead"],
                                    caption=f"misses: {self._miss_summary()}",
                                    types={"retrieved instead": "longtext", "rank": "text"}))
        if self.unknown_gold:
            rows = [{"row": u["row"], "question": u["question"], "unknown gold": ", ".join(u["gold"]),
                     "did you mean": ", ".join(d for d in u["did_you_mean"] if d)} for u in self.unknown_gold]
            parts.append(html_table(rows, ["row", "question", "unknown gold", "did you mean"],
                                    caption=f"gold ids that name no record of {self.index} (not in the metrics)"))
        return "".join(parts)

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        # HTML, not the Table payload: JupyterLab draws a Table payload in preference to HTML, and a Table holds one
        # table, so the misses beside what ranked first instead would be visible only outside JupyterLab
        return {"text/html": self._repr_html_(), "text/plain": str(self)}


__all__ = ["BUILTIN_QUESTIONS", "RetrievalReport", "bootstrap", "evaluate_retrieval", "gold_ids", "question_rows",
           "question_scores", "ranked_records"]
