"""`VectorIndex`: an HNSW index (usearch) over chunks of records, persisted in the workspace.

Storage: the usearch file lives at `indexes/<name>/<generation>.usearch`; the workspace database holds
the index's params and lineage (`indexes`), its records' text and metadata (`index_records`) and the
usearch key -> (record id, chunk, offsets) map (`index_chunks`). usearch keys are integers we hand out
from a counter and never reuse.

Saves are atomic across both: a new generation file is written beside the old one (temp + rename),
then one database transaction switches the index to it along with its row changes; only after the
commit is the old file removed. A crash at any point leaves the previous index whole and usable.
"""
from __future__ import annotations

import json
import math
import re
import shutil
import threading
import time
import uuid
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..display import ResultTable, STYLE, esc, fmt_time, html_kv, html_table, jsonable, text_table
from ..errors import InputError, LlmopsError, MissingDependencyError, not_found
from .chunking import DEFAULT_CHUNK_TOKENS, DEFAULT_OVERLAP, ChunkStats, check_window, chunk_records
from .results import SearchResults

DTYPES = {"f32": "f32", "float32": "f32", "f16": "f16", "float16": "f16", "bf16": "bf16", "i8": "i8", "int8": "i8"}
METRICS = ("cos", "ip", "l2sq")
DEFAULT_MODEL = "all-minilm-l6-v2"
DEFAULT_CONNECTIVITY = 16
DEFAULT_EXPANSION_ADD = 128
DEFAULT_EXPANSION_SEARCH = 64
EXACT_SUBSET_MAX = 20_000  # a filter matching at most this many chunks is searched exactly (numpy)
EXACT_SUBSET_FRACTION = 0.02  # ... as is one matching under 2% of the index
STALE_FILE_S = 600  # generation files no transaction adopted (a crash mid-save) are removed after this
_SQL_BATCH = 500
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def _ws():
    from ..workspace import workspace

    return workspace()


def _usearch():
    try:
        from usearch.index import Index
    except ImportError:
        raise MissingDependencyError("usearch is not installed; run: pip install usearch") from None
    return Index


def check_index_name(name: Any) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise InputError(f"invalid index name {name!r}; use letters, digits, '.', '_' or '-' (no spaces)")
    return name


def _check_params(dtype: str, metric: str, connectivity: int, expansion_add: int, expansion_search: int) -> str:
    if dtype not in DTYPES:
        raise InputError(f"unknown dtype '{dtype}'; use f32, f16 or i8 (i8 is 4x smaller, with slightly lower recall)")
    if metric not in METRICS:
        raise InputError(f"unknown metric '{metric}'; use {', '.join(METRICS)}")
    for label, v, lo in (("connectivity", connectivity, 2), ("expansion_add", expansion_add, 1),
                         ("expansion_search", expansion_search, 1)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < lo:
            raise InputError(f"{label} must be an integer >= {lo} (got {v!r})")
    return DTYPES[dtype]


# --------------------------------------------------------------------------------------------
# records in: a Dataset, a dataset reference, a DataFrame, a list of dicts or of strings
def _as_records(source: Any) -> Tuple[Iterable[dict], Any]:
    """(records, dataset or None). Records get an 'id' (the text's hash when missing) and a str 'text'."""
    from ..data.datasets import Dataset, dataset

    ds = None
    if isinstance(source, (str, Dataset)):
        ds = dataset(source)
        return _normalize_records(ds.records()), ds
    try:
        import pandas as pd

        if isinstance(source, pd.DataFrame):
            source = source.to_dict("records")
    except ImportError:  # pragma: no cover
        pass
    if isinstance(source, dict):
        source = [source]
    if not isinstance(source, Iterable):
        raise InputError(f"cannot index a {type(source).__name__}; pass a dataset name, a Dataset, a DataFrame "
                         "or a list of dicts with 'id' and 'text'")
    return _normalize_records(source), None


def _normalize_records(items: Iterable[Any]) -> Iterator[dict]:
    from ..data.datasets import record_id

    for i, rec in enumerate(items):
        if isinstance(rec, str):
            rec = {"text": rec}
        if not isinstance(rec, dict):
            raise InputError(f"record {i} is a {type(rec).__name__}; records are dicts with 'id' and 'text'")
        if "text" not in rec:
            raise InputError(f"record {i} has no 'text' field (fields: {', '.join(map(str, rec)) or 'none'}); "
                             "records are dicts with 'id' and 'text'")
        text = rec["text"]
        text = "" if text is None or (isinstance(text, float) and text != text) else str(text)
        rid = rec.get("id")
        rid = record_id(text) if rid is None or rid == "" else str(rid)
        yield {**rec, "id": rid, "text": text}


def _meta_json(rec: dict) -> str:
    return json.dumps({k: v for k, v in rec.items() if k not in ("id", "text")}, default=str, ensure_ascii=False)


class _Prepared:
    """Rows and vectors ready to go into an index: what add/upsert/build share."""

    def __init__(self):
        self.records: List[Tuple[str, str, str]] = []  # (record_id, text, meta json)
        self.chunks: List[Tuple[str, int, int, int]] = []  # (record_id, chunk, start, end)
        self.vectors: Optional[np.ndarray] = None
        self.stats = ChunkStats()
        self.embed_stats = None
        self.all_ids: List[str] = []  # every record given, those skipped for empty text too


def _prepare(records: Iterable[dict], *, model: Optional[str], chunk_tokens: int, overlap: int,
             vectors: Optional[np.ndarray], dim: Optional[int], progress: bool, where: str) -> _Prepared:
    """Chunk and embed records (or take one given vector per record, unchunked)."""
    out = _Prepared()
    seen: set = set()

    def track(rec: dict) -> dict:
        if rec["id"] in seen:
            raise InputError(f"record id '{rec['id']}' appears twice in {where}; record ids must be unique")
        seen.add(rec["id"])
        out.all_ids.append(rec["id"])
        return rec

    if vectors is not None:
        vectors = np.asarray(vectors, dtype=np.float32)
        recs = [track(r) for r in records]
        if vectors.ndim != 2 or len(vectors) != len(recs):
            raise InputError(f"vectors must be a 2-d array with one row per record ({len(recs)} records, "
                             f"got shape {vectors.shape})")
        if dim is not None and vectors.shape[1] != dim:
            raise InputError(f"dimension mismatch: the index holds {dim}-d vectors, got {vectors.shape[1]}-d ones")
        for r in recs:
            out.records.append((r["id"], r["text"], _meta_json(r)))
            out.chunks.append((r["id"], 0, 0, len(r["text"])))
        out.stats.records = out.stats.chunks = len(recs)
        out.vectors = np.ascontiguousarray(vectors)
        return out

    from ..models.loading import load_embedder
    from .embeddings import EmbedStats, embed

    emb = load_embedder(model)
    if dim is not None and emb.dim != dim:
        raise InputError(f"dimension mismatch: the index holds {dim}-d vectors but {emb.name} gives {emb.dim}-d ones; "
                         "rebuild the index with build_index(...)")
    kept: Dict[str, dict] = {}

    def keep(rec: dict) -> dict:
        kept[rec["id"]] = rec
        return rec

    texts: List[str] = []
    for c in chunk_records((keep(track(r)) for r in records), emb.tokenizer, chunk_tokens=chunk_tokens,
                           overlap=overlap, max_tokens=emb.max_seq_length - 2, stats=out.stats):
        out.chunks.append((c.record_id, c.chunk, c.start, c.end))
        texts.append(c.text)
    chunked = {rid for rid, *_ in out.chunks}
    out.records = [(rid, rec["text"], _meta_json(rec)) for rid, rec in kept.items() if rid in chunked]
    out.embed_stats = EmbedStats()
    out.vectors = embed(texts, emb, progress=progress, stats=out.embed_stats)
    return out


# --------------------------------------------------------------------------------------------
def _save_usearch(ix, path: Path) -> None:
    """Serialize the usearch index to `path` (a temp file; the caller renames it into place)."""
    ix.save(str(path))


def _restore_usearch(path: Path):
    Index = _usearch()
    ix = Index.restore(str(path), view=False)
    return ix


def _new_usearch(dim: int, metric: str, dtype: str, connectivity: int, expansion_add: int, expansion_search: int):
    Index = _usearch()
    return Index(ndim=dim, metric=metric, dtype=dtype, connectivity=connectivity, expansion_add=expansion_add,
                 expansion_search=expansion_search)


def _add_vectors(ix, keys: np.ndarray, vectors: np.ndarray, progress: bool) -> None:
    if len(keys) == 0:
        return
    from tqdm.auto import tqdm

    from ..config import progress_disabled

    disable = not progress or progress_disabled() or len(keys) < 5000
    if disable:
        ix.add(keys, vectors)
        return
    with tqdm(total=len(keys), desc="indexing", unit="vec") as bar:
        def cb(done: int, total: int) -> bool:
            bar.update(done - bar.n)
            return True

        ix.add(keys, vectors, progress=cb)
        bar.update(len(keys) - bar.n)


_FETCH_SQL: Dict[int, str] = {}


def _fetch_sql(n: int) -> str:
    """The payload query for n keys (one string per n, so sqlite reuses its prepared statement)."""
    sql = _FETCH_SQL.get(n)
    if sql is None:
        sql = _FETCH_SQL[n] = (
            'SELECT c.key, c.record_id, c.chunk, c.start, c."end", substr(r.text, c.start + 1, c."end" - c.start), '
            "r.meta FROM index_chunks c JOIN index_records r ON r.index_id = c.index_id AND r.record_id = c.record_id "
            f"WHERE c.index_id = ? AND c.key IN ({','.join('?' * n)})")
    return sql


def _new_file_rel(name: str) -> Path:
    return Path("indexes") / name / f"{time.time_ns():x}-{uuid.uuid4().hex[:6]}.usearch"


def _insert_rows(db, index_id: int, prep: _Prepared, keys: np.ndarray) -> None:
    db.executemany("INSERT INTO index_records (index_id, record_id, text, meta) VALUES (?,?,?,?)",
                   ((index_id, rid, text, meta) for rid, text, meta in prep.records))
    db.executemany('INSERT INTO index_chunks (index_id, key, record_id, chunk, start, "end") VALUES (?,?,?,?,?,?)',
                   ((index_id, int(k), rid, n, s, e) for k, (rid, n, s, e) in zip(keys, prep.chunks)))


def _cleanup_folder(folder: Path, keep: Path) -> None:
    """Remove generation files no index points at: the replaced one, and leftovers of crashed saves."""
    now = time.time()
    for f in folder.glob("*.usearch"):
        if f == keep:
            continue
        try:
            if now - f.stat().st_mtime > STALE_FILE_S:
                f.unlink()
        except OSError:
            pass
    for f in folder.glob(".*.tmp"):
        try:
            if now - f.stat().st_mtime > STALE_FILE_S:
                f.unlink()
        except OSError:
            pass


def _write_generation(ix, rel: Path) -> Path:
    from ..workspace.files import atomic_path

    target = _ws().path / rel
    with atomic_path(target) as tmp:
        _save_usearch(ix, tmp)
    return target


class Change:
    """What add/upsert/delete did."""

    def __init__(self, index: str, *, added_records=0, added_chunks=0, removed_records=0, removed_chunks=0,
                 skipped_empty=0, embedded=0, cached=0):
        self.index = index
        self.added_records, self.added_chunks = added_records, added_chunks
        self.removed_records, self.removed_chunks = removed_records, removed_chunks
        self.skipped_empty, self.embedded, self.cached = skipped_empty, embedded, cached

    def to_dict(self) -> dict:
        return {k: v for k, v in vars(self).items()}

    def __str__(self) -> str:
        parts = [f"+{self.added_records} records ({self.added_chunks} chunks)",
                 f"-{self.removed_records} records ({self.removed_chunks} chunks)"]
        if self.skipped_empty:
            parts.append(f"{self.skipped_empty} empty skipped")
        if self.embedded or self.cached:
            parts.append(f"{self.embedded} embedded, {self.cached} from cache")
        return f"index {self.index}: " + ", ".join(parts)

    __repr__ = __str__


# --------------------------------------------------------------------------------------------
class VectorIndex:
    """A named vector index in the workspace. Get one with `build_index(...)` or `load_index(name)`."""

    def __init__(self, row, ix=None):
        self._lock = threading.RLock()
        # the workspace this index belongs to, held: `workspace()` re-reads settings on every call (~2 ms)
        self._wsobj = _ws()
        self._set_row(row)
        self._ix = ix if ix is not None else self._load_file()
        self._embedder = None
        self._invalidate()
        self._queries: "OrderedDict[str, np.ndarray]" = OrderedDict()

    # ---- state ----------------------------------------------------------------------------------
    def _set_row(self, row) -> None:
        self._row = dict(row)
        r = self._row
        self.id: int = r["id"]
        self.name: str = r["name"]
        self.model: Optional[str] = r["model"] or None
        self.dim: int = r["dim"]
        self.metric: str = r["metric"]
        self.dtype: str = r["dtype"]
        self.connectivity: int = r["connectivity"]
        self.expansion_add: int = r["expansion_add"]
        self.chunk_tokens: Optional[int] = r["chunk_tokens"]
        self.overlap: Optional[int] = r["overlap"]
        self.dataset_ref: Optional[str] = r["dataset_ref"]
        self.snapshot: Optional[str] = r["dataset_snapshot"]
        self.stats: Dict[str, Any] = json.loads(r["stats"] or "{}")
        self.created_at: float = r["created_at"]
        self.updated_at: float = r["updated_at"]

    @property
    def expansion_search(self) -> int:
        """How many candidates HNSW keeps while searching: higher gives better recall, lower is faster.
        Setting it is stored with the index (no rebuild needed); `recall()` shows what it buys."""
        return int(self._row["expansion_search"])

    @expansion_search.setter
    def expansion_search(self, value: int) -> None:
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise InputError(f"expansion_search must be an integer >= 1 (got {value!r})")
        self._wsobj.db.execute("UPDATE indexes SET expansion_search=? WHERE id=?", (int(value), self.id))
        self._row["expansion_search"] = int(value)
        self._ix.expansion_search = int(value)

    @property
    def path(self) -> Path:
        return self._wsobj.path / self._row["file"]

    def _load_file(self):
        path = self.path
        if not path.exists():
            raise LlmopsError(f"index '{self.name}' lost its file {path}; rebuild it with build_index(...)")
        ix = _restore_usearch(path)
        if ix is None:
            raise LlmopsError(f"index '{self.name}': {path} is not a readable usearch file; rebuild it with build_index(...)")
        if ix.ndim != self.dim:
            raise LlmopsError(f"index '{self.name}': its file holds {ix.ndim}-d vectors but it was built with "
                              f"{self.model or 'given vectors'} ({self.dim}-d); rebuild it with build_index(...)")
        ix.expansion_search = self.expansion_search
        ix.expansion_add = self.expansion_add
        return ix

    def _invalidate(self) -> None:
        self._frame_cache = None
        self._masks: "OrderedDict[str, dict]" = OrderedDict()

    def reload(self) -> "VectorIndex":
        """Re-read the index from the workspace (after another process changed it)."""
        with self._lock:
            row = self._wsobj.db.execute("SELECT * FROM indexes WHERE id=?", (self.id,)).fetchone()
            if row is None:
                raise not_found("index", self.name, _names())
            if row["file"] != self._row["file"]:
                self._set_row(row)
                self._ix = self._load_file()
            else:
                self._set_row(row)
            self._invalidate()
        return self

    @property
    def embedder(self):
        if self._embedder is None:
            if not self.model:
                raise InputError(f"index '{self.name}' was built from given vectors without a model; "
                                 "search it with a vector, or rebuild it with model=...")
            from ..models.loading import load_embedder

            emb = load_embedder(self.model)
            if emb.dim != self.dim:
                raise LlmopsError(f"index '{self.name}' holds {self.dim}-d vectors but {self.model} now gives "
                                  f"{emb.dim}-d ones; rebuild the index with build_index(...)")
            self._embedder = emb
        return self._embedder

    def __len__(self) -> int:
        return int(self._ix.size)

    @property
    def n_records(self) -> int:
        return int(self._row["n_records"])

    @property
    def n_chunks(self) -> int:
        return int(self._row["n_chunks"])

    @property
    def changes(self) -> int:
        """add/upsert/delete calls since the index was built from its dataset."""
        return int(self._row["changes"])

    @property
    def params(self) -> Dict[str, Any]:
        return {"model": self.model, "dim": self.dim, "metric": self.metric, "dtype": self.dtype,
                "connectivity": self.connectivity, "expansion_add": self.expansion_add,
                "expansion_search": self.expansion_search, "chunk_tokens": self.chunk_tokens, "overlap": self.overlap}

    def lineage(self) -> Dict[str, Any]:
        """The dataset snapshot this index was built from, and how far it has moved since."""
        out = {"dataset": self.dataset_ref, "snapshot": self.snapshot, "built_at": fmt_time(self.created_at),
               "changes_since_build": self.changes, "run_id": self._row["run_id"]}
        if self._row["dataset_id"] is not None:
            from ..data.datasets import Dataset

            row = self._wsobj.db.execute("SELECT * FROM datasets WHERE id=?", (self._row["dataset_id"],)).fetchone()
            if row is not None:
                out["dataset_lineage"] = [d.ref for d in Dataset(row).lineage()]
        return out

    # ---- queries --------------------------------------------------------------------------------
    def _query_vector(self, query: Any) -> Tuple[np.ndarray, Optional[str]]:
        if isinstance(query, str):
            text = query.strip()
            if not text:
                raise InputError("empty query; give some words to search for")
            vec = self._queries.get(text)
            if vec is None:
                from .embeddings import EmbeddingCache, _normalize, embed

                # a query seen before comes from the embedding cache without loading the model: a
                # repeated `llmops search` skips the embedder's ~10 s import
                key = self.stats.get("model_key")
                vec = EmbeddingCache.lookup(key, self.dim, text) if key else None
                if vec is None:
                    vec = embed([text], self.embedder, progress=False)[0]
                else:
                    vec = _normalize(vec[None, :])[0]
                self._queries[text] = vec
                if len(self._queries) > 256:
                    self._queries.popitem(last=False)
            else:
                self._queries.move_to_end(text)
            return vec, text
        if query is None:
            raise InputError("empty query; give some words (or a vector) to search for")
        if isinstance(query, np.ndarray) and query.dtype == np.float32 and query.shape == (self.dim,):
            if not np.isfinite(query.sum()):  # one reduction: NaN or inf anywhere makes the sum non-finite
                raise InputError("the query vector has NaN or infinite values")
            return query, None
        try:
            vec = np.asarray(query, dtype=np.float32)
        except (TypeError, ValueError):
            raise InputError(f"cannot search for a {type(query).__name__}; give a string or a {self.dim}-d vector") from None
        if vec.ndim == 2 and vec.shape[0] == 1:
            vec = vec[0]
        if vec.ndim != 1 or vec.shape[0] != self.dim:
            raise InputError(f"dimension mismatch: index '{self.name}' holds {self.dim}-d vectors "
                             f"({self.model or 'given vectors'}), got an array of shape {vec.shape}")
        if not np.all(np.isfinite(vec)):
            raise InputError("the query vector has NaN or infinite values")
        return vec, None

    def _scores(self, distances: np.ndarray) -> np.ndarray:
        return -distances if self.metric == "l2sq" else 1.0 - distances

    def _distances(self, vectors: np.ndarray, q: np.ndarray) -> np.ndarray:
        """The metric's distances from q to each row, as usearch computes them (numpy, for exact subsets)."""
        if self.metric == "l2sq":
            diff = vectors - q
            return np.einsum("ij,ij->i", diff, diff)
        dots = vectors @ q
        if self.metric == "ip":
            return 1.0 - dots
        norms = np.linalg.norm(vectors, axis=1) * (np.linalg.norm(q) or 1.0)
        norms[norms == 0] = 1.0
        return 1.0 - dots / norms

    def search(self, query: Union[str, Sequence[float], np.ndarray], k: int = 5, *, where: Optional[str] = None,
               exact: bool = False) -> SearchResults:
        """The k chunks nearest to a text query (embedded with the index's model) or a vector.

        `where` filters on metadata columns with a pandas-query expression, e.g. "topic == 'assert'".
        `exact=True` compares against every vector (brute force) instead of walking the HNSW graph.
        k larger than the index (or than what the filter matches) returns all there is, with a note.
        """
        t0 = time.perf_counter()
        if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k <= 0:
            raise InputError(f"k must be a positive integer (got {k!r})")
        k = int(k)
        where = str(where).strip() if where is not None else None
        if where:
            self._mask(where)  # a bad filter fails before the query is embedded
        vec, text = self._query_vector(query)
        with self._lock:
            size = len(self)
            note = ""
            method = "exact" if exact else "hnsw"
            if size == 0:
                keys, dists, note = np.zeros(0, np.uint64), np.zeros(0), f"index '{self.name}' is empty"
            elif where:
                keys, dists, note, method = self._filtered(vec, k, where, exact)
            else:
                if k > size:
                    note = f"k={k} is more than the {size} chunks in the index; returned all {size}"
                    k = size
                m = self._ix.search(vec, k, exact=exact)
                keys, dists = m.keys, m.distances
        return SearchResults(index=self.name, query=text, keys=keys, scores=self._scores(dists), fetch=self._fetch,
                             k=k, where=where or None, exact=exact, note=note, method=method,
                             elapsed_ms=(time.perf_counter() - t0) * 1e3)

    def _fetch(self, keys: List[int]) -> List[dict]:
        rows: Dict[int, dict] = {}
        db = self._wsobj.db
        for i in range(0, len(keys), _SQL_BATCH):
            part = keys[i:i + _SQL_BATCH]
            for key, rid, chunk, start, end, text, meta in db.execute(_fetch_sql(len(part)), [self.id, *part]):
                rows[key] = {"id": rid, "chunk": chunk, "start": start, "end": end, "text": text,
                             "metadata": {} if meta == "{}" else json.loads(meta)}
        if len(rows) < len(set(keys)):
            missing = [k for k in keys if k not in rows]
            raise LlmopsError(f"index '{self.name}' changed since this search (key {missing[0]} is gone); search again")
        return [rows[k] for k in keys]

    # ---- metadata filters -----------------------------------------------------------------------
    def _frame(self):
        """key, id, chunk and metadata columns of every chunk: what `where` expressions see."""
        if self._frame_cache is None:
            import pandas as pd

            db = self._wsobj.db
            metas = {rid: json.loads(meta) for rid, meta in
                     db.execute("SELECT record_id, meta FROM index_records WHERE index_id=?", (self.id,))}
            rows = db.execute("SELECT key, record_id, chunk FROM index_chunks WHERE index_id=? ORDER BY key",
                              (self.id,)).fetchall()
            frame = pd.DataFrame({"key": np.array([r[0] for r in rows], dtype=np.int64),
                                  "id": [r[1] for r in rows], "chunk": np.array([r[2] for r in rows], dtype=np.int64)})
            cols: Dict[str, None] = {}
            for m in metas.values():
                cols.update(dict.fromkeys(m))
            for c in cols:
                if c in ("key", "id", "chunk"):
                    continue
                frame[c] = [metas[r[1]].get(c) for r in rows]
            self._frame_cache = frame
        return self._frame_cache

    @property
    def columns(self) -> List[str]:
        """Columns a `where` filter can use."""
        return [c for c in self._frame().columns if c != "key"]

    def _mask(self, where: str) -> dict:
        cached = self._masks.get(where)
        if cached is not None:
            self._masks.move_to_end(where)
            return cached
        frame = self._frame()
        cols = ", ".join(self.columns)
        try:
            sel = frame.eval(where, engine="python")
        except Exception as exc:  # pandas raises SyntaxError, NameError subclasses, TypeError, ValueError...
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputError(f"cannot filter with {where!r} ({reason}); columns you can filter on: {cols} "
                             "(e.g. \"topic == 'assert'\", \"chunk > 0 and id != 'x'\")") from None
        sel = np.asarray(sel)
        if sel.dtype != bool or sel.shape != (len(frame),):
            hint = " (use == to compare)" if re.search(r"(?<![=!<>])=(?!=)", where) else ""
            raise InputError(f"filter {where!r} does not give True/False per chunk{hint}; columns you can filter on: "
                             f"{cols} (e.g. \"{self.columns[-1]} == 'value'\")")
        keys = frame["key"].to_numpy()[sel]
        mask = np.zeros(int(self._row["next_key"]) + 1, dtype=bool)
        mask[keys] = True
        entry = {"mask": mask, "keys": keys, "n": int(len(keys)), "vectors": None}
        self._masks[where] = entry
        if len(self._masks) > 8:
            self._masks.popitem(last=False)
        return entry

    def _subset_vectors(self, entry: dict) -> np.ndarray:
        if entry["vectors"] is None:
            got = self._ix.get(entry["keys"].astype(np.uint64), dtype=np.float32)
            entry["vectors"] = np.vstack(got) if len(got) else np.zeros((0, self.dim), np.float32)
        return entry["vectors"]

    def _exact_subset(self, vec: np.ndarray, k: int, entry: dict) -> Tuple[np.ndarray, np.ndarray]:
        vecs = self._subset_vectors(entry)
        d = self._distances(vecs, vec.astype(np.float32))
        top = np.argpartition(d, k - 1)[:k] if k < len(d) else np.arange(len(d))
        top = top[np.argsort(d[top], kind="stable")]
        return entry["keys"][top], d[top]

    def _filtered(self, vec: np.ndarray, k: int, where: str, exact: bool):
        entry = self._mask(where)
        n, size = entry["n"], len(self)
        note = ""
        if n == 0:
            return np.zeros(0, np.uint64), np.zeros(0), f"no chunks match {where}", "filtered"
        if k > n:
            note = f"only {n} chunks match {where}; returned all {n}"
            k = n
        if exact or n <= EXACT_SUBSET_MAX or n < EXACT_SUBSET_FRACTION * size:
            keys, d = self._exact_subset(vec, k, entry)
            return keys, d, note, "exact over filtered subset"
        # a broad filter: ask HNSW for more than k and keep the matching ones (oversample by 2/selectivity)
        mask = entry["mask"]
        count = min(size, max(4 * k, int(math.ceil(2 * k * size / n))))
        while True:
            m = self._ix.search(vec, count)
            keys = np.asarray(m.keys, dtype=np.int64)
            keep = mask[keys]
            if keep.sum() >= k or count >= size:
                break
            count = min(size, count * 4)
        if keep.sum() < k:
            keys, d = self._exact_subset(vec, k, entry)
            return keys, d, note, "exact over filtered subset"
        return keys[keep][:k], np.asarray(m.distances)[keep][:k], note, f"hnsw, filtered from {count}"

    # ---- records --------------------------------------------------------------------------------
    def record(self, record_id: str) -> Dict[str, Any]:
        """One record as indexed: id, full text, metadata and its chunks' offsets."""
        db = self._wsobj.db
        row = db.execute("SELECT text, meta FROM index_records WHERE index_id=? AND record_id=?",
                         (self.id, str(record_id))).fetchone()
        if row is None:
            ids = [r[0] for r in db.execute("SELECT record_id FROM index_records WHERE index_id=? LIMIT 5000",
                                            (self.id,))]
            raise not_found(f"record in index '{self.name}'", str(record_id), ids)
        chunks = [{"chunk": c, "start": s, "end": e} for c, s, e in db.execute(
            'SELECT chunk, start, "end" FROM index_chunks WHERE index_id=? AND record_id=? ORDER BY chunk',
            (self.id, str(record_id)))]
        return {"id": str(record_id), "text": row[0], "metadata": json.loads(row[1]), "chunks": chunks}

    def record_ids(self) -> List[str]:
        return [r[0] for r in self._wsobj.db.execute("SELECT record_id FROM index_records WHERE index_id=? ORDER BY record_id",
                                               (self.id,))]

    # ---- changes --------------------------------------------------------------------------------
    def add(self, records: Any, *, vectors: Optional[np.ndarray] = None, progress: bool = True) -> Change:
        """Add new records (dicts with 'id', 'text' and metadata); an id already in the index is refused."""
        return self._change(records, vectors=vectors, replace=False, progress=progress)

    def upsert(self, records: Any, *, vectors: Optional[np.ndarray] = None, progress: bool = True) -> Change:
        """Add records, replacing the chunks of any whose id is already in the index."""
        return self._change(records, vectors=vectors, replace=True, progress=progress)

    def delete(self, record_ids: Union[str, Iterable[str]]) -> Change:
        """Remove records (all their chunks) by record id. Unknown ids are ignored and not counted."""
        ids = [record_ids] if isinstance(record_ids, str) else [str(r) for r in record_ids]
        with self._lock:
            keys_by = self._keys_of(ids)
            keys = np.array([k for ks in keys_by.values() for k in ks], dtype=np.uint64)
            change = Change(self.name, removed_records=len(keys_by), removed_chunks=len(keys))
            if not keys_by:
                return change
            self._ix.remove(keys)

            def ops(db):
                self._delete_rows(db, list(keys_by))

            self._commit(ops, d_records=-len(keys_by), d_chunks=-len(keys), next_key=int(self._row["next_key"]))
            return change

    def _keys_of(self, ids: List[str]) -> Dict[str, List[int]]:
        out: Dict[str, List[int]] = {}
        db = self._wsobj.db
        for i in range(0, len(ids), _SQL_BATCH):
            part = ids[i:i + _SQL_BATCH]
            sql = f"SELECT record_id, key FROM index_chunks WHERE index_id=? AND record_id IN ({','.join('?' * len(part))})"
            for rid, key in db.execute(sql, [self.id, *part]):
                out.setdefault(rid, []).append(key)
        return out

    def _delete_rows(self, db, ids: List[str]) -> None:
        for i in range(0, len(ids), _SQL_BATCH):
            part = ids[i:i + _SQL_BATCH]
            db.execute(f"DELETE FROM index_records WHERE index_id=? AND record_id IN ({','.join('?' * len(part))})",
                       [self.id, *part])  # chunks go with them (ON DELETE CASCADE)

    def _change(self, records: Any, *, vectors, replace: bool, progress: bool) -> Change:
        if vectors is None and not self.model:
            raise InputError(f"index '{self.name}' has no model to embed text with; pass vectors=...")
        recs, _ = _as_records(records)
        with self._lock:
            prep = _prepare(recs, model=self.model if vectors is None else None, chunk_tokens=self.chunk_tokens or
                            DEFAULT_CHUNK_TOKENS, overlap=self.overlap if self.overlap is not None else DEFAULT_OVERLAP,
                            vectors=vectors, dim=self.dim, progress=progress, where="the records given")
            ids = [rid for rid, *_ in prep.records]
            # upsert replaces every given record: one whose new text is empty leaves the index
            existing = self._keys_of(prep.all_ids if replace else ids)
            if not prep.chunks and not existing:
                return Change(self.name, skipped_empty=prep.stats.skipped_empty)
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
                _add_vectors(self._ix, keys, prep.vectors, progress)
            except BaseException:
                self._ix = self._load_file()
                raise

            def ops(db):
                if existing:
                    self._delete_rows(db, list(existing))
                _insert_rows(db, self.id, prep, keys)

            self._commit(ops, d_records=len(prep.records) - len(existing), d_chunks=len(keys) - len(old_keys),
                         next_key=start + len(keys))
            es = prep.embed_stats
            return Change(self.name, added_records=len(prep.records), added_chunks=len(keys),
                          removed_records=len(existing), removed_chunks=len(old_keys),
                          skipped_empty=prep.stats.skipped_empty, embedded=es.embedded if es else 0,
                          cached=es.cached if es else 0)

    def _commit(self, ops: Callable[[Any], None], *, d_records: int, d_chunks: int, next_key: int) -> None:
        """Write the in-memory index as a new file, then switch to it and apply `ops` in one transaction.

        On any failure the new file is removed, the database rolls back, and this object reloads the
        previous file, so it matches what is stored.
        """
        old_rel = self._row["file"]
        rel = _new_file_rel(self.name)
        db = self._wsobj.db
        target = None
        committed = False
        try:
            target = _write_generation(self._ix, rel)
            db.execute("BEGIN IMMEDIATE")
            try:
                current = db.execute("SELECT file FROM indexes WHERE id=?", (self.id,)).fetchone()
                if current is None or current[0] != old_rel:
                    raise LlmopsError(f"index '{self.name}' was changed or dropped by another process since it was "
                                      "loaded; load_index() it again and retry")
                ops(db)
                db.execute("UPDATE indexes SET file=?, n_records=n_records+?, n_chunks=n_chunks+?, next_key=?, "
                           "changes=changes+1, updated_at=? WHERE id=?",
                           (str(rel), d_records, d_chunks, next_key, time.time(), self.id))
                db.execute("COMMIT")
                committed = True
            except BaseException:
                db.execute("ROLLBACK")
                raise
        except BaseException:
            if target is not None and not committed and target.exists():
                target.unlink()
            self._ix = self._load_file()
            self._invalidate()
            raise
        self._set_row(db.execute("SELECT * FROM indexes WHERE id=?", (self.id,)).fetchone())
        self._invalidate()
        _memo_put(self)
        old = self._wsobj.path / old_rel
        if old != target and old.exists():
            try:
                old.unlink()
            except OSError:
                pass
        _cleanup_folder(target.parent, target)

    # ---- recall self-check ---------------------------------------------------------------------
    def recall(self, sample: int = 1000, k: int = 10, *, expansion_search: Optional[int] = None,
               seed: int = 0) -> "RecallReport":
        """How often HNSW finds the true k nearest neighbours: stored vectors (sampled) as queries,
        exact search as the truth. Each query's own vector is left out of both answers."""
        if not isinstance(k, int) or k <= 0:
            raise InputError(f"k must be a positive integer (got {k!r})")
        if not isinstance(sample, int) or sample <= 0:
            raise InputError(f"sample must be a positive integer (got {sample!r})")
        with self._lock:
            n = len(self)
            if n < 2:
                raise InputError(f"index '{self.name}' has {n} vectors; recall needs at least 2")
            k = min(k, n - 1)
            keys = np.asarray(self._ix.keys, dtype=np.uint64)
            rng = np.random.default_rng(seed)
            pick = keys[rng.choice(len(keys), size=min(sample, len(keys)), replace=False)]
            queries = np.vstack(self._ix.get(pick, dtype=np.float32))
            old = self._ix.expansion_search
            if expansion_search is not None:
                self._ix.expansion_search = int(expansion_search)
            try:
                t = time.perf_counter()
                approx = self._ix.search(queries, k + 1)
                t_hnsw = time.perf_counter() - t
                t = time.perf_counter()
                truth = self._ix.search(queries, k + 1, exact=True)
                t_exact = time.perf_counter() - t
            finally:
                self._ix.expansion_search = old
        hits = 0
        for i, own in enumerate(pick):
            a = [x for x in approx.keys[i][:approx.counts[i]] if x != own][:k]
            e = [x for x in truth.keys[i][:truth.counts[i]] if x != own][:k]
            hits += len(set(a) & set(e))
        return RecallReport(self.name, recall=hits / (len(pick) * k), k=k, sample=len(pick),
                            expansion_search=expansion_search or self.expansion_search, dtype=self.dtype,
                            hnsw_qps=len(pick) / max(t_hnsw, 1e-9), exact_qps=len(pick) / max(t_exact, 1e-9), size=n)

    # ---- results protocol --------------------------------------------------------------------------
    def info(self) -> Dict[str, Any]:
        try:
            size = self.path.stat().st_size
        except OSError:
            size = None
        return {"name": self.name, "model": self.model, "dim": self.dim, "metric": self.metric, "dtype": self.dtype,
                "records": self.n_records, "chunks": len(self), "chunk_tokens": self.chunk_tokens,
                "overlap": self.overlap, "connectivity": self.connectivity, "expansion_add": self.expansion_add,
                "expansion_search": self.expansion_search, "dataset": self.dataset_ref,
                "snapshot": (self.snapshot or "")[:12] or None, "changes": self.changes,
                "skipped_empty": self.stats.get("skipped_empty", 0), "file_bytes": size,
                "created": fmt_time(self.created_at), "updated": fmt_time(self.updated_at)}

    def to_dict(self) -> dict:
        d = self.info()
        d.update(snapshot=self.snapshot, path=str(self.path), stats=self.stats, lineage=self.lineage())
        return jsonable(d)

    def __repr__(self) -> str:
        src = f", dataset={self.dataset_ref!r}" if self.dataset_ref else ""
        return (f"VectorIndex({self.name!r}, model={self.model!r}, dtype={self.dtype!r}, records={self.n_records}, "
                f"chunks={len(self)}{src})")

    def __str__(self) -> str:
        i = self.info()
        lines = [f"index {self.name}: {i['records']} records, {i['chunks']} chunks, {self.model} ({self.dim}-d, "
                 f"{self.metric}, {self.dtype})"]
        if self.dataset_ref:
            lines.append(f"built from {self.dataset_ref} (snapshot {i['snapshot']})"
                         + (f", {self.changes} changes since" if self.changes else ""))
        if i["skipped_empty"]:
            lines.append(f"{i['skipped_empty']} records with empty text were skipped")
        lines.append(f"chunks of {self.chunk_tokens} tokens, overlap {self.overlap}; HNSW connectivity "
                     f"{self.connectivity}, expansion add/search {self.expansion_add}/{self.expansion_search}")
        lines.append(f"file {self.path} ({(i['file_bytes'] or 0) / 1e6:.1f} MB)")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return html_kv(f"VectorIndex {self.name}", {k: v for k, v in self.info().items() if v is not None})


class RecallReport:
    """recall@k of HNSW against exact search on sampled stored vectors."""

    def __init__(self, index: str, *, recall: float, k: int, sample: int, expansion_search: int, dtype: str,
                 hnsw_qps: float, exact_qps: float, size: int):
        self.index, self.recall, self.k, self.sample = index, recall, k, sample
        self.expansion_search, self.dtype, self.size = expansion_search, dtype, size
        self.hnsw_qps, self.exact_qps = hnsw_qps, exact_qps

    @property
    def speedup(self) -> float:
        return self.hnsw_qps / self.exact_qps if self.exact_qps else float("inf")

    def to_dict(self) -> dict:
        return {"index": self.index, f"recall@{self.k}": self.recall, "recall": self.recall, "k": self.k,
                "sample": self.sample, "size": self.size, "expansion_search": self.expansion_search,
                "dtype": self.dtype, "hnsw_qps": self.hnsw_qps, "exact_qps": self.exact_qps, "speedup": self.speedup,
                "advice": self.advice or None}

    @property
    def advice(self) -> str:
        if self.recall < 0.95:
            return (f"to raise recall, raise expansion_search (e.g. index.expansion_search = {self.expansion_search * 2}"
                    f"; try it first with recall(expansion_search={self.expansion_search * 2}))")
        return ""

    def __str__(self) -> str:
        advice = f"\n{self.advice}" if self.advice else ""
        return (f"index {self.index}: recall@{self.k} = {self.recall:.3f} on {self.sample} sampled vectors of {self.size} "
                f"(HNSW {self.hnsw_qps:,.0f} q/s vs exact {self.exact_qps:,.0f} q/s, {self.speedup:.1f}x; "
                f"expansion_search={self.expansion_search}, {self.dtype}){advice}")

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return html_kv(f"recall of {self.index}", {f"recall@{self.k}": f"{self.recall:.3f}", "sample": self.sample,
                                                   "vectors": self.size, "HNSW q/s": f"{self.hnsw_qps:,.0f}",
                                                   "exact q/s": f"{self.exact_qps:,.0f}",
                                                   "speedup": f"{self.speedup:.1f}x",
                                                   "expansion_search": self.expansion_search, "dtype": self.dtype})


# --------------------------------------------------------------------------------------------
# loaded indexes are kept per process and reloaded only when another process switched the file
_memo: Dict[Tuple[str, str], VectorIndex] = {}
_memo_lock = threading.Lock()


def _memo_put(ix: VectorIndex) -> None:
    with _memo_lock:
        _memo[(str(_ws().path), ix.name)] = ix


def _names() -> List[str]:
    return [r[0] for r in _ws().db.execute("SELECT name FROM indexes ORDER BY name")]


def load_index(name: Union[str, VectorIndex], *, model: Optional[str] = None) -> VectorIndex:
    """An index by name. `model=` asserts which embedder it must have been built with."""
    if isinstance(name, VectorIndex):
        ix = name
    else:
        if not isinstance(name, str) or not name.strip():
            raise InputError("give an index name; see indexes() or '%llmops index list'")
        name = name.strip()
        ws = _ws()
        row = ws.db.execute("SELECT * FROM indexes WHERE name=?", (name,)).fetchone()
        if row is None:
            raise not_found("index", name, _names(), hint="" if _names() else
                            "no indexes yet; build one with build_index(dataset, name=...) or '%llmops index build'")
        key = (str(ws.path), name)
        with _memo_lock:
            ix = _memo.get(key)
        if ix is None or ix.id != row["id"] or ix._row["file"] != row["file"]:
            ix = VectorIndex(row)
            with _memo_lock:
                _memo[key] = ix
    if model is not None and model != ix.model:
        raise InputError(f"index '{ix.name}' was built with {ix.model or 'given vectors'} ({ix.dim}-d), not {model}; "
                         f"search it with its own model, or rebuild it with build_index(..., model='{model}')")
    return ix


def build_index(dataset: Any, name: Optional[str] = None, *, model: Optional[str] = DEFAULT_MODEL,
                chunk_tokens: int = DEFAULT_CHUNK_TOKENS, overlap: int = DEFAULT_OVERLAP, dtype: str = "f32",
                connectivity: int = DEFAULT_CONNECTIVITY, expansion_add: int = DEFAULT_EXPANSION_ADD,
                expansion_search: int = DEFAULT_EXPANSION_SEARCH, metric: str = "cos",
                vectors: Optional[np.ndarray] = None, progress: bool = True) -> VectorIndex:
    """Chunk, embed and index a dataset (name, `name@vN`, Dataset, DataFrame or list of dicts) as `name`.

    An existing index of that name is replaced (atomically) — embeddings come from the cache, so
    rebuilding after a small change to the data only embeds what changed. Records with empty text are
    skipped and counted. `vectors=` gives one precomputed vector per record instead (no chunking).
    """
    recs, ds = _as_records(dataset)
    if name is None:
        if ds is None:
            raise InputError("give the index a name: build_index(records, name='...')")
        name = ds.name
    check_index_name(name)
    dtype = _check_params(dtype, metric, connectivity, expansion_add, expansion_search)
    if vectors is None:
        if not model:
            raise InputError("give a model to embed the text with (model='all-minilm-l6-v2'), or vectors=...")
        from ..models.loading import load_embedder

        emb = load_embedder(model)
        model = emb.name
        check_window(chunk_tokens, overlap, emb.max_seq_length - 2)
    prep = _prepare(recs, model=model, chunk_tokens=chunk_tokens, overlap=overlap, vectors=vectors, dim=None,
                    progress=progress, where=ds.ref if ds is not None else "the records given")
    if not prep.chunks:
        raise InputError(f"nothing to index: {prep.stats.records} records, {prep.stats.skipped_empty} with empty text"
                         "; check the dataset's text field")
    dim = int(prep.vectors.shape[1])
    ix = _new_usearch(dim, metric, dtype, connectivity, expansion_add, expansion_search)
    keys = np.arange(len(prep.chunks), dtype=np.uint64)
    _add_vectors(ix, keys, prep.vectors, progress)
    stats = {"records_seen": prep.stats.records, "skipped_empty": prep.stats.skipped_empty}
    if prep.embed_stats is not None:
        from .embeddings import model_key

        stats.update(embedded=prep.embed_stats.embedded, from_cache=prep.embed_stats.cached,
                     model_key=model_key(load_embedder(model)))
    from ..tracking.runs import active_run

    run = active_run()
    rel = _new_file_rel(name)
    target = _write_generation(ix, rel)
    db = _ws().db
    old_file = None
    try:
        db.execute("BEGIN IMMEDIATE")
        try:
            old = db.execute("SELECT id, file FROM indexes WHERE name=?", (name,)).fetchone()
            now = time.time()
            values = dict(model=model or "", dim=dim, metric=metric, dtype=dtype, connectivity=int(connectivity),
                          expansion_add=int(expansion_add), expansion_search=int(expansion_search),
                          chunk_tokens=chunk_tokens if vectors is None else None,
                          overlap=overlap if vectors is None else None, file=str(rel), n_records=len(prep.records),
                          n_chunks=len(prep.chunks), next_key=len(prep.chunks),
                          dataset_id=ds.id if ds is not None else None, dataset_ref=ds.ref if ds is not None else None,
                          dataset_snapshot=ds.snapshot if ds is not None else None, changes=0,
                          stats=json.dumps(stats), run_id=run.id if run is not None else None, created_at=now,
                          updated_at=now)
            if old is not None:
                old_file = old["file"]
                index_id = old["id"]
                db.execute("DELETE FROM index_records WHERE index_id=?", (index_id,))
                db.execute(f"UPDATE indexes SET {', '.join(f'{k}=?' for k in values)} WHERE id=?",
                           (*values.values(), index_id))
            else:
                cur = db.execute(f"INSERT INTO indexes (name, {', '.join(values)}) VALUES (?{', ?' * len(values)})",
                                 (name, *values.values()))
                index_id = cur.lastrowid
            _insert_rows(db, index_id, prep, keys)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    if old_file and old_file != str(rel):
        (_ws().path / old_file).unlink(missing_ok=True)
    _cleanup_folder(target.parent, target)
    index = VectorIndex(db.execute("SELECT * FROM indexes WHERE id=?", (index_id,)).fetchone(), ix=ix)
    _memo_put(index)
    return index


def drop_index(name: str) -> "IndexesTable":
    """Delete an index (its rows and files). Returns the remaining indexes."""
    ix_row = _ws().db.execute("SELECT id FROM indexes WHERE name=?", (name,)).fetchone()
    if ix_row is None:
        raise not_found("index", name, _names())
    _ws().db.execute("DELETE FROM indexes WHERE id=?", (ix_row[0],))
    with _memo_lock:
        _memo.pop((str(_ws().path), name), None)
    shutil.rmtree(_ws().path / "indexes" / name, ignore_errors=True)
    return indexes()


class IndexesTable(ResultTable):
    columns = ["name", "records", "chunks", "model", "dtype", "dataset", "changes", "size", "updated"]
    noun = "indexes"
    caption = "vector indexes"


def indexes() -> IndexesTable:
    """Every index in the workspace."""
    ws = _ws()
    rows = []
    for r in ws.db.execute("SELECT * FROM indexes ORDER BY name"):
        try:
            size = (ws.path / r["file"]).stat().st_size
        except OSError:
            size = None
        rows.append({"name": r["name"], "records": r["n_records"], "chunks": r["n_chunks"], "model": r["model"] or "",
                     "dtype": r["dtype"], "dataset": r["dataset_ref"] or "", "changes": r["changes"],
                     "size": f"{size / 1e6:.1f} MB" if size is not None else "missing",
                     "updated": fmt_time(r["updated_at"])})
    return IndexesTable(rows)


def search(index: Union[str, VectorIndex], query: Any, k: int = 5, where: Optional[str] = None, *,
           exact: bool = False) -> SearchResults:
    """Search an index (by name or object) for a text query or a vector."""
    return load_index(index).search(query, k, where=where, exact=exact)


__all__ = ["Change", "IndexesTable", "RecallReport", "SearchResults", "VectorIndex", "build_index", "drop_index",
           "indexes", "load_index", "search"]
