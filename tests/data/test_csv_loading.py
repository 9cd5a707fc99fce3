"""CSV and TSV load as strictly as JSONL: a bad record names its file and the line it starts on, ragged rows
and unclosed quotes are refused (or skipped and counted), and a field of a megabyte loads."""
import json

import pytest

import llmops_nb as L
from llmops_nb.errors import InputError


def _write(path, text):
    path.write_text(text, encoding="utf-8", newline="")
    return path


def test_an_unterminated_quote_names_the_line_it_opened_on_instead_of_swallowing_the_rest(ws, tmp_path):
    p = _write(tmp_path / "notes.csv", 'id,text\n1,first record\n2,"an open quote\n3,third record\n4,fourth\n')
    with pytest.raises(InputError) as exc:
        L.load_dataset(p, "notes")
    msg = str(exc.value)
    assert msg.startswith("notes.csv line 3: unterminated quote") and "on line 3 never closes" in msg
    assert "--on-error skip" in msg and "\n" not in msg
    assert "notes" not in L.datasets().names
    # skipping drops only the record with the open quote: the lines it swallowed are read again
    ds = L.load_dataset(p, "notes", on_error="skip")
    assert ds.ids() == ["1", "3", "4"] and list(ds.texts()) == ["first record", "third record", "fourth"]
    assert ds.params["skipped_lines"] == 1 and ds.params["skipped_examples"][0].startswith("notes.csv line 3:")


def test_ragged_rows_are_refused_with_file_and_line_or_skipped_and_counted(ws, tmp_path):
    p = _write(tmp_path / "ragged.csv", "id,text,lang\na,Alpha,en\nb,Beta\nc,Gamma,el,extra\nd,Delta,en\n")
    with pytest.raises(InputError, match=r"^ragged.csv line 3: 2 fields where the header \(line 1\) has 3"):
        L.load_dataset(p, "ragged")
    ds = L.load_dataset(p, "ragged", on_error="skip")
    assert ds.ids() == ["a", "d"] and ds.to_pandas()["lang"].tolist() == ["en", "en"]
    assert ds.params["skipped_lines"] == 2
    assert [e.split(":")[0] for e in ds.params["skipped_examples"]] == ["ragged.csv line 3", "ragged.csv line 4"]
    assert "4 fields where the header (line 1) has 3" in ds.params["skipped_examples"][1]


def test_a_record_spanning_lines_is_reported_at_its_first_line(ws, tmp_path):
    # a legal multi-line field keeps its newline; a quote closed too late is reported where the record starts
    good = _write(tmp_path / "multi.csv", 'id,text\n1,"two\nlines"\n2,after\n')
    assert list(L.load_dataset(good, "multi").texts()) == ["two\nlines", "after"]
    bad = _write(tmp_path / "late.csv", 'id,text\n1,"opened\n2,"closed" too late\n3,fine\n')
    with pytest.raises(InputError, match=r"^late.csv line 2: malformed CSV .*runs from line 2 to line 3"):
        L.load_dataset(bad, "late")
    assert L.load_dataset(bad, "late", on_error="skip").ids() == ["3"]


def test_a_megabyte_field_loads_from_csv_and_tsv(ws, tmp_path):
    big = "word " * 200_000  # 1 MB, far past csv's default field limit of 131,072 characters
    _write(tmp_path / "big.csv", f'id,text\nbig,"{big}"\nsmall,short\n')
    _write(tmp_path / "big.tsv", f"id\ttext\nbig\t{big}\nsmall\tshort\n")
    for name in ("big.csv", "big.tsv"):
        ds = L.load_dataset(tmp_path / name, name.replace(".", "-"))
        assert ds.ids() == ["big", "small"] and len(next(ds.texts())) == len(big), name
        assert ds.params["long_records"] == 1


def test_tsv_is_checked_the_same_way(ws, tmp_path):
    p = _write(tmp_path / "t.tsv", "id\ttext\n1\tone\n2\ttwo\tthree\n3\t\"open\n4\tfour\n")
    with pytest.raises(InputError, match=r"^t.tsv line 3: 3 fields where the header \(line 1\) has 2"):
        L.load_dataset(p, "t")
    ds = L.load_dataset(p, "t", on_error="skip")
    assert ds.ids() == ["1", "4"] and ds.params["skipped_lines"] == 2
    assert any(e.startswith("t.tsv line 4: unterminated quote") for e in ds.params["skipped_examples"])


def test_blank_lines_a_bom_and_crlf_are_not_errors(ws, tmp_path):
    p = tmp_path / "excel.csv"
    p.write_bytes("\ufeffid,text\r\n1,one\r\n\r\n2,\"two, with a comma\"\r\n".encode("utf-8"))
    ds = L.load_dataset(p, "excel")
    assert ds.ids() == ["1", "2"] and list(ds.texts()) == ["one", "two, with a comma"]
    assert ds.params["skipped_lines"] == 0


def test_non_utf8_csv_names_the_line_and_can_be_skipped(ws, tmp_path):
    p = tmp_path / "latin.csv"
    p.write_bytes(b"id,text\n1,ok\n2,caf\xe9\n3,fine\n")
    with pytest.raises(InputError, match=r"latin.csv: not valid UTF-8 at line 3 \(byte 0xe9 at column 6\)"):
        L.load_dataset(p, "latin")
    assert L.load_dataset(p, "latin", on_error="skip").ids() == ["1", "3"]


def test_cli_exit_codes_and_the_errors_alias(run_cli, tmp_path):
    p = _write(tmp_path / "cli.csv", 'id,text\n1,one\n2,"unclosed\n3,three\n4,four,extra\n')
    bad = run_cli("data", "load", str(p), "--name", "cli", check=2)
    assert bad.stderr.strip().count("\n") == 0 and "Traceback" not in bad.stderr
    assert "cli.csv line 3: unterminated quote" in bad.stderr
    for flag in ("--on-error", "--errors"):
        ok = run_cli("data", "load", str(p), "--name", "cli", flag, "skip", "--json", check=0)
        loaded = json.loads(ok.stdout)
        assert loaded["ref"] == "cli@v1" and loaded["records"] == 2, flag  # the second load is the same content
        assert loaded["params"]["skipped_lines"] == 2
