"""Changing an index in place: add, upsert and delete records by id, each saved atomically.

A save writes the changed usearch index as a new generation file beside the old one, then one database
transaction switches the index to it along with its row changes; only after the commit is the old file
removed. On any failure the new file goes, the database rolls back and the in-memory index is reloaded from
the previous file, so a crash at any point leaves the previous index whole and usable.
"""
from __future__ import annotations

import time
from dataclasses import KW_ONLY, asdict, dataclass
from typing import Any, Callable, Iterable, Optional, Union

import numpy as np

from ..errors import InputError, LlmopsError
from ..workspace import transaction
from . import storage
from .chunking import DEFAULT_CHUNK_TOKENS, DEFAULT_OVERLAP
from .records import as_records, prepare


@dataclass
class IndexChange:
    """What add/upsert/delete did to an index."""

    index: str
    _: KW_ONLY
    added_records: int = 0
    added_chunks: int = 0
    removed_records: int = 0
    removed_chunks: int = 0
    skipped_empty: int = 0
    embedded: int = 0
    cached: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        parts = [f"+{self.added_records} records ({self.added_chunks} chunks)",
                 f"-{self.removed_records} records ({self.removed_chunks} chunks)"]
        if self.skipped_empty:
            parts.append(f"{self.skipped_empty} empty skipped")
        if self.embedded or self.cached:
            parts.append(f"{self.embedded} embedded, {self.cached} from cache")
        return f"index {self.index}: " + ", ".join(parts)

    __repr__ = __str__


class IndexChanges:
    """add/upsert/delete for VectorIndex. Relies on its `name`, `id`, `model`, `dim`, `chunk_tokens`, `overlap`,
    `_lock`, `_ix` (the usearch index), `_row`, `_wsobj`, `_load_file()`, `_set_row()` and `_invalidate()`."""

    def add(self, records: Any, *, vectors: Optional[np.ndarray] = None, progress: bool = True) -> IndexChange:
        """Add new records (dicts with 'id', 'text' and metadata); an id already in the index is refused."""
        return self._change(records, vectors=vectors, replace=False, progress=progress)

    def upsert(self, records: Any, *, vectors: Optional[np.ndarray] = None, progress: bool = True) -> IndexChange:
        """Add records, replacing the chunks of any whose id is already in the index."""
        return self._change(records, vectors=vectors, replace=True, progress=progress)

    def delete(self, record_ids: Union[str, Iterable[str]]) -> IndexChange:
        """Remove records (all their chunks) by record id. Unknown ids are ignored and not counted."""
        ids = [record_ids] if isinstance(record_ids, str) else [str(r) for r in record_ids]
        with self._lock:
            keys_by = storage.keys_of(self._wsobj.db, self.id, ids)
            keys = np.array([k for ks in keys_by.values() for k in ks], dtype=np.uint64)
            change = IndexChange(self.name, removed_records=len(keys_by), removed_chunks=len(keys))
            if not keys_by:
                return change
            self._ix.remove(keys)
            self._commit(lambda db: storage.delete_rows(db, self.id, list(keys_by)), d_records=-len(keys_by),
                         d_chunks=-len(keys), next_key=int(self._row["next_key"]))
            return change

    def _change(self, records: Any, *, vectors, replace: bool, progress: bool) -> IndexChange:
        if vectors is None and not self.model:
            raise InputError(f"index '{self.name}' has no model to embed text with; pass vectors=...")
        recs, _ = as_records(records)
        with self._lock:
            prep = prepare(recs, model=self.model if vectors is None else None,
                           chunk_tokens=self.chunk_tokens or DEFAULT_CHUNK_TOKENS,
                           overlap=self.overlap if self.overlap is not None else DEFAULT_OVERLAP,
                           vectors=vectors, dim=self.dim, progress=progress, where="the records given")
            ids = [rid for rid, *_ in prep.records]
            # upsert replaces every given record: one whose new text is empty leaves the index
            existing = storage.keys_of(self._wsobj.db, self.id, prep.all_ids if replace else ids)
            if not prep.chunks and not existing:
                return IndexChange(self.name, skipped_empty=prep.stats.skipped_empty)
            if existing and not replace:
                first = next(iter(existing))
                raise InputError(f"record '{first}' is already in index '{self.name}' "
                                 f"({len(existing)} of the {len(ids)} given are); use upsert() to replace them")
            start = int(self._row["next_key"])
            keys = np.arange(start, start + len(prep.chunks), dtype=np.uint64)
            old_keys = np.array([k for ks in existing.values() for k in ks], dtype=np.uint64)
            if len(old_keys):
                self._ix.remove(old_keys)
            try:
                storage.add_vectors(self._ix, keys, prep.vectors, progress)
            except BaseException:
                self._ix = self._load_file()
                raise

            def ops(db):
                if existing:
                    storage.delete_rows(db, self.id, list(existing))
                storage.insert_rows(db, self.id, prep, keys)

            self._commit(ops, d_records=len(prep.records) - len(existing), d_chunks=len(keys) - len(old_keys),
                         next_key=start + len(keys))
            es = prep.embed_stats
            return IndexChange(self.name, added_records=len(prep.records), added_chunks=len(keys),
                               removed_records=len(existing), removed_chunks=len(old_keys),
                               skipped_empty=prep.stats.skipped_empty, embedded=es.embedded if es else 0,
                               cached=es.cached if es else 0)

    def _commit(self, ops: Callable[[Any], None], *, d_records: int, d_chunks: int, next_key: int) -> None:
        """Write the in-memory index as a new file, then switch to it and apply `ops` in one transaction."""
        old_rel = self._row["file"]
        rel = storage.new_file_rel(self.name)
        db = self._wsobj.db
        target = None
        try:
            target = storage.write_generation(self._ix, rel)
            with transaction(db):
                current = db.execute("SELECT file FROM indexes WHERE id=?", (self.id,)).fetchone()
                if current is None or current[0] != old_rel:
                    raise LlmopsError(f"index '{self.name}' was changed or dropped by another process since it was "
                                      "loaded; load_index() it again and retry")
                ops(db)
                db.execute("UPDATE indexes SET file=?, n_records=n_records+?, n_chunks=n_chunks+?, next_key=?, "
                           "changes=changes+1, updated_at=? WHERE id=?",
                           (str(rel), d_records, d_chunks, next_key, time.time(), self.id))
        except BaseException:
            if target is not None:
                target.unlink(missing_ok=True)
            self._ix = self._load_file()
            self._invalidate()
            raise
        self._set_row(db.execute("SELECT * FROM indexes WHERE id=?", (self.id,)).fetchone())
        self._invalidate()
        storage.remember(self._wsobj.path, self)
        old = self._wsobj.path / old_rel
        if old != target:
            try:
                old.unlink(missing_ok=True)
            except OSError:
                pass
        storage.cleanup_folder(target.parent, target)


__all__ = ["IndexChange", "IndexChanges"]
