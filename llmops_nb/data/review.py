"""Reviewing a snapshot by hand: page through its records (and the records its curation removed), decide
accept / reject / edit, and commit the decisions as a new snapshot.

Decisions are written to the workspace the moment they are made (table review_decisions, keyed by
snapshot and record id), so a kernel restart loses none: a new `Review` of the same snapshot sees them.

What a decision means: accept = the record belongs in the dataset, reject = it does not, edit = it
belongs with new text. So for a kept record, reject drops it and edit changes it; for a record the
curation removed, accept (or edit) restores it. `commit()` applies them in a new snapshot (op "review")
and stores every record it drops, like curation does; it is tracked as a run of kind "review".

Records an earlier review rejected (reviewing the snapshot that review committed) have the status "rejected",
not "removed": they were rejected by a person, not removed by a curation step.
"""
from __future__ import annotations

import hashlib
import json
import time
from typing import Dict, Iterator, List, Optional, Tuple, Union

from ..display import html_kv
from ..errors import InputError, not_found
from ..workspace import workspace
from .commits import store_curation
from .datasets import Dataset, dataset, write_snapshot
from .diff import word_diff
from .steps import FLAGS, RecordChange, flags_of
from .streaming import ChangeLog
from .tracked import record_snapshot, step_run

DECISIONS = ("accept", "reject", "edit")
DISPLAY_CHARS = 20_000  # longer texts are shown cut (and cannot be edited in the widget)
_BASE_FILTERS = ("all", "kept", "removed", "rejected", "flagged", "undecided", "decided")
_STATUSES = ("kept", "removed", "rejected")  # removed: by a curation step; rejected: by an earlier review


def _check_page_size(limit: object) -> None:
    try:
        ok = not isinstance(limit, bool) and int(limit) == limit and int(limit) >= 1  # type: ignore[call-overload]
    except (TypeError, ValueError):
        ok = False
    if not ok:
        raise InputError(f"page size must be a whole number of at least 1, got {limit!r}")


class Review:
    """Review state of one snapshot: items to look at, decisions (persisted), commit."""

    def __init__(self, data: Union[str, Dataset]):
        self.dataset = dataset(data)
        self._items: Optional[List[dict]] = None
        self._by_id: Dict[str, dict] = {}

    # ---- items ---------------------------------------------------------------------------------
    def _load(self) -> List[dict]:
        if self._items is not None:
            return self._items
        ds = self.dataset
        cols = ["id", "text"] + ([FLAGS] if FLAGS in ds.columns else [])
        items: List[dict] = []
        for batch in ds.iter_batches(cols):
            data = batch.to_pydict()
            flags = data.get(FLAGS) or [None] * len(data["id"])
            for rid, text, fl in zip(data["id"], data["text"], flags):
                items.append({"id": rid, "status": "kept", "text": text or "", "flags": flags_of({FLAGS: fl}),
                              "reason": None, "step": None, "duplicate_of": None, "detail": {}})
        by_id = {it["id"]: it for it in items}
        db = workspace().db
        rows = db.execute("SELECT c.* FROM curation_changes c JOIN curations k ON k.id = c.curation_id "
                          "WHERE k.output_id = ? ORDER BY c.id", (ds.id,)).fetchall()
        for r in rows:
            if r["action"] == "removed" and r["record"] and r["record_id"] not in by_id:
                rec = json.loads(r["record"])
                status = "rejected" if r["step"] == "review" else "removed"
                it = {"id": r["record_id"], "status": status, "text": rec.get("text") or "",
                      "flags": flags_of(rec), "reason": r["reason"], "step": r["step"],
                      "duplicate_of": r["duplicate_of"], "detail": json.loads(r["detail"] or "{}"), "record": rec}
                items.append(it)
                by_id[it["id"]] = it
            elif r["action"] == "edited" and r["record_id"] in by_id:
                tag = f"edited:{r['step']}:{r['reason']}"
                if tag not in by_id[r["record_id"]]["flags"]:
                    by_id[r["record_id"]]["flags"].append(tag)
        self._items, self._by_id = items, by_id
        return items

    def __len__(self) -> int:
        return len(self._load())

    def filters(self) -> List[Tuple[str, str, int]]:
        """(value, label, count) for every filter that has items: status, decision, removal reason, flag."""
        items = self._load()
        dec = self.decisions()
        counts: Dict[str, int] = {k: 0 for k in _BASE_FILTERS}
        counts["all"] = len(items)
        extra: Dict[str, int] = {}
        for it in items:
            counts[it["status"]] += 1
            counts["flagged"] += bool(it["flags"])
            counts["decided" if it["id"] in dec else "undecided"] += 1
            if it["reason"]:
                extra[f"reason:{it['reason']}"] = extra.get(f"reason:{it['reason']}", 0) + 1
            for f in it["flags"]:
                extra[f"flag:{f}"] = extra.get(f"flag:{f}", 0) + 1
        out = [(k, k, counts[k]) for k in _BASE_FILTERS if counts[k] or k == "all"]
        out += [(k, k.split(":", 1)[0] + ": " + k.split(":", 1)[1], v) for k, v in sorted(extra.items())]
        return out

    def _match(self, it: dict, flt: str, query: str, dec: Dict[str, dict]) -> bool:
        if flt in _STATUSES and it["status"] != flt:
            return False
        if flt == "flagged" and not it["flags"]:
            return False
        if flt == "undecided" and it["id"] in dec:
            return False
        if flt == "decided" and it["id"] not in dec:
            return False
        if flt.startswith("reason:") and it["reason"] != flt[7:]:
            return False
        if flt.startswith("flag:") and flt[5:] not in it["flags"]:
            return False
        if query and query not in it["text"].lower() and query not in str(it["id"]).lower():
            return False
        return True

    def page(self, filter: str = "all", query: str = "", offset: int = 0, limit: int = 10) -> Tuple[int, List[dict]]:
        """(number of matching items, the items from `offset`), each ready to display: text (cut), flags,
        reason, decision, and for duplicates the kept record's text with a word diff."""
        _check_page_size(limit)
        valid = {f[0] for f in self.filters()} | set(_BASE_FILTERS)
        if filter not in valid and not filter.startswith(("reason:", "flag:")):
            raise InputError(f"unknown review filter '{filter}'; filters: {', '.join(sorted(valid))}")
        items = self._load()
        dec = self.decisions()
        q = (query or "").strip().lower()
        hits = [it for it in items if self._match(it, filter, q, dec)]
        offset = max(0, min(int(offset), max(len(hits) - 1, 0)))
        return len(hits), [self._view(it, dec.get(it["id"])) for it in hits[offset:offset + int(limit)]]

    def _view(self, it: dict, decision: Optional[dict]) -> dict:
        text = it["text"]
        view = {"id": it["id"], "status": it["status"], "text": text[:DISPLAY_CHARS], "length": len(text),
                "truncated": len(text) > DISPLAY_CHARS, "flags": list(it["flags"]), "reason": it["reason"],
                "step": it["step"], "detail": it["detail"], "duplicate_of": it["duplicate_of"],
                "decision": decision["decision"] if decision else None,
                "edited_text": decision.get("text") if decision else None, "duplicate_text": None, "diff": None}
        dup = self._by_id.get(it["duplicate_of"]) if it["duplicate_of"] else None
        if dup is not None:
            a, b = word_diff(dup["text"], text)
            view["duplicate_text"] = dup["text"][:DISPLAY_CHARS]
            view["diff"] = {"kept": [list(t) for t in a], "this": [list(t) for t in b]}
        return view

    def item(self, record_id: str) -> dict:
        self._load()
        if record_id not in self._by_id:
            raise not_found("record", record_id, list(self._by_id)[:5000], hint=f"it is not in {self.dataset.ref} "
                            "nor among the records its curation removed")
        return self._view(self._by_id[record_id], self.decisions().get(record_id))

    # ---- decisions -------------------------------------------------------------------------------
    def decide(self, record_id: str, decision: str, text: Optional[str] = None, note: Optional[str] = None) -> dict:
        """Save a decision now: accept, reject, edit (with `text`), or clear (forget the decision)."""
        if decision not in DECISIONS + ("clear",):
            raise InputError(f"unknown decision '{decision}'; use accept, reject, edit (with text) or clear")
        self._load()
        if record_id not in self._by_id:
            self.item(record_id)  # raises not found with a suggestion
        db = workspace().db
        if decision == "clear":
            db.execute("DELETE FROM review_decisions WHERE dataset_id=? AND record_id=?", (self.dataset.id, record_id))
            return {"id": record_id, "decision": None}
        if decision == "edit":
            if not isinstance(text, str) or not text.strip():
                raise InputError("an edit needs the new text (non-empty)")
        else:
            text = None
        db.execute("INSERT INTO review_decisions (dataset_id, record_id, decision, text, note, updated_at) VALUES (?,?,?,?,?,?)"
                   " ON CONFLICT (dataset_id, record_id) DO UPDATE SET decision=excluded.decision, text=excluded.text,"
                   " note=excluded.note, updated_at=excluded.updated_at",
                   (self.dataset.id, record_id, decision, text, note, time.time()))
        return {"id": record_id, "decision": decision, "text": text}

    def decisions(self) -> Dict[str, dict]:
        """record id -> {decision, text, note, updated_at}, read from the workspace."""
        rows = workspace().db.execute("SELECT * FROM review_decisions WHERE dataset_id=? ORDER BY updated_at",
                                (self.dataset.id,)).fetchall()
        return {r["record_id"]: {"decision": r["decision"], "text": r["text"], "note": r["note"],
                                 "updated_at": r["updated_at"]} for r in rows}

    def summary(self) -> Dict[str, int]:
        """Counts: items (kept, removed by curation, rejected by an earlier review, flagged) and decisions."""
        items = self._load()
        dec = self.decisions()
        out = {"items": len(items), "kept": sum(it["status"] == "kept" for it in items),
               "removed": sum(it["status"] == "removed" for it in items),
               "rejected_by_review": sum(it["status"] == "rejected" for it in items),
               "flagged": sum(bool(it["flags"]) for it in items), "accept": 0, "reject": 0, "edit": 0}
        for d in dec.values():
            out[d["decision"]] += 1
        out["undecided"] = out["items"] - len(dec)
        return out

    def _effects(self) -> Dict[str, List[str]]:
        self._load()
        eff: Dict[str, List[str]] = {"rejected": [], "edited": [], "restored": []}
        for rid, d in self.decisions().items():
            it = self._by_id.get(rid)
            if it is None:
                continue
            if it["status"] == "kept":
                if d["decision"] == "reject":
                    eff["rejected"].append(rid)
                elif d["decision"] == "edit" and d["text"] != it["text"]:
                    eff["edited"].append(rid)
            elif d["decision"] in ("accept", "edit"):
                eff["restored"].append(rid)
        return eff

    def commit(self, name: Optional[str] = None) -> Dataset:
        """A new snapshot (op "review", parent = the reviewed one) without the rejected records, with the edits,
        and with the removed records that were accepted restored (appended). Drops are stored like curation's,
        in the same transaction as the snapshot. The same decisions committed again give back that snapshot
        (then the current version of its name again); other decisions that happen to give the same records
        are a new version, with their own stored changes.

        Every commit is a run of kind "review" (params: the source snapshot and the decision counts; metrics:
        accepted, rejected, edited, restored, records in and out; records "dataset", "snapshot", "reused" and the
        tag "dataset": the snapshot it gave), also when the same decisions give back the snapshot an earlier commit made."""
        eff = self._effects()
        if not any(eff.values()):
            raise InputError(f"nothing to commit for {self.dataset.ref}: no reject, edit or restore decisions yet")
        workspace().require_writable()
        ds, t0 = self.dataset, time.time()
        counts = {k: len(v) for k, v in eff.items()}
        params = {**counts, "restored_ids": eff["restored"][:1000], "decisions": self._decisions_digest(eff)}
        s = self.summary()
        decided = {"accepted": s["accept"], "rejected": s["reject"], "edited": s["edit"]}
        with step_run("review", ds.ref, {"source": ds.ref, "target": name or ds.name, **decided, "effects": counts}) as run:
            with ChangeLog(workspace().dir("datasets")) as log:
                stored = write_snapshot(self._committed_records(eff, log), name=name or ds.name, parent=ds)
                out, _, _ = store_curation("review", ds, name or ds.name, stored, steps=[{"step": "review"}],
                                           report=counts, params=params, same_params=("decisions",), changes=log,
                                           seconds=time.time() - t0)
            run.log_metrics({**decided, "restored": counts["restored"], "records_in": len(ds), "records_out": len(out)})
            record_snapshot(run, out)
        return out

    def _decisions_digest(self, eff: Dict[str, List[str]]) -> str:
        """What identifies a commit's decisions: every one that takes effect, with its text and note (both stored
        with the changes), hashed."""
        dec = self.decisions()
        acting = sorted((rid, dec[rid]["decision"], dec[rid]["text"], dec[rid]["note"])
                        for ids in eff.values() for rid in ids)
        return hashlib.sha256(json.dumps(acting, ensure_ascii=False).encode("utf-8", "surrogatepass")).hexdigest()

    def _committed_records(self, eff: Dict[str, List[str]], log: ChangeLog) -> Iterator[dict]:
        dec = self.decisions()
        rejected, edited = set(eff["rejected"]), set(eff["edited"])
        for rec in self.dataset.records(raw=True):
            rid = rec["id"]
            if rid in rejected:
                log.add(RecordChange(rid, "review", "removed", "rejected", None, {"note": dec[rid].get("note")}, rec))
                continue
            if rid in edited:
                log.add(RecordChange(rid, "review", "edited", "edited", None, {}, rec))
                rec = {**rec, "text": dec[rid]["text"]}
            yield rec
        for rid in eff["restored"]:
            rec = dict(self._by_id[rid]["record"])
            if dec[rid]["decision"] == "edit":
                rec["text"] = dec[rid]["text"]
            yield rec

    # ---- results protocol ------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"dataset": self.dataset.ref, **self.summary()}

    def __str__(self) -> str:
        s = self.summary()
        rejected = f"{s['rejected_by_review']} rejected by review, " if s["rejected_by_review"] else ""
        return (f"review of {self.dataset.ref}: {s['items']} items ({s['kept']} kept, {s['removed']} removed by curation, "
                f"{rejected}{s['flagged']} flagged); decisions: {s['accept']} accept, {s['reject']} reject, {s['edit']} edit, "
                f"{s['undecided']} undecided\nopen it in a notebook (%llmops review {self.dataset.ref}) to decide; "
                "decisions are saved as they are made")

    def __repr__(self) -> str:
        return f"Review({self.dataset.ref!r})"

    def _repr_html_(self) -> str:
        return html_kv(f"review of {self.dataset.ref}", self.summary())
