"""Word-level diff of two texts (difflib), as tokens a front-end renders with textContent, or as escaped HTML."""
from __future__ import annotations

import difflib
import re
from typing import List, Tuple

from ..display import esc

_TOKEN = re.compile(r"\s+|[^\s]+")
MAX_DIFF_CHARS = 20_000  # longer texts are cut before diffing (difflib is quadratic in the worst case)

Token = Tuple[str, str]  # (text, op) with op in eq / del / ins


def word_diff(a: str, b: str, *, limit: int = MAX_DIFF_CHARS) -> Tuple[List[Token], List[Token]]:
    """Tokens of `a` (ops eq/del) and of `b` (ops eq/ins); whitespace is kept so the tokens rebuild the texts."""
    a, b = (a or "")[:limit], (b or "")[:limit]
    ta, tb = _TOKEN.findall(a), _TOKEN.findall(b)
    wa = [t if not t.isspace() else " " for t in ta]
    wb = [t if not t.isspace() else " " for t in tb]
    sm = difflib.SequenceMatcher(None, wa, wb, autojunk=False)
    out_a: List[Token] = []
    out_b: List[Token] = []
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            _extend(out_a, ta[i1:i2], "eq")
            _extend(out_b, tb[j1:j2], "eq")
        else:
            _extend(out_a, ta[i1:i2], "del")
            _extend(out_b, tb[j1:j2], "ins")
    return out_a, out_b


def _extend(out: List[Token], tokens: List[str], op: str) -> None:
    for t in tokens:
        o = "eq" if t.isspace() else op  # whitespace is never highlighted
        if out and out[-1][1] == o:
            out[-1] = (out[-1][0] + t, o)
        else:
            out.append((t, o))


def diff_html(tokens: List[Token], *, limit: int = 600) -> str:
    """Escaped HTML of diff tokens with changed words in <mark>, cut to about `limit` characters."""
    out, used = [], 0
    for text, op in tokens:
        if used >= limit:
            out.append("…")
            break
        piece = text[: max(0, limit - used)]
        used += len(piece)
        out.append(f"<mark class='llmops-hl'>{esc(piece)}</mark>" if op != "eq" else esc(piece))
    return "".join(out)
