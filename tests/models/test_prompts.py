"""Prompt registry: immutable versions, Jinja2 rendering with named missing variables, literal braces kept."""
import json

import pytest

import llmops_nb as L
from llmops_nb.errors import InputError, NotFoundError
from llmops_nb.models.prompts import DEFAULT_TEMPLATES, default_prompt, prompt_versions, to_chat


def test_register_versions_and_identical_text_returns_existing(ws):
    v1 = L.register_prompt("qa", "Q: {{ question }}\nA:")
    assert (v1.ref, v1.version, v1.variables) == ("qa@v1", 1, ("question",))
    again = L.register_prompt("qa", "Q: {{ question }}\nA:")
    assert again.ref == "qa@v1" and again.sha256 == v1.sha256
    v2 = L.register_prompt("qa", "Context: {{ context }}\nQ: {{ question }}\nA:")
    assert v2.ref == "qa@v2" and v2.variables == ("context", "question")
    assert L.prompt("qa").ref == "qa@v2"  # latest
    assert L.prompt("qa@v1").template == "Q: {{ question }}\nA:"
    assert L.prompt("qa@1").ref == "qa@v1"
    assert [p.ref for p in prompt_versions("qa")] == ["qa@v1", "qa@v2"]
    with pytest.raises(AttributeError):  # immutable
        v1.template = "changed"
    table = L.prompts(builtins=False)
    assert len(table) == 1 and table[0]["latest"] == "qa@v2" and table[0]["versions"] == 2
    assert ws.counts()["prompts"] == 2


def test_unknown_prompt_and_version_did_you_mean(ws):
    L.register_prompt("answer-style", "{{ question }}")
    with pytest.raises(NotFoundError, match="did you mean 'answer-style'"):
        L.prompt("answer-styel")
    with pytest.raises(NotFoundError, match="unknown prompt version 'answer-style@v3'.*answer-style@v1"):
        L.prompt("answer-style@v3")


def test_bad_names_and_syntax_errors_are_one_line_input_errors(ws):
    with pytest.raises(InputError, match="invalid prompt name 'has space': it contains ' '"):
        L.register_prompt("has space", "x")
    with pytest.raises(InputError, match="empty"):
        L.register_prompt("empty", "   ")
    with pytest.raises(InputError, match="line 2"):
        L.register_prompt("broken", "ok\n{% for x in xs %}{{ x }}")


def test_render_names_missing_variable_before_rendering(ws):
    p = L.register_prompt("rag-ish", "{{ context }}\n\nQ: {{ question }}")
    with pytest.raises(InputError, match=r"needs variable 'context'.*pass context="):
        p.render(question="why?")
    assert p.render(question="why?", context="because", unused=1) == "because\n\nQ: why?"
    few = L.register_prompt("few", "{% for ex in examples %}Q: {{ ex.question }} A: {{ ex.answer }}\n{% endfor %}"
                                   "Q: {{ question }} A:")
    assert few.variables == ("examples", "question")
    text = few.render(examples=[{"question": "1+1", "answer": "2"}, {"question": "2+2", "answer": "4"}], question="3+3")
    assert text == "Q: 1+1 A: 2\nQ: 2+2 A: 4\nQ: 3+3 A:"
    with pytest.raises(InputError, match="no attribute 'answer'"):
        few.render(examples=[{"question": "1+1"}], question="x")


def test_braces_from_json_and_python_code_survive(ws):
    template = (
        'Reply with JSON like {"a": 1, "b": [1, 2]} or {"nested": {"x": {"y": 2}}}.\n'
        "Python: d = {'k': {'n': 1}}; s = {1, 2}; f'{{x}}' is not ours but {{ question }} is.\n"
        "Format escapes: '{{\"a\": 1}}'.format(), shell: echo ${#arr[@]}, printf: {%d}, {% raw %}{{ raw }}{% endraw %}\n"
        "Jinja's own escape still works: {{ '{{' }}"
    )
    p = L.register_prompt("json-and-code", template)
    assert p.variables == ("question", "x")  # {{x}} is a valid expression with a name: Jinja's reading wins
    out = p.render(question="Q?", x="X")
    assert '{"a": 1, "b": [1, 2]}' in out and '{"nested": {"x": {"y": 2}}}' in out
    assert "d = {'k': {'n': 1}}; s = {1, 2};" in out and "but Q? is." in out
    assert "'{{\"a\": 1}}'.format()" in out and "${#arr[@]}" in out and "{%d}" in out
    assert "{{ raw }}" in out and out.endswith("escape still works: {{")
    # a JSON document as the whole template
    doc = json.dumps({"role": "user", "content": {"q": "{{ question }}"}})
    assert json.loads(L.register_prompt("json-doc", doc).render(question="hi")) == {"role": "user", "content": {"q": "hi"}}


def test_default_templates(ws):
    assert set(DEFAULT_TEMPLATES) == {"zero-shot", "few-shot", "rag"}
    assert default_prompt("zero-shot").variables == ("question",)
    assert default_prompt("few-shot").variables == ("examples", "question")
    rag = default_prompt("rag")
    assert rag.variables == ("context", "question") and rag.ref == "rag@builtin"
    text = rag.render(question="What is a tuple?", context=["An immutable sequence.", {"text": "Written (1, 2)."}])
    assert "[1] An immutable sequence.\n[2] Written (1, 2).\n" in text and "[1]" in text
    assert "[1] plain" not in rag.render(question="q", context="plain context")
    assert L.prompt("rag").ref == "rag@builtin"  # built-ins resolve when no workspace prompt has the name
    names = {r["name"]: r for r in L.prompts()}
    assert names["few-shot"]["builtin"] and names["few-shot"]["latest"] == "few-shot@builtin"


def test_render_chat_uses_the_models_chat_template(ws):
    model = L.load_model("tiny-gpt2")
    p = L.register_prompt("chat", "Say {{ word }}")
    assert p.render_chat(model, word="hi") == "<|user|>\nSay hi\n<|assistant|>\n"
    assert to_chat(model, "x", system="be brief") == "<|system|>\nbe brief\n<|user|>\nx\n<|assistant|>\n"

    class NoTemplate:
        chat_template = None

    assert to_chat(NoTemplate(), "plain") == "plain"


def test_results_protocol_escapes_user_text(ws):
    p = L.register_prompt("xss", "<script>alert(1)</script> {{ question }}")
    html = p._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<script>" not in L.prompts()._repr_html_()
    assert p.to_dict()["ref"] == "xss@v1" and "xss@v1" in str(p) and repr(p).startswith("PromptVersion('xss@v1'")


def test_prompt_cell_magic_list_and_show(ipy, capsys):
    v1 = ipy.run('%%llmops prompt qa\nAnswer briefly.\nQuestion: {{ question }}\nJSON like {"a": 1} stays.')
    assert v1.ref == "qa@v1" and v1.variables == ("question",)
    assert ipy.run("%%llmops prompt qa\nAnswer briefly.\nQuestion: {{ question }}\nJSON like {\"a\": 1} stays.").ref == "qa@v1"
    ipy.run("%%llmops prompt qa -o qa2\nQ: {{ question }}\nA:")
    assert ipy.ns["qa2"].ref == "qa@v2"
    table = ipy.line("prompt list")
    assert [r["latest"] for r in table if not r["builtin"]] == ["qa@v2"]
    assert ipy.line("prompt show qa@v1").template.endswith('{"a": 1} stays.')
    assert ipy.line("prompt qa").ref == "qa@v2"  # a name without a template shows its latest version
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match="did you mean 'qa'"):
        ipy.line("prompt show qb")
    with pytest.raises(UsageError, match="reserved"):
        ipy.run("%%llmops prompt list\n{{ x }}")
    with pytest.raises(UsageError, match=r"'prompt show' needs a prompt"):
        ipy.line("prompt show")
    ipy.run("%llmops help")
    assert "prompt" in capsys.readouterr().out


def test_prompt_cli_file_stdin_and_json(run_cli, tmp_path):
    f = tmp_path / "t.j2"
    f.write_text("Context: {{ context }}\nQ: {{ question }}")
    out = json.loads(run_cli("prompt", "rag2", "--file", str(f), "--json", check=0).stdout)
    assert out["ref"] == "rag2@v1" and out["variables"] == ["context", "question"]
    import subprocess
    import sys
    from pathlib import Path

    exe = Path(sys.executable).with_name("llmops")
    import os

    p = subprocess.run([str(exe), "prompt", "rag2", "--file", "-"], input="Q only: {{ question }}",
                       capture_output=True, text=True, env={**os.environ, "LLMOPS_HOME": os.environ["LLMOPS_HOME"]})
    assert p.returncode == 0 and "rag2@v2" in p.stdout
    listed = json.loads(run_cli("prompt", "list", "--json", check=0).stdout)
    assert {r["latest"] for r in listed} >= {"rag2@v2", "zero-shot@builtin"}
    shown = run_cli("prompt", "show", "rag2@v1", check=0).stdout
    assert shown.startswith("rag2@v1") and "Context: {{ context }}" in shown
    assert "did you mean 'rag2'" in run_cli("prompt", "show", "rag22", check=2).stderr
    assert "usage: llmops prompt" in run_cli("prompt", "--help", check=0).stdout


def test_registering_an_older_text_again_makes_it_what_the_name_means(ws):
    a = L.register_prompt("qa", "Answer: {{ question }}")
    b = L.register_prompt("qa", "Answer briefly: {{ question }}")
    assert (a.version, b.version) == (1, 2) and L.prompt("qa").version == 2
    again = L.register_prompt("qa", "Answer: {{ question }}")
    assert again.version == 1 and L.prompt("qa").version == 1, "reverting the cell reverts the prompt"
    row = next(r for r in L.prompts(builtins=False) if r["name"] == "qa")
    assert row["latest"] == "qa@v1" and row["versions"] == 2
    assert L.prompt("qa@v2").template == "Answer briefly: {{ question }}"
