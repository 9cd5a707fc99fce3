"""`data load|list|show|revert`, `curate`, `review` through the real CLI (exit codes, --json) and the magic."""
import json

import pytest
from IPython.core.error import UsageError


def test_cli_load_list_show_curate_revert(run_cli, tmp_path):
    src = tmp_path / "notes.jsonl"
    src.write_text('{"id": "n1", "body": "Curation keeps what matters and drops the rest of it."}\n'
                   '{"id": "n2", "body": "Curation keeps what matters and drops the rest of it."}\n'
                   'not json\n'
                   '{"id": "n3", "body": "Email me at jo@example.com with the report and the numbers."}\n')
    p = run_cli("data", "load", str(src), "--name", "notes", check=2)
    assert "notes.jsonl line 3: invalid JSON" in p.stderr and "Traceback" not in p.stderr
    p = run_cli("data", "load", str(src), "--name", "notes", "--on-error", "skip", "--json", check=0)
    loaded = json.loads(p.stdout)
    assert loaded["ref"] == "notes@v1" and loaded["records"] == 3 and loaded["params"]["skipped_lines"] == 1
    p = run_cli("data", "load", str(src), "--name", "notes", "--text-field", "bdy", "--on-error", "skip", check=2)
    assert "text field 'bdy' not found" in p.stderr and "id, body" in p.stderr
    p = run_cli("curate", "notes", "--steps", "normalize", "exact_dedup", "quality:min_words=3", "--pii", "redact",
                "--as", "clean", "--json", check=0)
    res = json.loads(p.stdout)
    assert res["dataset"] == "clean@v1" and res["records_in"] == 3 and res["records_out"] == 2
    assert [s["step"] for s in res["steps"]] == ["normalize", "exact_dedup", "quality", "pii"]
    assert res["steps"][3]["edited"] == {"email": 1} and res["examples"][0]["duplicate_of"] == "n1"
    text = run_cli("curate", "notes", "--steps", "exact_dedup", check=0).stdout
    assert "notes@v1 -> notes@v2: 3 -> 2 records" in text and "exact_duplicate 1" in text
    listing = json.loads(run_cli("data", "list", "--json", check=0).stdout)
    assert {(d["name"], d["version"]) for d in listing} == {("notes", "v2"), ("clean", "v1")}
    shown = json.loads(run_cli("data", "show", "clean@1", "--json", check=0).stdout)
    assert shown["lineage"] == ["clean@v1", "notes@v1"] and shown["op"] == "curate"
    back = json.loads(run_cli("data", "revert", "clean", "n2", "--json", check=0).stdout)
    assert back["ref"] == "clean@v2" and back["records"] == 3
    p = run_cli("data", "show", "clen", check=2)
    assert "did you mean 'clean'" in p.stderr
    p = run_cli("curate", "notes", "--steps", "near_dedupe", check=2)
    assert "unknown curation step 'near_dedupe' (did you mean 'near_dedup'?)" in p.stderr
    p = run_cli("curate", "notes", "--steps", "filter:n_wrds > 3", check=2)
    assert "columns: id, text" in p.stderr
    p = run_cli("curate", "notes", "--pii", "hide", check=2)
    assert "invalid value 'hide' for --pii" in p.stderr and "'redact', 'drop'" in p.stderr
    review = run_cli("review", "clean@v1", check=0).stdout
    assert "review of clean@v1: 3 items (2 kept, 1 removed by curation" in review


def test_magic_load_curate_review(ipy, tmp_path):
    ipy.ns["rows"] = [{"text": "one record about curation with the words that make it prose"}] * 2
    ipy.run("import llmops_nb as L; L.load_dataset(rows, 'm')")
    res = ipy.line("curate m --steps normalize exact_dedup -o cur")
    assert ipy.ns["cur"] is res and len(res.dataset) == 1 and res.dataset.ref == "m@v2"
    ipy.ns["thr"] = 0.9
    res2 = ipy.line("curate m@v1 --near-threshold {thr} --pii off --as m2")
    assert res2.dataset.ref == "m2@v1" and res2.report[2]["params"]["threshold"] == 0.9
    w = ipy.line("review m")
    from llmops_nb.widgets.review import ReviewWidget

    assert isinstance(w, ReviewWidget) and w.dataset_ref == "m@v2"
    assert ipy.line("data show m@v1").ref == "m@v1"
    assert "m2" in ipy.line("data list").names
    with pytest.raises(UsageError, match="unknown dataset 'mm'"):
        ipy.line("curate mm")


def test_cli_refuses_a_bad_name_from_the_file_in_one_line(run_cli, tmp_path):
    src = tmp_path / "_private.jsonl"
    src.write_text('{"text": "a record"}\n')
    p = run_cli("data", "load", str(src), check=2)
    assert "from the file name _private.jsonl" in p.stderr and "--name" in p.stderr
    assert "Traceback" not in p.stderr and p.stderr.strip().count("\n") == 0
    assert json.loads(run_cli("data", "load", str(src), "--name", "private", "--json", check=0).stdout)["ref"] == \
        "private@v1"


def test_cli_bare_name_means_the_version_made_or_reused_last(run_cli, tmp_path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text('{"id": "1", "text": "The first record of the notes, long enough to keep."}\n'
                 '{"id": "2", "text": "The second record of the notes, also long enough."}\n')
    b.write_text('{"id": "1", "text": "The first record of the notes, long enough to keep."}\n')
    for src, ref in ((a, "x@v1"), (b, "x@v2")):
        assert json.loads(run_cli("data", "load", str(src), "--name", "x", "--json", check=0).stdout)["ref"] == ref
    text = run_cli("data", "load", str(a), "--name", "x", check=0).stdout
    assert "identical content was already stored as x@v1" in text and "x now means x@v1 again" in text
    assert json.loads(run_cli("data", "show", "x", "--json", check=0).stdout)["ref"] == "x@v1"
    listing = json.loads(run_cli("data", "list", "--json", check=0).stdout)
    assert [(d["name"], d["version"]) for d in listing] == [("x", "v1")]
    cur = json.loads(run_cli("curate", "x", "--steps", "normalize", "--json", check=0).stdout)
    assert cur["input"] == "x@v1" and cur["records_in"] == 2 and cur["dataset"] == "x@v3"
