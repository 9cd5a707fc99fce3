"""Embedding with a content-hash cache, so re-indexing an unchanged or slightly changed dataset only
embeds what is new.

The cache lives in the shared cache folder (`LLMOPS_CACHE`, else the workspace's `cache/`), one SQLite
file per model: `embeddings/<model>/vectors.sqlite`, a table of (sha256(text)[:16], float32 blob). It
is not the workspace database: many workspaces (and a test run's many temp workspaces) share it. Reading
vectors back is far cheaper than embedding them; 16 KiB pages and a plain rowid table keep it so (a WITHOUT
ROWID table of 1.5 KB blobs is several times slower).

Vectors are cached as the model returns them (float32) and normalized on the way out, so a cached
vector is bit-identical to a freshly computed one.

What runs the embedder is the `embed_backend` setting (torch, onnx or onnx-int8; LLMOPS_EMBED_BACKEND or
`[tool.llmops]`), or the backend an object passed in is pinned to. The backend is part of `model_key` (torch keys
keep their old spelling, the others end in `-onnx`/`-onnx-int8`), so vectors of different backends never share a
cache, and an index's stored key says which backend its queries must use (`backend_of_key`, `pinned_backend`).
"""
from __future__ import annotations

import contextlib
import contextvars
import copy
import hashlib
import os
import re
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from ..config import load_settings, progress_disabled
from ..errors import InputError, did_you_mean
from ..models.loading import embedder_folder, load_embedder
from ..workspace import select_in, transaction, workspace
from ..workspace.db import open_cache_db
from .chunking import fast_backend
from .onnx_embed import OnnxEmbedder

CACHE_VERSION = 1
_SLAB = 1024  # texts embedded between cache writes: an interrupted run keeps what it finished
_conns: Dict[str, sqlite3.Connection] = {}
_conns_lock = threading.Lock()
EMBED_BACKENDS = ("torch", "onnx", "onnx-int8")
_pinned: contextvars.ContextVar = contextvars.ContextVar("llmops_embed_backend", default=None)
_onnx_embedders: Dict[tuple, OnnxEmbedder] = {}


def text_hash(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()[:16]


def model_key(embedder, backend: Optional[str] = None) -> str:
    """Folder name identifying the model's outputs: its name plus what changes them (dim, window, the backend when
    not torch, and for a registered fine-tune the content hash of its weights, so one trained again under the same
    name never reads the vectors of its old weights). The backend is the one given, else the one the embedder is
    pinned to, else the current setting."""
    weights = weights_version(embedder)
    tag = f"-w{weights}" if weights else ""
    backend = check_backend(backend or getattr(embedder, "backend", None) or current_backend())
    suffix = "" if backend == "torch" else f"-{backend}"
    return f"{_slug(str(embedder.name))}{tag}-d{embedder.dim}-t{embedder.max_seq_length}-v{CACHE_VERSION}{suffix}"


def check_backend(value) -> str:
    backend = str(value or "").strip().lower()
    if backend not in EMBED_BACKENDS:
        raise InputError(f"unknown embed_backend '{value}'{did_you_mean(str(value), EMBED_BACKENDS)}; use one of "
                         f"{', '.join(EMBED_BACKENDS)} (LLMOPS_EMBED_BACKEND or embed_backend in [tool.llmops])")
    return backend


def current_backend() -> str:
    """The backend `embed` uses for a model given by name: the one pinned here (an index's own), else the setting."""
    return _pinned.get() or check_backend(load_settings().embed_backend)


@contextlib.contextmanager
def pinned_backend(backend: Optional[str]):
    """Within the block, embedding runs on `backend` whatever the setting says (an index adds and searches with the
    backend it was built with). None leaves the setting in charge."""
    token = _pinned.set(check_backend(backend) if backend else None)
    try:
        yield
    finally:
        _pinned.reset(token)


def backend_of_key(key) -> Optional[str]:
    """The backend a stored `model_key` was made with (torch for keys without a backend suffix); None if unreadable."""
    m = re.search(r"-v\d+(?:-(onnx(?:-int8)?))?$", key) if isinstance(key, str) else None
    return (m.group(1) or "torch") if m else None


def resolve_embedder(model="all-minilm-l6-v2", backend: Optional[str] = None):
    """The embedder `embed` runs: a name (or an embedder object) on `backend`, else on the backend the object is
    pinned to, else on the current one. The result carries `.backend`."""
    own = None if isinstance(model, str) else getattr(model, "backend", None)
    backend = check_backend(backend) if backend else (own or current_backend())
    if own == backend:
        return model
    name = model if isinstance(model, str) else model.name
    if backend == "torch":
        emb = model if not isinstance(model, str) and own is None else load_embedder(name)
        pinned = copy.copy(emb)  # shares the model; the shared object itself stays unpinned
        pinned.backend = "torch"
        return pinned
    folder, version = embedder_folder(name)
    key = (name, str(folder), version, backend)
    if key not in _onnx_embedders:
        _onnx_embedders[key] = OnnxEmbedder(name, folder, version, backend)
    return _onnx_embedders[key]


def weights_version(embedder_or_version) -> str:
    """The weights part of `model_key`: a registered fine-tune's weights hash as the key spells it ("" for built-in
    embedders and local folders). Takes an Embedder or its `version`."""
    version = embedder_or_version if isinstance(embedder_or_version, str) else getattr(embedder_or_version,
                                                                                          "version", "")
    return re.sub(r"[^A-Za-z0-9]", "", str(version or ""))[:16]


def built_weights(stats: dict, name: str) -> Optional[str]:
    """The `weights_version` an index was built with, from its stats: the stored `model_weights`, else (indexes
    stored before that) read from its embedding cache key; None when neither tells (given vectors, no stats)."""
    if isinstance(stats.get("model_weights"), str):
        return stats["model_weights"]
    key, slug = stats.get("model_key"), _slug(str(name))
    if not isinstance(key, str) or not key.startswith(slug):
        return None  # e.g. a local folder's key resolved from another working directory
    m = re.fullmatch(r"(?:-w([A-Za-z0-9]{1,16}))?-d\d+-t\d+-v\d+(?:-onnx(?:-int8)?)?", key[len(slug):])
    return (m.group(1) or "") if m else None


def _slug(name: str) -> str:
    if os.sep in name or name.startswith("."):  # a local folder: keep it readable and unique
        path = str(Path(name).expanduser().resolve())
        name = Path(path).name + "-" + hashlib.sha256(path.encode()).hexdigest()[:8]
    return re.sub(r"[^A-Za-z0-9_.\-]", "-", name)


def cache_path(embedder_or_key) -> Path:
    key = embedder_or_key if isinstance(embedder_or_key, str) else model_key(embedder_or_key)
    return workspace().cache_dir / "embeddings" / key / "vectors.sqlite"


def _connect(path: Path) -> sqlite3.Connection:
    key = f"{os.getpid()}:{path}"
    with _conns_lock:
        conn = _conns.get(key)
        if conn is not None:
            return conn
        conn = open_cache_db(path, first_pragmas=["page_size = 16384"])  # big rows: fewer overflow pages
        conn.execute("CREATE TABLE IF NOT EXISTS vectors (h BLOB PRIMARY KEY, v BLOB NOT NULL)")
        _conns[key] = conn
        return conn


class EmbeddingCache:
    """(model, text hash) -> float32 vector, shared across workspaces and processes."""

    def __init__(self, embedder=None, *, key: Optional[str] = None, dim: Optional[int] = None):
        """From an embedder, or from a `model_key` and dim (no model load: a search looks up its query)."""
        self.dim = embedder.dim if embedder is not None else int(dim)
        self.path = cache_path(embedder if embedder is not None else key)
        self.conn = _connect(self.path)

    @classmethod
    def lookup(cls, key: str, dim: int, text: str) -> Optional[np.ndarray]:
        """One text's cached vector, without loading the model; None when absent."""
        path = cache_path(key)
        if not path.exists():
            return None
        return cls(key=key, dim=dim).get([text_hash(text)]).get(text_hash(text))

    def get(self, hashes: Sequence[bytes]) -> Dict[bytes, np.ndarray]:
        found: Dict[bytes, np.ndarray] = {}
        for h, v in select_in(self.conn, "SELECT h, v FROM vectors WHERE h IN ({ids})", hashes):
            if len(v) == 4 * self.dim:
                found[h] = np.frombuffer(v, dtype=np.float32)
        return found

    def put(self, hashes: Sequence[bytes], vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        with transaction(self.conn):
            self.conn.executemany("INSERT OR IGNORE INTO vectors (h, v) VALUES (?, ?)",
                                  zip(hashes, (row.tobytes() for row in vectors)))

    def __len__(self) -> int:
        return self.conn.execute("SELECT count(*) FROM vectors").fetchone()[0]


@dataclass
class EmbedStats:
    """What the last `embed` call did: how many texts came from the cache and how many were embedded."""

    texts: int = 0
    unique: int = 0
    cached: int = 0
    embedded: int = 0


last_stats = EmbedStats()


def _token_lengths(embedder, texts: Sequence[str]) -> np.ndarray:
    if isinstance(embedder, OnnxEmbedder):
        return embedder.token_lengths(texts)
    backend = fast_backend(embedder.tokenizer)
    if backend is not None:
        return np.array([len(e.ids) for e in backend.encode_batch(list(texts), add_special_tokens=False)])
    return np.array([len(t) for t in texts])  # characters: a fine proxy for sorting


@contextlib.contextmanager
def _threads_for(n_texts: int, embedder=None):
    """One torch thread for a handful of texts (a search query): with two, a tiny input waits at the thread
    pool's barrier whenever the other core is busy, and small inputs gain nothing from a second thread.
    (ONNX Runtime sessions choose their own threads.)"""
    if n_texts > 4 or isinstance(embedder, OnnxEmbedder):
        yield
        return
    import torch

    old = torch.get_num_threads()
    if old == 1:
        yield
        return
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def slabs(embedder, hashes: Sequence[bytes], texts: Sequence[str]) -> List[Tuple[List[bytes], List[str]]]:
    """How `embed` groups texts it has to embed: longest (in tokens) first, `_SLAB` texts a group, each group
    encoded in one call and cached before the next. A group's vectors depend on its members (batches are formed
    within it), so embedding the same groups elsewhere (a Dask worker) gives the same vectors."""
    order = np.argsort(-_token_lengths(embedder, texts), kind="stable")
    return [([hashes[j] for j in order[s:s + _SLAB]], [texts[j] for j in order[s:s + _SLAB]])
            for s in range(0, len(order), _SLAB)]


def normalize_rows(vecs: np.ndarray) -> np.ndarray:
    """Each row scaled to unit length (zero rows stay zero), as float32."""
    norms = np.linalg.norm(vecs, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (vecs / norms).astype(np.float32, copy=False)


def embed(texts: Union[str, Iterable[str]], model="all-minilm-l6-v2", *, cache: bool = True, batch_size: int = 32,
          normalize: bool = True, progress: bool = True, stats: Optional[EmbedStats] = None,
          backend: Optional[str] = None) -> np.ndarray:
    """Embed texts as a float32 array (n, dim), L2-normalized by default.

    `model` is a name or an embedder; `backend` (torch, onnx, onnx-int8) overrides the `embed_backend` setting
    (see `resolve_embedder`).

    Texts already in the cache are not embedded again; repeated texts are embedded once. What is
    embedded is sorted by token length first, so batches carry little padding.
    """
    if isinstance(texts, str):
        texts = [texts]
    texts = list(texts)
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise InputError(f"text {i} is a {type(t).__name__}, not a string; pass strings to embed()")
    emb = resolve_embedder(model, backend)
    st = stats if stats is not None else EmbedStats()
    st.texts = len(texts)
    if not texts:
        return np.zeros((0, emb.dim), dtype=np.float32)
    hashes = [text_hash(t) for t in texts]
    first: Dict[bytes, int] = {}
    for i, h in enumerate(hashes):
        first.setdefault(h, i)
    st.unique = len(first)
    store = EmbeddingCache(emb) if cache else None
    vectors: Dict[bytes, np.ndarray] = store.get(list(first)) if store is not None else {}
    st.cached = len(vectors)
    todo = [h for h in first if h not in vectors]
    st.embedded = len(todo)
    if todo:
        from ..progress import progress as progress_bar

        bar = progress_bar(total=len(todo), desc=f"embedding ({emb.name}" + (")" if emb.backend == "torch" else f", {emb.backend})"), unit="text",
                   disable=not progress or progress_disabled() or len(todo) < 2 * batch_size)
        try:
            for slab_hashes, slab in slabs(emb, todo, [texts[first[h]] for h in todo]):
                with _threads_for(len(slab), emb):
                    out = emb.encode(slab, batch_size=batch_size, normalize=False)
                for h, v in zip(slab_hashes, out):
                    vectors[h] = v
                if store is not None:
                    store.put(slab_hashes, out)
                bar.update(len(slab))
        finally:
            bar.close()
    result = np.stack([vectors[h] for h in hashes]).astype(np.float32, copy=False)
    if normalize:
        result = normalize_rows(result)
    global last_stats
    last_stats = st
    return np.ascontiguousarray(result)


__all__ = ["EmbeddingCache", "EmbedStats", "built_weights", "cache_path", "embed", "model_key", "normalize_rows",
           "slabs", "text_hash", "weights_version"]
