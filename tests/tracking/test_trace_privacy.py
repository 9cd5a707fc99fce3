"""The `log_text` privacy setting: "redacted" runs the curation PII redaction before anything is written (checked
on the bytes of every workspace file, WAL and -shm included), "none" keeps no text; both for traced calls and for
the kit's own generation log, whose response cache is not written under either."""
import pytest

import llmops_nb as L
from llmops_nb.config import load_settings, log_text_mode
from llmops_nb.workspace import reset_workspace

PLANTED = {
    "email": "jane.doe@example.com",
    "phone": "+1 415-555-0134",
    "card": "4111 1111 1111 1111",
    "ip": "192.168.13.77",
    "openai": "sk-abcdefghijklmnopqrstuvwx1234",
    "aws": "AKIAIOSFODNN7EXAMPLE",
}
TEXT = ("Contact jane.doe@example.com or call +1 415-555-0134, card 4111 1111 1111 1111, host 192.168.13.77, "
        "keys sk-abcdefghijklmnopqrstuvwx1234 and AKIAIOSFODNN7EXAMPLE")
NEEDLES = [b"jane.doe@example", b"555-0134", b"4111 1111", b"192.168.13.77", b"abcdefghijklmnopqrstuvwx1234",
           b"IOSFODNN7EXAMPLE"]


def _log_everything(ws):
    @L.trace(model="bot", tags={"case": "pii"})
    def ask(prompt):
        return "You said: " + prompt

    @L.trace(model="bot")
    def fail(prompt):
        raise RuntimeError("could not reach " + PLANTED["ip"] + " for " + PLANTED["email"])

    ask(TEXT)
    with pytest.raises(RuntimeError):
        fail(TEXT)
    with L.trace(model="bot") as t:
        t.log(prompt=TEXT, output=TEXT, context_ids=["d1"], scores=[0.5], tokens_in=5, tokens_out=6)
    L.generate("tiny-gpt2", [TEXT], max_new_tokens=3)


def _workspace_bytes(ws) -> bytes:
    path = ws.path
    reset_workspace()  # close the connection: what is left on disk is what a reader of the folder sees
    return b"".join(p.read_bytes() for p in path.rglob("*") if p.is_file())


def test_the_setting_comes_from_pyproject_and_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("LLMOPS_LOG_TEXT", raising=False)
    monkeypatch.chdir(tmp_path)
    assert log_text_mode(tmp_path) == "full"
    (tmp_path / "pyproject.toml").write_text('[tool.llmops]\nlog_text = "none"\n')
    assert log_text_mode(tmp_path) == "none" and load_settings(tmp_path).source["log_text"].endswith("pyproject.toml")
    monkeypatch.setenv("LLMOPS_LOG_TEXT", "redacted")
    assert log_text_mode(tmp_path) == "redacted"
    monkeypatch.setenv("LLMOPS_LOG_TEXT", "ful")
    assert log_text_mode(tmp_path) == "redacted", "a typo falls back to the safe mode"


def test_full_mode_keeps_the_text(ws, monkeypatch):
    monkeypatch.setenv("LLMOPS_LOG_TEXT", "full")
    _log_everything(ws)
    data = _workspace_bytes(ws)
    assert all(n in data for n in NEEDLES)


def test_redacted_mode_writes_no_pii_anywhere_in_the_workspace(ws, monkeypatch):
    monkeypatch.setenv("LLMOPS_LOG_TEXT", "redacted")
    _log_everything(ws)
    rows = list(L.traces(limit=100))
    assert len(rows) == 4 and {r["text_mode"] for r in rows} == {"redacted"}
    traced = [r for r in rows if r["source"] == "trace"]
    assert all("<EMAIL>" in r["prompt"] and "<SECRET>" in r["prompt"] for r in traced)
    assert any(r["error"] and r["error"].startswith("RuntimeError: could not reach <IP>") for r in traced)
    assert ws.db.execute("SELECT COUNT(*) FROM generation_cache").fetchone()[0] == 0, "no raw text in the cache"
    data = _workspace_bytes(ws)
    found = [n for n in NEEDLES if n in data]
    assert found == []


def test_none_mode_keeps_counts_tokens_errors_but_no_text(ws, monkeypatch):
    monkeypatch.setenv("LLMOPS_LOG_TEXT", "none")
    _log_everything(ws)
    rows = list(L.traces(limit=100))
    assert len(rows) == 4 and {r["text_mode"] for r in rows} == {"none"}
    assert all(r["prompt"] == "" and r["output"] == "" for r in rows)
    assert any(r["tokens_in"] == 5 and r["tokens_out"] == 6 for r in rows)
    assert any((r["error"] or "").startswith("RuntimeError") for r in rows)
    assert all(r["latency_s"] >= 0 for r in rows)
    assert ws.db.execute("SELECT COUNT(*) FROM generation_cache").fetchone()[0] == 0
    data = _workspace_bytes(ws)
    assert [n for n in NEEDLES if n in data] == []


def test_magic_config_sets_the_mode(ipy, monkeypatch):
    monkeypatch.delenv("LLMOPS_LOG_TEXT", raising=False)
    ipy.run("%config LlmopsMagics.log_text = 'none'")
    try:
        assert log_text_mode() == "none"
        ipy.run("%config LlmopsMagics.log_text = 'partial'")  # %config reports the one-line error, changes nothing
        assert log_text_mode() == "none"
    finally:
        ipy.run("%config LlmopsMagics.log_text = None")
    assert log_text_mode() == "full"
