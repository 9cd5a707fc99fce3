"""Versioned, immutable dataset snapshots (Parquet in the workspace, content-addressed) with lineage.

`load_dataset` streams a source into a snapshot; curation and review write new snapshots through
`create_snapshot`. `dataset("name")` is the latest version, `dataset("name@v2")` a given one.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import time
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Union

from ..display import ResultTable, STYLE, esc, fmt_time, html_table, text_table
from ..errors import InputError, not_found
from .loaders import LineErrors, iter_source

BATCH = 8192
LONG_RECORD_CHARS = 100_000
_REF = re.compile(r"^(?P<name>[^@\s]+)(?:@v?(?P<version>\d+))?$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def _ws():
    from ..workspace import workspace

    return workspace()


def record_id(text: str) -> str:
    """Stable id of a record without an id field: a hash of its text."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def check_name(name: str) -> str:
    if not name or not NAME_RE.match(name):
        raise InputError(f"invalid dataset name '{name}'; use letters, digits, '.', '_' or '-' (no spaces or '@')")
    return name


class RawRecords:
    def __init__(self, ds: "Dataset"):
        self.ds = ds

    def __iter__(self) -> Iterator[dict]:
        return self.ds.records(raw=True)

    def __len__(self) -> int:
        return len(self.ds)


class Dataset:
    """One immutable snapshot. Iterates lazily; `.to_pandas()` loads it all."""

    def __init__(self, row):
        self._row = dict(row)
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
        return _ws().path / self._row["path"]

    def __len__(self) -> int:
        return int(self._row["n_records"])

    @property
    def parent(self) -> Optional["Dataset"]:
        pid = self._row["parent_id"]
        if pid is None:
            return None
        return Dataset(_ws().db.execute("SELECT * FROM datasets WHERE id=?", (pid,)).fetchone())

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
                 lineage=[ds.ref for ds in self.lineage()])
        return d

    def __repr__(self) -> str:
        return f"Dataset({self.ref!r}, records={len(self)}, snapshot={self.snapshot[:12]!r})"

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
        return f"dataset {self.ref}: {len(self)} records, snapshot {self.snapshot[:12]}\nlineage: {lineage}\n\n" + \
            text_table(self._preview_rows(), cols, max_width=60)

    def _repr_html_(self) -> str:
        lineage = " ← ".join(f"{esc(d.ref)} <span class='llmops-muted'>({esc(d.op)}, {len(d)})</span>"
                             for d in self.lineage())
        cols = ["id", "text"] + [c for c in self.columns if c not in ("id", "text")][:4]
        return (f"{STYLE}<div class='llmops-cap'>Dataset {esc(self.ref)} · {len(self)} records · "
                f"snapshot {esc(self.snapshot[:12])}</div><div>lineage: {lineage}</div>"
                + html_table(self._preview_rows(), cols, total=len(self)))


class _SnapshotWriter:
    """Streams record batches to a temp Parquet file while hashing the content; renames to its hash."""

    def __init__(self, ws):
        self.ws = ws
        self.hasher = hashlib.sha256()
        self.folder = ws.dir("datasets")
        self.tmp = self.folder / f".incoming-{os.getpid()}-{time.time_ns()}.parquet"
        self.writer = None
        self.schema = None
        self.n = 0
        self.n_bytes = 0
        self.columns: List[str] = []

    def write(self, rows: List[dict]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if not rows:
            return
        for r in rows:
            self.hasher.update(json.dumps(r, sort_keys=True, default=str, ensure_ascii=False).encode("utf-8", "surrogatepass"))
            self.n_bytes += len(r["text"].encode("utf-8", "surrogatepass"))
        if self.schema is None:
            seen: Dict[str, None] = {"id": None, "text": None}
            for r in rows:
                seen.update(dict.fromkeys(r))
            self.columns = list(seen)
            table = pa.Table.from_pylist([_clean(r, self.columns) for r in rows])
            if any(pa.types.is_null(f.type) for f in table.schema):
                # a column empty in the first batch (e.g. _flags) would reject values later: store it as text
                table = table.cast(pa.schema([f.with_type(pa.string()) if pa.types.is_null(f.type) else f
                                              for f in table.schema]))
            self.schema = table.schema
            self.writer = pq.ParquetWriter(self.tmp, self.schema, compression="zstd")
        else:
            table = _to_table([_clean(r, self.columns) for r in rows], self.schema)
        self.writer.write_table(table)
        self.n += len(rows)

    def finish(self) -> tuple:
        if self.writer is not None:
            self.writer.close()
        digest = self.hasher.hexdigest()
        rel = Path("datasets") / digest[:2] / f"{digest}.parquet"
        target = self.ws.path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():  # same content already stored: snapshots are content-addressed
            self.tmp.unlink()
        else:
            with open(self.tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            os.replace(self.tmp, target)
        return digest, rel

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.close()
        if self.tmp.exists():
            self.tmp.unlink()


def _clean(rec: dict, columns: List[str]) -> dict:
    out = {}
    for c in columns:
        v = rec.get(c)
        if isinstance(v, (dict, list, tuple, set)):
            v = json.dumps(v, default=str, ensure_ascii=False)
        out[c] = v
    return out


def _to_table(rows: List[dict], schema):
    import pyarrow as pa

    try:
        return pa.Table.from_pylist(rows, schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # a later batch holds a type the first did not (e.g. a number where text was): store it as text
        fixed = [{k: (None if v is None else (v if isinstance(v, str) else json.dumps(v, default=str)))
                  if schema.field(k).type == pa.string() else v for k, v in r.items()} for r in rows]
        return pa.Table.from_pylist(fixed, schema=schema)


def create_snapshot(name: str, records: Iterable[dict], *, parent: Optional[Dataset] = None, op: str,
                    params: Optional[Dict[str, Any]] = None, source: Optional[str] = None,
                    text_field: Optional[str] = None) -> Dataset:
    """Write records (each with 'id' and 'text') as the next version of `name`. Never overwrites.
    The text field name (see Dataset.records) is the parent's unless given."""
    check_name(name)
    if text_field is None:
        text_field = parent.text_field if parent is not None else "text"
    ws = _ws()
    writer = _SnapshotWriter(ws)
    try:
        buf: List[dict] = []
        for rec in records:
            buf.append(rec)
            if len(buf) >= BATCH:
                writer.write(buf)
                buf = []
        writer.write(buf)
        if writer.n == 0:
            raise InputError(f"no records to store in dataset '{name}'" +
                             (f" (all {len(parent)} records of {parent.ref} were removed)" if parent else "") +
                             "; check the source or loosen the filters")
        digest, rel = writer.finish()
    except BaseException:
        writer.abort()
        raise
    from ..tracking.runs import active_run

    run = active_run()
    db = ws.db
    db.execute("BEGIN IMMEDIATE")
    try:
        version = db.execute("SELECT coalesce(max(version), 0) + 1 FROM datasets WHERE name=?", (name,)).fetchone()[0]
        cur = db.execute(
            "INSERT INTO datasets (name, version, snapshot, path, n_records, n_bytes, text_field, columns, parent_id, op,"
            " params, source, run_id, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (name, version, digest, str(rel), writer.n, writer.n_bytes, text_field, json.dumps(writer.columns),
             parent.id if parent is not None else None, op, json.dumps(params or {}, default=str), source,
             run.id if run is not None else None, time.time()))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return Dataset(db.execute("SELECT * FROM datasets WHERE id=?", (cur.lastrowid,)).fetchone())


def _pick_text_field(rec: dict, text_field: Optional[str], where: str) -> str:
    if text_field:
        if text_field not in rec:
            raise InputError(f"text field '{text_field}' not found ({where}); fields present: "
                             f"{', '.join(map(str, rec)) or 'none'}; pass --text-field with one of them")
        return text_field
    for candidate in ("text", "content", "body", "document", "question", "prompt"):
        if candidate in rec and isinstance(rec[candidate], str):
            return candidate
    strings = [k for k, v in rec.items() if isinstance(v, str)]
    if len(strings) == 1:
        return strings[0]
    raise InputError(f"cannot tell which field holds the text ({where}); fields present: "
                     f"{', '.join(map(str, rec)) or 'none'}; pass --text-field NAME")


def load_dataset(source: Any, name: Optional[str] = None, *, text_field: Optional[str] = None,
                 id_field: Optional[str] = None, format: Optional[str] = None, on_error: str = "stop") -> Dataset:
    """Load a JSONL/CSV/Parquet/JSON/TXT file, a DataFrame, a list of dicts or str, a Hugging Face
    `datasets.Dataset`, or "pydoc" (Python's reference topics) as a new snapshot of `name`.

    Every record gets `id` (the id field if given or present, else a hash of the text) and `text`.
    Malformed lines stop the load (on_error="stop") or are skipped and counted (on_error="skip").
    """
    errors = LineErrors(on_error)
    stream, desc = iter_source(source, fmt=format, errors=errors)
    if name is None:
        if isinstance(source, (str, os.PathLike)):
            name = Path(str(source)).stem if str(source) != "pydoc" else "pydoc"
            name = re.sub(r"[^A-Za-z0-9_.\-]", "-", name) or "dataset"
        else:
            raise InputError("give the dataset a name: load_dataset(source, name='...') / --name N")
    check_name(name)
    stats = {"long_records": 0, "empty_texts": 0, "duplicate_ids": 0}
    state: Dict[str, Any] = {"field": None}
    seen_ids: Dict[str, int] = {}

    def records() -> Iterator[dict]:
        for rec, where in stream:
            if state["field"] is None:
                state["field"] = _pick_text_field(rec, text_field, where)
                state["id_field"] = id_field or ("id" if "id" in rec else None)
                if id_field and id_field not in rec:
                    raise InputError(f"id field '{id_field}' not found ({where}); fields present: {', '.join(map(str, rec))}")
            field = state["field"]
            if field not in rec:
                errors.add(where, f"no '{field}' field (fields: {', '.join(map(str, rec))})")
                continue
            text = rec[field]
            if text is None or (isinstance(text, float) and text != text):
                text = ""
            if not isinstance(text, str):
                text = str(text)
            text = text.encode("utf-8", "replace").decode("utf-8")  # lone surrogates from bad sources
            if not text.strip():
                stats["empty_texts"] += 1
            if len(text) > LONG_RECORD_CHARS:
                stats["long_records"] += 1
            idf = state["id_field"]
            rid = str(rec[idf]) if idf and rec.get(idf) is not None else record_id(text)
            if rid in seen_ids:
                seen_ids[rid] += 1
                stats["duplicate_ids"] += 1
                rid = f"{rid}-{seen_ids[rid]}"
            else:
                seen_ids[rid] = 1
            out = {"id": rid, "text": text}
            for k, v in rec.items():
                if k not in (field, idf, "id", "text"):
                    out[str(k)] = v
            if field != "text":
                out.setdefault(field, None)
            yield out

    try:
        ds = create_snapshot(name, records(), op="load", source=desc,
                             params={"text_field": text_field, "id_field": id_field, "format": format,
                                     "on_error": on_error}, text_field=text_field or "text")
    except InputError as exc:
        if str(exc).startswith("no records to store"):
            raise InputError(f"{desc} has no records" + (f" ({errors.count} malformed lines skipped)" if errors.count else "")
                             + "; nothing was stored") from None
        raise
    extra = {**stats, "skipped_lines": errors.count, "skipped_examples": errors.skipped,
             "text_field_used": state["field"]}
    ds.params.update(extra)
    used = state["field"] or "text"
    _ws().db.execute("UPDATE datasets SET params=?, text_field=? WHERE id=?",
                     (json.dumps(ds.params, default=str), used, ds.id))
    ds._row["params"] = json.dumps(ds.params, default=str)
    ds._row["text_field"] = ds.text_field = used
    return ds


def dataset(ref: Union[str, Dataset]) -> Dataset:
    """'name' (latest version) or 'name@v2' / 'name@2'."""
    if isinstance(ref, Dataset):
        return ref
    m = _REF.match(str(ref).strip())
    if not m:
        raise InputError(f"bad dataset reference '{ref}'; use NAME or NAME@vN")
    db = _ws().db
    name, version = m.group("name"), m.group("version")
    if version is None:
        row = db.execute("SELECT * FROM datasets WHERE name=? ORDER BY version DESC LIMIT 1", (name,)).fetchone()
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
    caption = "datasets (latest versions)"


def datasets(all_versions: bool = False) -> DatasetsTable:
    """Latest version of each dataset (or every version)."""
    db = _ws().db
    sql = ("SELECT d.*, p.name AS pname, p.version AS pversion FROM datasets d LEFT JOIN datasets p ON d.parent_id = p.id")
    if not all_versions:
        sql += " WHERE d.version = (SELECT max(version) FROM datasets x WHERE x.name = d.name)"
    sql += " ORDER BY d.name, d.version"
    rows = [{"name": r["name"], "version": f"v{r['version']}", "records": r["n_records"], "op": r["op"],
             "parent": f"{r['pname']}@v{r['pversion']}" if r["pname"] else "", "created": fmt_time(r["created_at"]),
             "source": r["source"] or ""} for r in db.execute(sql)]
    return DatasetsTable(rows)
