"""Readers that turn a source into a stream of record dicts, one registry entry per format.

Files are streamed (a 1 GB JSONL is never read into memory at once). Each reader yields
(record, location) where location names the file and line for error messages. `read_jsonl_file` is the
one JSONL reader of the package for files read whole (eval sets, fine-tuning data).
"""
from __future__ import annotations

import csv
import hashlib
import json
import os
import re
from collections import deque
from pathlib import Path
from typing import Any, Callable, Deque, Dict, Iterator, List, Optional, Tuple, Union

from ..errors import InputError
from .storage import replace_surrogates

Reader = Callable[..., Iterator[Tuple[dict, str]]]
READERS: Dict[str, Reader] = {}
EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "tsv",
              ".parquet": "parquet", ".pq": "parquet", ".txt": "txt"}


def reader(fmt: str):
    def deco(fn):
        READERS[fmt] = fn
        return fn

    return deco


_SKIP_ADVICE = "fix it or load with --on-error skip (on_error='skip')"


class LineErrors:
    """Collects skipped lines under on_error='skip'; raises on the first one under 'stop', ending with `advice`
    (by default, how to skip bad lines when loading a dataset)."""

    def __init__(self, on_error: str, *, advice: Optional[str] = _SKIP_ADVICE):
        if on_error not in ("stop", "skip"):
            raise InputError(f"--on-error must be 'stop' or 'skip', got '{on_error}'")
        self.on_error = on_error
        self.advice = advice
        self.skipped: list = []
        self.count = 0

    def add(self, where: str, problem: str) -> None:
        if self.on_error == "stop":
            raise InputError(f"{where}: {problem}" + (f"; {self.advice}" if self.advice else ""))
        self.count += 1
        if len(self.skipped) < 20:
            self.skipped.append(f"{where}: {problem}")


@reader("jsonl")
def read_jsonl(path: Path, errors: LineErrors, **_) -> Iterator[Tuple[dict, str]]:
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            where = f"{path.name} line {lineno}"
            try:
                line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")  # an editor's byte-order mark is not data
            except UnicodeDecodeError as exc:
                errors.add(where, f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at column {exc.start + 1}); "
                                  "re-encode the file as UTF-8")
                continue
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                errors.add(where, f"invalid JSON ({exc.msg} at column {exc.colno})")
                continue
            if not isinstance(obj, dict):
                errors.add(where, f"expected a JSON object, got {type(obj).__name__}")
                continue
            yield obj, where


def read_jsonl_file(path: Union[str, os.PathLike], *, what: str = "file") -> List[dict]:
    """Every object of a JSONL file, as a list of dicts. Lines are read as bytes split at newlines only (a JSON
    string may hold U+2028 and other characters str.splitlines() breaks at) and blank lines are skipped; the
    first line that is not UTF-8 (file, line, byte), not JSON, or not an object is one InputError naming it."""
    path = Path(path)
    try:
        return [obj for obj, _ in read_jsonl(path, LineErrors("stop", advice=None))]
    except OSError as exc:
        raise InputError(f"cannot read {what} {path}: {exc.strerror}") from None


@reader("json")
def read_json(path: Path, errors: LineErrors, **_) -> Iterator[Tuple[dict, str]]:
    try:
        data = json.loads(Path(path).read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path.name}: not a valid UTF-8 JSON file ({exc}); for one object per line use .jsonl") from None
    if isinstance(data, dict):
        data = next((v for v in data.values() if isinstance(v, list)), [data])
    for i, obj in enumerate(data):
        if isinstance(obj, dict):
            yield obj, f"{path.name} item {i}"
        else:
            errors.add(f"{path.name} item {i}", f"expected an object, got {type(obj).__name__}")


# csv's default cap is 131,072 characters a field, while a JSONL record can hold megabytes; 2**31 - 1 is the
# largest limit a C long takes on every platform.
_FIELD_LIMIT = 2**31 - 1
_BAD_BYTE = re.compile("[\udc80-\udcff]")  # bytes that are not UTF-8, as surrogateescape decodes them


class _Lines:
    """The physical lines of a text file for csv.reader: numbered, checked for UTF-8, the lines of the record
    being parsed kept in `taken`, and lines handed back through `again` read once more."""

    def __init__(self, fh, name: str, errors: LineErrors):
        self.fh, self.name, self.errors = fh, name, errors
        self.read = 0  # lines read from the file
        self.taken: List[Tuple[int, str]] = []
        self.again: Deque[Tuple[int, str]] = deque()
        self.at_end = False

    def __iter__(self) -> "_Lines":
        return self

    def __next__(self) -> str:
        while True:
            if self.again:
                lineno, line = self.again.popleft()
            else:
                try:
                    line = next(self.fh)
                except StopIteration:
                    self.at_end = True
                    raise
                self.read += 1
                lineno = self.read
            bad = _BAD_BYTE.search(line)
            if bad is None:
                self.taken.append((lineno, line))
                return line
            problem = (f"not valid UTF-8 at line {lineno} (byte 0x{ord(bad.group()) - 0xDC00:02x} at column "
                       f"{bad.start() + 1}); re-encode the file as UTF-8")
            if self.errors.on_error == "stop":
                raise InputError(f"{self.name}: {problem} or load with --on-error skip") from None
            self.errors.add(f"{self.name} line {lineno}", problem)


def _open_quote(lines: List[Tuple[int, str]], delimiter: str) -> Optional[int]:
    """The line where a quoted field opened and never closed in these lines, or None."""
    opened, quoted, field_start = None, False, True
    for lineno, line in lines:
        i = 0
        while i < len(line):
            c = line[i]
            if quoted:
                if c == '"':
                    if line[i + 1:i + 2] == '"':
                        i += 1
                    else:
                        quoted, field_start = False, False
            elif c == '"' and field_start:
                quoted, opened = True, lineno
            else:
                field_start = c in (delimiter, "\r", "\n")
            i += 1
    return opened if quoted else None


def _read_delimited(path: Path, errors: LineErrors, delimiter: str) -> Iterator[Tuple[dict, str]]:
    """Strict CSV/TSV: a malformed record, a ragged row or an unclosed quote is reported with the line the
    record starts on, and stops the load or (on_error='skip') is skipped and counted."""
    csv.field_size_limit(max(csv.field_size_limit(), _FIELD_LIMIT))
    with open(path, "r", encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
        lines = _Lines(fh, path.name, errors)
        reader = csv.reader(lines, delimiter=delimiter, strict=True)
        header: Optional[List[str]] = None
        header_line = 0
        while True:
            lines.taken = []
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                reader = _after_csv_error(lines, exc, delimiter, errors) or reader
                continue
            if not row or (header is not None and len(header) > 1 and len(row) == 1 and not row[0].strip()):
                continue  # a blank line, or only spaces where a record needs more than one field
            start, end = lines.taken[0][0], lines.taken[-1][0]
            if header is None:
                header, header_line = row, start
                twice = next((name for i, name in enumerate(header) if name in header[:i]), None)
                if twice is not None:  # a dict would keep only the last of them: data lost without a word
                    raise InputError(f"{path.name} line {start}: column '{twice}' appears twice in the header; "
                                     "rename one of them")
            elif len(row) != len(header):
                errors.add(f"{path.name} line {start}", f"{len(row)} fields where the header (line {header_line}) "
                                                        f"has {len(header)}{_span(start, end)}")
            else:
                yield dict(zip(header, row)), f"{path.name} line {start}"


def _span(start: int, end: int) -> str:
    return f" (the record runs from line {start} to line {end}: is a quote on line {start} left open?)" \
        if end > start else ""


def _after_csv_error(lines: _Lines, exc: csv.Error, delimiter: str, errors: LineErrors):
    """Report a record csv could not parse. A quote still open at the end of the file swallowed every line
    after it: under on_error='skip' those lines are read again, with a new reader (returned)."""
    name, taken = lines.name, lines.taken
    start, end = (taken[0][0], taken[-1][0]) if taken else (lines.read, lines.read)
    opened = _open_quote(taken, delimiter) if lines.at_end and not lines.again else None
    if opened is None:
        errors.add(f"{name} line {start}", f"malformed CSV ({exc}){_span(start, end)}")
        return None
    errors.add(f"{name} line {opened}", f'unterminated quote: the field opened with " on line {opened} never '
                                       'closes; close it, or write a quote inside a quoted field as ""')
    lines.again.extend((n, line) for n, line in taken if n > opened)
    lines.at_end = False
    return csv.reader(lines, delimiter=delimiter, strict=True)


@reader("csv")
def read_csv(path: Path, errors: LineErrors, **_):
    return _read_delimited(path, errors, ",")


@reader("tsv")
def read_tsv(path: Path, errors: LineErrors, **_):
    return _read_delimited(path, errors, "\t")


@reader("parquet")
def read_parquet(path: Path, errors: LineErrors, **_) -> Iterator[Tuple[dict, str]]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:
        raise InputError(f"{path.name}: not a readable Parquet file ({exc})") from None
    row = 0
    for batch in pf.iter_batches(batch_size=4096):
        for rec in batch.to_pylist():
            row += 1
            yield rec, f"{path.name} row {row}"


@reader("txt")
def read_txt(path: Path, errors: LineErrors, **_) -> Iterator[Tuple[dict, str]]:
    """Plain text: one record per blank-line-separated paragraph."""
    buf, start = [], 1
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError:
                errors.add(f"{path.name} line {lineno}", "not valid UTF-8; re-encode the file as UTF-8")
                continue
            if line.strip():
                if not buf:
                    start = lineno
                buf.append(line.rstrip("\n"))
            elif buf:
                yield {"text": "\n".join(buf)}, f"{path.name} line {start}"
                buf = []
    if buf:
        yield {"text": "\n".join(buf)}, f"{path.name} line {start}"


def iter_source(source: Any, *, fmt: Optional[str], errors: LineErrors) -> Tuple[Iterator[Tuple[dict, str]], str]:
    """(stream of (record, location), description of the source)."""
    if isinstance(source, (str, os.PathLike)):
        text = str(source)
        if text == "pydoc":
            from pydoc_data.topics import topics

            return (({"id": k, "topic": k, "text": topics[k]}, f"pydoc topic {k}") for k in sorted(topics)), "pydoc_data.topics"
        path = Path(text).expanduser()
        if not path.exists():
            raise InputError(f"no such file: {path}; give a .jsonl, .csv, .parquet path, a DataFrame, a list of dicts, or 'pydoc'")
        if path.is_dir():
            raise InputError(f"{path} is a folder; give a file (.jsonl, .csv, .parquet)")
        fmt = fmt or EXTENSIONS.get(path.suffix.lower())
        if fmt not in READERS:
            raise InputError(f"cannot tell the format of {path.name}; pass --format with one of {', '.join(sorted(READERS))}")
        return READERS[fmt](path, errors), str(path)
    if hasattr(source, "to_dict") and hasattr(source, "columns") and hasattr(source, "iterrows"):  # pandas
        return ((r, f"row {i}") for i, r in enumerate(source.to_dict("records"))), "DataFrame"
    if type(source).__module__.startswith("datasets") and hasattr(source, "column_names"):  # HF datasets
        return ((dict(r), f"row {i}") for i, r in enumerate(source)), f"datasets.Dataset ({getattr(source, 'info', None) and source.info.dataset_name or 'in memory'})"
    if isinstance(source, (list, tuple)) or hasattr(source, "__iter__"):
        def gen():
            for i, r in enumerate(source):
                if isinstance(r, str):
                    r = {"text": r}
                if not isinstance(r, dict):
                    errors.add(f"item {i}", f"expected a dict or str, got {type(r).__name__}")
                    continue
                yield r, f"item {i}"

        return gen(), "list"
    raise InputError(f"cannot load a {type(source).__name__}; give a file path, DataFrame, list of dicts or datasets.Dataset")


LONG_RECORD_CHARS = 100_000  # counted in a load's params: a record this long is rarely what the user meant
_TEXT_FIELDS = ("text", "content", "body", "document", "question", "prompt")


def record_id(text: str) -> str:
    """Stable id of a record without an id field: a hash of its text."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def pick_text_field(rec: dict, text_field: Optional[str], where: str) -> str:
    """The field holding the text: `text_field` if given, else the first of text/content/body/... present."""
    if text_field:
        if text_field not in rec:
            raise InputError(f"text field '{text_field}' not found ({where}); fields present: "
                             f"{', '.join(map(str, rec)) or 'none'}; pass --text-field with one of them")
        return text_field
    for candidate in _TEXT_FIELDS:
        if candidate in rec and isinstance(rec[candidate], str):
            return candidate
    strings = [k for k, v in rec.items() if isinstance(v, str)]
    if len(strings) == 1:
        return strings[0]
    raise InputError(f"cannot tell which field holds the text ({where}); fields present: "
                     f"{', '.join(map(str, rec)) or 'none'}; pass --text-field NAME")


class RecordBuilder:
    """Turns source records into stored ones: the text field is chosen on the first record; each record gets
    `id` (its id field, else a hash of its text; a repeated id gets -2, -3, ...) and `text`, and keeps its
    other fields. `stats` counts what a user should hear about (long or empty texts, repeated ids)."""

    def __init__(self, errors: LineErrors, *, text_field: Optional[str] = None, id_field: Optional[str] = None):
        self.errors = errors
        self.text_field, self.id_field = text_field, id_field
        self.field: Optional[str] = None  # the text field in use, once the first record is seen
        self.stats = {"long_records": 0, "empty_texts": 0, "duplicate_ids": 0}
        self._ids: Dict[str, int] = {}

    def records(self, stream: Iterator[Tuple[dict, str]]) -> Iterator[dict]:
        for rec, where in stream:
            if self.field is None:
                self.field = pick_text_field(rec, self.text_field, where)
                if self.id_field and self.id_field not in rec:
                    raise InputError(f"id field '{self.id_field}' not found ({where}); fields present: "
                                     f"{', '.join(map(str, rec))}")
                self.id_field = self.id_field or ("id" if "id" in rec else None)
            if self.field not in rec:
                self.errors.add(where, f"no '{self.field}' field (fields: {', '.join(map(str, rec))})")
                continue
            yield self._build(rec)

    def _text(self, value: Any) -> str:
        if value is None or (isinstance(value, float) and value != value):
            value = ""
        text = value if isinstance(value, str) else str(value)
        text = replace_surrogates(text)  # a broken \uXXXX escape from a bad source
        if not text.strip():
            self.stats["empty_texts"] += 1
        if len(text) > LONG_RECORD_CHARS:
            self.stats["long_records"] += 1
        return text

    def _build(self, rec: dict) -> dict:
        field, idf = self.field, self.id_field
        text = self._text(rec[field])
        rid = str(rec[idf]) if idf and rec.get(idf) is not None else record_id(text)
        if rid in self._ids:
            self._ids[rid] += 1
            self.stats["duplicate_ids"] += 1
            rid = f"{rid}-{self._ids[rid]}"
        else:
            self._ids[rid] = 1
        out = {"id": rid, "text": text}
        for k, v in rec.items():
            if k not in (field, idf, "id", "text"):
                out[str(k)] = v
        if field != "text":
            out.setdefault(field, None)
        return out
