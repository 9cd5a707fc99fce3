"""Versioned, immutable dataset snapshots (Parquet in the workspace, content-addressed) with lineage.

A snapshot is made in two steps: `write_snapshot` streams records to a temp file while hashing them; then one
transaction (`registering`) puts the file at its content-hash name and `register_snapshot` makes it a version,
or the file goes again if that transaction fails. `load_dataset`, `create_snapshot` (revert, split) and
`commits.store_curation` (curate, review) all go through them.

Identity is content too: a snapshot with the same records, parent and operation (and, for curation and review,
the same recorded steps or decisions) as an existing version of the same name IS that version (loading a file
twice, or re-running a curation, gives back `name@v1`, not a new label), so re-running a notebook reproduces
the same references. Versions are numbered in the order they were made and never renumbered.

Each `load_dataset` is a tracked run of kind "load" (see `tracked`): its source, counts and the snapshot it made
or reused, under `runs()`.

`dataset("name")` is the name's CURRENT version: the one made or given back (reused) most recently, so the
bare name always means what the user just made; `dataset("name@v2")` is a given version.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Tuple, Union

from ..display import STYLE, ResultTable, esc, fmt_time, html_table, text_table
from ..errors import InputError, not_found
from ..tracking.runs import active_run
from ..workspace import check_name, transaction, workspace
from .loaders import LineErrors, RecordBuilder, iter_source, record_id
from .storage import SnapshotWriter, StoredFile
from .tracked import describe_source, record_snapshot, step_run

BATCH = 8192
_REF = re.compile(r"^(?P<name>[^@\s]+)(?:@v?(?P<version>\d+))?$")


class EmptySnapshotError(InputError):
    """A snapshot would hold no records (an empty source, or a curation that removed everything)."""


class RawRecords:
    def __init__(self, ds: "Dataset"):
        self.ds = ds

    def __iter__(self) -> Iterator[dict]:
        return self.ds.records(raw=True)

    def __len__(self) -> int:
        return len(self.ds)


class Dataset:
    """One immutable snapshot. Iterates lazily; `.to_pandas()` loads it all.

    `reused` is True when the call that returned it found the same content (same records, parent and
    operation) already stored under this name, and gave back that version instead of adding one; that version
    is then the name's current one again, and `replaced` the version the bare name meant just before."""

    def __init__(self, row, *, reused: bool = False, replaced: Optional[str] = None):
        self._row = dict(row)
        self.reused = reused
        self.replaced = replaced
        self.id: int = self._row["id"]
        self.name: str = self._row["name"]
        self.version: int = self._row["version"]
        self.snapshot: str = self._row["snapshot"]
        self.text_field: str = self._row["text_field"]
        self.op: str = self._row["op"]
        self.params: Dict[str, Any] = json.loads(self._row["params"] or "{}")
        self.columns: List[str] = json.loads(self._row["columns"] or "[]")
        self.created_at: float = self._row["created_at"]
        self.source: Optional[str] = self._row["source"]
        self.run_id: Optional[str] = self._row["run_id"]

    @property
    def ref(self) -> str:
        return f"{self.name}@v{self.version}"

    @property
    def snapshot_id(self) -> str:
        return self.snapshot

    @property
    def path(self) -> Path:
        return workspace().path / self._row["path"]

    def __len__(self) -> int:
        return int(self._row["n_records"])

    @property
    def parent(self) -> Optional["Dataset"]:
        pid = self._row["parent_id"]
        if pid is None:
            return None
        return Dataset(workspace().db.execute("SELECT * FROM datasets WHERE id=?", (pid,)).fetchone())

    def lineage(self) -> List["Dataset"]:
        """This snapshot and its ancestors, newest first."""
        out, node = [], self
        while node is not None:
            out.append(node)
            node = node.parent
        return out

    # ---- reading --------------------------------------------------------------------------
    def iter_batches(self, columns: Optional[List[str]] = None, batch_size: int = BATCH):
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(self.path)
        yield from pf.iter_batches(batch_size=batch_size, columns=columns)

    def records(self, columns: Optional[List[str]] = None, *, raw: bool = False) -> Iterator[dict]:
        """Each record as a dict. A dataset loaded with a text field other than `text` (say `prompt`) stores
        that value once, under `text`; records carry it under its own name too, unless raw=True (how
        curation copies records, so an edited `text` never leaves a stale copy behind)."""
        alias = self.text_field if self.text_field != "text" and not raw else None
        if alias and columns is not None and alias in columns and "text" not in columns:
            columns = list(columns) + ["text"]
        for batch in self.iter_batches(columns):
            if alias is None:
                yield from batch.to_pylist()
                continue
            for rec in batch.to_pylist():
                if rec.get(alias) is None and "text" in rec:
                    rec[alias] = rec["text"]
                yield rec

    def __iter__(self) -> Iterator[dict]:
        return self.records()

    def raw(self) -> "RawRecords":
        """A re-iterable, sized view of the stored records (no text-field alias filled in)."""
        return RawRecords(self)

    def texts(self) -> Iterator[str]:
        for batch in self.iter_batches(["text"]):
            yield from batch.column(0).to_pylist()

    def ids(self) -> List[str]:
        return [i for b in self.iter_batches(["id"]) for i in b.column(0).to_pylist()]

    def to_pandas(self):
        import pyarrow.parquet as pq

        return pq.read_table(self.path).to_pandas()

    def head(self, n: int = 5):
        import pandas as pd

        rows = []
        for rec in self.records():
            rows.append(rec)
            if len(rows) >= n:
                break
        return pd.DataFrame(rows, columns=self.columns or None)

    # ---- results protocol -------------------------------------------------------------------
    def info(self) -> Dict[str, Any]:
        return {"ref": self.ref, "name": self.name, "version": self.version, "records": len(self),
                "snapshot": self.snapshot[:12], "op": self.op, "source": self.source,
                "parent": self.parent.ref if self._row["parent_id"] else None,
                "created": fmt_time(self.created_at), "columns": self.columns}

    def to_dict(self) -> dict:
        d = self.info()
        d.update(snapshot=self.snapshot, params=self.params, path=str(self.path),
                 lineage=[ds.ref for ds in self.lineage()], reused=self.reused)
        if self.reused:
            d.update(current=True, replaced=self.replaced, note=self.reuse_note())
        return d

    def __repr__(self) -> str:
        reused = ", reused=True, current=True" if self.reused else ""
        return f"Dataset({self.ref!r}, records={len(self)}, snapshot={self.snapshot[:12]!r}{reused})"

    def reuse_note(self) -> str:
        """For a reused snapshot: that nothing new was stored, and that the bare name now means this version."""
        if not self.reused:
            return ""
        return f"identical content was already stored as {self.ref}; no new version was made; {self.current_note()}"

    def current_note(self) -> str:
        """For a reused snapshot: which version the bare name means now (this one) and meant before the call."""
        if self.replaced in (None, self.ref):
            return f"{self.name} still means {self.ref}"
        return f"{self.name} now means {self.ref} again (it meant {self.replaced})"

    def _preview_rows(self, n: int = 5) -> List[dict]:
        out = []
        for rec in self.records():
            text = rec.get("text") or ""
            out.append({"id": rec.get("id"), "text": text[:200] + ("…" if len(text) > 200 else ""),
                        **{k: rec.get(k) for k in self.columns if k not in ("id", "text")}})
            if len(out) >= n:
                break
        return out

    def __str__(self) -> str:
        lineage = " <- ".join(f"{d.ref} ({d.op}, {len(d)})" for d in self.lineage())
        cols = ["id", "text"] + [c for c in self.columns if c not in ("id", "text")][:3]
        note = f"\n{self.reuse_note()}" if self.reused else ""
        return f"dataset {self.ref}: {len(self)} records, snapshot {self.snapshot[:12]}{note}\nlineage: {lineage}\n\n" + \
            text_table(self._preview_rows(), cols, max_width=60)

    def _repr_html_(self) -> str:
        lineage = " ← ".join(f"{esc(d.ref)} <span class='llmops-muted'>({esc(d.op)}, {len(d)})</span>"
                             for d in self.lineage())
        cols = ["id", "text"] + [c for c in self.columns if c not in ("id", "text")][:4]
        return (f"{STYLE}<div class='llmops-cap'>Dataset {esc(self.ref)} · {len(self)} records · "
                f"snapshot {esc(self.snapshot[:12])}</div>"
                + (f"<div class='llmops-muted'>{esc(self.reuse_note())}</div>" if self.reused else "")
                + f"<div>lineage: {lineage}</div>"
                + html_table(self._preview_rows(), cols, total=len(self)))


def write_snapshot(records: Iterable[dict], *, name: str, parent: Optional[Dataset] = None) -> StoredFile:
    """Stream records (each with 'id' and 'text') to a temp Parquet file, hashed; `registering` then stores it
    under its content hash. No records: EmptySnapshotError, and nothing is left behind."""
    writer = SnapshotWriter(workspace().path)
    try:
        buf: List[dict] = []
        for rec in records:
            buf.append(rec)
            if len(buf) >= BATCH:
                writer.write(buf)
                buf = []
        writer.write(buf)
        if writer.n == 0:
            raise EmptySnapshotError(f"no records to store in dataset '{name}'" +
                                     (f" (all {len(parent)} records of {parent.ref} were removed)" if parent else "") +
                                     "; check the source or loosen the filters")
        stored = writer.stored()
    except BaseException:
        writer.abort()
        raise
    return stored


@contextlib.contextmanager
def registering(db, stored: StoredFile) -> Iterator[Any]:
    """`with registering(db, stored):` is `transaction(db)` that first puts the stored file at its content-hash
    name. When the block fails or is interrupted, the file goes again unless a `datasets` row refers to its
    content: checked and removed under the write lock, so a process that registers the same content at the
    same time either committed its row first (the file stays) or finds the file gone and puts its own there."""
    published = False
    try:
        with transaction(db):
            stored.publish()
            published = True
            yield db
    except BaseException:
        if published:
            _discard(db, stored)
        else:  # the lock was never taken or the rename failed: only the temp file is ours
            stored.tmp.unlink(missing_ok=True)
        raise


def _discard(db, stored: StoredFile) -> None:
    try:
        with transaction(db):
            used = db.execute("SELECT 1 FROM datasets WHERE snapshot=? LIMIT 1", (stored.digest,)).fetchone()
            stored.discard(referenced=used is not None)
    except Exception:  # the database itself failed (the error being raised says how): leave the file, never guess
        stored.tmp.unlink(missing_ok=True)


def _canon(value: Any) -> str:
    return json.dumps(json.loads(json.dumps(value, default=str)), sort_keys=True)


def find_snapshot(db, name: str, stored: StoredFile, *, parent: Optional[Dataset], op: str,
                  params: Optional[Dict[str, Any]] = None, same_params: Iterable[str] = ()) -> Optional[Dataset]:
    """The first version of `name` with this content, parent and op, whose recorded params agree with `params`
    on every key of `same_params` (what identifies a curation: its steps and seed), or None."""
    keys, params = list(same_params), params or {}
    for row in db.execute("SELECT * FROM datasets WHERE name=? AND snapshot=? AND op=? AND parent_id IS ? "
                          "ORDER BY version", (name, stored.digest, op, parent.id if parent is not None else None)):
        recorded = json.loads(row["params"] or "{}")
        if all(_canon(recorded.get(k)) == _canon(params.get(k)) for k in keys):
            return Dataset(row)
    return None


def _next_seq(db) -> int:
    return db.execute("SELECT coalesce(max(current_seq), 0) + 1 FROM datasets").fetchone()[0]


def _current_ref(db, name: str) -> Optional[str]:
    row = db.execute("SELECT version FROM datasets WHERE name=? ORDER BY current_seq DESC, version DESC LIMIT 1",
                     (name,)).fetchone()
    return f"{name}@v{row[0]}" if row is not None else None


def make_current(db, ds: Dataset) -> Dataset:
    """Make an existing version its name's current one again (inside a transaction): it, marked `reused`."""
    replaced = _current_ref(db, ds.name)
    db.execute("UPDATE datasets SET current_seq=? WHERE id=?", (_next_seq(db), ds.id))
    return Dataset(db.execute("SELECT * FROM datasets WHERE id=?", (ds.id,)).fetchone(), reused=True,
                   replaced=replaced)


def insert_snapshot(db, name: str, stored: StoredFile, *, parent: Optional[Dataset], op: str,
                    params: Optional[Dict[str, Any]] = None, source: Optional[str] = None,
                    text_field: Optional[str] = None) -> Dataset:
    """Make a stored file the next version of `name`, and its current one (inside `registering`)."""
    parent_id = parent.id if parent is not None else None
    if text_field is None:
        text_field = parent.text_field if parent is not None else "text"
    run = active_run()
    version = db.execute("SELECT coalesce(max(version), 0) + 1 FROM datasets WHERE name=?", (name,)).fetchone()[0]
    cur = db.execute(
        "INSERT INTO datasets (name, version, snapshot, path, n_records, n_bytes, text_field, columns, parent_id, op,"
        " params, source, run_id, created_at, current_seq) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (name, version, stored.digest, str(stored.rel), stored.n_records, stored.n_bytes, text_field,
         json.dumps(stored.columns), parent_id, op, json.dumps(params or {}, default=str), source,
         run.id if run is not None else None, time.time(), _next_seq(db)))
    return Dataset(db.execute("SELECT * FROM datasets WHERE id=?", (cur.lastrowid,)).fetchone())


def register_snapshot(db, name: str, stored: StoredFile, *, parent: Optional[Dataset], op: str,
                      params: Optional[Dict[str, Any]] = None, source: Optional[str] = None,
                      text_field: Optional[str] = None) -> Dataset:
    """Make a stored file the next version of `name`, or give back the version that already has this content,
    parent and operation (`Dataset.reused`); either way it becomes the name's current version. Call it inside
    `registering(db, stored)`, so the two cannot race. The text field name (see Dataset.records) is the
    parent's unless given."""
    same = find_snapshot(db, name, stored, parent=parent, op=op)
    if same is not None:
        return make_current(db, same)
    return insert_snapshot(db, name, stored, parent=parent, op=op, params=params, source=source,
                           text_field=text_field)


def create_snapshot(name: str, records: Iterable[dict], *, parent: Optional[Dataset] = None, op: str,
                    params: Optional[Dict[str, Any]] = None, source: Optional[str] = None,
                    text_field: Optional[str] = None) -> Dataset:
    """Write records (each with 'id' and 'text') as the next version of `name`; never overwrites. Content
    already stored as a version of `name` with the same parent and op gives that version back (`.reused`);
    either way the result is the name's current version. The text field name (see Dataset.records) is the
    parent's unless given."""
    check_name("dataset", name)
    stored = write_snapshot(records, name=name, parent=parent)
    db = workspace().db
    with registering(db, stored):
        return register_snapshot(db, name, stored, parent=parent, op=op, params=params, source=source,
                                 text_field=text_field)


def _name_from_source(source: Any) -> str:
    if not isinstance(source, (str, os.PathLike)):
        raise InputError("give the dataset a name: load_dataset(source, name='...') / --name N")
    if str(source) == "pydoc":
        return "pydoc"
    path = Path(str(source))
    name = re.sub(r"[^A-Za-z0-9_.\-]", "-", path.stem) or "dataset"
    try:
        return check_name("dataset", name, origin=f"made from the file name {path.name}")
    except InputError as exc:
        raise InputError(f"{exc}; pass --name NAME (name= in Python) to choose one") from None


def load_dataset(source: Any, name: Optional[str] = None, *, text_field: Optional[str] = None,
                 id_field: Optional[str] = None, format: Optional[str] = None, on_error: str = "stop") -> Dataset:
    """Load a JSONL/CSV/Parquet/JSON/TXT file, a DataFrame, a list of dicts or str, a Hugging Face
    `datasets.Dataset`, or "pydoc" (Python's reference topics) as a new snapshot of `name`.

    Every record gets `id` (the id field if given or present, else a hash of the text) and `text`.
    Malformed lines stop the load (on_error="stop") or are skipped and counted (on_error="skip").
    The same records loaded again under the same name give back the version already stored, which the bare
    name then means again.
    """
    errors = LineErrors(on_error)
    stream, desc = iter_source(source, fmt=format, errors=errors)
    name = check_name("dataset", name) if name is not None else _name_from_source(source)
    workspace().require_writable()  # before reading the whole source: the snapshot could not be stored
    params = {"source": describe_source(source), "name": name, "format": format, "text_field": text_field,
              "id_field": id_field, "on_error": on_error}
    with step_run("load", name, params) as run:
        ds, counts = _load(stream, desc, name, errors, text_field=text_field, id_field=id_field, format=format)
        run.log_metrics({"records_in": len(ds) + errors.count, "records_out": len(ds), "skipped_lines": errors.count,
                         **counts})
        if not text_field and ds.text_field:
            run.log_param("text_field_used", ds.text_field)
        record_snapshot(run, ds)
    return ds


def _load(stream, desc: str, name: str, errors: LineErrors, *, text_field: Optional[str], id_field: Optional[str],
          format: Optional[str]) -> Tuple[Dataset, Dict[str, int]]:
    """The snapshot of a source's records, and the builder's counts (empty texts, repeated ids, ...)."""
    builder = RecordBuilder(errors, text_field=text_field, id_field=id_field)
    try:
        stored = write_snapshot(builder.records(stream), name=name)
    except EmptySnapshotError:
        raise EmptySnapshotError(f"{desc} has no records" + (f" ({errors.count} malformed lines skipped)"
                                                             if errors.count else "") + "; nothing was stored") from None
    params = {"text_field": text_field, "id_field": id_field, "format": format, "on_error": errors.on_error,
              **builder.stats, "skipped_lines": errors.count, "skipped_examples": errors.skipped,
              "text_field_used": builder.field}
    db = workspace().db
    with registering(db, stored):
        ds = register_snapshot(db, name, stored, parent=None, op="load", params=params, source=desc,
                               text_field=builder.field or "text")
    return ds, dict(builder.stats)


def dataset(ref: Union[str, Dataset]) -> Dataset:
    """'name' (its current version: the one made or reused most recently) or 'name@v2' / 'name@2'."""
    if isinstance(ref, Dataset):
        return ref
    m = _REF.match(str(ref).strip())
    if not m:
        raise InputError(f"bad dataset reference '{ref}'; use NAME or NAME@vN")
    db = workspace().db
    name, version = m.group("name"), m.group("version")
    if version is None:
        row = db.execute("SELECT * FROM datasets WHERE name=? ORDER BY current_seq DESC, version DESC LIMIT 1",
                         (name,)).fetchone()
    else:
        row = db.execute("SELECT * FROM datasets WHERE name=? AND version=?", (name, int(version))).fetchone()
    if row is None:
        names = [r[0] for r in db.execute("SELECT DISTINCT name FROM datasets")]
        if version is not None and name in names:
            versions = [f"v{r[0]}" for r in db.execute("SELECT version FROM datasets WHERE name=? ORDER BY version", (name,))]
            raise not_found("version of dataset", f"{name}@v{version}", [], hint=f"'{name}' has {', '.join(versions)}")
        raise not_found("dataset", name, names, hint="" if names else
                        "no datasets yet; load one with load_dataset(...) or '%llmops data load'")
    return Dataset(row)


class DatasetsTable(ResultTable):
    columns = ["name", "version", "records", "op", "parent", "created", "source"]
    noun = "datasets"
    caption = "datasets (current versions)"


def datasets(all_versions: bool = False) -> DatasetsTable:
    """The current version of each dataset (what its bare name means: the version made or reused most
    recently), or every version."""
    db = workspace().db
    sql = ("SELECT d.*, p.name AS pname, p.version AS pversion FROM datasets d LEFT JOIN datasets p ON d.parent_id = p.id")
    if not all_versions:
        sql += (" WHERE d.id = (SELECT x.id FROM datasets x WHERE x.name = d.name"
                " ORDER BY x.current_seq DESC, x.version DESC LIMIT 1)")
    sql += " ORDER BY d.name, d.version"
    rows = [{"name": r["name"], "version": f"v{r['version']}", "records": r["n_records"], "op": r["op"],
             "parent": f"{r['pname']}@v{r['pversion']}" if r["pname"] else "", "created": fmt_time(r["created_at"]),
             "source": r["source"] or ""} for r in db.execute(sql)]
    return DatasetsTable(rows)


__all__ = ["BATCH", "Dataset", "DatasetsTable", "EmptySnapshotError", "StoredFile", "create_snapshot", "dataset",
           "datasets", "find_snapshot", "insert_snapshot", "load_dataset", "make_current", "record_id",
           "register_snapshot", "registering", "write_snapshot"]
