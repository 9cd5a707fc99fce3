"""What a curation did, as a result object: `CurationResult` (the new snapshot, the per-step report, the
removed records beside what they duplicate, revert) with its text, HTML and funnel-chart renderings."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from ..charts import Funnel
from ..display import STYLE, esc, finite, fmt, fmt_duration, text_table
from ..errors import NotFoundError
from ..workspace import workspace
from .datasets import Dataset, dataset
from .revert import revert
from .split import Split

MIME = "application/vnd.llmops.curation+json"


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


@dataclass(eq=False)
class CurationResult:
    """A curation: `.dataset` (the new snapshot), `.input`, `.report` (per step: in/out, removed by reason,
    edits, flags, metrics, seconds), `.removed` (a DataFrame of removed records beside what they duplicate),
    `.revert(ids)`, and `.splits` when a train/eval split was asked for. `.reused` is True when the result
    was already stored by an earlier, identical curation (same input, steps, seed and output): then `.report`
    and `.removed` are that curation's, nothing new was written, and the snapshot is its name's current
    version again."""

    dataset: Dataset
    input: Dataset
    curation_id: int
    report: List[dict]
    seconds: float
    splits: Optional[Split] = None
    _removed: Optional[List[dict]] = field(default=None, repr=False)

    @property
    def reused(self) -> bool:
        return self.dataset.reused

    @classmethod
    def load(cls, data: Union[str, Dataset]) -> "CurationResult":
        """The curation that produced a snapshot."""
        ds = dataset(data)
        row = workspace().db.execute("SELECT * FROM curations WHERE output_id=? AND op='curate' ORDER BY id DESC "
                                     "LIMIT 1", (ds.id,)).fetchone()
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
        return _changes_frame(workspace().db.execute(sql + " ORDER BY id", args))

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

    def chart(self) -> Funnel:
        """Records left after each step (Vega-Lite with an SVG fallback)."""
        return Funnel(self.stages(), title=f"{self.input.ref} -> {self.dataset.ref}: records after each step")

    def to_dict(self) -> dict:
        """The contract's Curation shape: `source` and `result` refs, per-step `steps` (step, params, in, out,
        removed and flagged by reason, edited, metrics, seconds), `removed_examples`; and the counts."""
        examples = [{k: (v[:500] + "…" if isinstance(v, str) and len(v) > 500 else v) for k, v in e.items()}
                    for e in self.examples()]
        d = {"version": 1, "source": self.input.ref, "result": self.dataset.ref, "dataset": self.dataset.ref, "input": self.input.ref, "records_in": len(self.input),
             "records_out": len(self.dataset), "removed": self.removed_count, "seconds": round(self.seconds, 3),
             "curation_id": self.curation_id, "reused": self.reused, "steps": self.report,
             "removed_examples": examples, "examples": examples, "stages": self.chart().to_dict()["stages"]}
        if self.reused:
            d["note"] = self._reuse_note()
        if self.splits is not None:
            d["splits"] = self.splits.to_dict()
        return d

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        return {MIME: finite(self.to_dict()), "text/html": self._repr_html_(), "text/plain": str(self)}

    def __repr__(self) -> str:
        reused = ", reused=True" if self.reused else ""
        return (f"CurationResult({self.input.ref!r} -> {self.dataset.ref!r}, {len(self.input)} -> {len(self.dataset)} "
                f"records{reused})")

    def _reuse_note(self) -> str:
        if not self.reused:
            return ""
        return (f"the same curation of {self.input.ref} was already stored as {self.dataset.ref} (curation "
                f"{self.curation_id}); nothing new was written; {self.dataset.current_note()}")

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
        lines = [head] + ([self._reuse_note()] if self.reused else []) + ["", text_table(self._step_rows(), cols,
                                                                                         max_width=40)]
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
        lines += ["", "every removal is stored: .removed lists them, .revert(ids) restores them"]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = (f"<div class='llmops-cap'>Curated {esc(self.input.ref)} → {esc(self.dataset.ref)}: "
                f"{len(self.input)} → {len(self.dataset)} records ({self.removed_count} removed) · "
                f"{esc(fmt_duration(self.seconds))}</div>")
        if self.reused:
            head += f"<div class='llmops-muted'>{esc(self._reuse_note())}</div>"
        cols = ["step", "in", "out", "removed", "reasons", "edited", "flagged", "notes"]
        body = "".join("<tr>" + "".join(f"<td>{esc(r[c])}</td>" for c in cols) + "</tr>" for r in self._step_rows())
        table = (f"<table class='llmops-t'><thead><tr>{''.join(f'<th>{esc(c)}</th>' for c in cols)}</tr></thead>"
                 f"<tbody>{body}</tbody></table>")
        examples = self._examples_html()
        split = f"<div>{esc(str(self.splits))}</div>" if self.splits is not None else ""
        return (f"{STYLE}<div class='llmops-curation'>{head}"
                f"<div style='display:flex;gap:16px;align-items:flex-start;flex-wrap:wrap'>"
                f"{funnel_svg(self.stages())}{table}</div>{examples}{split}"
                f"<div class='llmops-muted'>every removal is stored: .removed lists them, .revert(ids) restores them"
                f"</div></div>")

    def _examples_html(self) -> str:
        from .diff import diff_html, word_diff

        rows = []
        cell = "style='white-space:pre-wrap;max-width:440px;font-size:11px'"
        for e in self.examples():
            if e["duplicate_text"]:
                a, b = word_diff(e["duplicate_text"], e["text"] or "")
                kept, removed = diff_html(a, limit=300), diff_html(b, limit=300)
            else:
                kept, removed = "", esc((e["text"] or "")[:300])
            rows.append(f"<tr><td>{esc(e['step'])}<br><span class='llmops-muted'>{esc(e['reason'])}</span></td>"
                        f"<td {cell}><b>{esc(e['record_id'])}</b><br>{removed}</td>"
                        f"<td {cell}><b>{esc(e['duplicate_of'])}</b><br>{kept}</td></tr>")
        if not rows:
            return ""
        return ("<div class='llmops-cap'>Examples of removed records (changed words highlighted)</div>"
                "<table class='llmops-t'><thead><tr><th>step / reason</th><th>removed</th><th>kept record it duplicates"
                f"</th></tr></thead><tbody>{''.join(rows)}</tbody></table>")


def funnel_svg(stages: Sequence[Tuple[str, int]], *, width: int = 360, bar: int = 18, gap: int = 5) -> str:
    """A funnel of record counts by step as inline SVG (labels escaped; ink from the theme)."""
    return Funnel(stages).svg(standalone=False, width=width, bar=bar, gap=gap)


__all__ = ["MIME", "CurationResult", "funnel_svg"]
