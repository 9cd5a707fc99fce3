"""Real files are messy: fields of mixed kinds, numbers past 64 bits, broken escapes, byte-order marks,
duplicate headers. Nothing is lost silently, and what cannot be stored is one line, never a traceback."""
import json

import pytest

import llmops_nb as L
from llmops_nb.errors import InputError, WorkspaceError


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_a_field_of_numbers_and_text_is_kept_as_text(ws, tmp_path):
    ds = L.load_dataset(_jsonl(tmp_path / "m.jsonl", [{"text": "a b", "mixed": 1}, {"text": "c d", "mixed": "x"},
                                                      {"text": "e f", "mixed": 2.5}]), name="m")
    assert ds.to_pandas()["mixed"].tolist() == ["1", "x", "2.5"]
    assert L.search is not None  # the load went through the public API


def test_whole_numbers_past_64_bits_are_kept_exactly(ws, tmp_path):
    ds = L.load_dataset(_jsonl(tmp_path / "b.jsonl", [{"text": "a b", "big": 18446744073709551615}]), name="b")
    assert ds.to_pandas()["big"].tolist() == ["18446744073709551615"]


def test_a_later_record_of_another_kind_is_one_line_naming_the_field(ws, tmp_path, run_cli):
    rows = [{"text": f"record {i}", "n": i} for i in range(9000)]
    rows[8500]["n"] = "many"
    path = _jsonl(tmp_path / "late.jsonl", rows)
    p = run_cli("data", "load", str(path), "--name", "late", check=2)
    assert "Traceback" not in p.stderr and len(p.stderr.strip().splitlines()) == 1
    assert "field 'n' holds whole numbers in the first records but 'many' in record" in p.stderr
    assert not list((ws.path / "datasets").glob(".incoming-*")) and len(L.datasets()) == 0


def test_broken_unicode_escapes_are_stored_as_the_replacement_character(ws, tmp_path):
    path = tmp_path / "sur.jsonl"
    path.write_text('{"text": "bad \\ud800 here", "topic": "\\udcff"}\n')
    ds = L.load_dataset(path, name="sur")
    rec = ds.to_pandas().iloc[0]
    assert rec["text"] == "bad \ufffd here" and rec["topic"] == "\ufffd"


def test_a_byte_order_mark_is_not_data_in_jsonl_and_json(ws, tmp_path):
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"text": "first record"}\r\n{"text": "second"}\r\n')
    assert list(L.load_dataset(path, name="bomj").texts()) == ["first record", "second"]
    arr = tmp_path / "bom.json"
    arr.write_bytes(b'\xef\xbb\xbf[{"text": "only one"}]')
    assert list(L.load_dataset(arr, name="boma").texts()) == ["only one"]


def test_a_csv_header_naming_a_column_twice_is_refused(ws, tmp_path, run_cli):
    path = tmp_path / "d.csv"
    path.write_text("text,text\na,b\n")
    with pytest.raises(InputError, match="d.csv line 1: column 'text' appears twice in the header; rename one"):
        L.load_dataset(path, name="dc")
    p = run_cli("data", "load", str(path), "--name", "dc", check=2)
    assert "appears twice" in p.stderr and "Traceback" not in p.stderr


def test_curate_takes_a_parsed_filter(ws):
    from llmops_nb.filters import parse_filter

    ds = L.load_dataset([{"text": "one two three", "lang": "en"}, {"text": "uno dos", "lang": "es"}], name="f")
    out = L.curate(ds, [("filter", {"expr": parse_filter("lang == 'en'")})]).dataset
    assert [r["lang"] for r in out.records()] == ["en"]


def test_loading_into_a_read_only_workspace_is_refused_before_reading(tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from cli_helpers import cli, unprivileged

    d = tmp_path / "ws"
    subprocess.run([sys.executable, "-c", "import llmops_nb as L; L.load_dataset('pydoc', name='pydoc')"],
                   env={**os.environ, "LLMOPS_HOME": str(d)}, check=True, timeout=300)
    (d / "llmops.db").chmod(0o444)
    before = sorted(p.name for p in (d / "datasets").rglob("*"))
    for args in (("data", "load", "pydoc", "--name", "again"), ("curate", "pydoc", "--steps", "sample:3")):
        p = cli(*args, env={"LLMOPS_HOME": str(d)}, prefix=unprivileged())
        assert p.returncode == 1 and "is read-only, so nothing could be stored" in p.stderr, p.stderr
    assert sorted(p.name for p in (d / "datasets").rglob("*")) == before, "no file was written"
    assert issubclass(WorkspaceError, L.LlmopsError)
