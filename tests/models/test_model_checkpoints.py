"""Nothing orphaned by a crash: a fine-tune killed while saving a checkpoint resumes from the newest complete
checkpoint, and what the killed save left behind is gone once the workspace reopens or the fine-tune ends.

A kill inside the test process is an exception raised at the exact point (the atomic_dir swap's first rename);
a real kill is os._exit in a child process at that point, so no `finally` block runs, as with SIGKILL."""
import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch
from safetensors.torch import load_file

import llmops_nb as L
from llmops_nb.workspace import files, reset_workspace, workspace

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PAIRS = [{"prompt": f"What is {i} plus {i}?", "response": f"It is {2 * i}."} for i in range(24)]
SETTINGS = dict(max_steps=6, batch_size=4, eval_every=2)  # checkpoints after steps 2 and 4


class Killed(BaseException):
    """The process dying at this point (not an error the code could handle)."""


def adapter(ft):
    return load_file(str(ft.path / "adapter_model.safetensors"))


def same_weights(a, b):
    ta, tb = adapter(a), adapter(b)
    return ta.keys() == tb.keys() and all(torch.equal(ta[k], tb[k]) for k in ta)


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".checkpoint"))


def resumed_steps(ft):
    run = L.get_run(ft.run_id)
    return run.tags.get("resumed_from_step"), [s for s, _, _ in run.history("train_loss")]


KILL_CHILD = textwrap.dedent("""
    import json, os, sys
    import torch
    torch.set_num_threads(1)
    import llmops_nb as L

    point, name, settings = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    pairs = json.loads(sys.stdin.read())
    if point == "between-renames":  # the second checkpoint's swap: the old one moved aside, the new not in place
        real_replace = os.replace

        def replace(src, dst):
            real_replace(src, dst)
            if os.path.basename(dst).startswith(".checkpoint.old-"):
                os._exit(137)

        os.replace = replace
    elif point == "writing-temp":  # the second checkpoint half written: weights saved, trainer state not yet
        real_save, calls = torch.save, []

        def save(obj, path, *args, **kwargs):
            if str(path).endswith("trainer.pt"):
                calls.append(path)
            if len(calls) == 2:
                os._exit(137)
            return real_save(obj, path, *args, **kwargs)

        torch.save = save
    L.finetune("tiny-gpt2", pairs, name=name, **settings)
    sys.exit("the fine-tune was not killed")
""")


def kill_child(ws, point, name):
    env = {**os.environ, "LLMOPS_HOME": str(ws.path), "OMP_NUM_THREADS": "1"}
    out = subprocess.run([sys.executable, "-c", KILL_CHILD, point, name, json.dumps(SETTINGS)],
                         input=json.dumps(PAIRS), capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 137, out.stderr[-2000:]


def test_a_kill_right_after_the_first_rename_resumes_from_the_saved_checkpoint(ws, monkeypatch):
    straight = L.finetune("tiny-gpt2", PAIRS, name="straight", **SETTINGS)
    real_replace = os.replace

    def replace(src, dst):
        real_replace(src, dst)
        if os.path.basename(dst).startswith(".checkpoint.old-"):  # the step-4 checkpoint replacing step 2's
            raise Killed

    with monkeypatch.context() as m:
        m.setattr(files.os, "replace", replace)
        with pytest.raises(Killed):
            L.finetune("tiny-gpt2", PAIRS, name="cut", **SETTINGS)
    folder = ws.path / "models" / "cut"
    assert not (folder / "checkpoint").exists() and leftovers(folder) == [f".checkpoint.old-{os.getpid()}"]
    reset_workspace()
    workspace()  # a fresh open: the killed save's leftovers are this (live) process's, so they stay
    assert leftovers(folder) == [f".checkpoint.old-{os.getpid()}"]
    resumed = L.finetune("tiny-gpt2", PAIRS, name="cut", **SETTINGS)
    assert resumed_steps(resumed) == (2, [3, 4, 5, 6])
    assert same_weights(resumed, straight)
    assert leftovers(folder) == [] and not (folder / "checkpoint").exists()


def test_a_real_kill_between_the_renames_resumes_from_the_newer_complete_checkpoint(ws):
    straight = L.finetune("tiny-gpt2", PAIRS, name="straight", **SETTINGS)
    kill_child(ws, "between-renames", "killed")
    folder = ws.path / "models" / "killed"
    left = leftovers(folder)
    # both checkpoints whole (step 2 moved aside, step 4 finished but not in place), none where it belongs
    assert not (folder / "checkpoint").exists() and len(left) == 2
    assert any(".old-" in n for n in left) and any(n.endswith(".tmp") for n in left)
    resumed = L.finetune("tiny-gpt2", PAIRS, name="killed", **SETTINGS)
    assert resumed_steps(resumed) == (4, [5, 6])
    assert same_weights(resumed, straight)
    assert leftovers(folder) == [] and not (folder / "checkpoint").exists()


def test_a_kill_while_writing_a_checkpoint_resumes_from_the_previous_one(ws):
    straight = L.finetune("tiny-gpt2", PAIRS, name="straight", **SETTINGS)
    kill_child(ws, "writing-temp", "half")
    folder = ws.path / "models" / "half"
    state = json.loads((folder / "checkpoint" / "state.json").read_text())
    assert state["step"] == 2  # the complete checkpoint was never touched
    (partial,) = leftovers(folder)
    assert partial.endswith(".tmp") and not (folder / partial / "trainer.pt").exists()
    reset_workspace()
    workspace()  # the next open removes what the killed process left
    assert leftovers(folder) == []
    resumed = L.finetune("tiny-gpt2", PAIRS, name="half", **SETTINGS)
    assert resumed_steps(resumed) == (2, [3, 4, 5, 6])
    assert same_weights(resumed, straight)


def test_a_kill_while_replacing_a_registered_adapter_leaves_the_model_loadable(ws, monkeypatch):
    first = L.finetune("tiny-gpt2", PAIRS, name="twice", max_steps=2, batch_size=4)
    real_replace = os.replace

    def replace(src, dst):
        real_replace(src, dst)
        if os.path.basename(dst).startswith(".adapter.old-"):
            raise Killed

    with monkeypatch.context() as m:
        m.setattr(files.os, "replace", replace)
        with pytest.raises(Killed):
            L.finetune("tiny-gpt2", PAIRS, name="twice", max_steps=3, batch_size=4)
    assert not first.path.exists()
    reset_workspace()
    workspace()
    lm = L.load_model("twice")  # the registered adapter is put back in place, not reported missing
    assert lm.adapter == first.path and first.path.exists()
    assert [r["installed"] for r in L.models() if r["name"] == "twice"] == [True]
    assert L.finetune("tiny-gpt2", PAIRS, name="twice", max_steps=2, batch_size=4).run_id == first.run_id


def test_a_kill_while_replacing_the_converted_model_cache_keeps_the_converted_model(ws, monkeypatch, tmp_path):
    from llmops_nb.models import loading

    monkeypatch.setattr(loading, "model_cache_dir", lambda: tmp_path / "cache")
    folder = loading.tiny_gpt2_folder()
    (folder / "marker").write_text("made once")
    # a kill between atomic_dir's renames while another process replaced it: moved aside, nothing in place
    os.replace(folder, folder.with_name(f".{folder.name}.old-{os.getpid()}"))
    again = loading.tiny_gpt2_folder()
    assert again == folder and (folder / "marker").read_text() == "made once"  # recovered, not made again
    assert [p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}")] == []
