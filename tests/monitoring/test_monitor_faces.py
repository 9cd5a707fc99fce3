"""The issue's "done when", through the magics: run the comparison, change the prompt template, run it again, and
`%llmops monitor` shows the shift with its p-value and the most changed examples (real tiny-gpt2 generations, real
MiniLM). Also the CLI (text, --json, --models, exit 2 on bad input) and the trace view of a RAG call, whose
retrieved passages are looked up in the index the call names."""
from __future__ import annotations

import json
import warnings

import pytest

import llmops_nb as L
from llmops_nb.errors import LlmopsWarning, NotFoundError

V1 = "Answer briefly.\n{{ question }}"
V2 = ("You are a careful assistant for the Python standard library. Read the question, think about which part of "
      "the language it concerns, and answer in exactly one short sentence.\nQuestion: {{ question }}\nAnswer:")


@pytest.mark.filterwarnings("ignore::llmops_nb.errors.LlmopsWarning")  # tiny-gpt2 answers are empty or noise
def test_template_change_between_two_compare_runs_is_flagged_by_monitor(ipy):
    ipy.run(f"%%llmops prompt qa\n{V1}")
    first = ipy.line("compare --eval pydoc-qa --variant prompt:tiny-gpt2:qa@v1 --limit 40 --max-new-tokens 4 "
                     "--metric token_f1")
    ipy.run(f"%%llmops prompt qa\n{V2}")
    second = ipy.line("compare --eval pydoc-qa --variant prompt:tiny-gpt2:qa@v2 --limit 40 --max-new-tokens 4 "
                      "--metric token_f1")
    report = ipy.line("monitor")
    assert report.current_side["run"] == second.run_id and report.reference_side["run"] == first.run_id
    prompt = report.drift["prompt"]
    assert prompt.flagged and prompt.p_value <= 0.01 and report.flagged
    assert all("careful assistant" in e["text"] for e in prompt.examples), "the most changed prompts use v2"
    assert all("careful assistant" not in e["nearest"] for e in prompt.examples)
    shown = str(report)
    assert f"run {second.run_id}" in shown and "DRIFT (p = " in shown and "prompts farthest" in shown
    ipy.run("r = _")  # the report is the cell's result and displays with its monitor payload
    bundle = report._repr_mimebundle_()
    assert bundle["application/vnd.llmops.monitor+json"]["drift"]["prompt"]["flagged"] is True
    again = ipy.line(f"monitor --reference {first.run_id} --sample 30")
    assert again.volume == 40 and again.drift["prompt"].flagged


def test_cli_text_json_models_and_bad_input(ws, run_cli):
    @L.trace(model="bot")
    def ask(q):
        return q.upper()

    for i in range(35):
        ask(f"how do I open file number {i} for reading?")
    out = run_cli("monitor", "--model", "bot", "--since", "1h", "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["status"] == "insufficient data" and data["current"]["volume"] == 35
    assert data["drift"]["prompt"]["status"] == "insufficient data", "an empty reference window gives no verdict"
    listed = run_cli("monitor", "--models")
    assert listed.returncode == 0 and "bot" in listed.stdout and "insufficient data" in listed.stdout
    bad = run_cli("monitor", "--model", "bott")
    assert bad.returncode == 2 and "did you mean 'bot'" in bad.stderr and "Traceback" not in bad.stderr
    bad = run_cli("monitor", "--sample", "3")
    assert bad.returncode == 2 and "sample must be" in bad.stderr
    bad = run_cli("monitor", "--since", "yesterday-ish")
    assert bad.returncode == 2 and "since must be" in bad.stderr


def test_trace_view_shows_retrieved_passages_from_the_named_index(ws, run_cli):
    docs = [{"id": "open", "text": "open() returns a file object; use it in a with statement."},
            {"id": "close", "text": "A with statement closes the file even when an exception is raised."}]
    L.build_index(docs, name="tiny-ix", progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", LlmopsWarning)
        L.generate("tiny-gpt2", ["How do I open a file? <b>now</b>"], max_new_tokens=3,
                   context=[[("open", 0.91), ("gone", 0.5)]], tags={"index": "tiny-ix"})
    call = L.traces(limit=1).rows[0]
    from llmops_nb.monitoring.traceview import trace_view

    view = trace_view(call["id"])
    assert [p["id"] for p in view.passages] == ["open", "gone"]
    assert view.passages[0]["text"].startswith("open() returns") and view.passages[1]["text"] is None
    assert view.passages[0]["score"] == pytest.approx(0.91)
    html = view._repr_html_()
    assert "&lt;b&gt;now&lt;/b&gt;" in html and "<b>now</b>" not in html
    out = run_cli("trace", "show", str(call["id"]))
    assert out.returncode == 0 and "passage open (0.910): open() returns" in out.stdout
    with pytest.raises(NotFoundError, match="traces"):
        trace_view(call["id"] + 100)
