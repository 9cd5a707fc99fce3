"""Split records into overlapping windows of the embedder's own tokens, keeping character offsets.

Chunks are counted in the embedder's tokens (not characters or words) so that every chunk fits the
model's window: text past `max_seq_length` would be silently ignored by the embedder. Offsets are
character positions into the record's text, so a chunk's text is always `record["text"][start:end]`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from ..errors import InputError

DEFAULT_CHUNK_TOKENS = 200
DEFAULT_OVERLAP = 32
_TOKENIZE_BATCH = 256


@dataclass
class Chunk:
    record_id: str
    chunk: int  # position of this chunk within its record, from 0
    start: int  # character offsets into the record's text
    end: int
    text: str
    metadata: Dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"Chunk({self.record_id!r}#{self.chunk}, [{self.start}:{self.end}], {self.text[:40]!r})"


@dataclass
class ChunkStats:
    records: int = 0
    chunks: int = 0
    skipped_empty: int = 0  # records whose text is empty or whitespace: not embedded, counted here


def check_window(chunk_tokens: int, overlap: int, max_tokens: Optional[int] = None) -> None:
    if not isinstance(chunk_tokens, int) or chunk_tokens < 8:
        raise InputError(f"chunk_tokens must be an integer >= 8 (got {chunk_tokens!r})")
    if max_tokens is not None and chunk_tokens > max_tokens:
        raise InputError(f"chunk_tokens {chunk_tokens} is more than the embedder reads ({max_tokens} tokens); "
                         f"text past that would be ignored: use --chunk-tokens {max_tokens} or less")
    if not isinstance(overlap, int) or overlap < 0 or overlap >= chunk_tokens:
        raise InputError(f"overlap must be an integer from 0 to chunk_tokens - 1 (got {overlap!r} with "
                         f"chunk_tokens {chunk_tokens})")


def windows(n_tokens: int, chunk_tokens: int, overlap: int) -> List[Tuple[int, int]]:
    """Token windows [a, b) covering n_tokens, each `chunk_tokens` long, consecutive ones sharing `overlap`."""
    if n_tokens <= chunk_tokens:
        return [(0, n_tokens)]
    step = chunk_tokens - overlap
    out = []
    a = 0
    while True:
        b = min(a + chunk_tokens, n_tokens)
        out.append((a, b))
        if b >= n_tokens:
            break
        a += step
    return out


def _snap_start(text: str, pos: int, limit: int = 24) -> int:
    """Move a window start back to the beginning of its word (a subword token starts mid-word), so a
    chunk never starts with half a word; this adds at most a token or two to the window."""
    floor = max(0, pos - limit)
    while pos > floor and text[pos - 1].isalnum() and text[pos].isalnum():
        pos -= 1
    return pos


def chunk_records(records: Iterable[dict], tokenizer, *, chunk_tokens: int = DEFAULT_CHUNK_TOKENS,
                  overlap: int = DEFAULT_OVERLAP, max_tokens: Optional[int] = None,
                  stats: Optional[ChunkStats] = None, metadata_exclude: Sequence[str] = ("id", "text")
                  ) -> Iterator[Chunk]:
    """Yield chunks of records (dicts with 'id' and 'text'; other fields are kept as metadata).

    Records with empty text are skipped and counted in `stats.skipped_empty`.
    """
    check_window(chunk_tokens, overlap, max_tokens)
    stats = stats if stats is not None else ChunkStats()
    batch: List[dict] = []
    for rec in records:
        stats.records += 1
        text = rec.get("text")
        if not isinstance(text, str) or not text.strip():
            stats.skipped_empty += 1
            continue
        batch.append(rec)
        if len(batch) >= _TOKENIZE_BATCH:
            yield from _chunk_batch(batch, tokenizer, chunk_tokens, overlap, stats, metadata_exclude)
            batch = []
    if batch:
        yield from _chunk_batch(batch, tokenizer, chunk_tokens, overlap, stats, metadata_exclude)


def fast_backend(tokenizer):
    """A private copy of a fast tokenizer's backend with truncation and padding off.

    Its settings come from tokenizer.json (MiniLM's says truncate and pad to 128), which would cut
    every long record to one chunk; the copy leaves the shared tokenizer untouched.
    """
    cached = getattr(tokenizer, "_llmops_chunk_backend", None)
    if cached is not None:
        return cached
    backend = getattr(tokenizer, "backend_tokenizer", None) or getattr(tokenizer, "_tokenizer", None)
    if backend is None or not hasattr(backend, "encode_batch"):
        return None
    import copy

    backend = copy.deepcopy(backend)
    backend.no_truncation()
    backend.no_padding()
    try:
        tokenizer._llmops_chunk_backend = backend
    except AttributeError:
        pass
    return backend


def _offsets(tokenizer, texts: List[str]) -> List[List[Tuple[int, int]]]:
    backend = fast_backend(tokenizer)
    if backend is not None:
        # the fast tokenizer's backend directly: no "sequence longer than max length" warnings, no tensors
        return [e.offsets for e in backend.encode_batch(texts, add_special_tokens=False)]
    enc = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True, truncation=False, verbose=False)
    return [list(map(tuple, o)) for o in enc["offset_mapping"]]


def _chunk_batch(batch: List[dict], tokenizer, chunk_tokens: int, overlap: int, stats: ChunkStats,
                 exclude: Sequence[str]) -> Iterator[Chunk]:
    texts = [r["text"] for r in batch]
    for rec, text, offs in zip(batch, texts, _offsets(tokenizer, texts)):
        meta = {k: v for k, v in rec.items() if k not in exclude}
        rid = str(rec["id"])
        offs = [o for o in offs if o[1] > o[0]]  # drop zero-width tokens
        if not offs:  # text the tokenizer drops entirely (e.g. control characters): keep it whole
            stats.chunks += 1
            yield Chunk(rid, 0, 0, len(text), text, meta)
            continue
        n = 0
        for a, b in windows(len(offs), chunk_tokens, overlap):
            start = _snap_start(text, offs[a][0]) if a > 0 else 0
            end = offs[b - 1][1] if b < len(offs) else len(text)
            piece = text[start:end]
            # offsets of the stripped piece, so chunk text never starts or ends with whitespace
            lead = len(piece) - len(piece.lstrip())
            trail = len(piece) - len(piece.rstrip())
            start, end = start + lead, end - trail
            if end <= start:
                continue
            stats.chunks += 1
            yield Chunk(rid, n, start, end, text[start:end], meta)
            n += 1


__all__ = ["Chunk", "ChunkStats", "DEFAULT_CHUNK_TOKENS", "DEFAULT_OVERLAP", "chunk_records", "check_window", "fast_backend",
           "windows"]
