"""Reverting curation and review: removed records come back, edited ones get their stored original text,
in a new snapshot. The stored changes of the whole lineage are searched, nearest snapshot first."""
from __future__ import annotations

import itertools
import json
from typing import Any, Dict, Iterator, List, Optional, Sequence, Union

from ..errors import InputError, not_found
from ..workspace import select_in, workspace
from .datasets import Dataset, create_snapshot, dataset


def stored_changes(ds: Dataset, ids: Sequence[str]) -> Dict[str, List[Any]]:
    """Stored removals and edits of `ids`, from the nearest snapshot in the lineage that has any for each id."""
    db = workspace().db
    found: Dict[str, List[Any]] = {}
    want = set(ids)
    for node in ds.lineage():
        if not want:
            break
        for (cid,) in db.execute("SELECT id FROM curations WHERE output_id=?", (node.id,)).fetchall():
            for r in select_in(db, "SELECT * FROM curation_changes WHERE curation_id=? AND action IN ('removed','edited')"
                                   " AND record_id IN ({ids}) ORDER BY id", sorted(want), (cid,)):
                found.setdefault(r["record_id"], []).append(r)
        want -= set(found)
    return found


def _removed_ids(ds: Dataset) -> List[str]:
    """Ids of records removed anywhere in the lineage of `ds` (for "did you mean")."""
    db = workspace().db
    sql = ("SELECT c.record_id FROM curation_changes c JOIN curations k ON k.id = c.curation_id "
           "WHERE k.output_id IN ({ids}) AND c.action='removed'")
    return [r[0] for r in itertools.islice(select_in(db, sql, [d.id for d in ds.lineage()]), 5000)]


def _as_dataset(data: Any) -> Dataset:
    """A dataset from a name, a Dataset, or a result that carries one (a CurationResult's `.dataset`)."""
    inner = getattr(data, "dataset", None)
    return inner if isinstance(inner, Dataset) and not isinstance(data, (str, Dataset)) else dataset(data)


def revert(data: Union[str, Dataset, Any], record_ids: Union[str, Sequence[str]], *,
           name: Optional[str] = None) -> Dataset:
    """A new snapshot (op "revert", parent = the given one; a name, Dataset or CurationResult) with the given
    removed records restored (appended at the end) and edited records given back their stored original text."""
    ds = _as_dataset(data)
    ids = [record_ids] if isinstance(record_ids, str) else [str(i) for i in record_ids]
    if not ids:
        raise InputError("give the ids of the records to restore")
    changes = stored_changes(ds, ids)
    unknown = [i for i in ids if i not in changes]
    if unknown:
        raise not_found("removed record", unknown[0], _removed_ids(ds),
                        hint=f"no stored removal or edit of it in {ds.ref} or its lineage")
    present = set(ds.ids())
    restore: Dict[str, dict] = {}
    originals: Dict[str, dict] = {}
    for rid in ids:
        if rid in present:
            originals[rid] = _original(ds, rid, changes[rid])
        else:
            removed = [r for r in changes[rid] if r["action"] == "removed" and r["record"]]
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


def _original(ds: Dataset, rid: str, rows: List[Any]) -> dict:
    edits = [r for r in rows if r["action"] == "edited"]
    if not edits:
        raise InputError(f"record {rid} is in {ds.ref} and was not edited; nothing to revert")
    if edits[0]["record"] is None:
        raise InputError(f"the original of record {rid} was not kept ({edits[0]['step']}: {edits[0]['reason']});"
                         " pii redaction keeps originals only with keep_originals=True")
    return json.loads(edits[0]["record"])


__all__ = ["revert", "stored_changes"]

