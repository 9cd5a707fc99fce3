"""How snapshot files are written: records streamed to a temp Parquet file while their content is hashed,
then (`StoredFile.publish`, inside the transaction that registers it) renamed to that hash, so identical
content is stored once; and the temp names the data package uses.

Every temp file carries the writer's pid (`.incoming-PID-N.parquet`, `.spill-PID-N.pkl`): when a workspace
opens, `clean_stale` removes the ones whose process no longer runs (a load or curation that was killed).
A content file is only put in place, or removed, while the workspace's write lock is held (see
`datasets.registering`), so a process that finds one already there can rely on it until it commits.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Tuple

from ..errors import InputError

_SEQ = itertools.count()


def temp_path(folder: Path, kind: str, ext: str) -> Path:
    """A new temp file name in `folder`: `.KIND-PID-N.EXT` (the patterns workspace.clean_stale knows)."""
    return folder / f".{kind}-{os.getpid()}-{time.time_ns()}{next(_SEQ)}.{ext}"


@dataclass(frozen=True)
class StoredFile:
    """A snapshot's Parquet file, written and hashed, not yet a version of any dataset. Until `publish` it is the
    temp file `tmp`; then it is `root / rel`, named after its content digest."""

    digest: str
    rel: Path
    n_records: int
    n_bytes: int
    columns: List[str]
    root: Path
    tmp: Path

    @property
    def target(self) -> Path:
        return self.root / self.rel

    def publish(self) -> None:
        """Put the file at its content-hash name (or drop the temp file when that content is there already).
        Call it holding the workspace's write lock, in the transaction that registers the snapshot."""
        if self.target.exists():
            self.tmp.unlink(missing_ok=True)
        else:
            self.target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.tmp, self.target)

    def discard(self, referenced: bool) -> None:
        """Remove what this write left: the temp file, and the content file unless a `datasets` row
        (`referenced`, read under the same write lock) points at it."""
        self.tmp.unlink(missing_ok=True)
        if not referenced:
            self.target.unlink(missing_ok=True)


class SnapshotWriter:
    """Streams record batches to a temp Parquet file while hashing the content."""

    def __init__(self, root: Path):
        self.root = root
        self.hasher = hashlib.sha256()
        folder = root / "datasets"
        folder.mkdir(parents=True, exist_ok=True)
        self.tmp = temp_path(folder, "incoming", "parquet")
        self.writer = None
        self.schema = None
        self.n = 0
        self.n_bytes = 0
        self.columns: List[str] = []

    def write(self, rows: List[dict]) -> None:
        import pyarrow.parquet as pq

        if not rows:
            return
        for r in rows:
            self.hasher.update(json.dumps(r, sort_keys=True, default=str, ensure_ascii=False).encode("utf-8", "surrogatepass"))
            self.n_bytes += len(r["text"].encode("utf-8", "surrogatepass"))
        if self.schema is None:
            table = self._first_table(rows)
            self.schema = table.schema
            self.writer = pq.ParquetWriter(self.tmp, self.schema, compression="zstd")
        else:
            table = _to_table([_clean(r, self.columns) for r in rows], self.schema)
        self.writer.write_table(table)
        self.n += len(rows)

    def _first_table(self, rows: List[dict]):
        import pyarrow as pa

        seen: Dict[str, None] = {"id": None, "text": None}
        for r in rows:
            seen.update(dict.fromkeys(r))
        self.columns = list(seen)
        cleaned = [_clean(r, self.columns) for r in rows]
        table = _from_rows(cleaned, None)
        if any(pa.types.is_null(f.type) for f in table.schema):
            # a column empty in the first batch (e.g. _flags) would reject values later: store it as text
            table = table.cast(pa.schema([f.with_type(pa.string()) if pa.types.is_null(f.type) else f
                                          for f in table.schema]))
        return table

    def finish(self) -> Tuple[str, Path]:
        """(content digest, path relative to the workspace it will have). The temp file is closed and synced to
        disk but stays where it is: `StoredFile.publish` moves it, in the transaction that registers it."""
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        with open(self.tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        digest = self.hasher.hexdigest()
        return digest, Path("datasets") / digest[:2] / f"{digest}.parquet"

    def stored(self) -> StoredFile:
        digest, rel = self.finish()
        return StoredFile(digest, rel, self.n, self.n_bytes, self.columns, self.root, self.tmp)

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
        self.tmp.unlink(missing_ok=True)


def _clean(rec: dict, columns: List[str]) -> dict:
    out = {}
    for c in columns:
        v = rec.get(c)
        if isinstance(v, (dict, list, tuple, set)):
            v = json.dumps(v, default=str, ensure_ascii=False)
        out[c] = v
    return out


def _as_text(v):
    return None if v is None else (v if isinstance(v, str) else json.dumps(v, default=str, ensure_ascii=False))


def _no_surrogates(rows: List[dict]) -> List[dict]:
    """A JSON escape like \\ud800 gives a lone surrogate, which no file encoding can hold: store U+FFFD."""
    return [{k: replace_surrogates(v) if isinstance(v, str) else v for k, v in r.items()} for r in rows]


_SURROGATE = re.compile("[\ud800-\udfff]")


def replace_surrogates(text: str) -> str:
    """`text` with each lone surrogate (a broken \\uXXXX escape; no file encoding can hold one) as U+FFFD."""
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)


def _from_rows(rows: List[dict], schema):
    """A table of `rows`; with no schema yet (the first batch), a column of mixed kinds (numbers and text, whole
    numbers past 64 bits) is stored as text, so nothing is lost."""
    import pyarrow as pa

    for attempt in range(2):
        try:
            if schema is not None:
                return pa.Table.from_pylist(rows, schema=schema)
            return pa.Table.from_pylist(rows)
        except UnicodeEncodeError:
            if attempt:
                raise
            rows = _no_surrogates(rows)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
            if schema is not None:
                raise
            mixed = [c for c in rows[0] if not _one_kind([r.get(c) for r in rows])]
            rows = [{k: (_as_text(v) if k in mixed else v) for k, v in r.items()} for r in rows]
    return pa.Table.from_pylist(rows)


def _one_kind(values: list) -> bool:
    import pyarrow as pa

    try:
        pa.array(values)
        return True
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return False


class MixedTypeError(InputError):
    """A field holds numbers in the first batch of records and something else later (or the other way round)."""


def _to_table(rows: List[dict], schema):
    import pyarrow as pa

    try:
        return _from_rows(rows, schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        pass
    # a later batch holds a type the first did not: into a text column it goes as text; a number column cannot
    # take it (its type was fixed by the first records) and the user has to say which it is
    fixed = [{k: _as_text(v) if schema.field(k).type == pa.string() else v for k, v in r.items()} for r in rows]
    try:
        return _from_rows(fixed, schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        field, rec = _first_misfit(fixed, schema)
        raise MixedTypeError(f"field '{field}' holds {_kind_of(schema.field(field).type)} in the first records but "
                             f"{rec.get(field)!r} in record {rec.get('id')!r}; give it one type in every record "
                             "(all numbers, or all text)") from None


def _kind_of(arrow_type) -> str:
    import pyarrow as pa

    if pa.types.is_boolean(arrow_type):
        return "true/false values"
    if pa.types.is_integer(arrow_type):
        return "whole numbers"
    if pa.types.is_floating(arrow_type):
        return "numbers"
    return f"{arrow_type} values"


def _first_misfit(rows: List[dict], schema):
    import pyarrow as pa

    for name in schema.names:
        for r in rows:
            try:
                pa.array([r.get(name)], type=schema.field(name).type)
            except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
                return name, r
    return schema.names[0], rows[0]


__all__ = ["MixedTypeError", "SnapshotWriter", "StoredFile", "temp_path"]
