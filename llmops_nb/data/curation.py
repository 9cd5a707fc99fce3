"""`curate`: run curation steps over a snapshot and store the result as a new snapshot, with every removal
kept in the workspace (reason, what it duplicates, the record itself) so any of them can be reverted.

Steps stream: records flow through a chain of generators into the snapshot writer; a step that reads its
input more than once (near/semantic dedup, select, sample) gets the snapshot itself when it comes first,
or a temporary spill file of the records before it. Exact dedup over a large snapshot holds only digests.
"""
from __future__ import annotations

import json
import os
import pickle
import re
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

from ..display import STYLE, esc, fmt, fmt_duration, jsonable, text_table
from ..errors import InputError, NotFoundError, did_you_mean, not_found
from .datasets import Dataset, check_name, create_snapshot, dataset
from .steps import FLAGS, Change, StepContext, StepSpec, get_step, steps as all_steps

DEFAULT_STEPS: Tuple[str, ...] = ("normalize", "exact_dedup", "near_dedup", "quality", "pii")
StepLike = Union[str, Tuple[str, Any], Callable[[dict], Any]]
_CHANGE_BATCH = 1000


def _ws():
    from ..workspace import workspace

    return workspace()


# ---- planning ------------------------------------------------------------------------------------
@dataclass
class PlannedStep:
    name: str
    spec: StepSpec
    params: Dict[str, Any]

    def describe(self) -> Dict[str, Any]:
        return {"step": self.name, "params": {k: (getattr(v, "__name__", "callable") if callable(v) else jsonable(v))
                                              for k, v in self.params.items()}}


def _value(text: str) -> Any:
    text = text.strip()
    if text in ("None", "none", "null"):
        return None
    try:
        return json.loads(text)
    except ValueError:
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        return text.strip("'\"")


_KV = re.compile(r"^\s*([A-Za-z_]\w*)\s*=(?!=)(.*)$", re.S)


def parse_step(text: str) -> Tuple[str, Dict[str, Any]]:
    """'near_dedup' / 'near_dedup:threshold=0.85,ngram=3' / 'pii:drop' / 'select:200' / 'filter:n_words > 20'."""
    name, _, rest = text.partition(":")
    name = name.strip()
    spec = get_step(name)
    if not rest.strip():
        return name, {}
    if spec.primary == "expr":
        m = _KV.match(rest)
        return name, {"expr": m.group(2).strip() if m and m.group(1) == "expr" else rest.strip()}
    parts = [p for p in rest.split(",") if p.strip()]
    matches = [_KV.match(p) for p in parts]
    if all(matches) and all(m.group(1) in spec.params for m in matches):
        return name, {m.group(1): _value(m.group(2)) for m in matches}
    if spec.primary is None or any(matches):
        bad = next((m.group(1) for m in matches if m and m.group(1) not in spec.params), rest)
        raise InputError(f"step '{name}' has no parameter '{bad}'{did_you_mean(bad, spec.params)}; "
                         f"write {name}:KEY=VALUE[,KEY=VALUE] with KEY in {', '.join(spec.params) or 'none'}")
    return name, {spec.primary: _value(rest)}


def _callable_spec(fn: Callable[[dict], Any]) -> StepSpec:
    """A per-record function as a step: True keeps, False drops, a str replaces the text, a dict the record."""
    label = getattr(fn, "__name__", "custom")
    if label == "<lambda>":
        label = "custom"

    def run(records: Iterable[dict], ctx: StepContext) -> Iterator[dict]:
        for rec in records:
            out = fn(rec)
            if out is True:
                yield rec
            elif out is False:
                ctx.remove(rec, label)
            elif isinstance(out, str):
                if out != rec["text"]:
                    ctx.edit(rec, label)
                yield {**rec, "text": out} if out != rec["text"] else rec
            elif isinstance(out, dict):
                new = {**out, "id": rec["id"]}
                if not isinstance(new.get("text"), str):
                    raise InputError(f"custom step {label} returned a dict without a 'text' string")
                if new != rec:
                    ctx.edit(rec, label)
                yield new
            else:
                raise InputError(f"custom step {label} returned {type(out).__name__}; return True/False (keep/drop), "
                                 "a str (new text) or a dict (new record)")

    run.__name__ = label
    return StepSpec(label, run, "custom")


def plan(steps: Optional[Sequence[StepLike]] = None, *, near_threshold: Optional[float] = None,
         pii: Optional[str] = None, select: Optional[int] = None) -> List[PlannedStep]:
    """Turn names, (name, params), 'name:params' strings and callables into steps with checked params."""
    items = list(DEFAULT_STEPS if steps is None else ([steps] if isinstance(steps, str) else steps))
    out: List[PlannedStep] = []
    for item in items:
        if callable(item) and not isinstance(item, str):
            spec = _callable_spec(item)
            out.append(PlannedStep(spec.name, spec, {}))
            continue
        if isinstance(item, str):
            name, params = parse_step(item)
        elif isinstance(item, (tuple, list)) and len(item) == 2 and isinstance(item[0], str):
            name, params = item[0], item[1]
            spec = get_step(name)
            if not isinstance(params, dict):
                if spec.primary is None:
                    raise InputError(f"step '{name}' takes a dict of parameters, got {params!r}")
                params = {spec.primary: params}
        else:
            raise InputError(f"a step is a name ('near_dedup'), a (name, params) pair or a function; got {item!r}")
        spec = get_step(name)
        out.append(PlannedStep(name, spec, spec.check(dict(params))))
    names = [p.name for p in out]
    if near_threshold is not None:
        if "near_dedup" not in names:
            raise InputError("near_threshold is set but near_dedup is not among the steps; add it to steps")
        for p in out:
            if p.name == "near_dedup":
                p.params["threshold"] = float(near_threshold)
    if pii is not None and pii is not False:
        pii = str(pii)
        if pii in ("off", "none", "no"):
            out = [p for p in out if p.name != "pii"]
        elif pii not in ("redact", "drop", "flag"):
            raise InputError(f"pii must be redact, drop, flag or off; got '{pii}'")
        elif "pii" in names:
            for p in out:
                if p.name == "pii":
                    p.params["mode"] = pii
        else:
            out.append(PlannedStep("pii", get_step("pii"), {"mode": pii}))
    elif pii is False:
        out = [p for p in out if p.name != "pii"]
    if select is not None:
        if "select" in names:
            for p in out:
                if p.name == "select":
                    p.params["n"] = int(select)
        else:
            out.append(PlannedStep("select", get_step("select"), {"n": int(select)}))
    if not out:
        raise InputError(f"no curation steps given; steps: {', '.join(all_steps())}")
    return out


# ---- plumbing ------------------------------------------------------------------------------------
class _Spill:
    """Records of a one-shot stream written once to a temp file, re-readable for multi-pass steps."""

    def __init__(self, upstream: Iterable[dict], folder):
        self.upstream = upstream
        self.path = folder / f".spill-{os.getpid()}-{time.time_ns()}.pkl"
        self.n: Optional[int] = None

    def _fill(self) -> None:
        n, buf = 0, []
        with open(self.path, "wb") as fh:
            for rec in self.upstream:
                buf.append(rec)
                if len(buf) >= 2048:
                    pickle.dump(buf, fh, protocol=pickle.HIGHEST_PROTOCOL)
                    n += len(buf)
                    buf = []
            if buf:
                pickle.dump(buf, fh, protocol=pickle.HIGHEST_PROTOCOL)
                n += len(buf)
        self.n = n

    def __len__(self) -> int:
        if self.n is None:
            self._fill()
        return self.n

    def __iter__(self) -> Iterator[dict]:
        if self.n is None:
            self._fill()
        with open(self.path, "rb") as fh:
            while True:
                try:
                    batch = pickle.load(fh)
                except EOFError:
                    return
                for rec in batch:
                    yield dict(rec)

    def close(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


class _Counted:
    """Counts what a step yields and the time spent inside it (and upstream)."""

    def __init__(self, it: Iterable[dict]):
        self.it = iter(it)
        self.n = 0
        self.seconds = 0.0

    def __iter__(self):
        return self

    def __next__(self) -> dict:
        t = time.perf_counter()
        try:
            rec = next(self.it)
        finally:
            self.seconds += time.perf_counter() - t
        self.n += 1
        return rec


class _ChangeWriter:
    """Buffers changes and writes them to curation_changes in batched transactions."""

    def __init__(self, db, curation_id: int):
        self.db, self.cid = db, curation_id
        self.buf: List[tuple] = []

    def add(self, ch: Change) -> None:
        rec = None if ch.record is None else json.dumps(ch.record, default=str, ensure_ascii=False)
        self.buf.append((self.cid, ch.record_id, ch.step, ch.action, ch.reason, ch.duplicate_of,
                         json.dumps(jsonable(ch.detail), default=str, ensure_ascii=False), rec))
        if len(self.buf) >= _CHANGE_BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.buf:
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            self.db.executemany("INSERT INTO curation_changes (curation_id, record_id, step, action, reason, duplicate_of,"
                                " detail, record) VALUES (?,?,?,?,?,?,?,?)", self.buf)
            self.db.execute("COMMIT")
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.buf = []


def _progress(records: Iterable[dict], total: int, desc: str, enabled: bool) -> Iterator[dict]:
    from tqdm.auto import tqdm

    from ..config import progress_disabled

    bar = tqdm(total=total, desc=desc, unit="rec", disable=not enabled or progress_disabled() or total < 5000)
    try:
        for rec in records:
            bar.update(1)
            yield rec
    finally:
        bar.close()


def _with_flags_column(records: Iterable[dict]) -> Iterator[dict]:
    for rec in records:
        rec.setdefault(FLAGS, None)
        yield rec


# ---- curate --------------------------------------------------------------------------------------
def curate(data: Union[str, Dataset], steps: Optional[Sequence[StepLike]] = None, *,
           near_threshold: Optional[float] = None, pii: Optional[str] = None, select: Optional[int] = None,
           split: Optional[float] = None, as_: Optional[str] = None, name: Optional[str] = None, seed: int = 0,
           progress: bool = True) -> "CurationResult":
    """Curate a snapshot into a new one (op "curate", parent = the input), named `as_`/`name` or, by default,
    the input's name (a new version; nothing is overwritten).

    `steps`: names, "name:params" strings, (name, params) pairs or per-record functions, run in order.
    Default: normalize, exact_dedup, near_dedup, quality, pii (redact). `near_threshold` sets near_dedup's
    Jaccard threshold; `pii` its mode (redact/drop/flag/off; added if absent); `select=N` appends a
    coverage selection of N records; `split=F` also writes NAME-train and NAME-eval snapshots with a
    seeded fraction F for eval. Every removal is stored with its reason and the record itself:
    `result.removed` shows them, `result.revert(ids)` restores them.
    """
    src = dataset(data)
    target = check_name(as_ or name or src.name)
    planned = plan(steps, near_threshold=near_threshold, pii=pii, select=select)
    if split is not None and not 0 < float(split) < 1:
        raise InputError(f"split is the eval fraction, between 0 and 1 (got {split})")
    described = [p.describe() for p in planned]
    ws = _ws()
    db = ws.db
    t0 = time.time()
    cid = db.execute("INSERT INTO curations (op, input_id, steps, status, created_at) VALUES ('curate', ?, ?, 'running', ?)",
                     (src.id, json.dumps(described), t0)).lastrowid
    writer = _ChangeWriter(db, cid)
    spills: List[_Spill] = []
    contexts: List[StepContext] = []
    counters: List[_Counted] = []
    try:
        current: Any = src
        for p in planned:
            ctx = StepContext(p.name, writer.add, progress=progress, seed=seed)
            inp = current
            if p.spec.multipass and not isinstance(inp, (Dataset, _Spill, list)):
                inp = _Spill(inp, ws.dir("datasets"))
                spills.append(inp)
            if inp is src:
                inp = src.raw() if p.spec.multipass else _progress(src.records(raw=True), len(src), f"curate {src.ref}", progress)
            counted = _Counted(p.spec.fn(inp, ctx, **p.params))
            contexts.append(ctx)
            counters.append(counted)
            current = counted
        if any(p.spec.can_flag and p.params.get("mode") == "flag" for p in planned) or FLAGS in src.columns:
            current = _with_flags_column(current)

        def final() -> Iterator[dict]:
            yield from current
            writer.flush()

        report = None
        try:
            out = create_snapshot(target, final(), parent=src, op="curate", source=src.ref,
                                  params={"steps": described, "seed": seed, "curation_id": cid})
        except InputError as exc:
            if not str(exc).startswith("no records to store"):
                raise
            report = _report(planned, contexts, counters, len(src))
            lost = ", ".join(f"{r['step']} -{r['in'] - r['out']}" for r in report if r["in"] != r["out"])
            raise InputError(f"curation removed all {len(src)} records of {src.ref} ({lost}); nothing was stored; "
                             "loosen the steps (e.g. a lower quality bar or a higher near_threshold)") from None
        report = _report(planned, contexts, counters, len(src))
        seconds = time.time() - t0
        db.execute("UPDATE curations SET output_id=?, status='done', report=?, seconds=? WHERE id=?",
                   (out.id, json.dumps(jsonable(report), default=str), seconds, cid))
    except BaseException:
        db.execute("DELETE FROM curation_changes WHERE curation_id=?", (cid,))
        db.execute("DELETE FROM curations WHERE id=?", (cid,))
        raise
    finally:
        for s in spills:
            s.close()
    from ..tracking.runs import active_run

    run = active_run()
    if run is not None:
        run.log_metric("curate.records_in", len(src))
        run.log_metric("curate.records_out", len(out))
    splits = split_dataset(out, eval_fraction=float(split), seed=seed) if split is not None else None
    return CurationResult(out, src, cid, report, seconds, splits=splits)


def _report(planned: List[PlannedStep], contexts: List[StepContext], counters: List[_Counted], n_in: int) -> List[dict]:
    rows, prev_n, prev_t = [], n_in, 0.0
    for p, ctx, cnt in zip(planned, contexts, counters):
        rows.append({"step": p.name, "params": p.describe()["params"], "in": prev_n, "out": cnt.n,
                     "removed": dict(ctx.removed), "edited": dict(ctx.edited), "flagged": dict(ctx.flagged),
                     "metrics": jsonable(ctx.metrics), "seconds": round(max(cnt.seconds - prev_t, 0.0), 3)})
        prev_n, prev_t = cnt.n, cnt.seconds
    return rows


# ---- split ---------------------------------------------------------------------------------------
@dataclass
class Split:
    """A seeded train/eval split: two snapshots, NAME-train and NAME-eval, both children of the source."""

    train: Dataset
    eval: Dataset
    source: Dataset
    seed: int

    def to_dict(self) -> dict:
        return {"source": self.source.ref, "train": self.train.ref, "eval": self.eval.ref,
                "train_records": len(self.train), "eval_records": len(self.eval), "seed": self.seed}

    def __str__(self) -> str:
        return (f"split {self.source.ref} (seed {self.seed}): {self.train.ref} {len(self.train)} records, "
                f"{self.eval.ref} {len(self.eval)} records")

    def __repr__(self) -> str:
        return f"Split(train={self.train.ref!r}, eval={self.eval.ref!r})"

    def _repr_html_(self) -> str:
        return f"{STYLE}<div class='llmops-cap'>{esc(str(self))}</div>"


def split_dataset(data: Union[str, Dataset], eval_fraction: Optional[float] = 0.1, *, eval_size: Optional[int] = None,
                  seed: int = 0, name: Optional[str] = None) -> Split:
    """Write NAME-train and NAME-eval (NAME = `name` or the dataset's name): a seeded permutation puts exactly
    round(n * eval_fraction) records (or `eval_size`) in eval; records keep their order within each side."""
    from .steps.subset import split_assignment

    src = dataset(data)
    base = check_name(name or src.name)
    mask = split_assignment(len(src), eval_fraction=eval_fraction, eval_size=eval_size, seed=seed)
    params = {"eval_fraction": eval_fraction, "eval_size": int(mask.sum()), "seed": seed}
    sides = {}
    for side, want in (("train", False), ("eval", True)):
        recs = (r for i, r in enumerate(src.records(raw=True)) if bool(mask[i]) == want)
        sides[side] = create_snapshot(f"{base}-{side}", recs, parent=src, op="split", source=src.ref,
                                      params={**params, "side": side})
    return Split(sides["train"], sides["eval"], src, seed)


# ---- reading changes back -------------------------------------------------------------------------
def _changes_frame(rows) -> "Any":
    import pandas as pd

    cols = ["record_id", "step", "action", "reason", "duplicate_of", "detail", "text", "record"]
    data = []
    for r in rows:
        rec = json.loads(r["record"]) if r["record"] else None
        data.append({"record_id": r["record_id"], "step": r["step"], "action": r["action"], "reason": r["reason"],
                     "duplicate_of": r["duplicate_of"], "detail": json.loads(r["detail"] or "{}"),
                     "text": rec.get("text") if rec else None, "record": rec})
    return pd.DataFrame(data, columns=cols)


def _texts_by_id(ds: Dataset, wanted: set) -> Dict[str, str]:
    found: Dict[str, str] = {}
    if not wanted:
        return found
    for batch in ds.iter_batches(["id", "text"]):
        for rid, text in zip(batch.column(0).to_pylist(), batch.column(1).to_pylist()):
            if rid in wanted:
                found[rid] = text
        if len(found) == len(wanted):
            break
    return found


class CurationResult:
    """A curation: `.dataset` (the new snapshot), `.input`, `.report` (per step: in/out, removed by reason,
    edits, flags, metrics, seconds), `.removed` (a DataFrame of removed records beside what they duplicate),
    `.revert(ids)`, and `.splits` when a train/eval split was asked for."""

    def __init__(self, dataset: Dataset, input: Dataset, curation_id: int, report: List[dict], seconds: float,
                 splits: Optional[Split] = None):
        self.dataset = dataset
        self.input = input
        self.curation_id = curation_id
        self.report = report
        self.seconds = seconds
        self.splits = splits
        self._removed = None

    @classmethod
    def load(cls, data: Union[str, Dataset]) -> "CurationResult":
        """The curation that produced a snapshot."""
        ds = dataset(data)
        row = _ws().db.execute("SELECT * FROM curations WHERE output_id=? AND op='curate' ORDER BY id DESC LIMIT 1",
                               (ds.id,)).fetchone()
        if row is None:
            raise NotFoundError(f"{ds.ref} was not made by curate (op '{ds.op}'); curate it first")
        parent = ds.parent
        return cls(ds, parent, row["id"], json.loads(row["report"]), row["seconds"] or 0.0)

    # ---- data ---------------------------------------------------------------------------------
    def changes(self, action: Optional[str] = None, *, step: Optional[str] = None, reason: Optional[str] = None):
        """Every change this curation made (DataFrame), optionally one action/step/reason."""
        sql, args = "SELECT * FROM curation_changes WHERE curation_id=?", [self.curation_id]
        for col, val in (("action", action), ("step", step), ("reason", reason)):
            if val is not None:
                sql += f" AND {col}=?"
                args.append(val)
        return _changes_frame(_ws().db.execute(sql + " ORDER BY id", args))

    def _removed_rows(self) -> List[dict]:
        if self._removed is None:
            rows = self.changes("removed").to_dict("records")
            wanted = {r["duplicate_of"] for r in rows if isinstance(r["duplicate_of"], str)}
            texts = _texts_by_id(self.dataset, wanted)
            for r in rows:  # a kept record changed or removed by a later step: use what was stored
                if r["record_id"] in wanted and r["record_id"] not in texts:
                    texts[r["record_id"]] = r["text"]
            for r in rows:
                d = r["duplicate_of"] if isinstance(r["duplicate_of"], str) else None
                r["duplicate_of"] = d
                r["duplicate_text"] = texts.get(d) if d else None
            self._removed = rows
        return self._removed

    @property
    def removed(self):
        """Removed records (DataFrame): record_id, step, reason, text, duplicate_of, duplicate_text, detail, record."""
        import pandas as pd

        cols = ["record_id", "step", "reason", "text", "duplicate_of", "duplicate_text", "detail", "record"]
        return pd.DataFrame(self._removed_rows(), columns=cols)

    @property
    def removed_count(self) -> int:
        return sum(sum(r["removed"].values()) for r in self.report)

    def examples(self, per_reason: int = 2) -> List[dict]:
        out, seen = [], {}
        for r in self._removed_rows():
            key = (r["step"], r["reason"])
            if seen.get(key, 0) >= per_reason:
                continue
            seen[key] = seen.get(key, 0) + 1
            out.append({k: r[k] for k in ("record_id", "step", "reason", "text", "duplicate_of", "duplicate_text", "detail")})
        return out

    def revert(self, record_ids: Union[str, Sequence[str]], *, name: Optional[str] = None) -> Dataset:
        return revert(self.dataset, record_ids, name=name)

    # ---- results protocol -----------------------------------------------------------------------
    def stages(self) -> List[Tuple[str, int]]:
        return [("input", len(self.input))] + [(r["step"], r["out"]) for r in self.report]

    def to_dict(self) -> dict:
        d = {"dataset": self.dataset.ref, "input": self.input.ref, "records_in": len(self.input),
             "records_out": len(self.dataset), "removed": self.removed_count, "seconds": round(self.seconds, 3),
             "curation_id": self.curation_id, "steps": self.report,
             "examples": [{k: (v[:500] + "…" if isinstance(v, str) and len(v) > 500 else v) for k, v in e.items()}
                          for e in self.examples()]}
        if self.splits is not None:
            d["splits"] = self.splits.to_dict()
        return d

    def __repr__(self) -> str:
        return f"CurationResult({self.input.ref!r} -> {self.dataset.ref!r}, {len(self.input)} -> {len(self.dataset)} records)"

    def _step_rows(self) -> List[dict]:
        rows = []
        for r in self.report:
            notes = [f"{k}={fmt(v)}" for k, v in r["metrics"].items() if k in ("coverage", "random_coverage", "clusters",
                                                                             "candidate_pairs", "found")]
            rows.append({"step": r["step"], "in": r["in"], "out": r["out"], "removed": r["in"] - r["out"],
                         "reasons": ", ".join(f"{k} {v}" for k, v in r["removed"].items()),
                         "edited": ", ".join(f"{k} {v}" for k, v in r["edited"].items()),
                         "flagged": ", ".join(f"{k} {v}" for k, v in r["flagged"].items()),
                         "notes": "; ".join(notes), "seconds": r["seconds"]})
        return rows

    def __str__(self) -> str:
        head = (f"curated {self.input.ref} -> {self.dataset.ref}: {len(self.input)} -> {len(self.dataset)} records "
                f"({self.removed_count} removed) in {fmt_duration(self.seconds)}")
        cols = ["step", "in", "out", "removed", "reasons", "edited", "flagged", "notes"]
        lines = [head, "", text_table(self._step_rows(), cols, max_width=40)]
        ex = self.examples()
        if ex:
            lines += ["", "examples of removed records:"]
            for e in ex:
                t = (e["text"] or "").replace("\n", " ")[:70]
                line = f"  [{e['step']}: {e['reason']}] {e['record_id']}: {t}"
                if e["duplicate_of"]:
                    d = (e["duplicate_text"] or "").replace("\n", " ")[:70]
                    line += f"\n      ~ kept {e['duplicate_of']}: {d}"
                lines.append(line)
        if self.splits is not None:
            lines += ["", str(self.splits)]
        lines += ["", f"every removal is stored: .removed lists them, .revert(ids) restores them"]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        from .diff import diff_html, word_diff

        head = (f"<div class='llmops-cap'>Curated {esc(self.input.ref)} → {esc(self.dataset.ref)}: "
                f"{len(self.input)} → {len(self.dataset)} records ({self.removed_count} removed) · "
                f"{esc(fmt_duration(self.seconds))}</div>")
        cols = ["step", "in", "out", "removed", "reasons", "edited", "flagged", "notes"]
        body = "".join("<tr>" + "".join(f"<td>{esc(r[c])}</td>" for c in cols) + "</tr>" for r in self._step_rows())
        table = (f"<table class='llmops-t'><thead><tr>{''.join(f'<th>{esc(c)}</th>' for c in cols)}</tr></thead>"
                 f"<tbody>{body}</tbody></table>")
        ex_rows = []
        for e in self.examples():
            if e["duplicate_text"]:
                a, b = word_diff(e["duplicate_text"], e["text"] or "")
                kept, removed = diff_html(a, limit=300), diff_html(b, limit=300)
            else:
                kept = ""
                removed = esc((e["text"] or "")[:300])
            cell = "style='white-space:pre-wrap;max-width:440px;font-size:11px'"
            ex_rows.append(f"<tr><td>{esc(e['step'])}<br><span class='llmops-muted'>{esc(e['reason'])}</span></td>"
                           f"<td {cell}><b>{esc(e['record_id'])}</b><br>{removed}</td>"
                           f"<td {cell}><b>{esc(e['duplicate_of'])}</b><br>{kept}</td></tr>")
        examples = ""
        if ex_rows:
            examples = ("<div class='llmops-cap'>Examples of removed records (changed words highlighted)</div>"
                        "<table class='llmops-t'><thead><tr><th>step / reason</th><th>removed</th><th>kept record it duplicates"
                        f"</th></tr></thead><tbody>{''.join(ex_rows)}</tbody></table>")
        split = f"<div>{esc(str(self.splits))}</div>" if self.splits is not None else ""
        return (f"{STYLE}<div class='llmops-curation'>{head}"
                f"<div style='display:flex;gap:16px;align-items:flex-start;flex-wrap:wrap'>"
                f"{funnel_svg(self.stages())}{table}</div>{examples}{split}"
                f"<div class='llmops-muted'>every removal is stored: .removed lists them, .revert(ids) restores them"
                f"</div></div>")


def funnel_svg(stages: Sequence[Tuple[str, int]], *, width: int = 360, bar: int = 18, gap: int = 5) -> str:
    """A funnel of record counts by step as inline SVG (labels escaped)."""
    top = max((n for _, n in stages), default=0) or 1
    label_w, count_w = 100, 56
    span = width - label_w - count_w
    h = len(stages) * (bar + gap) + gap
    parts = [f"<svg class='llmops-funnel' width='{width}' height='{h}' viewBox='0 0 {width} {h}' "
             f"xmlns='http://www.w3.org/2000/svg' role='img' aria-label='records after each step'>"]
    for i, (label, n) in enumerate(stages):
        y = gap + i * (bar + gap)
        w = max(1.0, span * n / top)
        x = label_w + (span - w) / 2
        color = "#8aa4d6" if i == 0 else "#5b8def"
        parts.append(f"<text x='{label_w - 6}' y='{y + bar * 0.72:.1f}' font-size='11' text-anchor='end'>{esc(label)}</text>"
                     f"<rect x='{x:.1f}' y='{y}' width='{w:.1f}' height='{bar}' rx='3' fill='{color}'>"
                     f"<title>{esc(label)}: {n}</title></rect>"
                     f"<text x='{label_w + span + 6}' y='{y + bar * 0.72:.1f}' font-size='11'>{n:,}</text>")
    parts.append("</svg>")
    return "".join(parts)


# ---- revert --------------------------------------------------------------------------------------
def _stored_changes(ds: Dataset, ids: Sequence[str]) -> Dict[str, List[Any]]:
    """Stored changes for `ids`, from the nearest snapshot in the lineage that has any for each id."""
    db = _ws().db
    found: Dict[str, List[Any]] = {}
    want = set(ids)
    for node in ds.lineage():
        if not want:
            break
        cids = [r[0] for r in db.execute("SELECT id FROM curations WHERE output_id=?", (node.id,))]
        for cid in cids:
            part = list(want)
            for i in range(0, len(part), 500):
                chunk = part[i:i + 500]
                sql = (f"SELECT * FROM curation_changes WHERE curation_id=? AND action IN ('removed','edited') "
                       f"AND record_id IN ({','.join('?' * len(chunk))}) ORDER BY id")
                for r in db.execute(sql, [cid, *chunk]):
                    found.setdefault(r["record_id"], []).append(r)
        want -= set(found)
    return found


def revert(data: Union[str, Dataset, CurationResult], record_ids: Union[str, Sequence[str]], *,
           name: Optional[str] = None) -> Dataset:
    """A new snapshot (op "revert", parent = the given one) with the given removed records restored (appended
    at the end) and edited records given back their stored original text."""
    ds = data.dataset if isinstance(data, CurationResult) else dataset(data)
    ids = [record_ids] if isinstance(record_ids, str) else [str(i) for i in record_ids]
    if not ids:
        raise InputError("give the ids of the records to restore")
    changes = _stored_changes(ds, ids)
    unknown = [i for i in ids if i not in changes]
    if unknown:
        db = _ws().db
        lineage = [d.id for d in ds.lineage()]
        choices = [r[0] for r in db.execute(
            "SELECT c.record_id FROM curation_changes c JOIN curations k ON k.id = c.curation_id WHERE k.output_id IN "
            f"({','.join('?' * len(lineage))}) AND c.action='removed' LIMIT 5000", lineage)]
        raise not_found("removed record", unknown[0], choices,
                        hint=f"no stored removal or edit of it in {ds.ref} or its lineage")
    present = set(ds.ids())
    restore: Dict[str, dict] = {}
    originals: Dict[str, dict] = {}
    for rid in ids:
        rows = changes[rid]
        if rid in present:
            edits = [r for r in rows if r["action"] == "edited"]
            if not edits:
                raise InputError(f"record {rid} is in {ds.ref} and was not edited; nothing to revert")
            if edits[0]["record"] is None:
                raise InputError(f"the original of record {rid} was not kept ({edits[0]['step']}: {edits[0]['reason']});"
                                 " pii redaction keeps originals only with keep_originals=True")
            originals[rid] = json.loads(edits[0]["record"])
        else:
            removed = [r for r in rows if r["action"] == "removed" and r["record"]]
            if not removed:
                raise InputError(f"record {rid} was not removed from {ds.ref}'s lineage with its content stored")
            restore[rid] = json.loads(removed[-1]["record"])

    def records() -> Iterator[dict]:
        for rec in ds.records(raw=True):
            yield {**rec, **originals[rec["id"]]} if rec["id"] in originals else rec
        for rid in ids:
            if rid in restore:
                yield restore[rid]

    return create_snapshot(name or ds.name, records(), parent=ds, op="revert", source=ds.ref,
                           params={"restored": sorted(restore), "unedited": sorted(originals)})


__all__ = ["CurationResult", "DEFAULT_STEPS", "Split", "curate", "funnel_svg", "parse_step", "plan", "revert",
           "split_dataset"]
