"""`monitor()` on real traced calls and real MiniLM embeddings: a shift of topic is flagged with its p-value and the
current items farthest from the reference; a null split is not; small windows get "insufficient data" and empty
ones "no data", never a verdict; every reference form; the operational figures; the saved verdicts."""
from __future__ import annotations

import random
import time

import pytest

import llmops_nb as L
from benchmarks.prompt_pools import pool
from llmops_nb.errors import InputError, NotFoundError

FILES, NET = list(pool("files")), list(pool("net"))


def _bot(model="bot", fail_on=None):
    @L.trace(model=model)
    def ask(prompt):
        if fail_on and fail_on in prompt:
            raise ValueError("refused")
        return "" if prompt.startswith("Return") else "Answer: " + prompt.lower()

    return ask


def _log(ask, texts):
    for t in texts:
        try:
            ask(t)
        except ValueError:
            pass


def _split():
    time.sleep(0.02)
    t = time.time()
    time.sleep(0.02)
    return t


@pytest.fixture
def shifted(ws):
    """120 calls on files-and-OS texts, then 60 more of them mixed with 60 on network protocols."""
    rng = random.Random(1)
    files = rng.sample(FILES, 180)
    ask = _bot()
    _log(ask, files[:120])
    split = _split()
    _log(ask, files[120:] + rng.sample(NET, 60))
    return split


def test_a_new_topic_is_flagged_with_its_p_value_and_farthest_examples(shifted):
    r = L.monitor(model="bot", since=shifted)
    assert r.status == "ok" and r.volume == 120 and r.baseline.volume == 120
    d = r.drift["prompt"]
    assert d.status == "ok" and d.flagged and r.flagged and d.p_value <= 0.01
    assert d.statistic > max(d.null), "the observed statistic lies beyond every re-split"
    assert len(d.null) == 500 and (d.n_current, d.n_reference) == (120, 120)
    assert len(d.examples) == 5 and all(e["text"] in NET for e in d.examples), "the farthest prompts are the new topic"
    assert r.drift["output"].flagged, "the answers moved with the questions"
    assert "drift in prompt and output" == r.verdict
    text = str(r)
    assert "DRIFT (p = " in text and d.examples[0]["text"][:40] in text
    html = r._repr_html_()
    assert "<svg" in html and "farthest from the reference" in html
    bundle = r._repr_mimebundle_()
    payload = bundle["application/vnd.llmops.monitor+json"]
    assert payload["drift"]["prompt"]["flagged"] is True and payload["drift"]["prompt"]["null"]
    assert payload["current"]["volume"] == 120 and payload["timeline"]


def test_a_null_split_is_not_flagged(ws):
    rng = random.Random(2)
    texts = rng.sample(FILES, 240)
    ask = _bot()
    _log(ask, texts[:120])
    split = _split()
    _log(ask, texts[120:])
    r = L.monitor(model="bot", since=split)
    assert r.status == "ok" and not r.flagged and r.verdict == "no drift detected"
    assert r.drift["prompt"].p_value > 0.01 and r.drift["output"].p_value > 0.01


def test_under_30_items_is_insufficient_data_never_a_verdict(ws):
    ask = _bot()
    _log(ask, FILES[:40])
    split = _split()
    _log(ask, NET[:12])
    r = L.monitor(model="bot", since=split)
    assert r.status == "insufficient data" and not r.flagged
    assert all(d.status == "insufficient data" and d.p_value is None and not d.flagged for d in r.drift.values())
    assert "at least 30" in r.drift["prompt"].reason
    assert "insufficient data" in str(r)


def test_a_window_with_no_calls_says_so(ws):
    _log(_bot(), FILES[:5])
    r = L.monitor(model="bot", since=time.time() + 10, until=time.time() + 20)
    assert r.status == "no data" and r.volume == 0 and not r.drift and not r.flagged
    assert "no calls of bot were logged" in str(r)


def test_bad_input_is_one_clear_error(ws):
    _log(_bot(), FILES[:3])
    with pytest.raises(NotFoundError, match="did you mean 'bot'"):
        L.monitor(model="bott")
    with pytest.raises(InputError, match="since .* must be before until"):
        L.monitor(since="1h", until="2h")
    with pytest.raises(InputError, match="sample must be"):
        L.monitor(sample=5)
    with pytest.raises(InputError, match="KEY=VALUE"):
        L.monitor(tags=["nokey"])
    with pytest.raises(NotFoundError, match="unknown reference 'nosuch'"):
        L.monitor(since="1h", reference="nosuch")
    with pytest.raises(InputError, match="not a string"):
        L.monitor(since="1h", reference=["ok", 3])


def test_reference_forms_dataset_list_window_and_span(shifted):
    rng = random.Random(3)
    refs = rng.sample(FILES, 100)
    L.load_dataset([{"text": t} for t in refs], name="seen")
    by_data = L.monitor(model="bot", since=shifted, reference="seen")
    assert by_data.reference_side["kind"] == "dataset" and by_data.drift["prompt"].flagged
    assert by_data.drift["output"].status == "not available", "a dataset has prompts only"
    by_list = L.monitor(model="bot", since=shifted, reference=refs)
    assert by_list.reference_side["kind"] == "texts" and by_list.drift["prompt"].flagged
    by_window = L.monitor(model="bot", since=shifted, reference=(shifted - 3600, shifted))
    assert by_window.baseline.volume == 120 and by_window.drift["prompt"].flagged
    by_span = L.monitor(model="bot", since=shifted, reference="1h")
    assert by_span.reference_side["label"] == "1h before the current window" and by_span.baseline.volume == 120


def test_runs_default_to_newest_against_previous_and_reference_run(ws):
    rng = random.Random(4)
    ask = _bot()
    with L.start_run("week-1") as first:
        _log(ask, rng.sample(FILES, 60))
    with L.start_run("week-2") as second:
        _log(ask, rng.sample(NET, 60))
    r = L.monitor()
    assert (r.current_side["run"], r.reference_side["run"]) == (second.id, first.id)
    assert r.flagged and r.drift["prompt"].p_value <= 0.01
    after = L.monitor(reference=first.id)
    assert after.current_side["label"] == f"after run {first.id}" and after.volume == 60


def test_figures_errors_empty_answers_and_another_models_reference(ws):
    ask = _bot(fail_on="file")
    texts = random.Random(5).sample(FILES, 80)
    _log(_bot("old-bot"), texts[:40])
    split = _split()
    _log(ask, texts[40:])
    r = L.monitor(model="bot", since=split, reference=(split - 600, split))
    assert r.baseline.volume == 0, "the reference window holds only old-bot's calls and model= filters it out"
    errors = sum("file" in t for t in texts[40:])
    assert r.error_rate == pytest.approx(errors / 40)
    empty = sum(t.startswith("Return") for t in texts[40:] if "file" not in t)
    assert r.current.empty_share == pytest.approx(empty / (40 - errors))
    assert r.latency_p50 is not None and r.latency_p95 >= r.latency_p50
    pooled = L.monitor(since=split, reference=(split - 600, split))
    assert any("several models are pooled" in n for n in pooled.notes)
    assert any("the reference comes from old-bot" in n for n in pooled.notes)


def test_calls_logged_without_text_are_counted_not_tested(ws, monkeypatch):
    ask = _bot()
    _log(ask, FILES[:40])
    split = _split()
    monkeypatch.setenv("LLMOPS_LOG_TEXT", "none")
    _log(ask, NET[:40])
    r = L.monitor(model="bot", since=split)
    assert r.volume == 40 and r.drift["prompt"].status == "insufficient data"
    assert any("40 current calls were logged without text" in n for n in r.notes)


def test_verdicts_are_saved_per_model(shifted):
    assert L.monitored_models().rows[0]["verdict"] is None
    L.monitor(model="bot", since=shifted)
    row = L.monitored_models().rows[0]
    assert (row["model"], row["calls"], row["verdict"]) == ("bot", 240, "drift")
    assert row["prompt_p"] <= 0.01 and "drift" in str(L.monitored_models())
