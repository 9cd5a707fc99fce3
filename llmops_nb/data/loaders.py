"""Readers that turn a source into a stream of record dicts, one registry entry per format.

Files are streamed (a 1 GB JSONL is never read into memory at once). Each reader yields
(record, location) where location names the file and line for error messages.
"""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Optional, Tuple

from ..errors import InputError

Reader = Callable[..., Iterator[Tuple[dict, str]]]
READERS: Dict[str, Reader] = {}
EXTENSIONS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "json", ".csv": "csv", ".tsv": "tsv",
              ".parquet": "parquet", ".pq": "parquet", ".txt": "txt"}


def reader(fmt: str):
    def deco(fn):
        READERS[fmt] = fn
        return fn

    return deco


class LineErrors:
    """Collects skipped lines under on_error='skip'; raises on the first one under 'stop'."""

    def __init__(self, on_error: str):
        if on_error not in ("stop", "skip"):
            raise InputError(f"--on-error must be 'stop' or 'skip', got '{on_error}'")
        self.on_error = on_error
        self.skipped: list = []
        self.count = 0

    def add(self, where: str, problem: str) -> None:
        if self.on_error == "stop":
            raise InputError(f"{where}: {problem}; fix it or load with --on-error skip (on_error='skip')")
        self.count += 1
        if len(self.skipped) < 20:
            self.skipped.append(f"{where}: {problem}")


@reader("jsonl")
def read_jsonl(path: Path, errors: LineErrors, **_) -> Iterator[Tuple[dict, str]]:
    with open(path, "rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            where = f"{path.name} line {lineno}"
            try:
                line = raw.decode("utf-8")
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


@reader("json")
def read_json(path: Path, errors: LineErrors, **_) -> Iterator[Tuple[dict, str]]:
    try:
        data = json.loads(Path(path).read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path.name}: not a valid UTF-8 JSON file ({exc}); for one object per line use .jsonl") from None
    if isinstance(data, dict):
        data = next((v for v in data.values() if isinstance(v, list)), [data])
    for i, obj in enumerate(data):
        if isinstance(obj, dict):
            yield obj, f"{path.name} item {i}"
        else:
            errors.add(f"{path.name} item {i}", f"expected an object, got {type(obj).__name__}")


def _read_delimited(path: Path, errors: LineErrors, delimiter: str) -> Iterator[Tuple[dict, str]]:
    with open(path, "r", encoding="utf-8", errors="strict", newline="") as fh:
        try:
            rows = csv.DictReader(fh, delimiter=delimiter)
            for i, row in enumerate(rows, 2):
                yield {k: v for k, v in row.items() if k is not None}, f"{path.name} line {i}"
        except UnicodeDecodeError as exc:
            raise InputError(f"{path.name}: not valid UTF-8 ({exc.reason} at byte {exc.start}); re-encode the file as UTF-8") from None
        except csv.Error as exc:
            raise InputError(f"{path.name}: malformed CSV ({exc})") from None


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
