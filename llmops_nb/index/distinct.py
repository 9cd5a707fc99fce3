"""Near-identical passages collapse in search results, so k hits show k different things: pydoc repeats whole
sections under several topics (the try statement's text is in both "try" and "compound"), and a corpus of
copied documents does the same. Two chunks are near-identical when their word 3-gram sets overlap by
`THRESHOLD` (Jaccard) or more.

Which copy stays (`distinct_hits`, specific=True): the one from the more specific source. Of two near-identical
passages, the one whose record is smaller (fewer chunks) takes the better of the two ranks and its score;
and a passage whose text is `CONTAINED` or more inside a smaller record that the search also found (share of the
passage's word 3-grams present in that record's text) gives its rank and score to that record's passage that
overlaps it most, and collapses. The smallest such record wins. So "try" ranks where "compound"'s copy of the try
section ranked. Chosen on the pydoc dev set (benchmarks/bench_retrieval.py); a corpus without repeated text
ranks exactly as with specific=False, which keeps the better-ranked copy."""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Dict, FrozenSet, List, Optional, Sequence, Set, Tuple

import numpy as np

from ..workspace.db import select_in
from . import storage

THRESHOLD = 0.8
CONTAINED = 0.8  # share of a passage's word 3-grams inside a smaller record's text for that record to take its rank
SPECIFIC_MAX_CHARS = 500_000  # records longer than this are not read whole to test containment
OVERFETCH = 3  # candidates searched per hit wanted, so k distinct hits remain after collapsing
CACHE_GRAMS = 500_000  # record 3-gram hashes kept between searches (about 60 bytes each): tokenizing long
# records on every search would cost more than the search; a notebook searches the same index again and again
_WORD = re.compile(r"\w+")
_cache: "OrderedDict[tuple, Tuple[tuple, FrozenSet[int]]]" = OrderedDict()  # record -> (version, hashes)
_cached = 0
_lock = threading.Lock()


def shingles(text: str) -> Set[Tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    if len(words) < 3:
        return {tuple(words)}
    return set(zip(words, words[1:], words[2:]))


def near_identical(a: Set[tuple], b: Set[tuple], threshold: float = THRESHOLD) -> bool:
    if not a or not b:
        return a == b
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    if len(small) < threshold * len(large):  # Jaccard <= |small| / |large|: cannot reach the threshold
        return False
    inter = len(small & large)
    return inter / (len(a) + len(b) - inter) >= threshold


def containment(part: Set[tuple], whole: Set[tuple]) -> float:
    """Share of `part`'s 3-grams that are in `whole`."""
    if not part:
        return 0.0
    return len(part & whole) / len(part)


def distinct_positions(texts: Sequence[str], k: int, threshold: float = THRESHOLD,
                       sizes: Optional[Sequence[float]] = None) -> Tuple[List[int], int]:
    """Positions of the first `k` texts that are not near-identical to an earlier kept one, and how many were
    collapsed on the way. With `sizes` (of each text's record), a later near-identical text from a smaller
    record takes the earlier one's place in the list."""
    slots, collapsed = _slots(texts, k, threshold, sizes)
    return [kept for _, kept, _ in slots], collapsed


def _slots(texts: Sequence[str], k: int, threshold: float, sizes: Optional[Sequence[float]],
           grams: Optional[Dict[int, Set[tuple]]] = None) -> Tuple[List[Tuple[int, int, int]], int]:
    """(position of the slot's best-ranked copy, position of the copy kept, copies) for the first k distinct
    texts, and how many copies collapsed. `grams` gets the 3-grams of each text read, by position."""
    slots: List[List[int]] = []
    seen: List[Set[tuple]] = []
    collapsed = 0
    for i, text in enumerate(texts):
        if len(slots) == k:
            break
        sh = shingles(text)
        if grams is not None:
            grams[i] = sh
        j = next((j for j, s in enumerate(seen) if near_identical(sh, s, threshold)), None)
        if j is None:
            slots.append([i, i, 1])
            seen.append(sh)
            continue
        collapsed += 1
        slots[j][2] += 1
        if sizes is not None and sizes[i] < sizes[slots[j][1]]:
            slots[j][1], seen[j] = i, sh
    return [(first, kept, copies) for first, kept, copies in slots], collapsed


@dataclass
class _Hit:
    key: int
    record: Optional[str]
    text: str
    score: float
    size: float  # how many chunks its record has; inf when unknown
    copies: int = 1  # this passage and the near-identical ones collapsed into it
    spare: bool = False  # searched beyond the first k distinct hits: not yet compared with them
    grams: Optional[Set[tuple]] = None

    def shingles(self) -> Set[tuple]:
        if self.grams is None:
            self.grams = shingles(self.text)
        return self.grams


def distinct_hits(db, index_id: int, keys: Sequence[int], scores: Sequence[float], k: int, note: str = "", *,
                  specific: bool = True, rows_out: Optional[dict] = None) -> Tuple[list, np.ndarray, str]:
    """The first k of a search's hits (keys and scores, best first) that are not near-identical to a better one,
    preferring the more specific source (module docstring), and the note with what collapsed added.
    `specific=False` keeps the better-ranked copy. `rows_out` receives the rows read (storage.fetch_rows), so
    the caller need not read them again."""
    keys = np.asarray(keys).tolist()
    scores = np.asarray(scores, dtype=np.float64)
    if not keys:
        return keys, scores, note
    rows = storage.fetch_rows(db, index_id, keys)
    if rows_out is not None:
        rows_out.update(rows)
    texts = [rows[key][4] if key in rows else "" for key in keys]
    if not specific:
        pos, collapsed = distinct_positions(texts, k)
        return [keys[i] for i in pos], scores[pos], _noted(note, collapsed, 0)
    records = [rows[key][0] if key in rows else None for key in keys]
    whole = {row[0]: (1, key) for key, row in rows.items() if row[1] == 0 and row[2] == 0 and row[3] == row[6]}
    texts_of = _Records(db, index_id, [r for r in records if r is not None], whole)
    size_of = [texts_of.size(r) for r in records]
    grams: Dict[int, Set[tuple]] = {}
    slots, _ = _slots(texts, k, THRESHOLD, size_of, grams)
    # a copy from a smaller record that took a better-ranked copy's slot takes that copy's score too
    hits = [_Hit(keys[kept], records[kept], texts[kept], float(scores[first]), size_of[kept], copies,
                 grams=grams[kept]) for first, kept, copies in slots]
    hits += [_Hit(keys[i], records[i], texts[i], float(scores[i]), size_of[i], spare=True)
             for i in range(max(grams, default=-1) + 1, len(keys))]
    hits, moved = _prefer_contained(texts_of, hits, k)
    collapsed = sum(h.copies for h in hits) - len(hits) - moved
    return [h.key for h in hits], np.asarray([h.score for h in hits], dtype=np.float64), _noted(note, collapsed, moved)


def _prefer_contained(texts_of: "_Records", hits: List[_Hit], k: int) -> Tuple[List[_Hit], int]:
    """The first k hits, where a hit whose text is CONTAINED in a smaller record that a later hit comes from
    gives its rank and score to that record's later hit overlapping it most, and drops out (the smallest such
    record; the better-ranked of equal sizes). Spare hits that repeat a hit already kept are dropped as copies.
    Returns the hits and how many moved up."""
    out: List[_Hit] = []
    rest = list(hits)
    moved = 0
    while rest and len(out) < k:
        hit = rest.pop(0)
        if hit.spare and _copy_of(hit, out):
            continue
        smaller = list(dict.fromkeys(h.record for h in rest if h.record is not None and h.size < hit.size))
        taken = None
        if smaller:
            part = {hash(g) for g in hit.shingles()}
            need = CONTAINED * len(part)
            holders = [r for r in smaller if len(part & texts_of.grams(r)) >= need]
            if holders:
                record = min(holders, key=texts_of.size)
                j = max((j for j, h in enumerate(rest) if h.record == record),
                        key=lambda j: (len(rest[j].shingles() & hit.shingles()), -j))
                taken = rest[j] if not (rest[j].spare and _copy_of(rest[j], out)) else None
        if taken is None:
            out.append(hit)
            continue
        rest.remove(taken)
        out.append(_Hit(taken.key, taken.record, taken.text, hit.score, taken.size, taken.copies + hit.copies,
                        grams=taken.grams))
        moved += 1
    return out, moved


def _copy_of(hit: _Hit, kept: Sequence[_Hit]) -> bool:
    return any(near_identical(hit.shingles(), h.shingles()) for h in kept)


class _Records:
    """How many chunks each record a search found has (its size) and, read when asked, its text's 3-gram hashes
    (cached across searches; a record re-indexed by add/upsert gets new chunk keys, so it is read again)."""

    def __init__(self, db, index_id: int, records: Sequence[str], whole: Optional[Dict[str, tuple]] = None):
        """`whole`: record -> (1, its key) for records whose first chunk is their whole text (no query for them)."""
        sql = ("SELECT record_id, count(*), min(key) FROM index_chunks WHERE index_id=? AND record_id IN ({ids}) "
               "GROUP BY record_id")
        self.db, self.index_id = db, index_id
        self.found = dict(whole or {})
        rest = sorted(set(records) - set(self.found))
        self.found.update((rid, (n, first)) for rid, n, first in select_in(db, sql, rest, (index_id,)))
        self._place: Optional[tuple] = None

    @property
    def place(self) -> tuple:
        """(database file, index id): which workspace's record a cached 3-gram set belongs to."""
        if self._place is None:
            self._place = (self.db.execute("PRAGMA database_list").fetchone()[2], self.index_id)
        return self._place

    def size(self, record: Optional[str]) -> float:
        got = self.found.get(record) if record is not None else None
        return float(got[0]) if got is not None else float("inf")

    def grams(self, record: str) -> FrozenSet[int]:
        """Hashes of the record's word 3-grams; empty for a record too long to read (SPECIFIC_MAX_CHARS)."""
        global _cached
        key, version = (*self.place, record), self.found[record]
        with _lock:
            got = _cache.get(key)
            if got is not None and got[0] == version:
                _cache.move_to_end(key)
                return got[1]
        row = self.db.execute("SELECT text FROM index_records WHERE index_id=? AND record_id=? AND length(text) <= ?",
                              (self.index_id, record, SPECIFIC_MAX_CHARS)).fetchone()
        grams = frozenset(hash(g) for g in shingles(row[0])) if row is not None else frozenset()
        with _lock:
            old = _cache.pop(key, None)
            _cached += len(grams) - (len(old[1]) if old is not None else 0)
            _cache[key] = (version, grams)
            while _cached > CACHE_GRAMS and len(_cache) > 1:
                _cached -= len(_cache.popitem(last=False)[1][1])
        return grams


def _noted(note: str, collapsed: int, moved: int) -> str:
    parts = []
    if collapsed:
        parts.append(f"{collapsed} near-identical passage{'s' if collapsed > 1 else ''} collapsed")
    if moved:
        parts.append(f"{moved} passage{'s' if moved > 1 else ''} ranked under the smaller record holding "
                     f"{'their' if moved > 1 else 'its'} text")
    extra = "; ".join(parts)
    return f"{note}; {extra}" if note and extra else (note or extra)


__all__ = ["CONTAINED", "OVERFETCH", "THRESHOLD", "containment", "distinct_hits", "distinct_positions",
           "near_identical", "shingles"]
