"""Bad options are one clear line, checked before any model or dataset loads: the Python API raises InputError,
the CLI exits 2 with one line on stderr and no traceback."""
import math

import pytest

import llmops_nb as L
from llmops_nb.errors import InputError
from llmops_nb.models import runtime
from llmops_nb.models.generation import generate

PAIRS = [{"prompt": f"What is {i} plus {i}?", "response": f"It is {2 * i}."} for i in range(8)]


def one_line_usage_error(proc, *needles):
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    err = proc.stderr.strip()
    assert "Traceback" not in err and "\n" not in err, err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


@pytest.mark.parametrize("option, value", [
    ("lora_r", 0), ("lora_r", 2.5), ("lora_alpha", 0), ("epochs", 0), ("epochs", math.nan), ("epochs", math.inf),
    ("lr", 0), ("lr", -1e-4), ("lr", math.nan), ("lr", math.inf), ("max_steps", 0), ("max_length", 4),
    ("batch_size", 0), ("eval_split", 1), ("eval_split", -0.1), ("eval_split", math.nan), ("lora_dropout", 1.5),
])
def test_finetune_refuses_bad_numbers_before_loading_anything(ws, option, value):
    runtime.forget()
    # the dataset does not exist and the base is misspelt: the option is what gets reported, so it was first
    with pytest.raises(InputError, match=rf"^{option} must be .*, got {value!r}"):
        L.finetune("tiny-gtp2", "no-such-dataset", name="bad", **{option: value})
    assert runtime.remembered() == [] and len(L.runs()) == 0 and not (ws.path / "models" / "bad").exists()


def test_finetune_refuses_bad_names_at_the_start(ws):
    with pytest.raises(InputError, match="model name 'xxx.*' is 300 characters long"):
        L.finetune("tiny-gtp2", "no-such-dataset", name="x" * 300)
    with pytest.raises(InputError, match="invalid model name 'a/b'"):
        L.finetune("tiny-gtp2", "no-such-dataset", name="a/b")
    with pytest.raises(InputError, match="'tiny-gpt2' is a built-in model's name"):
        L.finetune("tiny-gtp2", "no-such-dataset", name="tiny-gpt2")
    assert len(L.runs()) == 0


def test_a_long_default_name_is_cut_to_the_name_limit(ws):
    L.load_dataset(PAIRS, name="d" * 100)  # the longest dataset name: base-method-dataset would be longer
    ft = L.finetune("tiny-gpt2", "d" * 100, max_steps=1, batch_size=4)
    assert ft.name == ("tiny-gpt2-lora-" + "d" * 100)[:100]
    assert L.load_model(ft.name).name == ft.name


def test_finetune_cli_options_are_one_line_errors(run_cli):
    one_line_usage_error(run_cli("finetune", "tiny-gpt2", "--data", "nope", "--lora-r", "0"), "lora_r", "got 0")
    one_line_usage_error(run_cli("finetune", "tiny-gpt2", "--data", "nope", "--lr", "nan"), "lr", "got nan")
    one_line_usage_error(run_cli("finetune", "tiny-gpt2", "--data", "nope", "--eval-split", "1"), "eval_split")
    one_line_usage_error(run_cli("finetune", "tiny-gpt2", "--data", "nope", "--as", "n" * 300),
                         "model name", "300 characters long")


@pytest.mark.parametrize("kw, needle", [
    ({"temperature": math.nan}, "temperature"), ({"temperature": math.inf}, "temperature"),
    ({"temperature": -0.5}, "temperature"), ({"max_new_tokens": 0}, "max_new_tokens"),
    ({"max_new_tokens": math.nan}, "max_new_tokens"), ({"batch_size": 0}, "batch_size"),
])
def test_generate_refuses_bad_numbers_before_loading(ws, kw, needle):
    runtime.forget()
    with pytest.raises(InputError, match=rf"^{needle} must be"):
        generate("tiny-gtp2", ["ok"], **kw)  # a misspelt model: the option is reported first
    assert runtime.remembered() == []


def test_generate_cli_options_are_one_line_errors(run_cli):
    one_line_usage_error(run_cli("generate", "tiny-gpt2", "q", "--temperature", "nan"), "temperature", "got nan")
    one_line_usage_error(run_cli("generate", "tiny-gpt2", "q", "--max-new-tokens", "0"), "max_new_tokens")


def test_a_template_file_that_is_not_utf8_is_named_with_the_byte_offset(run_cli, ipy, tmp_path):
    bad = tmp_path / "bin.j2"
    good_part = "Réponse: {{ question }}\n".encode("utf-8")
    bad.write_bytes(good_part + b"\xff\xfe tail")
    err = one_line_usage_error(run_cli("prompt", "latin", "--file", str(bad)), str(bad), "UTF-8")
    assert f"byte 0xff at offset {len(good_part)}" in err and "re-encode" in err
    from IPython.core.error import UsageError

    with pytest.raises(UsageError, match="not UTF-8 text"):
        ipy.line(f"prompt latin --file {bad}")
    assert L.prompts(builtins=False).rows == []
    good = tmp_path / "good.j2"
    good.write_bytes("Réponse:\r\n{{ question }}\r\n".encode("utf-8"))  # Windows line ends read as text files are
    assert ipy.line(f"prompt latin --file {good}").template == "Réponse:\n{{ question }}"
