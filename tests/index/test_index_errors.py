"""What a user sees when input is wrong or a file is damaged, through the core, `L.search` and the real `llmops`
console script: one line (exit 2 for usage, 1 for failures), never a traceback, and filters that never run code.

Indexes here hold given vectors (no embedder), so nothing loads a model."""
import numpy as np
import pytest

import llmops_nb as L
from llmops_nb.errors import InputError, LlmopsError
from llmops_nb.filters import FilterError
from llmops_nb.index import catalog, storage
from llmops_nb.index.vector import DamagedIndexError, build_index, load_index

DIM = 16


def docs(n=40):
    return [{"id": f"d{i}", "text": f"document {i}", "topic": "try" if i % 3 == 0 else "with", "n": i}
            for i in range(n)]


def unit(n, seed=0):
    x = np.random.default_rng(seed).standard_normal((n, DIM)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture
def ix(ws):
    L.load_dataset(docs(), name="docs")
    return build_index("docs", name="docs-ix", vectors=unit(40), model=None, progress=False)


def one_line(proc, code):
    err = proc.stderr.strip()
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return err


def fresh(name):
    storage.forget_all()
    return load_index(name)


def escape_attempts(canary):
    touch = f"__import__('os').system('touch {canary}')"
    return [f"chunk.__class__.__init__.__globals__['sys'].modules['os'].system('touch {canary}') == 0",
            f"{touch} == 0", f"topic.str.contains('x') or {touch} == 0", f"(lambda: {touch})() == 0",
            f"@{touch} == 0", f"[{touch} for x in [1]] == [0]", f"f'{{{touch}}}' == '0'",
            f"(x := {touch}) == 0", f"n == 1; {touch}", f"' OR 1=1 -- {touch}", f"`topic` == 'x' or {touch} == 0",
            f"topic[0] == 't' or {touch}[0] == 0", "(" * 2000 + "n == 1" + ")" * 2000, "n == 1 or " * 200_000]


# ---- filters ------------------------------------------------------------------------------------------
def test_where_filters_still_select_what_they_say(ix):
    q = unit(40)[6]
    assert ix.search(q, k=1, where="topic == 'try'").ids == ["d6"]
    assert set(ix.search(q, k=40, where="topic in ['try'] and n >= 30").ids) == {"d30", "d33", "d36", "d39"}
    assert L.search("docs-ix", q, k=2, where="not (topic == 'with') and n != 6").ids[0] != "d6"
    assert ix.columns == ["id", "chunk", "topic", "n"]


def test_where_never_runs_code_in_the_core_or_through_l_search(ix, tmp_path):
    canary = tmp_path / "pwned"
    q = unit(40)[0]
    for expr in escape_attempts(canary):
        for search in (ix.search, lambda q, **kw: L.search("docs-ix", q, **kw)):
            with pytest.raises(FilterError) as err:
                search(q, k=3, where=expr)
            msg = str(err.value)
            assert "\n" not in msg and msg.endswith("columns you can filter on: id, chunk, topic, n"), msg[:300]
        assert not canary.exists(), f"{expr[:80]!r} ran code"


def test_where_never_runs_code_through_the_cli(ix, run_cli, tmp_path):
    canary = tmp_path / "pwned"
    for expr in escape_attempts(canary)[:5] + ["x == 1; DROP TABLE indexes", "' OR 1=1 --"]:
        err = one_line(run_cli("search", "docs-ix", "anything", "--where", expr), 2)
        assert err.startswith("llmops: error: filter "), err
        assert not canary.exists(), f"{expr!r} ran code"
    err = one_line(run_cli("search", "docs-ix", "anything", "--where", "topics == 'try'"), 2)
    assert "unknown column 'topics' (did you mean 'topic'?)" in err and "id, chunk, topic, n" in err
    assert fresh("docs-ix").n_records == 40  # the table the SQL fragment names is untouched


# ---- one clear line before any work ----------------------------------------------------------------------
def test_a_too_long_index_name_is_refused_before_the_model_loads(ws, run_cli, monkeypatch):
    L.load_dataset(docs(5), name="docs")

    def no_model(*a, **k):
        raise AssertionError("the model loaded before the name was checked")

    monkeypatch.setattr(catalog, "load_embedder", no_model)
    with pytest.raises(InputError, match="index name 'xxxxx.*' is 300 characters long; a name starts with"):
        build_index("docs", name="x" * 300)
    with pytest.raises(InputError, match="invalid index name 'a/b'"):
        build_index("docs", name="a/b")
    err = one_line(run_cli("index", "build", "docs", "--name", "x" * 300), 2)
    assert "is 300 characters long" in err
    assert L.indexes().names == []


@pytest.mark.parametrize("args, message", [
    (("--expansion-search", "-1"), "expansion_search must be a whole number from 1 to 1,000,000, got -1"),
    (("--expansion-search", "0"), "expansion_search must be a whole number from 1 to 1,000,000, got 0"),
    (("--expansion-search", "4294967296"), "expansion_search must be a whole number from 1 to 1,000,000, got 4294967296"),
    (("-k", "0"), "k must be a whole number >= 1, got 0"),
    (("--sample", "-5"), "sample must be a whole number >= 1, got -5"),
])
def test_recall_refuses_bad_numbers_in_one_line(ix, run_cli, args, message):
    assert message in one_line(run_cli("index", "recall", "docs-ix", *args), 2)


def test_recall_checks_its_arguments_in_the_core(ix):
    for kw in ({"expansion_search": 0}, {"expansion_search": -1}, {"expansion_search": True}, {"k": True},
               {"k": 0}, {"sample": 0}, {"sample": 2.5}):
        with pytest.raises(InputError):
            ix.recall(**kw)
    rep = ix.recall(sample=10, k=3, expansion_search=1)
    assert rep.expansion_search == 1 and rep.k == 3 and rep.sample == 10
    assert ix._ix.expansion_search == ix.expansion_search  # the trial breadth is not kept


# ---- a damaged file ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_a_damaged_usearch_file_says_which_index_and_how_to_rebuild(ix, run_cli, damage):
    path = ix.path
    data = path.read_bytes()
    path.write_bytes({"truncate": data[:len(data) // 2], "garbage": b"not an index " * 50, "empty": b""}[damage])
    with pytest.raises(DamagedIndexError) as err:
        fresh("docs-ix")
    msg = str(err.value)
    assert isinstance(err.value, LlmopsError) and not isinstance(err.value, InputError)
    assert f"index 'docs-ix': its file {path} is damaged" in msg
    assert "rebuild it with llmops index build docs@v1 --name docs-ix" in msg and "\n" not in msg
    err = one_line(run_cli("search", "docs-ix", "anything"), 1)
    assert "docs-ix" in err and str(path) in err and "llmops index build docs@v1 --name docs-ix" in err
    build_index("docs", name="docs-ix", vectors=unit(40), model=None, progress=False)  # what the message says
    assert len(fresh("docs-ix")) == 40


def test_a_lost_usearch_file_says_how_to_rebuild(ix):
    ix.path.unlink()
    with pytest.raises(DamagedIndexError, match=r"index 'docs-ix' lost its file .*; rebuild it with llmops index build"):
        fresh("docs-ix")


def test_where_takes_a_parsed_filter_and_refuses_empty_or_non_text(ix, run_cli):
    from llmops_nb.filters import parse_filter

    q = unit(1, seed=5)[0]
    assert ix.search(q, k=3, where=parse_filter("topic == 'try'")).ids == ix.search(q, k=3, where="topic == 'try'").ids
    for bad, says in ((False, "a filter is a string such as"), (b"topic == 'try'", "not a bytes"),
                      (lambda r: True, "not a function"), ("", "the filter is empty"), ("   ", "the filter is empty")):
        with pytest.raises(InputError, match=says):
            ix.search(q, k=3, where=bad)
    assert "the filter is empty" in one_line(run_cli("search", "docs-ix", "document", "--where", ""), 2)


def test_the_note_says_how_many_came_back(ix):
    q = unit(1, seed=6)[0]
    res = ix.search(q, k=500)
    assert len(res) == len(res.ids) <= 40
    if len(res) == 40:
        assert res.note == "k=500 is more than the 40 chunks in the index; returned all 40"
    else:
        assert res.note.startswith(f"HNSW found {len(res)} of the 40 chunks asked for")
    assert len(ix.search(q, k=500, exact=True)) == 40


def test_damaged_vectors_behind_a_whole_header_are_refused_not_ranked(ix, ws):
    """usearch restores a file whose vectors were overwritten; a search must not rank NaN scores first."""
    import subprocess
    import sys

    path = ix.path
    data = bytearray(path.read_bytes())
    data[64:64 + 1024] = b"\xff" * 1024  # NaN bit patterns over the first vectors, the header left whole
    path.write_bytes(bytes(data))
    code = ("import numpy as np, llmops_nb as L\n"
            "q = np.ones(16, dtype=np.float32) / 4\n"
            "try:\n    L.search('docs-ix', q, k=40, exact=True)\n"
            "except L.LlmopsError as e:\n    print(type(e).__name__, e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "LLMOPS_HOME": str(ws.path)})
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("DamagedIndexError index 'docs-ix': its file") and "scored NaN" in out.stdout
    assert "rebuild it with" in out.stdout
