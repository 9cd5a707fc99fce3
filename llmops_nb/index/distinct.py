"""Near-identical passages collapse in search results, so k hits show k different things: pydoc repeats whole
sections under several topics (the try statement's text is in both "try" and "compound"), and a corpus of
copied documents does the same. Two chunks are near-identical when their word 3-gram sets overlap by
`THRESHOLD` (Jaccard) or more; the better-ranked one stays."""
from __future__ import annotations

import re
from typing import List, Sequence, Set, Tuple

THRESHOLD = 0.8
OVERFETCH = 3  # candidates searched per hit wanted, so k distinct hits remain after collapsing
_WORD = re.compile(r"\w+")


def shingles(text: str) -> Set[Tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    if len(words) < 3:
        return {tuple(words)}
    return {tuple(words[i:i + 3]) for i in range(len(words) - 2)}


def near_identical(a: Set[tuple], b: Set[tuple], threshold: float = THRESHOLD) -> bool:
    if not a or not b:
        return a == b
    small, large = (a, b) if len(a) <= len(b) else (b, a)
    if len(small) < threshold * len(large):  # Jaccard <= |small| / |large|: cannot reach the threshold
        return False
    inter = len(small & large)
    return inter / (len(a) + len(b) - inter) >= threshold


def distinct_positions(texts: Sequence[str], k: int, threshold: float = THRESHOLD) -> Tuple[List[int], int]:
    """Positions of the first `k` texts that are not near-identical to an earlier kept one, and how many were
    collapsed on the way."""
    kept: List[int] = []
    seen: List[Set[tuple]] = []
    collapsed = 0
    for i, text in enumerate(texts):
        if len(kept) == k:
            break
        sh = shingles(text)
        if any(near_identical(sh, s, threshold) for s in seen):
            collapsed += 1
            continue
        kept.append(i)
        seen.append(sh)
    return kept, collapsed


__all__ = ["OVERFETCH", "THRESHOLD", "distinct_positions", "near_identical", "shingles"]
