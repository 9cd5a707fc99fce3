"""The filter language's syntax: `FilterError`, the tokenizer and the recursive-descent parser (see the
package's docstring for the grammar). The parser builds a tree of tuples; it never compiles or runs code."""
from __future__ import annotations

import re
from typing import Any, List, NamedTuple, Optional, Sequence, Tuple

from ..errors import InputError

MAX_CHARS = 20_000  # long enough for `id in [...]` with hundreds of ids, short enough to parse instantly
MAX_DEPTH = 32  # nested parentheses / `not`s: a deeper filter is a mistake or an attack, never a need
GRAMMAR = ("a filter compares columns with literals (==, !=, <, <=, >, >=, in [...], not in [...]) joined by "
           "and / or / not and parentheses, e.g. topic == 'try' and n_words > 20")
COLUMNS_LABEL = "columns you can filter on"

COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
_LITERAL_WORDS = {"True": True, "False": False, "true": True, "false": False, "None": None, "null": None}
_KEYWORDS = {"and", "or", "not", "in"}
_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[^\W\d]\w*)
  | (?P<str>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,|-)
""", re.VERBOSE | re.DOTALL)
_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)", re.DOTALL)
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "\\": "\\", "'": "'", '"': '"', "\n": ""}
# characters that are not part of the language, with what to say about them
_REFUSED = {
    "=": "'=' assigns; use == to compare", "@": "'@' (a Python variable) is not allowed; write the value itself",
    "`": "backticks are not allowed; write a column's name bare", ";": "';' is not allowed; a filter is one condition",
    "&": "'&' is not allowed; use and", "|": "'|' is not allowed; use or", "~": "'~' is not allowed; use not",
    "!": "'!' is not allowed; use not, or != to compare", "#": "'#' is not allowed (no comments)",
    "{": "'{' is not allowed (no sets, dicts or f-string fields)", "}": "'}' is not allowed (no sets or dicts)",
    "\\": "'\\' is only allowed inside a quoted string",
}


class FilterError(InputError):
    """A filter outside the language, naming an unknown column, or comparing text with numbers."""

    def __init__(self, text: str, problem: str, grammar: bool = True, columns: Optional[Sequence[str]] = None,
                 label: str = COLUMNS_LABEL):
        self.text, self.problem, self.grammar = text, problem, grammar
        self.columns, self.label = (list(columns) if columns is not None else None), label
        tail = [GRAMMAR] if grammar else []
        if self.columns is not None:
            tail.append(f"{label}: {', '.join(map(str, self.columns)) or 'none'}")
        super().__init__("; ".join([f"filter {shown(text)}: {problem}", *tail]))

    def __reduce__(self):  # picklable across processes (a sweep's workers), though __init__ takes more than args
        return FilterError, (self.text, self.problem, self.grammar, self.columns, self.label)

    def with_columns(self, columns: Sequence[str], label: str = COLUMNS_LABEL) -> "FilterError":
        """The same error, listing the columns the user can filter on."""
        return FilterError(self.text, self.problem, self.grammar, columns, label)


def shown(text: str, limit: int = 80) -> str:
    """`text` quoted on one line (newlines escaped), cut to `limit` characters."""
    return repr(text if len(text) <= limit else text[:limit - 3] + "...")


# ---- tokens ----------------------------------------------------------------------------------------
class Token(NamedTuple):
    kind: str  # "num", "name", "str", "op" or "end"
    value: Any
    pos: int
    raw: str


def _refusal(text: str, pos: int) -> str:
    ch = text[pos]
    nxt = text[pos + 1:pos + 2]
    if ch == "." and re.match(r"[A-Za-z_]", nxt):
        attr = re.match(r"\.[A-Za-z_][A-Za-z0-9_]*", text[pos:]).group(0)
        return f"attribute access '{attr}' is not allowed"
    if ch == ":":
        return "':=' (assignment) is not allowed" if nxt == "=" else "':' is not allowed (no slices, dicts or lambdas)"
    if ch in "+*/%^":
        return f"arithmetic ('{ch}') is not part of the filter language"
    if ch in ("'", '"'):
        return f"the string starting at character {pos + 1} is not closed"
    return _REFUSED.get(ch, f"{ch!r} is not allowed")


def _unescape(body: str, text: str) -> str:
    def one(m: re.Match) -> str:
        e = m.group(1)
        if e[0] in "xuU" and len(e) > 1:
            code = int(e[1:], 16)
            if code > 0x10FFFF:
                raise FilterError(text, f"'\\{e}' is not a character")
            return chr(code)
        return _SIMPLE_ESCAPES.get(e, "\\" + e)

    return _ESCAPE.sub(one, body)


def tokenize(text: str) -> List[Token]:
    out: List[Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise FilterError(text, _refusal(text, pos))
        kind, raw, end = m.lastgroup, m.group(0), m.end()
        nxt = text[end:end + 1]
        if kind == "name" and nxt in ("'", '"'):
            raise FilterError(text, f"string prefixes like {raw}'...' are not allowed (no f-strings); "
                                    "write plain quotes")
        if kind == "num" and nxt and (nxt.isalnum() or nxt in "_.'\""):
            glued = re.match(r"[\w.'\"]+", text[pos:]).group(0)
            raise FilterError(text, f"{glued!r} is not a number; write numbers like 12, -3, 2.5 or 1e-3")
        if kind == "num":
            out.append(Token("num", float(raw) if any(c in raw for c in ".eE") else int(raw), pos, raw))
        elif kind == "str":
            out.append(Token("str", _unescape(raw[1:-1], text), pos, raw))
        elif kind != "ws":
            out.append(Token(kind, raw, pos, raw))
        pos = end
    out.append(Token("end", None, len(text), "end of filter"))
    return out


# ---- parsing ---------------------------------------------------------------------------------------
# The tree: ("or", [nodes]) ("and", [nodes]) ("not", node) ("cmp", op, left, right) ("in", operand, values,
# negated) ("col", name) ("lit", value). Tuples: immutable, so a parsed filter is safely shared from the cache.
Node = Tuple[Any, ...]


class Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.depth = 0
        self.columns: dict = {}  # names read, in order of appearance

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def take(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def at(self, kind: str, value: Any = None) -> bool:
        t = self.tok
        return t.kind == kind and (value is None or t.value == value)

    def fail(self, problem: str) -> FilterError:
        return FilterError(self.text, problem)

    def parse(self) -> Node:
        node = self.or_()
        if not self.at("end"):
            raise self.fail(self.unexpected("and / or or the end of the filter"))
        return node

    def unexpected(self, wanted: str) -> str:
        t = self.tok
        if t.kind == "end":
            return f"the filter ends where {wanted} should come"
        if t.kind == "name" and t.value == "is":
            return "'is' is not allowed; write == None or != None"
        if t.kind == "op" and t.value == "-":
            return "arithmetic ('-') is not part of the filter language"
        return f"unexpected {t.raw!r} at character {t.pos + 1}, where {wanted} should come"

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"it nests more than {MAX_DEPTH} levels deep")

    def or_(self) -> Node:
        items = [self.and_()]
        while self.at("name", "or"):
            self.take()
            items.append(self.and_())
        return items[0] if len(items) == 1 else ("or", tuple(items))

    def and_(self) -> Node:
        items = [self.not_()]
        while self.at("name", "and"):
            self.take()
            items.append(self.not_())
        return items[0] if len(items) == 1 else ("and", tuple(items))

    def not_(self) -> Node:
        if self.at("name", "not"):
            self.take()
            self.nest()
            node = ("not", self.not_())
            self.depth -= 1
            return node
        return self.comparison()

    def comparison(self) -> Node:
        left = self.operand()
        negated = self.at("name", "not") and self.tokens[self.i + 1][:2] == ("name", "in")
        is_in = negated or self.at("name", "in")
        if left[0] != "col" and (is_in or (self.at("op") and self.tok.value in COMPARISONS)):
            if left[0] != "lit" or is_in:  # `(a == 1) == b` or `'x' in [...]`: nothing a filter needs
                raise self.fail(f"{'in' if is_in else 'a comparison'} needs a column on its left, e.g. "
                                "kind in ['bird', 'fish'] or n_words > 20")
        if is_in:
            self.i += 2 if negated else 1
            return ("in", left, self.literal_list(), negated)
        parts: List[Node] = []
        while self.at("op") and self.tok.value in COMPARISONS:
            op = self.take().value
            right = self.operand()
            if right[0] not in ("col", "lit"):
                raise self.fail(f"compare with a column or a value, not with a condition in parentheses ({op})")
            parts.append(("cmp", op, left, right))
            left = right
        if not parts:
            return left
        return parts[0] if len(parts) == 1 else ("and", tuple(parts))

    def operand(self) -> Node:
        t = self.tok
        if t.kind == "op" and t.value == "(":
            self.take()
            self.nest()
            node = self.or_()
            if not self.at("op", ")"):
                raise self.fail(self.unexpected("')'"))
            self.take()
            self.depth -= 1
            return node
        if t.kind == "name" and t.value not in _KEYWORDS and t.value not in _LITERAL_WORDS:
            self.take()
            if self.at("op", "(") or self.at("op", "["):
                what = "calls like" if self.tok.value == "(" else "subscripts like"
                raise self.fail(f"{what} {t.value}{self.tok.value}...{')' if self.tok.value == '(' else ']'} "
                                "are not allowed")
            self.columns[t.value] = None
            return ("col", t.value)
        if t.kind == "op" and t.value == "[":
            raise self.fail("a list [...] only goes after in / not in, e.g. kind in ['bird', 'fish']")
        return ("lit", self.literal("a column, a value or '('"))

    def literal(self, wanted: str) -> Any:
        t = self.tok
        if t.kind in ("num", "str"):
            self.take()
            return t.value
        if t.kind == "name" and t.value in _LITERAL_WORDS:
            self.take()
            return _LITERAL_WORDS[t.value]
        if t.kind == "op" and t.value == "-":
            self.take()
            if not self.at("num"):
                raise self.fail("'-' is only allowed before a number (no arithmetic)")
            return -self.take().value
        raise self.fail(self.unexpected(wanted))

    def literal_list(self) -> Tuple[Any, ...]:
        if not (self.at("op", "[") or self.at("op", "(")):
            raise self.fail("after in / not in comes a list of values, e.g. kind in ['bird', 'fish']")
        close = "]" if self.take().value == "[" else ")"
        values: List[Any] = []
        while not self.at("op", close):
            if self.at("name") and self.tok.value not in _LITERAL_WORDS:
                raise self.fail(f"a list after in holds values only ({self.tok.raw!r} is not one; "
                                "no columns or comprehensions)")
            values.append(self.literal(f"a value or '{close}'"))
            if self.at("op", ","):
                self.take()
            elif not self.at("op", close):
                raise self.fail(self.unexpected(f"',' or '{close}'"))
        self.take()
        return tuple(values)


