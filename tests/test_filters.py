"""The filter language (llmops_nb.filters): its grammar and meaning, and that a filter is data, never code."""
import builtins
import pickle

import numpy as np
import pandas as pd
import pytest

from llmops_nb.errors import InputError
from llmops_nb.filters import MAX_CHARS, MAX_DEPTH, FilterError, filter_mask, parse_filter


@pytest.fixture
def frame():
    return pd.DataFrame({
        "id": ["a", "b", "c", "d", "e"],
        "topic": ["try", "assert", None, "try", "with"],
        "n_words": [10, 25, 30, 5, np.nan],
        "chunk": np.array([0, 1, 2, 0, 1], dtype=np.int64),
        "flag": [True, False, True, False, True],
        "note": ["x", None, 'say "hi"', "it's", "tab\there"],
    })


def rows(expr, frame):
    """The ids a filter keeps."""
    return list(frame["id"][filter_mask(expr, frame)])


@pytest.mark.parametrize("expr, ids", [
    ("topic == 'try'", ["a", "d"]),
    ('topic == "try"', ["a", "d"]),
    ("topic != 'try'", ["b", "e"]),  # a missing topic compares false
    ("n_words < 25", ["a", "d"]),
    ("n_words <= 25", ["a", "b", "d"]),
    ("n_words > 25", ["c"]),  # NaN compares false
    ("n_words >= 25", ["b", "c"]),
    ("25 <= n_words", ["b", "c"]),  # a literal on the left
    ("n_words != 10", ["b", "c", "d"]),
    ("chunk == 0", ["a", "d"]),
    ("chunk > -1", ["a", "b", "c", "d", "e"]),
    ("n_words < 1e2 and n_words > 2.5e1", ["c"]),
    ("n_words > .5E1", ["a", "b", "c"]),
    ("1 <= chunk < 2", ["b", "e"]),  # a chain is an 'and'
    ("topic in ['try', 'with']", ["a", "d", "e"]),
    ("topic in ('try', 'with',)", ["a", "d", "e"]),
    ("topic not in ['try']", ["b", "e"]),
    ("topic in []", []),
    ("topic in ['try', None]", ["a", "c", "d"]),
    ("topic not in ['try', None]", ["b", "e"]),
    ("chunk in [0, 2.0]", ["a", "c", "d"]),
    ("topic == None", ["c"]),
    ("topic == null", ["c"]),
    ("topic != None", ["a", "b", "d", "e"]),
    ("n_words == None", ["e"]),
    ("flag", ["a", "c", "e"]),
    ("not flag", ["b", "d"]),
    ("flag == True", ["a", "c", "e"]),
    ("flag == false", ["b", "d"]),
    ("true", ["a", "b", "c", "d", "e"]),
    ("False", []),
    ("topic < 'b'", ["b"]),
    ("topic == 'try' or topic == 'assert' and chunk == 0", ["a", "d"]),  # and binds tighter than or
    ("(topic == 'try' or topic == 'assert') and chunk == 0", ["a", "d"]),
    ("(topic == 'try' or topic == 'assert') and chunk == 1", ["b"]),
    ("not topic == 'try' and chunk == 1", ["b", "e"]),  # not binds tighter than and
    ("not (topic == 'try' or chunk == 1)", ["c"]),
    ("not not flag", ["a", "c", "e"]),
    ("note == 'say \"hi\"'", ["c"]),
    ("note == \"it's\"", ["d"]),
    ("note == 'it\\'s'", ["d"]),
    ("note == 'tab\\there'", ["e"]),
    ("note == '\\x78'", ["a"]),
    ("id == 'a' or id == 'b'\n  or id == 'c'", ["a", "b", "c"]),
    ("topic == 5", []),  # text never equals a number
    ("n_words != 'ten'", ["a", "b", "c", "d"]),
])
def test_every_operator_and_literal_means_what_it_says(frame, expr, ids):
    assert rows(expr, frame) == ids


def test_the_design_example_and_the_curate_columns():
    df = pd.DataFrame({"topic": ["try", "try", "with"], "n_words": [30, 12, 40]})
    assert filter_mask("topic == 'try' and n_words > 20", df).tolist() == [True, False, False]


def test_a_parsed_filter_is_cached_and_reusable(frame):
    f = parse_filter("topic == 'try' and chunk > 0")
    assert parse_filter("topic == 'try' and chunk > 0") is f and f.columns == ("topic", "chunk")
    assert f.mask(frame).tolist() == [False, False, False, False, False]
    assert f.mask(frame.iloc[:0]).tolist() == []  # an empty frame gives an empty mask


def test_mixed_object_columns_compare_value_by_value():
    df = pd.DataFrame({"v": pd.Series(["x", 3, None, [1, 2], 2.5], dtype=object)})
    assert filter_mask("v == 3", df).tolist() == [False, True, False, False, False]
    assert filter_mask("v in [3, 'x']", df).tolist() == [True, True, False, False, False]
    assert filter_mask("v != None", df).tolist() == [True, True, False, True, True]
    with pytest.raises(FilterError, match=r"column 'v' holds the text 'x', which does not order against the number 1"):
        filter_mask("v > 1", df)


@pytest.mark.parametrize("expr, message", [
    ("topic = 'try'", "use == to compare"),
    ("topic ==", "the filter ends where a column, a value or '(' should come"),
    ("colour == 'red'", "unknown column 'colour'"),
    ("topics == 'try'", "unknown column 'topics' (did you mean 'topic'?)"),
    ("n_words", "column 'n_words' alone is not a condition"),
    ("'try'", "the text 'try' alone is not a condition"),
    ("topic < 5", "column 'topic' holds the text 'try', which does not order against the number 5"),
    ("n_words > 'ten'", "column 'n_words' holds numbers, which do not order against the text 'ten'"),
    ("'a' < 1", "the text 'a' does not order against the number 1"),
    ("n_words < None", "None only compares with == or !="),
    ("topic is None", "'is' is not allowed; write == None or != None"),
    ("topic in topic", "after in / not in comes a list of values"),
    ("topic in [id]", "a list after in holds values only"),
    ("'x' in ['x']", "in needs a column on its left"),
    ("(chunk == 1) == flag", "a comparison needs a column on its left"),
    ("chunk == (flag == True)", "compare with a column or a value, not with a condition"),
    ("n_words - 3 > 1", "arithmetic ('-') is not part of the filter language"),
    ("n_words * 2 > 1", "arithmetic ('*') is not part of the filter language"),
    ("chunk == -flag", "'-' is only allowed before a number"),
    ("n_words > 1abc", "'1abc' is not a number"),
    ("n_words > 0x10", "'0x10' is not a number"),
    ("topic == 'open", "the string starting at character 10 is not closed"),
    ("topic & flag", "'&' is not allowed; use and"),
    ("topic | flag", "'|' is not allowed; use or"),
    ("~flag", "'~' is not allowed; use not"),
    ("!flag", "'!' is not allowed"),
    ("", "it is empty"),
    ("   ", "it is empty"),
    ("topic == 'try' chunk == 0", "unexpected 'chunk' at character 16, where and / or or the end"),
])
def test_each_mistake_is_one_line_that_says_what_is_wrong(frame, expr, message):
    with pytest.raises(FilterError) as err:
        filter_mask(expr, frame)
    text = str(err.value)
    assert message in text and "\n" not in text
    assert text.endswith("columns you can filter on: id, topic, n_words, chunk, flag, note")
    assert isinstance(err.value, InputError)  # CLI exit 2, magic UsageError


def test_the_error_names_the_columns_with_the_callers_label(frame):
    with pytest.raises(FilterError, match=r"unknown column 'n_wrds' \(did you mean 'n_words'\?\); columns: id, "):
        filter_mask("n_wrds > 3", frame, label="columns")
    with pytest.raises(FilterError, match=r"unknown column 'key'; columns you can filter on: id, topic$"):
        filter_mask("key == 1", frame.assign(key=1), columns=["id", "topic"])
    with pytest.raises(FilterError, match="a filter is a string, not a int"):
        parse_filter(3)


def test_a_filter_error_survives_pickling():  # errors cross process boundaries in sweeps
    with pytest.raises(FilterError) as err:
        parse_filter("a.b == 1", columns=["a"])
    back = pickle.loads(pickle.dumps(err.value))
    assert type(back) is FilterError and str(back) == str(err.value) and back.columns == ["a"]


# ---- filters are data, not code ----------------------------------------------------------------------
def escape_attempts(canary):
    """Filters that would create `canary` if any of it ran as Python (pandas eval, eval, exec)."""
    touch = f"__import__('os').system('touch {canary}')"
    return [
        f"chunk.__class__.__init__.__globals__['sys'].modules['os'].system('touch {canary}') == 0",
        f"id.__class__.__mro__[-1].__subclasses__() == 0 or {touch} == 0",
        f"{touch} == 0",
        f"__import__('os').system('touch {canary}')",
        f"topic.str.contains('x') or {touch} == 0",
        f"(lambda: {touch})() == 0",
        f"[{touch} for x in [1]] == [0]",
        f"{{{touch}}} == 0",
        f"topic[0] == 'x' or {touch}[0] == 0",
        f"f'{{{touch}}}' == '0'",
        f"rf'{{{touch}}}' == '0'",
        f"(x := {touch}) == 0",
        f"@{touch} == 0",
        "@os.system == 0",
        f"`topic` == 'x' or {touch} == 0",
        f"chunk == 1; {touch}",
        f"x == 1; DROP TABLE indexes; {touch}",
        f"' OR 1=1 -- {touch}",
        f"\" OR \"\"=\" {touch}",
        f"topic == 'x' # {touch}",
        f"topic == 'x' if {touch} else 1",
        f"n_words > 1 and exec(\"{touch}\") == None",
        f"n_words > 1 and eval(\"{touch}\") == None",
        f"getattr(chunk, '__class__') == 0 or {touch} == 0",
        f"{touch} if True else 0",
        f"topic == '\\x27 + {touch} + \\x27'",  # escapes stay inside the string: this one is legal and matches nothing
    ]


def test_escape_attempts_never_run(frame, tmp_path):
    canary = tmp_path / "pwned"
    for expr in escape_attempts(canary):
        try:
            mask = filter_mask(expr, frame)
        except FilterError as exc:
            assert "\n" not in str(exc) and str(exc).startswith("filter "), expr
        else:
            assert not mask.any(), expr  # only the string-literal one parses: nothing equals that text
        assert not canary.exists(), f"{expr!r} ran code"


def test_no_eval_exec_or_pandas_query_is_ever_called(frame, monkeypatch):
    def refuse(*a, **k):
        raise AssertionError("a filter reached eval/exec/compile or pandas eval/query")

    for name in ("eval", "exec", "compile"):
        monkeypatch.setattr(builtins, name, refuse)
    monkeypatch.setattr(pd.DataFrame, "eval", refuse)
    monkeypatch.setattr(pd.DataFrame, "query", refuse)
    monkeypatch.setattr(pd, "eval", refuse)
    assert rows("topic in ['try', 'with'] and not (chunk > 0 or n_words == None)", frame) == ["a", "d"]
    with pytest.raises(FilterError):
        filter_mask("topic.upper() == 'TRY'", frame)


def test_deep_nesting_and_huge_input_are_one_clear_line(frame):
    for expr in ("(" * 100_000 + "flag" + ")" * 100_000, "(" * 5000 + "flag" + ")" * 5000,
                 "not " * 1000 + "flag", "[" * 1000, "x" * 10_000_000, "flag or " * 5000 + "flag"):
        with pytest.raises(FilterError) as err:  # never RecursionError or MemoryError
            filter_mask(expr, frame)
        msg = str(err.value)
        assert "\n" not in msg and len(msg) < 600, msg[:200]
    assert "it nests more than 32 levels deep" in _error("(" * 40 + "flag" + ")" * 40, frame)
    assert f"is 10,000,000 characters long; the limit is {MAX_CHARS:,}" in _error("x" * 10_000_000, frame)
    nested = "(" * MAX_DEPTH + "flag" + ")" * MAX_DEPTH  # as deep as allowed still works
    assert rows(nested, frame) == ["a", "c", "e"]
    long_list = "id in [" + ", ".join(f"'r{i}'" for i in range(1500)) + ", 'b']"  # long but legal
    assert len(long_list) < MAX_CHARS and rows(long_list, frame) == ["b"]


def _error(expr, frame):
    with pytest.raises(FilterError) as err:
        filter_mask(expr, frame)
    return str(err.value)


# ---- through the curate filter step ------------------------------------------------------------------
NOTES = [
    {"id": "n1", "text": "a short note", "lang": "en", "draft": False},
    {"id": "n2", "text": "a longer note with quite a few more words in it", "lang": "en", "draft": False},
    {"id": "n3", "text": "une note assez longue avec beaucoup de mots dedans", "lang": "fr", "draft": True},
    {"id": "n4", "text": "another long English note that has many words", "lang": None, "draft": False},
]


def test_curate_filter_step_speaks_the_language_with_n_words_and_n_chars(ws):
    import llmops_nb as L

    ds = L.load_dataset(NOTES, name="notes")
    kept = L.curate(ds, ["filter:n_words > 5 and lang in ['en', 'fr'] and not draft"], name="long", progress=False)
    assert [r["id"] for r in kept.dataset.records()] == ["n2"]
    kept = L.curate(ds, [("filter", {"expr": "lang == None or n_chars < 13"})], name="odd", progress=False)
    assert [r["id"] for r in kept.dataset.records()] == ["n1", "n4"]


def test_curate_filter_step_refuses_code_in_one_line_and_stores_nothing(ws, tmp_path):
    import llmops_nb as L

    ds = L.load_dataset(NOTES, name="notes")
    canary = tmp_path / "pwned"
    attempts = escape_attempts(canary)[:-1]  # the last one is a legal filter
    for expr in attempts[:4]:
        with pytest.raises(FilterError) as err:
            L.curate(ds, [f"filter:{expr}"], name="bad", progress=False)
        assert "\n" not in str(err.value) and "columns: id, text, lang, draft, n_words, n_chars" in str(err.value)
    for expr in attempts:
        with pytest.raises(FilterError):
            L.curate(ds, [("filter", {"expr": expr})], name="bad", progress=False)
        assert not canary.exists(), f"{expr!r} ran code"
    with pytest.raises(FilterError, match=r"unknown column 'n_wrds' \(did you mean 'n_words'\?\)"):
        L.curate(ds, ["filter:n_wrds > 3"], name="bad", progress=False)
    assert [d["name"] for d in L.datasets().rows] == ["notes"]  # nothing stored
