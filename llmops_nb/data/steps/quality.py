"""`quality`: Gopher/C4-style document heuristics, each threshold configurable (None turns a check off)."""
from __future__ import annotations

import re
from typing import Dict, Iterable, Iterator, List, Optional, Tuple

from ...errors import InputError
from . import StepContext, step

# Gopher's stop-word check (Rae et al. 2021): English prose contains at least two of these.
STOP_WORDS = frozenset({"the", "be", "to", "of", "and", "that", "have", "with"})
_BULLETS = ("•", "●", "○", "▪", "◦", "‣", "-", "*", "·")


_PUNCT_EDGES = ".,;:!?\"'()[]{}<>"
_DROP_EDGE_PUNCT = str.maketrans("", "", _PUNCT_EDGES)
_LETTERLESS_TOKEN = re.compile(r"(?<!\S)(?:[^\s\w]|[\d_])+(?!\S)")  # digits/punctuation only
_STOP = re.compile(r"\b(?:" + "|".join(sorted(STOP_WORDS)) + r")\b")


def quality_signals(text: str) -> Dict[str, float]:
    """The measurements the checks compare against their thresholds (C-level string ops, no per-char loops)."""
    toks = text.split()
    n = len(toks)
    lines = [ln.strip() for ln in text.split("\n")]
    nonempty = [ln for ln in lines if ln]
    n_lines = len(nonempty)
    dup_lines = n_lines - len(set(nonempty))
    chars = sum(map(len, toks))
    punct = chars - len("".join(toks).translate(_DROP_EDGE_PUNCT)) if n else 0
    symbols = text.count("#") + text.count("...") + text.count("…")
    return {
        "words": n,
        "mean_word_length": (chars - punct) / n if n else 0.0,
        "symbol_ratio": symbols / n if n else 0.0,
        "alpha_words": (n - len(_LETTERLESS_TOKEN.findall(text))) / n if n else 0.0,
        "duplicate_lines": dup_lines / n_lines if n_lines else 0.0,
        "stop_words": len(set(_STOP.findall(text.lower()))),
        "bullet_lines": (sum(1 for ln in nonempty if ln.startswith(_BULLETS)) / n_lines) if n_lines else 0.0,
        "ellipsis_lines": (sum(1 for ln in nonempty if ln.endswith(("...", "…"))) / n_lines) if n_lines else 0.0,
    }


# (reason, signal, bound kind, parameter) in the order they are reported
CHECKS: List[Tuple[str, str, str, str]] = [
    ("too_few_words", "words", "min", "min_words"),
    ("too_many_words", "words", "max", "max_words"),
    ("short_words", "mean_word_length", "min", "min_mean_word_length"),
    ("long_words", "mean_word_length", "max", "max_mean_word_length"),
    ("symbols", "symbol_ratio", "max", "max_symbol_ratio"),
    ("few_alpha_words", "alpha_words", "min", "min_alpha_words"),
    ("duplicate_lines", "duplicate_lines", "max", "max_duplicate_lines"),
    ("no_stop_words", "stop_words", "min", "min_stop_words"),
    ("bullet_lines", "bullet_lines", "max", "max_bullet_lines"),
    ("ellipsis_lines", "ellipsis_lines", "max", "max_ellipsis_lines"),
]


@step("quality", primary="mode", can_flag=True, choices={"mode": ("drop", "flag")},
      limits={**dict.fromkeys(("min_words", "max_words", "min_stop_words", "min_mean_word_length",
                               "max_mean_word_length", "max_symbol_ratio"), "[0, inf)"),
              **dict.fromkeys(("min_alpha_words", "max_duplicate_lines", "max_bullet_lines", "max_ellipsis_lines"),
                              "[0, 1]")})
def quality(records: Iterable[dict], ctx: StepContext, *, mode: str = "drop", min_words: Optional[int] = 5,
            max_words: Optional[int] = 100_000, min_mean_word_length: Optional[float] = 2.0,
            max_mean_word_length: Optional[float] = 12.0, max_symbol_ratio: Optional[float] = 0.1,
            min_alpha_words: Optional[float] = 0.6, max_duplicate_lines: Optional[float] = 0.3,
            min_stop_words: Optional[int] = 2, max_bullet_lines: Optional[float] = 0.9,
            max_ellipsis_lines: Optional[float] = 0.3) -> Iterator[dict]:
    """Drop (or flag, `mode="flag"`) records that fail any check; the reason is the first check failed.

    Checks and defaults (Gopher's values unless noted): words in [5, 100000] (Gopher: 50 — too strict for
    Q&A pairs and short notes, raise it for web pages); mean word length in [2, 12] (Gopher 3-10, widened
    for code and identifiers); '#' and '...' per word <= 0.1; share of words with a letter >= 0.6 (Gopher
    0.8, lowered so docs with code pass); share of repeated lines <= 0.3; at least 2 of the stop words
    the/be/to/of/and/that/have/with (set `min_stop_words=0` for non-English text); bullet lines <= 90%;
    lines ending in an ellipsis <= 30%. Any threshold set to None is not checked.
    """
    if mode not in ("drop", "flag"):
        raise InputError(f"quality mode must be 'drop' or 'flag', got '{mode}'")
    limits = {"min_words": min_words, "max_words": max_words, "min_mean_word_length": min_mean_word_length,
              "max_mean_word_length": max_mean_word_length, "max_symbol_ratio": max_symbol_ratio,
              "min_alpha_words": min_alpha_words, "max_duplicate_lines": max_duplicate_lines,
              "min_stop_words": min_stop_words, "max_bullet_lines": max_bullet_lines,
              "max_ellipsis_lines": max_ellipsis_lines}
    for rec in records:
        sig = quality_signals(rec["text"])
        failed = []
        for reason, signal, kind, param in CHECKS:
            bound = limits[param]
            if bound is None:
                continue
            value = sig[signal]
            if (kind == "min" and value < bound) or (kind == "max" and value > bound):
                failed.append((reason, signal, value, param, bound))
        if not failed:
            yield rec
            continue
        reason, signal, value, param, bound = failed[0]
        detail = {"value": round(value, 4) if isinstance(value, float) else value, "limit": bound, "signal": signal,
                  "failed": [f[0] for f in failed]}
        if mode == "drop":
            ctx.remove(rec, reason, **detail)
        else:
            yield ctx.flag(rec, reason, **detail)
