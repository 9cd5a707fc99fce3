"""The workspace's indexes by name: build (or atomically replace), load, list, drop, and search by name."""
from __future__ import annotations

import contextlib
import json
import shutil
import time
from pathlib import Path
from typing import Any, Dict, Optional, Union

import numpy as np

from ..checks import whole_number
from ..data.tracked import describe_source, step_run
from ..display import ResultTable, fmt_time
from ..errors import InputError, not_found
from ..models.loading import load_embedder
from ..tracking.runs import active_run
from ..workspace import check_name, transaction, workspace
from . import storage
from .chunking import DEFAULT_CHUNK_TOKENS, DEFAULT_OVERLAP, check_window
from .embeddings import model_key, weights_version
from .params import DEFAULT_CONNECTIVITY, DEFAULT_EXPANSION_ADD, DEFAULT_EXPANSION_SEARCH, DEFAULT_MODEL, check_params
from .records import Prepared, as_records, prepare
from .results import SearchResults
from .vector_index import VectorIndex


def load_index(name: Union[str, VectorIndex], *, model: Optional[str] = None) -> VectorIndex:
    """An index by name. `model=` asserts which embedder it must have been built with."""
    if isinstance(name, VectorIndex):
        ix = name
    else:
        if not isinstance(name, str) or not name.strip():
            raise InputError("give an index name; see indexes() or '%llmops index list'")
        name = name.strip()
        ws = workspace()
        row = ws.db.execute("SELECT * FROM indexes WHERE name=?", (name,)).fetchone()
        if row is None:
            names = storage.index_names(ws.db)
            raise not_found("index", name, names, hint="" if names else
                            "no indexes yet; build one with build_index(dataset, name=...) or '%llmops index build'")
        ix = storage.loaded(ws.path, name)
        if ix is None or ix.id != row["id"] or ix.path != ws.path / row["file"]:
            ix = VectorIndex(row)
            storage.remember(ws.path, ix)
    if model is not None and model != ix.model:
        raise InputError(f"index '{ix.name}' was built with {ix.model or 'given vectors'} ({ix.dim}-d), not {model}; "
                         f"search it with its own model, or rebuild it with build_index(..., model='{model}')")
    return ix


def build_index(dataset: Any, name: Optional[str] = None, *, model: Optional[str] = DEFAULT_MODEL,
                chunk_tokens: int = DEFAULT_CHUNK_TOKENS, overlap: int = DEFAULT_OVERLAP, dtype: str = "f32",
                connectivity: int = DEFAULT_CONNECTIVITY, expansion_add: int = DEFAULT_EXPANSION_ADD,
                expansion_search: int = DEFAULT_EXPANSION_SEARCH, metric: str = "cos",
                vectors: Optional[np.ndarray] = None, progress: bool = True, workers: Optional[int] = None,
                scheduler: Optional[str] = None) -> VectorIndex:
    """Chunk, embed and index a dataset (name, `name@vN`, Dataset, DataFrame or list of dicts) as `name`.

    An existing index of that name is replaced (atomically) — embeddings come from the cache, so
    rebuilding after a small change to the data only embeds what changed. Records with empty text are
    skipped and counted. `vectors=` gives one precomputed vector per record instead (no chunking).
    Every argument is checked before the model loads or anything is embedded. The build is a tracked run of
    kind "index" (its settings, counts and seconds; a child of the run it happens in).
    workers / scheduler: embed on a Dask LocalCluster of that many processes, or on the cluster at that address
    (vectors identical to a local build; see index.distributed).
    """
    if name is not None:
        check_name("index", name)
    dtype = check_params(dtype, metric, connectivity, expansion_add, expansion_search)
    workers, scheduler = _check_cluster(workers, scheduler, vectors is not None)
    if vectors is None:
        if not model:
            raise InputError("give a model to embed the text with (model='all-minilm-l6-v2'), or vectors=...")
        check_window(chunk_tokens, overlap)
    recs, ds = as_records(dataset)
    if name is None:
        if ds is None:
            raise InputError("give the index a name: build_index(records, name='...')")
        name = check_name("index", ds.name)
    workspace().require_writable()  # before any embedding: its result could not be stored
    emb = None
    if vectors is None:
        emb = load_embedder(model)
        model = emb.name
        check_window(chunk_tokens, overlap, emb.max_seq_length - 2)
    params = {"dataset": ds.ref if ds is not None else describe_source(dataset), "name": name, "dtype": dtype,
              "metric": metric, "connectivity": connectivity, "expansion_add": expansion_add,
              "expansion_search": expansion_search,
              **({"model": model, "chunk_tokens": chunk_tokens, "overlap": overlap} if vectors is None
                 else {"model": "given vectors"}),
              **({"workers": workers, "scheduler": scheduler} if workers or scheduler else {})}
    with _cluster_embedding(workers, scheduler, progress) as pre_embed, step_run("index", name, params) as run:
        index = _build(name, recs, ds, emb, model=model, chunk_tokens=chunk_tokens, overlap=overlap, dtype=dtype,
                       connectivity=connectivity, expansion_add=expansion_add, expansion_search=expansion_search,
                       metric=metric, vectors=vectors, progress=progress, pre_embed=pre_embed)
        stats = index.stats
        run.log_metrics({"records_in": stats.get("records_seen", len(index)), "records": index.n_records,
                         "chunks": index.n_chunks, "vectors": len(index), "skipped_empty": stats.get("skipped_empty", 0),
                         **{k: stats[k] for k in ("embedded", "from_cache") if k in stats}})
        run.log_param("dim", index.dim)
        run.record("index", index.name)
        run.set_tag("index", index.name)
        if ds is not None:
            run.record("dataset", ds.ref)
            run.record("snapshot", ds.snapshot)
    return index


def _check_cluster(workers: Optional[int], scheduler: Optional[str], given_vectors: bool) -> tuple:
    if workers is None and not scheduler:
        return None, None
    if given_vectors:
        raise InputError("workers/scheduler spread the embedding of text over a Dask cluster; with vectors=... there "
                         "is nothing to embed: leave them out")
    from ..cluster import check_scheduler

    workers = whole_number("workers", workers, minimum=1, hint="Dask worker processes, e.g. 2") if workers is not None else None
    return workers, check_scheduler(scheduler) if scheduler else None


@contextlib.contextmanager
def _cluster_embedding(workers: Optional[int], scheduler: Optional[str], progress: bool):
    """None without a cluster, else the `pre_embed` hook of `prepare` that embeds on it (started here, before the
    build's run, so an unreachable scheduler leaves no run behind)."""
    if not (workers or scheduler):
        yield None
        return
    from ..cluster import dask_client
    from .distributed import embed_on_cluster

    path = str(workspace().path)
    with dask_client(workers or 1, scheduler, preload=("sentence_transformers",)) as client:
        yield lambda emb, texts: embed_on_cluster(client, emb, texts, workspace_path=path, progress=progress)


def _build(name: str, recs, ds, emb, *, model: Optional[str], chunk_tokens: int, overlap: int, dtype: str,
           connectivity: int, expansion_add: int, expansion_search: int, metric: str, vectors: Optional[np.ndarray],
           progress: bool, pre_embed=None) -> VectorIndex:
    """Chunk, embed, index and store (the work of build_index, once everything is checked)."""
    prep = prepare(recs, model=model, chunk_tokens=chunk_tokens, overlap=overlap, vectors=vectors, dim=None,
                   progress=progress, where=ds.ref if ds is not None else "the records given", pre_embed=pre_embed)
    if not prep.chunks:
        raise InputError(f"nothing to index: {prep.stats.records} records, {prep.stats.skipped_empty} with empty text"
                         "; check the dataset's text field")
    dim = int(prep.vectors.shape[1])
    ix = storage.new_usearch(dim, metric, dtype, connectivity, expansion_add, expansion_search)
    keys = np.arange(len(prep.chunks), dtype=np.uint64)
    storage.add_vectors(ix, keys, prep.vectors, progress)
    stats = {"records_seen": prep.stats.records, "skipped_empty": prep.stats.skipped_empty}
    if prep.embed_stats is not None and emb is not None:
        stats.update(embedded=prep.embed_stats.embedded, from_cache=prep.embed_stats.cached, model_key=model_key(emb),
                     model_weights=weights_version(emb))  # searches refuse once the embedder's weights change
    run = active_run()
    values = dict(model=model or "", dim=dim, metric=metric, dtype=dtype, connectivity=int(connectivity),
                  expansion_add=int(expansion_add), expansion_search=int(expansion_search),
                  chunk_tokens=chunk_tokens if vectors is None else None,
                  overlap=overlap if vectors is None else None, n_records=len(prep.records),
                  n_chunks=len(prep.chunks), next_key=len(prep.chunks),
                  dataset_id=ds.id if ds is not None else None, dataset_ref=ds.ref if ds is not None else None,
                  dataset_snapshot=ds.snapshot if ds is not None else None, changes=0,
                  stats=json.dumps(stats), run_id=run.id if run is not None else None)
    index_id = _store(name, ix, prep, keys, values)
    index = VectorIndex(workspace().db.execute("SELECT * FROM indexes WHERE id=?", (index_id,)).fetchone(), ix=ix)
    storage.remember(workspace().path, index)
    return index


def _store(name: str, ix, prep: Prepared, keys: np.ndarray, values: Dict[str, Any]) -> int:
    """Write a new generation file, then switch `name` to it (replacing any index of that name) in one
    transaction; the replaced file is removed only after the commit. Returns the index's id."""
    rel = storage.new_file_rel(name)
    target = storage.write_generation(ix, rel)
    db = workspace().db
    now = time.time()
    values = {**values, "file": str(rel), "created_at": now, "updated_at": now}
    try:
        with transaction(db):
            old = db.execute("SELECT id, file FROM indexes WHERE name=?", (name,)).fetchone()
            if old is not None:
                index_id, old_file = old["id"], old["file"]
                db.execute("DELETE FROM index_records WHERE index_id=?", (index_id,))
                db.execute(f"UPDATE indexes SET {', '.join(f'{k}=?' for k in values)} WHERE id=?",
                           (*values.values(), index_id))
            else:
                old_file = None
                cur = db.execute(f"INSERT INTO indexes (name, {', '.join(values)}) VALUES (?{', ?' * len(values)})",
                                 (name, *values.values()))
                index_id = cur.lastrowid
            storage.insert_rows(db, index_id, prep, keys)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    if old_file and old_file != str(rel):
        (workspace().path / old_file).unlink(missing_ok=True)
    storage.cleanup_folder(target.parent, target)
    return index_id


def drop_index(name: str) -> "IndexesTable":
    """Delete an index (its rows and files). Returns the remaining indexes."""
    ws = workspace()
    row = ws.db.execute("SELECT id FROM indexes WHERE name=?", (name,)).fetchone()
    if row is None:
        raise not_found("index", name, storage.index_names(ws.db))
    ws.db.execute("DELETE FROM indexes WHERE id=?", (row[0],))
    storage.forget(ws.path, name)
    shutil.rmtree(ws.path / "indexes" / name, ignore_errors=True)
    return indexes()


class IndexesTable(ResultTable):
    columns = ["name", "records", "chunks", "model", "dtype", "dataset", "changes", "size", "updated"]
    noun = "indexes"
    caption = "vector indexes"


def _size(path: Path) -> str:
    try:
        return f"{path.stat().st_size / 1e6:.1f} MB"
    except OSError:
        return "missing"


def indexes() -> IndexesTable:
    """Every index in the workspace."""
    ws = workspace()
    rows = []
    for r in ws.db.execute("SELECT * FROM indexes ORDER BY name"):
        rows.append({"name": r["name"], "records": r["n_records"], "chunks": r["n_chunks"], "model": r["model"] or "",
                     "dtype": r["dtype"], "dataset": r["dataset_ref"] or "", "changes": r["changes"],
                     "size": _size(ws.path / r["file"]), "updated": fmt_time(r["updated_at"])})
    return IndexesTable(rows)


def search(index: Union[str, VectorIndex], query: Any, k: int = 5, where: Optional[str] = None, *,
           exact: bool = False) -> SearchResults:
    """Search an index (by name or object) for a text query or a vector; `where` is a metadata filter
    (llmops_nb.filters), e.g. "topic == 'try' and chunk > 0"."""
    return load_index(index).search(query, k, where=where, exact=exact)


__all__ = ["IndexesTable", "build_index", "drop_index", "indexes", "load_index", "search"]
