"""Where an index lives: its usearch file (one generation at a time, written beside the old one and switched
to in a database transaction), its rows in the workspace database, and this process's loaded copies.

Files: `indexes/<name>/<generation>.usearch`. Rows: `indexes` (params and lineage), `index_records` (text and
metadata per record) and `index_chunks` (usearch key -> record id, chunk, character offsets). usearch keys
are integers handed out from a counter (`indexes.next_key`) and never reused.
"""
from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..config import progress_disabled
from ..errors import LlmopsError, MissingDependencyError
from ..workspace import atomic_path, select_in, workspace

STALE_FILE_S = 600  # generation files no transaction adopted (a crash mid-save) are removed after this
_PROGRESS_MIN = 5000  # vectors below which adding shows no progress bar


class DamagedIndexError(LlmopsError):
    """An index's usearch file is missing, truncated or not a usearch file: the index must be rebuilt."""


def usearch_class():
    try:
        from usearch.index import Index
    except ImportError:
        raise MissingDependencyError("usearch is not installed; run: pip install usearch") from None
    return Index


def new_usearch(dim: int, metric: str, dtype: str, connectivity: int, expansion_add: int, expansion_search: int):
    return usearch_class()(ndim=dim, metric=metric, dtype=dtype, connectivity=connectivity,
                           expansion_add=expansion_add, expansion_search=expansion_search)


def save_usearch(ix, path: Path) -> None:
    """Serialize the usearch index to `path` (a temp file; the caller renames it into place)."""
    ix.save(str(path))


def restore_usearch(path: Path, *, name: str, rebuild: str):
    """The usearch index stored at `path`; a missing or damaged file is one DamagedIndexError saying how to
    rebuild index `name` (`rebuild`: the command that does it)."""
    if not path.exists():
        raise DamagedIndexError(f"index '{name}' lost its file {path}; rebuild it with {rebuild}")
    try:
        ix = usearch_class().restore(str(path), view=False)
    except (ValueError, RuntimeError) as exc:  # usearch's words for a truncated or foreign file
        raise DamagedIndexError(f"index '{name}': its file {path} is damaged ({exc}); rebuild it with "
                                f"{rebuild}") from None
    if ix is None:
        raise DamagedIndexError(f"index '{name}': {path} is not a usearch file; rebuild it with {rebuild}")
    return ix


def add_threads() -> int:
    """Threads for building HNSW: every core this process may run on (usearch's add scales with them)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def add_vectors(ix, keys: np.ndarray, vectors: np.ndarray, progress: bool, *, threads: Optional[int] = None) -> None:
    """Add all `vectors` in one multi-threaded usearch call (one batch: per-chunk or small-batch adds pay the
    thread start-up each time), from one contiguous float32 array."""
    if len(keys) == 0:
        return
    threads = threads or add_threads()
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    keys = np.ascontiguousarray(keys, dtype=np.uint64)
    if not progress or progress_disabled() or len(keys) < _PROGRESS_MIN:
        ix.add(keys, vectors, threads=threads)
        return
    from ..progress import progress as progress_bar

    with progress_bar(total=len(keys), desc="indexing", unit="vec") as bar:
        def advance(done: int, total: int) -> bool:
            bar.update(done - bar.n)
            return True

        ix.add(keys, vectors, threads=threads, progress=advance)
        bar.update(len(keys) - bar.n)


def new_file_rel(name: str) -> Path:
    return Path("indexes") / name / f"{time.time_ns():x}-{uuid.uuid4().hex[:6]}.usearch"


def write_generation(ix, rel: Path) -> Path:
    """Write `ix` to the workspace path `rel` (temp file + rename): a crash leaves no half-written file there."""
    target = workspace().path / rel
    with atomic_path(target) as tmp:
        save_usearch(ix, tmp)
    return target


def cleanup_folder(folder: Path, keep: Path) -> None:
    """Remove generation files no index points at: whole .usearch files a crashed save wrote but no transaction
    adopted (given time, so a concurrent save's new file is never taken). Temp files are clean_stale()'s."""
    now = time.time()
    for f in folder.glob("*.usearch"):
        if f == keep:
            continue
        try:
            if now - f.stat().st_mtime > STALE_FILE_S:
                f.unlink()
        except OSError:
            pass


# ---- rows ----------------------------------------------------------------------------------------------
_FETCH_SQL = ('SELECT c.key, c.record_id, c.chunk, c.start, c."end", substr(r.text, c.start + 1, c."end" - c.start), '
              "r.meta, length(r.text) FROM index_chunks c JOIN index_records r ON r.index_id = c.index_id AND r.record_id = c.record_id "
              "WHERE c.index_id = ? AND c.key IN ({ids})")


def fetch_rows(db, index_id: int, keys: Sequence[int]) -> Dict[int, Tuple[Any, ...]]:
    """key -> (record id, chunk, start, end, chunk text, meta json, record length) for the keys still in the index."""
    return {row[0]: tuple(row[1:]) for row in select_in(db, _FETCH_SQL, list(keys), (index_id,))}


def insert_rows(db, index_id: int, prep, keys: np.ndarray) -> None:
    """The records and chunks of `prep` (a records.Prepared), chunk i under usearch key keys[i]."""
    db.executemany("INSERT INTO index_records (index_id, record_id, text, meta) VALUES (?,?,?,?)",
                   ((index_id, rid, text, meta) for rid, text, meta in prep.records))
    db.executemany('INSERT INTO index_chunks (index_id, key, record_id, chunk, start, "end") VALUES (?,?,?,?,?,?)',
                   ((index_id, int(k), rid, n, s, e) for k, (rid, n, s, e) in zip(keys, prep.chunks)))


def delete_rows(db, index_id: int, record_ids: Sequence[str]) -> None:
    """Delete records; their chunks go with them (ON DELETE CASCADE)."""
    for _ in select_in(db, "DELETE FROM index_records WHERE index_id=? AND record_id IN ({ids})", record_ids,
                       (index_id,)):
        pass


def keys_of(db, index_id: int, record_ids: Sequence[str]) -> Dict[str, List[int]]:
    """record id -> its chunks' usearch keys, for the ids that are in the index."""
    out: Dict[str, List[int]] = {}
    sql = "SELECT record_id, key FROM index_chunks WHERE index_id=? AND record_id IN ({ids})"
    for rid, key in select_in(db, sql, record_ids, (index_id,)):
        out.setdefault(rid, []).append(key)
    return out


def index_names(db) -> List[str]:
    return [r[0] for r in db.execute("SELECT name FROM indexes ORDER BY name")]


# ---- this process's loaded indexes: reloaded only when another process switched the file ------------
_loaded: Dict[Tuple[str, str], Any] = {}
_loaded_lock = threading.Lock()


def loaded(ws_path: Path, name: str):
    with _loaded_lock:
        return _loaded.get((str(ws_path), name))


def remember(ws_path: Path, index) -> None:
    with _loaded_lock:
        _loaded[(str(ws_path), index.name)] = index


def forget(ws_path: Path, name: str) -> None:
    with _loaded_lock:
        _loaded.pop((str(ws_path), name), None)


def forget_all() -> None:
    """Drop every loaded index, so the next load reads the workspace (as a new process would)."""
    with _loaded_lock:
        _loaded.clear()


__all__ = ["DamagedIndexError", "STALE_FILE_S", "add_threads", "add_vectors", "cleanup_folder", "delete_rows", "fetch_rows",
           "forget", "forget_all", "index_names", "insert_rows", "keys_of", "loaded", "new_file_rel", "new_usearch",
           "remember", "restore_usearch", "save_usearch", "usearch_class", "write_generation"]
