"""`VectorIndex`: a named HNSW index (usearch) over chunks of records, persisted in the workspace. Searching
and reading records live here; add/upsert/delete in `changes`, metadata filters in `filtered`, the recall
check in `recall`, files and rows in `storage`."""
from __future__ import annotations

import functools
import json
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..display import fmt_time, html_kv, jsonable
from ..errors import InputError, LlmopsError, not_found
from ..models.loading import embedder_folder
from ..models.registry import BUILTINS
from ..workspace import workspace
from . import storage
from .changes import IndexChanges
from .distinct import OVERFETCH, distinct_hits
from .embeddings import (
    EmbeddingCache,
    backend_of_key,
    built_weights,
    embed,
    normalize_rows,
    pinned_backend,
    resolve_embedder,
    weights_version,
)
from .filtered import MetadataFilters
from .params import filter_text, int_in_range, positive_int
from .recall import MAX_TUNED_EXPANSION, RecallReport, check_target, measure_recall, tune_expansion
from .results import SearchResults

_QUERIES_KEPT = 256  # query vectors remembered per index: a widget re-searches as the user types


class VectorIndex(IndexChanges):
    """A named vector index in the workspace. Get one with `build_index(...)` or `load_index(name)`."""

    def __init__(self, row, ix=None):
        self._lock = threading.RLock()
        self._wsobj = workspace()  # held: workspace() re-reads the settings on every call
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
        value = int_in_range("expansion_search", value, 1)
        self._wsobj.db.execute("UPDATE indexes SET expansion_search=? WHERE id=?", (value, self.id))
        self._row["expansion_search"] = value
        self._ix.expansion_search = value

    @property
    def path(self) -> Path:
        return self._wsobj.path / self._row["file"]

    def rebuild_command(self) -> str:
        """How to rebuild this index, for messages about a lost or damaged file."""
        if self.dataset_ref:
            return (f"llmops index build {self.dataset_ref} --name {self.name} (or build_index('{self.dataset_ref}', "
                    f"name='{self.name}'))")
        return f"build_index(records, name='{self.name}')"

    def _load_file(self):
        path = self.path
        ix = storage.restore_usearch(path, name=self.name, rebuild=self.rebuild_command())
        if ix.ndim != self.dim:
            raise LlmopsError(f"index '{self.name}': its file holds {ix.ndim}-d vectors but it was built with "
                              f"{self.model or 'given vectors'} ({self.dim}-d); rebuild it with {self.rebuild_command()}")
        ix.expansion_search = self.expansion_search
        ix.expansion_add = self.expansion_add
        return ix

    def _invalidate(self) -> None:
        self._filters = MetadataFilters(self._wsobj.db, self.id, int(self._row["next_key"]), self.metric, self.dim)

    def reload(self) -> "VectorIndex":
        """Re-read the index from the workspace (after another process changed it)."""
        with self._lock:
            row = self._wsobj.db.execute("SELECT * FROM indexes WHERE id=?", (self.id,)).fetchone()
            if row is None:
                raise not_found("index", self.name, storage.index_names(self._wsobj.db))
            changed = row["file"] != self._row["file"]
            self._set_row(row)
            if changed:
                self._ix = self._load_file()
            self._invalidate()
        return self

    def check_embedder(self) -> None:
        """Refuse, in one line, when the index's embedder has been trained again (other weights under the same
        name) since the build: its query vectors would not match the stored ones. Cheap: no model loads."""
        built = built_weights(self.stats, self.model) if self.model else None
        if built is None or (not built and self.model in BUILTINS):
            return  # given vectors, an index stored before it recorded its embedder, or a built-in embedder
        _, current = embedder_folder(self.model)
        if weights_version(current) != built:
            src = self.dataset_ref or "DATASET"
            raise InputError(f"index '{self.name}' was built with embedder '{self.model}' (weights {built or 'none'}), "
                             f"which has been trained again since (now {weights_version(current) or 'none'}), so its "
                             f"queries would not match the stored vectors; rebuild it: llmops index build {src} --name "
                             f"{self.name} --embedder {self.model} (or build_index('{src}', name='{self.name}', "
                             f"model='{self.model}'))")

    @property
    def embed_backend(self) -> Optional[str]:
        """The backend (torch, onnx, onnx-int8) the index was built with, read from its stored embedding cache key;
        its queries and additions use it whatever the current `embed_backend` setting, so vector spaces never mix.
        None for an index of given vectors."""
        if not self.model:
            return None
        return backend_of_key(self.stats.get("model_key")) or "torch"  # indexes stored before the key: torch

    @property
    def embedder(self):
        self.check_embedder()
        if self._embedder is None:
            if not self.model:
                raise InputError(f"index '{self.name}' was built from given vectors without a model; "
                                 "search it with a vector, or rebuild it with model=...")
            emb = resolve_embedder(self.model, self.embed_backend)
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

    def _change(self, records: Any, *, vectors, replace: bool, progress: bool):
        if vectors is None:
            self.check_embedder()  # new weights' vectors beside the old ones would make a mixed index
        with pinned_backend(self.embed_backend if vectors is None else None):  # the build's backend, not the setting
            return super()._change(records, vectors=vectors, replace=replace, progress=progress)

    # ---- queries --------------------------------------------------------------------------------
    def _text_vector(self, text: str) -> np.ndarray:
        self.check_embedder()  # before the query caches: they may hold vectors of other weights
        vec = self._queries.get(text)
        if vec is not None:
            self._queries.move_to_end(text)
            return vec
        # a query seen before comes from the embedding cache without loading the model, so a repeated
        # `llmops search` skips loading the embedder
        key = self.stats.get("model_key")
        vec = EmbeddingCache.lookup(key, self.dim, text) if key else None
        vec = embed([text], self.embedder, progress=False)[0] if vec is None else normalize_rows(vec[None, :])[0]
        self._queries[text] = vec
        if len(self._queries) > _QUERIES_KEPT:
            self._queries.popitem(last=False)
        return vec

    def _query_vector(self, query: Any) -> Tuple[np.ndarray, Optional[str]]:
        if isinstance(query, str):
            text = query.strip()
            if not text:
                raise InputError("empty query; give some words to search for")
            return self._text_vector(text), text
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

    def _scores(self, distances: np.ndarray) -> np.ndarray:  # noqa: D102
        return -distances if self.metric == "l2sq" else 1.0 - distances

    def search(self, query: Union[str, Sequence[float], np.ndarray], k: int = 5, *, where: Optional[str] = None,
               exact: bool = False, distinct: bool = True) -> SearchResults:
        """The k chunks nearest to a text query (embedded with the index's model) or a vector.

        `where` filters on metadata columns in the filter language of `llmops_nb.filters`, e.g.
        "topic == 'assert' and chunk > 0" or "kind in ['bird', 'fish']" (`columns` lists them).
        `exact=True` compares against every vector (brute force) instead of walking the HNSW graph.
        k larger than the index (or than what the filter matches) returns all there is, with a note.
        `distinct=True` collapses near-identical passages (distinct.py), so the k hits show k different texts.
        """
        t0 = time.perf_counter()
        k = positive_int("k", k)
        where = filter_text(where)
        if where:
            self._filters.match(where)  # a bad filter fails before the query is embedded
        vec, text = self._query_vector(query)
        wanted, k = k, (k * OVERFETCH if distinct else k)
        with self._lock:
            size = len(self)
            note = ""
            method = "exact" if exact else "hnsw"
            if size == 0:
                keys, dists, note = np.zeros(0, np.uint64), np.zeros(0), f"index '{self.name}' is empty"
            elif where:
                keys, dists, note, method = self._filters.search(self._ix, vec, k, where, exact)
                if note and len(keys) >= wanted:  # "only n match" counted against the overfetch, not against k
                    note = ""
            else:
                want = min(wanted, size)
                m = self._ix.search(vec, min(k, size), exact=exact)
                keys, dists = m.keys, m.distances
                if len(keys) < want:  # HNSW can miss some of a small or oddly shaped graph
                    note = (f"HNSW found {len(keys)} of the {want} chunks asked for; search with exact=True "
                            "(--exact) for all")
                elif wanted > size:
                    note = f"k={wanted} is more than the {size} chunks in the index; returned all {size}"
        if len(dists) and np.isnan(np.asarray(dists, dtype=np.float64)).any():
            raise storage.DamagedIndexError(f"index '{self.name}': its file {self.path} holds damaged vectors (a "
                                            f"search scored NaN); rebuild it with {self.rebuild_command}")
        scores = self._scores(dists)
        read: Dict[int, tuple] = {}
        if distinct:
            keys, scores, note = self._distinct(keys, scores, wanted, note, read)
        return SearchResults(index=self.name, query=text, keys=keys, scores=scores,
                             fetch=functools.partial(self._fetch, read=read),
                             k=wanted, where=where or None, exact=exact, note=note, method=method,
                             elapsed_ms=(time.perf_counter() - t0) * 1e3)

    def _distinct(self, keys, scores, k: int, note: str, read: Optional[dict] = None) -> tuple:
        """The first k hits whose texts are not near-identical to a better one (the more specific source's copy
        first, distinct.py), and a note of what collapsed; `read` gets the rows it read."""
        return distinct_hits(self._wsobj.db, self.id, keys, scores, k, note, rows_out=read)

    def _fetch(self, keys: List[int], read: Optional[dict] = None) -> List[dict]:
        """The hits' rows: those the search already read (`read`), else from the workspace."""
        rows = read if read and all(k in read for k in keys) else storage.fetch_rows(self._wsobj.db, self.id, keys)
        missing = [k for k in keys if k not in rows]
        if missing:
            raise LlmopsError(f"index '{self.name}' changed since this search (key {missing[0]} is gone); search again")
        return [{"id": rid, "chunk": chunk, "start": start, "end": end, "text": text,
                 "metadata": {} if meta == "{}" else json.loads(meta)}
                for rid, chunk, start, end, text, meta, _ in (rows[k] for k in keys)]

    @property
    def columns(self) -> List[str]:
        """Columns a `where` filter can use."""
        return self._filters.columns

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
        return [r[0] for r in self._wsobj.db.execute(
            "SELECT record_id FROM index_records WHERE index_id=? ORDER BY record_id", (self.id,))]

    # ---- recall self-check ---------------------------------------------------------------------
    def recall(self, sample: int = 1000, k: int = 10, *, expansion_search: Optional[int] = None,
               target: Optional[float] = None, max_expansion: int = MAX_TUNED_EXPANSION, seed: int = 0) -> RecallReport:
        """How often HNSW finds the true k nearest neighbours: stored vectors (sampled) as queries,
        exact search as the truth. `expansion_search` (>= 1) tries another search breadth.

        `target=0.95` instead finds the smallest expansion_search (up to `max_expansion`) whose recall@k on the
        sample reaches the target and stores it with the index, so later searches use it; a target that
        cannot be reached stores nothing (one InputError)."""
        if target is None:
            with self._lock:
                return measure_recall(self._ix, index=self.name, dtype=self.dtype,
                                      current_expansion_search=self.expansion_search, sample=sample, k=k,
                                      expansion_search=expansion_search, seed=seed)
        check_target(target)
        if expansion_search is not None:
            raise InputError("give either target (to find and store an expansion_search) or expansion_search (to "
                             "try one), not both")
        with self._lock:
            rep = tune_expansion(self._ix, index=self.name, dtype=self.dtype, target=target, sample=sample, k=k,
                                 max_expansion=max_expansion, seed=seed)
            self.expansion_search = rep.expansion_search
        rep.stored = True
        return rep

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


__all__ = ["VectorIndex"]
