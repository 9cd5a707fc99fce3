"""Text hygiene: `normalize` (NFKC, whitespace, control characters) and `exact_dedup` (hash of normalized text)."""
from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Dict, Iterable, Iterator

from . import StepContext, step

# Zero-width and formatting characters that change bytes but not what a reader sees.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200e\u200f\u2060\ufeff\u00ad"), None)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_UNICODE_SPACE = re.compile(r"[^\S \n\t]")  # odd whitespace (NBSP, thin, ideographic ...) -> ' '
_TRAILING = re.compile(r"[ \t]+\n")
_BLANK_RUNS = re.compile(r"\n{3,}")
_SPACE_RUNS = re.compile(r"(?<=\S)[ \t]{2,}")
_WS = re.compile(r"\s+")


def normalize_text(text: str, *, form: str = "NFKC", collapse_spaces: bool = False) -> str:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.isascii():  # NFKC, zero-width and odd spaces only exist outside ASCII
        if form:
            text = unicodedata.normalize(form, text)
        text = text.translate(_INVISIBLE)
        text = _UNICODE_SPACE.sub(" ", text)
    text = _CONTROL.sub("", text)
    if " \n" in text or "\t\n" in text:
        text = _TRAILING.sub("\n", text)
    if "\n\n\n" in text:
        text = _BLANK_RUNS.sub("\n\n", text)
    if collapse_spaces:
        text = _SPACE_RUNS.sub(" ", text)
    return text.strip()


@step("normalize", choices={"form": ("NFKC", "NFC", "NFKD", "NFD", "")})
def normalize(records: Iterable[dict], ctx: StepContext, *, form: str = "NFKC",
              collapse_spaces: bool = False) -> Iterator[dict]:
    """Unicode NFKC, drop control and zero-width characters, unify line ends and odd spaces,
    strip trailing spaces, squeeze 3+ blank lines to one blank line, strip the ends.

    Inner runs of spaces are kept unless `collapse_spaces=True`: they are the indentation of code
    and the alignment of tables. Changed records are counted (`edited: normalized`), not stored.
    """
    for rec in records:
        text = rec["text"]
        new = normalize_text(text, form=form, collapse_spaces=collapse_spaces)
        if new != text:
            ctx.edited["normalized"] += 1
            rec = {**rec, "text": new}
        yield rec




def _odd_space(t: str) -> bool:
    """Whitespace other than single spaces between words (cheaper to test than to always re-join)."""
    return ("  " in t or "\n" in t or "\t" in t or "\r" in t or "\x0b" in t or "\x0c" in t
            or t[:1].isspace() or t[-1:].isspace())


def dedup_key(text: str, *, lowercase: bool = True) -> bytes:
    """16-byte digest of the text with case and whitespace differences removed (NFKC first)."""
    if text.isascii():  # NFKC is the identity on ASCII: skip it (the common case)
        t = text.lower() if lowercase else text
    else:
        t = unicodedata.normalize("NFKC", text)
        if lowercase:
            t = t.casefold()
    if _odd_space(t):
        t = " ".join(t.split())
    return hashlib.blake2b(t.encode("utf-8", "surrogatepass"), digest_size=16).digest()


@step("exact_dedup")
def exact_dedup(records: Iterable[dict], ctx: StepContext, *, lowercase: bool = True) -> Iterator[dict]:
    """Keep the first record of each group with the same normalized text (case-folded, whitespace
    collapsed, NFKC); the rest are removed as duplicates of it.

    Streams: it holds one 16-byte digest per distinct text, never the texts.
    """
    seen: Dict[bytes, str] = {}
    for rec in records:
        key = dedup_key(rec["text"], lowercase=lowercase)
        first = seen.get(key)
        if first is None:
            seen[key] = str(rec["id"])
            yield rec
        else:
            ctx.remove(rec, "exact_duplicate", duplicate_of=first)
