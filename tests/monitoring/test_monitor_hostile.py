"""Hostile input for monitoring (issue 13, items 4-5 and "Bad input"): `monitor()`, `traces()`, the trace view, the
`llmops monitor` / `llmops trace show` commands, the `%llmops` magic and the REST answers (server/api.Api, the
functions the handlers run). Every input from a user, a file or a request is data: bad input is ONE line saying
what is wrong and what to do (InputError: CLI exit 2, magic UsageError, REST 400/404), checked before long work;
no verdict without data; the workspace is never lost or corrupted; user text shown as HTML is escaped.

Real parts only: real workspaces, real traced calls, real MiniLM embeddings (tests marked slow), the real console
script and IPython shell."""
from __future__ import annotations

import json
import math
import re
import time
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import unprivileged
from IPython.core.error import UsageError

import llmops_nb as L
from benchmarks.prompt_pools import pool
from llmops_nb.errors import InputError, NotFoundError

FILES, NET = list(pool("files")), list(pool("net"))
XSS = "<img src=x onerror=alert(1)>"


def _bot(model="bot", tags=None):
    @L.trace(model=model, tags=tags)
    def ask(prompt):
        return "Answer: " + str(prompt)

    return ask


def _one_line(text: str) -> str:
    text = text.strip()
    assert text and "\n" not in text and "Traceback" not in text, text
    return text


def _strict_json(text: str):
    def refuse(const):
        raise AssertionError(f"not strict JSON: {const}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def few(ws):
    """5 calls of 'bot' logged just now."""
    ask = _bot()
    for i in range(5):
        ask(f"question {i}")
    return ws


# ---- times: NaN, infinities, overflow, numpy -----------------------------------------------------------------

BAD_TIMES = ["nan", "inf", "-inf", "1e309", "99999999999999999999d", float("nan"), float("inf"), float("-inf"),
             1e300, 10 ** 400]


@pytest.mark.parametrize("value", [pytest.param(v, id=repr(v)) for v in BAD_TIMES])
@pytest.mark.parametrize("name", ["since", "until"])
def test_monitor_refuses_non_finite_or_out_of_range_times(few, name, value):
    with pytest.raises(InputError, match=name):
        L.monitor(**{name: value}, save=False)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e309", float("nan"), float("inf")])
def test_traces_refuses_non_finite_times(few, value):
    with pytest.raises(InputError, match="since"):
        L.traces(since=value)


@pytest.mark.parametrize("reference", [pytest.param(r, id=repr(r)) for r in (
    float("nan"), float("inf"), (float("nan"), 1.0), (1.0, float("inf")), (0.0, 1e300))])
def test_monitor_refuses_non_finite_reference_times(few, reference):
    with pytest.raises(InputError, match="reference"):
        L.monitor(since="1h", reference=reference, save=False)


def test_numpy_epoch_seconds_are_times(few):
    r = L.monitor(since=np.int64(int(time.time()) - 3600), save=False)
    assert r.volume == 5


def test_since_true_and_blank_are_input_errors(few):
    for value in (True, "", "   ", "-1d", "soon"):
        with pytest.raises(InputError, match="since"):
            L.monitor(since=value, save=False)


def test_since_in_the_future_is_said_plainly(few):
    try:
        r = L.monitor(since=time.time() + 3600, save=False)
    except InputError as exc:
        assert "since" in str(exc) and "future" in str(exc), str(exc)
    else:
        assert r.status == "no data" and r.volume == 0


def test_since_after_until_is_one_error(few):
    with pytest.raises(InputError, match="since .* must be before until"):
        L.monitor(since="1h", until="2h", save=False)


# ---- numeric options ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("alpha", [0, 1, float("nan"), float("inf"), True, -0.5])
def test_alpha_outside_zero_one_is_one_error(few, alpha):
    with pytest.raises(InputError, match="alpha"):
        L.monitor(since="1h", alpha=alpha, save=False)


@pytest.mark.parametrize("alpha", ["x", None, "0.05"])
def test_alpha_that_is_not_a_number_is_one_error(few, alpha):
    with pytest.raises(InputError, match="alpha"):
        L.monitor(since="1h", alpha=alpha, save=False)


@pytest.mark.parametrize("seed", ["x", 1.5, None])
def test_seed_must_be_a_whole_number(few, seed):
    with pytest.raises(InputError, match="seed"):
        L.monitor(since="1h", seed=seed, save=False)


def test_a_negative_seed_is_a_seed_or_one_error(ws):
    ask = _bot()
    for i in range(35):
        ask(f"q{i}")
    try:
        r = L.monitor(since="1h", sample=30, seed=-5, save=False)
    except InputError as exc:
        assert "seed" in _one_line(str(exc))
    else:
        assert r.volume == 35 and r.current_side["sampled"] == 30


@pytest.mark.parametrize("option, value", [("sample", 10 ** 9), ("sample", 1e9), ("permutations", 10 ** 9)])
def test_absurd_sample_or_permutations_are_refused_before_work(few, option, value):
    with pytest.raises(InputError, match=option):
        L.monitor(since="1h", save=False, **{option: value})


def test_too_small_sample_or_permutations_are_refused(few):
    with pytest.raises(InputError, match="sample"):
        L.monitor(sample=29, save=False)
    with pytest.raises(InputError, match="permutations"):
        L.monitor(permutations=10, save=False)


# ---- references of every form -----------------------------------------------------------------------------------

def test_too_few_items_against_a_list_is_insufficient_data_never_no_drift(few):
    r = L.monitor(since="1h", reference=["how do I open a file?"], save=False)
    assert r.drift["prompt"].status == "insufficient data"
    assert r.status == "insufficient data" and r.verdict != "no drift detected" and not r.flagged
    assert "no drift" not in str(r) and r.to_dict()["verdict"] != "no drift detected"


def test_an_empty_reference_list_is_never_a_verdict(few):
    try:
        r = L.monitor(since="1h", reference=[], save=False)
    except InputError as exc:
        _one_line(str(exc))
    else:
        assert r.status == "insufficient data" and r.verdict != "no drift detected"


def test_reference_shapes_that_are_not_prompts_or_windows_are_one_error(few):
    now = time.time()
    with pytest.raises(InputError, match="start before it ends"):
        L.monitor(since="1h", reference=(now, now - 100), save=False)
    with pytest.raises(InputError, match="start before it ends"):
        L.monitor(since="1h", reference=(now, now), save=False)
    with pytest.raises(InputError, match="reference start"):
        L.monitor(since="1h", reference=("how?", "why?"), save=False)  # a tuple is a window
    with pytest.raises(InputError, match="not a string"):
        L.monitor(since="1h", reference=("how?", 1, 2), save=False)
    for ref in (True, {"a"}, {"a": 1}, b"bytes", "", "   ", np.array(["a"]), (x for x in "ab")):
        with pytest.raises(InputError, match="reference"):
            L.monitor(since="1h", reference=ref, save=False)
    for span in ("0d", "-1d", "1e309d"):
        with pytest.raises(InputError):
            L.monitor(since="1h", reference=span, save=False)


def test_naive_and_aware_datetimes_make_a_window(few):
    import datetime as dt

    naive = dt.datetime.now() - dt.timedelta(hours=3)
    aware = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)
    r = L.monitor(since=dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1), reference=(naive, aware),
                  save=False)
    assert r.reference_side["kind"] == "window" and r.volume == 5


def test_an_iso_time_as_reference_is_the_window_from_then_to_the_current_one(few):
    r = L.monitor(since="1h", reference="2024-01-01 10:00:00", save=False)
    assert r.reference_side["kind"] == "window" and r.reference_side["end"] == pytest.approx(time.time() - 3600, abs=60)


@pytest.mark.parametrize("reference", ["7 days", "['a', 'b']", "how do I open a file"])
def test_an_unreadable_reference_string_names_every_form(few, reference):
    with pytest.raises(InputError) as caught:
        L.monitor(since="1h", reference=reference, save=False)
    text = _one_line(str(caught.value))
    assert "dataset reference" not in text and "span" in text and "run id" in text


def test_a_missing_dataset_version_says_which_versions_exist(few):
    L.load_dataset([{"text": f"how do I read file {i}?"} for i in range(3)], name="seen")
    with pytest.raises(NotFoundError) as caught:
        L.monitor(since="1h", reference="seen@v99", save=False)
    assert "v1" in _one_line(str(caught.value))


def test_an_ambiguous_run_prefix_is_one_error(few):
    ids = []
    while True:
        with L.start_run("r") as run:
            ids.append(run.id)
        firsts = [i[0] for i in ids]
        dup = next((c for c in firsts if firsts.count(c) > 1), None)
        if dup:
            break
    with pytest.raises(InputError, match="ambiguous"):
        L.monitor(reference=dup, save=False)


def test_a_run_object_is_a_reference(ws):
    ask = _bot()
    with L.start_run("week-1") as first:
        for i in range(3):
            ask(f"q{i}")
    r = L.monitor(reference=first, save=False)
    assert r.reference_side["kind"] == "run" and r.reference_side["run"] == first.id


def test_after_a_run_that_logged_nothing_means_after_it(ws):
    ask = _bot()
    for i in range(4):
        ask(f"before {i}")
    time.sleep(0.01)
    with L.start_run("quiet") as quiet:
        pass
    time.sleep(0.01)
    for i in range(3):
        ask(f"after {i}")
    r = L.monitor(reference=quiet.id, save=False)
    assert r.reference_side["volume"] == 0
    assert r.volume == 3, f"{r.volume} calls counted 'after run {quiet.id}', 4 of them made before it"


def test_a_reference_from_another_model_is_stated(ws):
    old, new = _bot("old-bot"), _bot("bot")
    with L.start_run("old") as run:
        for i in range(5):
            old(f"q{i}")
    for i in range(5):
        new(f"q{i}")
    r = L.monitor(model="bot", reference=run.id, save=False)
    assert any("old-bot" in n for n in r.notes), r.notes


# ---- models and tags --------------------------------------------------------------------------------------------

def test_odd_model_names_are_exact_names(ws):
    name = "it's 100%_ok ✓ \"q\""
    _bot(name)("hi")
    r = L.monitor(model=name, since="1h", save=False)
    assert r.volume == 1 and r.model == name
    for pattern in ("%", "it's 100%", "it_s 100%_ok ✓ \"q\""):
        with pytest.raises(NotFoundError):
            L.monitor(model=pattern, save=False)
    with pytest.raises(NotFoundError, match="did you mean"):
        L.traces(model="it's 100%_ok ✓")
    assert L.monitored_models().names == [name]


def test_an_unknown_model_names_the_logged_models(few):
    with pytest.raises(NotFoundError) as caught:
        L.monitor(model="zzz", save=False)
    assert "bot" in _one_line(str(caught.value))


def test_a_nan_tag_value_does_not_break_tag_filters(ws, run_cli):
    _bot(tags={"team": "a"})("kept")
    _bot(tags={"score": float("nan")})("odd")
    assert L.traces(tags={"team": "a"}).total == 1
    assert L.monitor(tags={"team": "a"}, since="1h", save=False).volume == 1
    out = run_cli("traces", "--tag", "team=a")
    assert out.returncode == 0 and "kept" in out.stdout, out.stderr


@pytest.mark.parametrize("logged, wanted", [
    pytest.param({"n": None}, {"n": None}, id="None"),
    pytest.param({"l": [1, 2]}, {"l": [1, 2]}, id="list"),
    pytest.param({"flag": True}, ["flag=true"], id="bool-as-cli-text"),
    pytest.param({'q"t': 1}, {'q"t': 1}, id="quote-in-key"),
])
def test_a_tag_filter_finds_the_calls_logged_with_that_tag(ws, logged, wanted):
    _bot(tags=logged)("tagged")
    _bot(tags={"other": "x"})("untagged")
    assert L.traces(tags=wanted).total == 1


def test_bad_tag_filters_are_one_error(few):
    for tags in (5, ["nokey"], ["=v"], "=v"):
        with pytest.raises(InputError, match="tag"):
            L.monitor(tags=tags, save=False)


def test_traces_take_a_run_id_prefix(ws):
    from llmops_nb.server.api import Api

    ask = _bot()
    with L.start_run("r") as run:
        for i in range(3):
            ask(f"q{i}")
    assert L.traces(run=run.id).total == 3
    assert L.traces(run=run.id[:6]).total == 3
    api = Api(ws.path, ws.path.parent)
    page = api.traces(model=None, since=None, until=None, tags=[], run=run.id[:6], limit=50, offset=0)
    assert page["total"] == 3


def test_traces_of_an_unknown_run_say_so(few):
    with pytest.raises(NotFoundError, match="run"):
        L.traces(run="abcdef0")


@pytest.mark.parametrize("field, value", [
    pytest.param("latency_s", float("nan"), id="latency-nan"),
    pytest.param("latency_s", float("inf"), id="latency-inf"),
    pytest.param("latency_s", -1.0, id="latency-negative"),
    pytest.param("latency_s", "abc", id="latency-text"),
    pytest.param("tokens_out", "x", id="tokens-text"),
    pytest.param("tokens_out", float("nan"), id="tokens-nan"),
])
def test_t_log_with_a_bad_number_is_refused_or_logged_sanely(ws, field, value):
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", L.errors.LlmopsWarning)
            with L.trace(model="bot") as t:
                t.log(prompt="the question", output="the answer", **{field: value})
    except InputError as exc:
        assert field in _one_line(str(exc))
        return
    rows = [r for r in L.traces(model="bot").rows if r["prompt"] == "the question"]
    assert len(rows) == 1 and rows[0]["error"] is None
    assert math.isfinite(rows[0]["latency_s"]) and rows[0]["latency_s"] >= 0


# ---- the trace view ---------------------------------------------------------------------------------------------

def test_trace_view_says_when_the_text_was_not_logged(ws, monkeypatch):
    from llmops_nb.monitoring.traceview import trace_view

    monkeypatch.setenv("LLMOPS_LOG_TEXT", "none")
    _bot()("a secret question")
    view = trace_view(L.traces(limit=1).ids[0])
    assert "secret" not in str(view)
    assert "not logged" in str(view) or "log_text" in str(view), str(view)
    assert "not logged" in view._repr_html_() or "log_text" in view._repr_html_()


def test_trace_view_states_a_prompt_stored_as_its_repr(ws):
    from llmops_nb.monitoring.traceview import trace_view

    @L.trace(model="bot")
    def ask(messages):
        return {"role": "assistant", "content": "hi"}

    ask([{"role": "user", "content": "hello"}])
    view = trace_view(L.traces(limit=1).ids[0])
    assert view.as_repr == ["prompt", "output"]
    assert "repr" in str(view) and "repr" in view._repr_html_(), str(view)


def test_trace_view_text_plain_is_the_view(ipy):
    _bot()("x" * 5000)
    view = ipy.line("trace show 1")
    data, _ = ipy.shell.display_formatter.format(view)
    plain = data["text/plain"]
    assert not plain.startswith("TraceView("), plain[:80]
    assert plain.startswith("call 1") and len(plain) < 20_000


def test_trace_view_escapes_everything_and_bad_ids_are_one_error(ws):
    from llmops_nb.monitoring.traceview import trace_view

    with L.trace(model="bot" + XSS, tags={XSS: XSS, "index": XSS}) as t:
        t.log(prompt=XSS, output=XSS, context_ids=[XSS], scores=[0.5])
    view = trace_view(L.traces(limit=1).ids[0])
    html = view._repr_html_()
    assert XSS not in html and "&lt;img" in html
    assert view.passages == [{"id": XSS, "score": 0.5, "text": None}] and view.note
    _strict_json(json.dumps(view.to_dict(), allow_nan=False))
    for bad in ("abc", 0, -1, True, 1.5, 10 ** 30, None):
        with pytest.raises(InputError, match="call id"):
            trace_view(bad)
    with pytest.raises(NotFoundError, match="traces\\(\\) lists"):
        trace_view(999)


def test_tables_of_models_and_calls_escape_user_text(ws):
    with L.start_run(XSS):
        _bot("bot" + XSS, tags={XSS: XSS})(XSS)
    _bot("other")("plain")  # two models: the report's note names both
    assert XSS not in L.monitored_models()._repr_html_()
    assert XSS not in L.traces()._repr_html_()
    r = L.monitor(since="1h", reference=[XSS], save=True)
    assert any("pooled" in n and XSS in n for n in r.notes), r.notes
    assert XSS not in r._repr_html_() and XSS not in str(r._repr_mimebundle_()["text/html"])
    assert XSS not in L.monitored_models()._repr_html_()


# ---- drift on degenerate texts ----------------------------------------------------------------------------------

@pytest.mark.parametrize("n, m", [(30, 60), (40, 80), (200, 400)])
def test_identical_items_on_both_sides_are_never_drift(n, m):
    """Zero variance: every re-split is the same, so p = 1 (the max-of-z-scores omnibus before 22ffc91 standardised
    floating-point noise by its own tiny spread and flagged this at p = 0.005 for 40 vs 80 and 200 vs 400)."""
    from llmops_nb.monitoring.drift import drift_test

    v = np.random.default_rng(0).normal(size=384)
    v /= np.linalg.norm(v)
    test = drift_test(np.tile(v, (n, 1)), np.tile(v, (m, 1)), permutations=199)
    assert math.isfinite(test.statistic) and not test.flagged and test.p_value >= 0.5, (test.statistic,
                                                                                          test.p_value)


@pytest.mark.slow
def test_a_fixed_prompt_against_itself_is_not_drift(ws):
    ask = _bot()
    for _ in range(40):
        ask("ping")
    r = L.monitor(model="bot", since="1h", reference=["ping"] * 80, save=False)
    d = r.drift["prompt"]
    assert d.status == "ok" and not d.flagged and not r.flagged, (d.statistic, d.p_value)


@pytest.mark.slow
def test_thirty_items_is_a_verdict_and_twenty_nine_is_not(ws):
    ask = _bot()
    for t in FILES[:29]:
        ask(t)
    under = L.monitor(model="bot", since="1h", reference=FILES[100:160], save=False)
    d = under.drift["prompt"]
    assert d.status == "insufficient data" and d.p_value is None and not d.flagged and not under.flagged
    # (under.status is 'ok' and its verdict 'no drift detected' here: the bug of the test above)
    ask(FILES[29])
    at = L.monitor(model="bot", since="1h", reference=FILES[100:160], save=False)
    d = at.drift["prompt"]
    assert d.status == "ok" and (d.n_current, d.n_reference) == (30, 60) and 0 < d.p_value <= 1
    short = L.monitor(model="bot", since="1h", reference=FILES[100:129], save=False)
    assert short.drift["prompt"].status == "insufficient data"


@pytest.mark.slow
def test_markup_empty_and_html_prompts_are_data(ws):
    """Prompts that are only chat markup, empty or blank, or carry HTML, from a model whose name carries HTML: a
    verdict, strict JSON, escaped HTML with the farthest examples."""
    ask = _bot("bot" + XSS)
    odd = ["", "   ", "<|im_start|><|im_end|>", "\n\t"]
    for i in range(32):
        ask(odd[i % 4] if i < 8 else f"<|im_start|>user\n<script>alert({i})</script> {NET[i]}<|im_end|>")
    r = L.monitor(since="1h", reference=FILES[:64])
    assert r.status == "ok" and r.drift["prompt"].status == "ok" and r.drift["prompt"].flagged
    _strict_json(json.dumps(r.to_dict(), allow_nan=False))
    html = r._repr_html_()
    assert "<script>" not in html and XSS not in html and "&lt;script&gt;" in html


@pytest.mark.slow
def test_huge_prompts_do_not_bloat_the_report_or_the_workspace(ws):
    ask = _bot("big")
    for i in range(30):
        ask(NET[i] + " " + "lorem ipsum " * 87_000)  # ~1 MB each
    r = L.monitor(model="big", since="1h", reference=FILES[:60])
    assert r.status == "ok"
    assert len(json.dumps(r.to_dict())) < 250_000
    assert len(r._repr_html_()) < 500_000
    saved = ws.db.execute("SELECT max(length(report)) FROM monitor_reports").fetchone()[0]
    assert saved < 250_000


def test_an_infinite_logged_latency_does_not_break_the_timeline(ws):
    for lat in (0.1, 0.15, 0.2, 0.3):
        with L.trace(model="bot") as t:
            t.log(prompt="p", output="o", latency_s=lat)
        time.sleep(0.005)
    # t.log refuses an infinite latency now; a row written by hand (or an older version) may still hold one
    ws.db.execute("UPDATE generations SET latency_s = ? WHERE latency_s = 0.15", (float("inf"),))
    r = L.monitor(model="bot", since="1h", save=False)
    _strict_json(json.dumps(r.to_dict(), allow_nan=False))
    svg = "".join(re.findall(r"<svg.*?</svg>", r._repr_html_(), re.S))
    assert svg and not re.search(r"\b(nan|inf)\b", svg, re.I), re.findall(r".{20}\b(?:nan|inf)\b.{5}", svg, re.I)


# ---- the command line -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("since", ["inf", "1e300", "nan"])
def test_cli_bad_since_is_exit_2_one_line(few, run_cli, since):
    out = run_cli("monitor", f"--since={since}")
    assert out.returncode == 2, (out.returncode, out.stdout[:200], out.stderr[-500:])
    assert "since" in _one_line(out.stderr)


def test_cli_absurd_sample_is_exit_2(few, run_cli):
    out = run_cli("monitor", "--since", "1h", "--sample", "1000000000")
    assert out.returncode == 2 and "sample" in _one_line(out.stderr), (out.returncode, out.stderr)


def test_cli_bad_input_is_exit_2_one_line(few, run_cli):
    for args, words in ((("monitor", "--alpha", "nan"), "alpha"), (("monitor", "--alpha", "1"), "alpha"),
                        (("monitor", "--sample", "1e9"), "--sample"), (("monitor", "--reference", ".."), "reference"),
                        (("monitor", "--tag", "=x"), "KEY=VALUE"), (("trace", "show", "abc"), "invalid int"),
                        (("trace", "show", "0"), "call id"), (("trace", "show", "99999999999999999999"), "call id"),
                        (("trace", "show", "999"), "traces() lists")):
        out = run_cli(*args)
        assert out.returncode == 2, (args, out.returncode, out.stderr)
        assert words in _one_line(out.stderr), (args, out.stderr)


def test_cli_json_is_strict_with_odd_logged_values(ws, run_cli):
    for lat, tokens in ((0.5, 3), (0.1, 5), (1e308, 2)):
        with L.trace(model="bot", tags={"k": "v"}) as t:
            t.log(prompt=XSS, output="", latency_s=lat, tokens_out=tokens)
    # odd values t.log now refuses, as a hand-edited (or older) row may hold them
    ws.db.execute("UPDATE generations SET latency_s = ? WHERE latency_s = 0.5", (float("inf"),))
    ws.db.execute("UPDATE generations SET tokens_out = -5 WHERE tokens_out = 5")
    out = run_cli("monitor", "--model", "bot", "--since", "1h", "--json")
    assert out.returncode == 0, out.stderr
    data = _strict_json(out.stdout)
    assert data["status"] == "insufficient data" and data["current"]["volume"] == 3
    shown = run_cli("trace", "show", "1", "--json")
    assert shown.returncode == 0 and _strict_json(shown.stdout)["prompt"] == XSS


def test_read_only_database_still_reports_and_keeps_the_workspace_intact(few, run_cli):
    from llmops_nb.workspace import reset_workspace

    few.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db = Path(few.path) / "llmops.db"
    reset_workspace()
    before = db.read_bytes()
    mode = db.stat().st_mode
    db.chmod(0o444)
    try:
        out = run_cli("monitor", "--since", "1h", "--json", prefix=unprivileged())
    finally:
        db.chmod(mode)
    assert out.returncode == 0, out.stderr
    data = _strict_json(out.stdout)
    assert data["current"]["volume"] == 5 and any("not saved" in n for n in data["notes"])
    assert db.read_bytes() == before
    from llmops_nb.workspace import workspace

    assert workspace().db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# ---- the magic --------------------------------------------------------------------------------------------------

def test_magic_bad_since_is_a_usage_error(ipy):
    _bot()("q")
    with pytest.raises(UsageError, match="since"):
        ipy.line("monitor --since inf")


def test_magic_reference_list_interpolation(ipy):
    _bot()("q")
    ipy.ns["prompts"] = FILES[:3]
    try:
        r = ipy.line("monitor --since 1h --reference {prompts}")
    except UsageError as exc:
        text = _one_line(str(exc))
        assert "dataset reference" not in text and "list" in text, text
    else:
        assert r.reference_side["kind"] == "texts"


def test_magic_trace_show_bad_ids_are_usage_errors(ipy):
    _bot()("q")
    for line, words in (("trace show abc", "invalid int"), ("trace show 0", "call id"),
                        ("trace show 5", "traces() lists"), ("monitor --model bott", "did you mean 'bot'")):
        with pytest.raises(UsageError) as caught:
            ipy.line(line)
        assert words in _one_line(str(caught.value))


# ---- REST (the functions the handlers run; InputError is 400, NotFoundError 404, anything else 500) ----------------

@pytest.fixture
def api(few):
    from llmops_nb.server.api import Api

    return Api(few.path, few.path.parent)


@pytest.mark.parametrize("body", ['{"sample": 1000000000, "since": "1h"}', '{"sample": 1e9, "since": "1h"}'])
def test_rest_post_absurd_sample_is_400(api, body):
    with pytest.raises(InputError, match="sample"):
        api.run_monitor(json.loads(body))


@pytest.mark.parametrize("body", ['{"since": NaN}', '{"since": Infinity}', '{"until": -Infinity}',
                                  '{"since": 1e300}', '{"since": "1h", "reference": 1e300}'])
def test_rest_post_non_finite_times_are_400(api, body):
    with pytest.raises(InputError):
        api.run_monitor(json.loads(body))


@pytest.mark.parametrize("since", ["nan", "inf", "1e309"])
def test_rest_traces_non_finite_since_is_400(api, since):
    with pytest.raises(InputError, match="since"):
        api.traces(model=None, since=since, until=None, tags=[], run=None, limit=50, offset=0)


def test_rest_post_window_reference_like_the_cli(api):
    report = api.run_monitor({"since": "1h", "reference": "3h..2h"})
    assert report["reference_side"]["kind"] == "window"


def test_rest_bad_requests_are_input_or_not_found_errors(api):
    from llmops_nb.server.handlers import status_for

    for body, status in (({"model": "bot", "evil": 1}, 400), ({"model": ["bot"]}, 400), ({"sample": True}, 400),
                         ({"sample": 3}, 400), ({"sample": 30.5}, 400), ({"model": "zzz"}, 404),
                         ({"reference": ""}, 400), ({"since": ""}, 400), ({"since": "1h", "reference": "nosuch"}, 404)):
        with pytest.raises(InputError) as caught:
            api.run_monitor(body)
        assert status_for(caught.value) == status, (body, caught.value)
        _one_line(str(caught.value))
    for call_id in ("abc", -1, 0, 10 ** 30):
        with pytest.raises(InputError):
            api.trace(call_id)
    with pytest.raises(NotFoundError):
        api.last_report("zzz")
    with pytest.raises(InputError, match="limit"):
        api.traces(model=None, since=None, until=None, tags=[], run=None, limit=10 ** 9, offset=0)
    with pytest.raises(InputError, match="invalid run id"):
        api.traces(model=None, since=None, until=None, tags=[], run="../../etc", limit=5, offset=0)
