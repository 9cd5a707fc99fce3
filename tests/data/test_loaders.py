"""Loading datasets from every source type into versioned snapshots, and the bad input users hand us."""
import json

import pandas as pd
import pytest

import llmops_nb as L
from llmops_nb.errors import InputError, NotFoundError


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


ROWS = [{"id": "a", "text": "Alpha is the first letter.", "lang": "en"},
        {"id": "b", "text": "Beta comes second.", "lang": "en"},
        {"id": "c", "text": "Gamma is third.", "lang": "el"}]


def test_every_source_type_loads_with_ids_and_text(ws, tmp_path):
    import datasets as hf
    import pyarrow as pa
    import pyarrow.parquet as pq

    df = pd.DataFrame(ROWS)
    _jsonl(tmp_path / "d.jsonl", ROWS)
    df.to_csv(tmp_path / "d.csv", index=False)
    pq.write_table(pa.Table.from_pandas(df), tmp_path / "d.parquet")
    (tmp_path / "d.json").write_text(json.dumps({"data": ROWS}))
    (tmp_path / "d.txt").write_text("First paragraph\nstill first.\n\nSecond paragraph.\n")
    sources = {"jsonl": tmp_path / "d.jsonl", "csv": tmp_path / "d.csv", "parquet": tmp_path / "d.parquet",
               "json": tmp_path / "d.json", "frame": df, "dicts": ROWS, "hf": hf.Dataset.from_pandas(df)}
    for name, src in sources.items():
        ds = L.load_dataset(src, name)
        assert len(ds) == 3, name
        assert ds.ids() == ["a", "b", "c"], name
        assert list(ds.texts()) == [r["text"] for r in ROWS], name
        assert ds.to_pandas()["lang"].tolist() == ["en", "en", "el"], name
    txt = L.load_dataset(tmp_path / "d.txt", "txt")
    assert list(txt.texts()) == ["First paragraph\nstill first.", "Second paragraph."]
    strings = L.load_dataset(["one", "two"], "strings")
    assert len(set(strings.ids())) == 2  # content-hash ids when no id field
    pydoc = L.load_dataset("pydoc")
    assert len(pydoc) == 79 and pydoc.name == "pydoc" and "lambda" in pydoc.ids()


def test_text_field_choice_and_suggestions(ws, tmp_path):
    rows = [{"question": "What is 2+2?", "answer": "4", "n": 1}]
    ds = L.load_dataset(rows, "qa", text_field="answer")
    assert list(ds.texts()) == ["4"] and ds.to_pandas()["question"].tolist() == ["What is 2+2?"]
    with pytest.raises(InputError, match="text field 'body' not found.*question, answer, n"):
        L.load_dataset(rows, "qa", text_field="body")
    with pytest.raises(InputError, match="cannot tell which field holds the text.*--text-field"):
        L.load_dataset([{"a": "x", "b": "y"}], "ab")
    with pytest.raises(InputError, match="id field 'key' not found"):
        L.load_dataset(ROWS, "x", id_field="key")


def test_the_text_field_keeps_its_name_through_curation_and_review(ws):
    # pairs loaded with text_field picked automatically ("prompt"): records still carry prompt and response
    rows = [{"prompt": f"  Question   number {i}?", "response": f"answer {i}"} for i in range(6)]
    ds = L.load_dataset(rows, "pairs")
    assert ds.text_field == "prompt" and ds.params["text_field_used"] == "prompt"
    recs = list(ds.records())
    assert [r["prompt"] for r in recs] == [r["prompt"] for r in rows] and recs[0]["response"] == "answer 0"
    assert [r["prompt"] for r in L.dataset("pairs@v1").records(["prompt"])] == [r["prompt"] for r in rows]
    # curation edits `text`; the prompt field follows the edit, it is not a stale copy
    out = L.curate("pairs", steps=["normalize"]).dataset
    assert out.text_field == "prompt"
    assert [r["prompt"] for r in out.records()] == [f"Question   number {i}?" for i in range(6)]
    assert all(r["prompt"] is None for r in out.records(raw=True))


def test_malformed_jsonl_stops_with_file_and_line_or_skips_and_counts(ws, tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"text": "fine"}\n{"text": "broken\n[1, 2]\n{"text": "also fine"}\n')
    with pytest.raises(InputError) as exc:
        L.load_dataset(p, "bad")
    assert "bad.jsonl line 2: invalid JSON" in str(exc.value) and "--on-error skip" in str(exc.value)
    assert "bad" not in L.datasets().names  # nothing stored on a stopped load
    ds = L.load_dataset(p, "bad", on_error="skip")
    assert list(ds.texts()) == ["fine", "also fine"]
    assert ds.params["skipped_lines"] == 2
    assert any("line 3: expected a JSON object" in s for s in ds.params["skipped_examples"])
    with pytest.raises(InputError, match="--on-error must be 'stop' or 'skip'"):
        L.load_dataset(p, "bad", on_error="ignore")


def test_non_utf8_bytes_are_reported(ws, tmp_path):
    p = tmp_path / "latin.jsonl"
    p.write_bytes(b'{"text": "ok"}\n{"text": "caf\xe9"}\n')
    with pytest.raises(InputError, match=r"latin.jsonl line 2: not valid UTF-8 \(byte 0xe9"):
        L.load_dataset(p, "latin")
    assert list(L.load_dataset(p, "latin", on_error="skip").texts()) == ["ok"]
    c = tmp_path / "latin.csv"
    c.write_bytes(b"text\ncaf\xe9\n")
    with pytest.raises(InputError, match="latin.csv: not valid UTF-8"):
        L.load_dataset(c, "latincsv")


def test_empty_sources_are_refused_without_a_snapshot(ws, tmp_path):
    (tmp_path / "empty.jsonl").write_text("\n\n")
    with pytest.raises(InputError, match="has no records.*nothing was stored"):
        L.load_dataset(tmp_path / "empty.jsonl", "empty")
    with pytest.raises(InputError, match="has no records"):
        L.load_dataset([], "empty")
    assert len(L.datasets()) == 0


def test_very_long_records_are_kept_and_counted(ws):
    long_text = "word " * 60_000  # 300k characters
    ds = L.load_dataset([{"text": long_text}, {"text": "short"}], "long")
    assert ds.params["long_records"] == 1
    assert len(next(iter(ds.texts()))) == len(long_text)


def test_existing_name_gets_a_new_version_and_the_old_file_stays(ws):
    v1 = L.load_dataset(ROWS, "same")
    v1_bytes = v1.path.read_bytes()
    v2 = L.load_dataset(ROWS[:2], "same")
    assert (v1.version, v2.version) == (1, 2)
    assert L.dataset("same").ref == "same@v2" and len(L.dataset("same@v1")) == 3
    assert v1.path.read_bytes() == v1_bytes and v1.path != v2.path
    v3 = L.load_dataset(ROWS, "same")  # same content, parent and op as v1: that version, not a new label
    assert v3.ref == "same@v1" and v3.reused and v3.path == v1.path
    other = L.load_dataset(ROWS, "other")  # the same records under another name: its own version, one shared file
    assert other.ref == "other@v1" and not other.reused and other.path == v1.path
    v3 = L.load_dataset(ROWS[1:], "same")
    assert v3.ref == "same@v3" and not v3.reused
    with pytest.raises(NotFoundError, match="'same' has v1, v2, v3"):
        L.dataset("same@v9")
    with pytest.raises(NotFoundError, match="did you mean 'same'"):
        L.dataset("sam")
    with pytest.raises(InputError, match="invalid dataset name"):
        L.load_dataset(ROWS, "has space")


def test_large_jsonl_streams_in_batches(ws, tmp_path):
    p = tmp_path / "big.jsonl"
    with open(p, "w") as fh:
        for i in range(20_000):
            fh.write(json.dumps({"id": i, "text": f"record number {i}"}) + "\n")
    ds = L.load_dataset(p, "big")
    assert len(ds) == 20_000
    batches = list(ds.iter_batches(["id"], batch_size=4096))
    assert len(batches) == 5 and ds.ids()[-1] == "19999"


def test_a_name_made_from_the_file_name_is_checked_with_the_one_name_rule(ws, tmp_path):
    p = _jsonl(tmp_path / "_private.jsonl", ROWS)
    with pytest.raises(InputError) as exc:
        L.load_dataset(p)
    msg = str(exc.value)
    assert "invalid dataset name '_private' (made from the file name _private.jsonl): it starts with '_'" in msg
    assert "starts with a letter or digit" in msg and msg.endswith("pass --name NAME (name= in Python) to choose one")
    long = _jsonl(tmp_path / ("n" * 101 + ".jsonl"), ROWS)
    with pytest.raises(InputError, match="is 101 characters long .made from the file name"):
        L.load_dataset(long)
    assert len(L.datasets()) == 0
    assert L.load_dataset(p, "private").ref == "private@v1"
    assert L.load_dataset(_jsonl(tmp_path / "my notes.jsonl", ROWS)).ref == "my-notes@v1"


def test_read_jsonl_file_splits_at_newlines_only_and_names_the_bad_line(tmp_path):
    from llmops_nb.data.loaders import read_jsonl_file

    rows = [{"prompt": "a\u2028b\u2029c\x1cd\x1de\x1ef\x85g", "response": "c"}, {"prompt": "é", "response": "ü"}]
    good = tmp_path / "good.jsonl"
    good.write_bytes(("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\r\n\n").encode("utf-8"))
    assert read_jsonl_file(good) == rows
    cases = [(b'{"a": 1}\n{"a": \xe9}\n', "bad.jsonl line 2: not valid UTF-8 (byte 0xe9 at column 7); "
                                          "re-encode the file as UTF-8"),
             (b'{"a": 1}\n\n{"a": }\n', "bad.jsonl line 3: invalid JSON (Expecting value at column 7)"),
             (b'[1, 2]\n', "bad.jsonl line 1: expected a JSON object, got list")]
    for content, message in cases:
        (tmp_path / "bad.jsonl").write_bytes(content)
        with pytest.raises(InputError) as exc:
            read_jsonl_file(tmp_path / "bad.jsonl")
        assert str(exc.value) == message
    with pytest.raises(InputError, match=r"^cannot read eval set .*missing.jsonl: No such file"):
        read_jsonl_file(tmp_path / "missing.jsonl", what="eval set")
