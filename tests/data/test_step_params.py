"""Step parameters are converted and checked before a curation starts: a bad one is one line naming the step,
the parameter, the value and what it takes (CLI exit 2, no traceback), and nothing is stored."""
import pytest

import llmops_nb as L
from llmops_nb.data.curation import curate, plan
from llmops_nb.data.steps import StepParamError, get_step, run_step
from llmops_nb.errors import InputError


@pytest.mark.parametrize("step, expected", [
    ("near_dedup:threshold=abc", "step 'near_dedup': threshold must be a number in (0, 1], got 'abc'"),
    ("near_dedup:1.5", "step 'near_dedup': threshold must be a number in (0, 1], got 1.5"),
    ("near_dedup:ngram=0", "step 'near_dedup': ngram must be a whole number >= 1, got 0"),
    ("near_dedup:verify=fast", "step 'near_dedup': verify must be one of 'exact', 'minhash', 'none', got 'fast'"),
    ("sample:abc", "step 'sample': n must be a whole number >= 0, got 'abc'"),
    ("sample:n=2.5", "step 'sample': n must be a whole number >= 0, got 2.5"),
    ("sample:n=-1", "step 'sample': n must be a whole number >= 0, got -1"),
    ("sample:fraction=1.5", "step 'sample': fraction must be a number in [0, 1], got 1.5"),
    ("select:0", "step 'select': n must be a whole number >= 1, got 0"),
    ("quality:min_alpha_words=2", "step 'quality': min_alpha_words must be a number in [0, 1], got 2"),
    ("pii:hide", "step 'pii': mode must be one of 'redact', 'drop', 'flag', got 'hide'"),
    ("exact_dedup:lowercase=maybe", "step 'exact_dedup': lowercase must be true or false, got 'maybe'"),
    ("normalize:form=NFX", "step 'normalize': form must be one of 'NFKC', 'NFC', 'NFKD', 'NFD', '', got 'NFX'"),
])
def test_bad_step_parameters_are_refused_before_any_work(step, expected):
    with pytest.raises(StepParamError) as exc:
        plan([step])
    assert str(exc.value).startswith(expected) and "\n" not in str(exc.value)
    assert isinstance(exc.value, InputError)


def test_good_values_are_converted_to_the_declared_type():
    steps = plan(["near_dedup:threshold=1,ngram=3.0", "quality:min_words=None", ("sample", "7")])
    assert [p.params for p in steps] == [{"threshold": 1.0, "ngram": 3}, {"min_words": None}, {"n": 7}]
    assert isinstance(steps[0].params["threshold"], float) and isinstance(steps[0].params["ngram"], int)
    assert plan(None, near_threshold=1)[2].params == {"threshold": 1.0}
    with pytest.raises(StepParamError, match=r"^step 'near_dedup': threshold must be a number in \(0, 1\], got 'x'"):
        plan(None, near_threshold="x")
    with pytest.raises(StepParamError, match=r"^step 'select': n must be a whole number >= 1, got -3"):
        plan(["normalize"], select=-3)
    # the same checks guard run_step, and the converted value is what the step gets
    with pytest.raises(StepParamError, match="ngram must be a whole number"):
        run_step("near_dedup", [{"id": "a", "text": "x"}], ngram="three")
    assert get_step("near_dedup").check({"threshold": "0.9"}) == {"threshold": 0.9}


def test_a_bad_parameter_stores_nothing(ws):
    L.load_dataset([{"text": "one two three four five six"}, {"text": "seven eight nine ten eleven"}], "small")
    with pytest.raises(StepParamError):
        curate("small", ["normalize", "near_dedup:threshold=abc"])
    assert [d["version"] for d in L.datasets(all_versions=True)] == ["v1"]
    assert ws.db.execute("SELECT count(*) FROM curations").fetchone()[0] == 0
    assert not list((ws.path / "datasets").glob(".*"))  # no temp file left either


def test_cli_names_the_step_and_exits_2(run_cli, tmp_path):
    src = tmp_path / "d.jsonl"
    src.write_text('{"text": "a record with enough words to be a record"}\n')
    run_cli("data", "load", str(src), "--name", "d", check=0)
    for step, expected in (("near_dedup:threshold=abc", "near_dedup': threshold must be a number in (0, 1], got 'abc'"),
                           ("sample:abc", "step 'sample': n must be a whole number >= 0, got 'abc'")):
        p = run_cli("curate", "d", "--steps", step, check=2)
        assert expected in p.stderr and "Traceback" not in p.stderr and p.stderr.strip().count("\n") == 0


def test_a_bad_filter_fails_when_planned_before_any_step_reads_a_record(ws, monkeypatch):
    import functools

    L.load_dataset([{"text": "one two three four five six"}, {"text": "seven eight nine ten eleven"}], "small")
    spec = get_step("near_dedup")
    original = spec.fn

    @functools.wraps(original)
    def must_not_run(records, ctx, **params):
        raise AssertionError("near_dedup ran before the filter was checked")

    monkeypatch.setattr(spec, "fn", must_not_run)
    with pytest.raises(InputError, match=r"^filter 'n_words >> 3': unexpected '>' at character 10") as exc:
        curate("small", ["near_dedup", "filter:n_words >> 3"])
    assert "\n" not in str(exc.value) and str(exc.value).endswith("columns: id, text, n_words, n_chars")
    for bad in (("filter", ""), ("filter", {"expr": "n_words >"})):
        with pytest.raises(InputError, match="filter"):
            plan([bad])
    assert plan(["filter:n_words > 3"])[0].params == {"expr": "n_words > 3"}
    assert [d["version"] for d in L.datasets(all_versions=True)] == ["v1"]
