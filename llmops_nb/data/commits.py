"""Storing what a curation or a review made, in one transaction: the snapshot, its `curations` row (steps,
report) and every change it made. Both `curate` and `Review.commit` end here.

The same operation run again gives back what it stored before only when everything that identifies it is the
same: the input, the output content, and the params named in `same_params` (a curation's steps and seed, a
review's decisions). Otherwise it is a new version with its own curation row and report; the Parquet file is
still shared, since files are stored by content.
"""
from __future__ import annotations

import json
import time
from typing import Any, Dict, Sequence, Tuple

from ..display import jsonable
from ..workspace import workspace
from .datasets import Dataset, StoredFile, find_snapshot, insert_snapshot, make_current, registering
from .streaming import ChangeLog


def store_curation(op: str, src: Dataset, target: str, stored: StoredFile, *, steps: Any, report: Any,
                   params: Dict[str, Any], same_params: Sequence[str], changes: ChangeLog,
                   seconds: float) -> Tuple[Dataset, int, Any]:
    """(snapshot, curation id, report) of the `op` ("curate" or "review") of `src` into a version of `target`.
    When the same op of `src` with equal `same_params` already made this content, that version (marked
    `reused`, and current again), its curation id and its stored report; else a new version, with `params`
    and the curation id recorded on it, and `changes` written under the new curation row."""
    db = workspace().db
    with registering(db, stored):
        same = find_snapshot(db, target, stored, parent=src, op=op, params=params, same_params=same_params)
        earlier = same and db.execute("SELECT id, report FROM curations WHERE output_id=? AND op=? "
                                      "ORDER BY id DESC LIMIT 1", (same.id, op)).fetchone()
        if earlier:
            return make_current(db, same), earlier["id"], json.loads(earlier["report"])
        cid = db.execute("INSERT INTO curations (op, input_id, steps, report, status, seconds, created_at) "
                         "VALUES (?, ?, ?, ?, 'done', ?, ?)",
                         (op, src.id, json.dumps(jsonable(steps), default=str),
                          json.dumps(jsonable(report), default=str), seconds, time.time())).lastrowid
        out = insert_snapshot(db, target, stored, parent=src, op=op, source=src.ref,
                              params={**params, "curation_id": cid})
        db.execute("UPDATE curations SET output_id=? WHERE id=?", (out.id, cid))
        changes.insert(db, cid)
    return out, cid, report


__all__ = ["store_curation"]
