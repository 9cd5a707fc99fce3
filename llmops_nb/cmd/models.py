"""Model commands: prompt (register / list / show), finetune, generate. (`models` itself lives in core.)"""
from __future__ import annotations

import sys

from ..commands import arg, command
from ..errors import InputError

_RESERVED = ("list", "show")


@command("prompt", "register a prompt template (%%llmops prompt NAME); prompt list; prompt show NAME[@vN]",
         arg("name", metavar="NAME|list|show", help="the prompt's name, or 'list', or 'show'"),
         arg("ref", nargs="?", metavar="REF", help="with 'show': NAME or NAME@vN"),
         arg("--file", metavar="PATH", help="read the template from a file ('-' for stdin) instead of a cell"),
         cell="the Jinja2 template ({{ question }}, {{ context }}, {% for ex in examples %}...)",
         epilog="examples:\n"
                "  %%llmops prompt qa          (cell: Answer briefly.\\nQuestion: {{ question }})\n"
                "  llmops prompt qa --file qa.j2\n"
                "  llmops prompt list\n"
                "  llmops prompt show qa@v1\n"
                "Registering identical text again returns the existing version; NAME without a template shows "
                "its latest version. Trailing newlines of the cell or file are dropped.")
def _prompt(ns, ctx):
    from ..models import prompts as P

    if ns.name in _RESERVED and ctx.cell is None and ns.file is None:
        if ns.name == "list":
            if ns.ref is not None:
                raise InputError(f"'prompt list' takes no argument (got '{ns.ref}'); use 'prompt show {ns.ref}'")
            return P.prompts()
        if ns.ref is None:
            raise InputError("'prompt show' needs a prompt: prompt show NAME or NAME@vN")
        return P.prompt(ns.ref)
    if ns.ref is not None:
        raise InputError(f"unexpected argument '{ns.ref}' for 'prompt {ns.name}'; did you mean 'prompt show {ns.ref}'?")
    if ns.name in _RESERVED:
        raise InputError(f"'{ns.name}' is reserved by 'prompt {ns.name}'; choose another prompt name")
    template = ctx.cell
    if ns.file is not None:
        if template is not None:
            raise InputError("give the template either as the cell or with --file, not both")
        template = _read(ns.file)
    if template is None:
        return P.prompt(ns.name)
    # a cell or file ends with a newline the user did not mean as part of the prompt
    return P.register_prompt(ns.name, template.rstrip("\n"))


def _read(path: str) -> str:
    """The template text of a file ('-': standard input), UTF-8 with universal newlines as text files are read."""
    where = "standard input" if path == "-" else f"template file {path}"
    try:
        if path == "-":
            raw = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode("utf-8")
        else:
            with open(path, "rb") as fh:
                raw = fh.read()
    except OSError as exc:
        raise InputError(f"cannot read {where}: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{where} is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
                         "re-encode it as UTF-8 (e.g. iconv -f latin1 -t utf-8)") from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


@command("finetune", "fine-tune a model (LoRA or full) on a dataset and register it under a name",
         arg("base", metavar="BASE", help="base model (e.g. smollm2-135m-instruct)"),
         arg("--data", required=True, metavar="N", help="dataset name or NAME@vN (prompt/response pairs or text)"),
         arg("--method", default="lora", choices=["lora", "full"], help="lora (default) or full"),
         arg("--epochs", type=float, default=1, metavar="E", help="passes over the training split (default 1)"),
         arg("--lr", type=float, default=None, help="learning rate (default 2e-4 lora, 5e-5 full)"),
         arg("--max-steps", type=int, default=None, metavar="S", help="optimizer steps (replaces --epochs)"),
         arg("--max-length", type=int, default=256, metavar="T", help="tokens per example (default 256)"),
         arg("--batch-size", type=int, default=8, metavar="B", help="examples per step (default 8)"),
         arg("--eval-split", type=float, default=0.1, metavar="F", help="held-out share for eval loss (default 0.1)"),
         arg("--lora-r", type=int, default=8, metavar="R", help="LoRA rank (default 8)"),
         arg("--lora-alpha", type=int, default=16, metavar="A", help="LoRA alpha (default 16)"),
         arg("--seed", type=int, default=0),
         arg("--device", default="auto", choices=["auto", "cpu", "cuda"]),
         arg("--template", metavar="REF", help="render each prompt through this prompt template first "
                                               "(e.g. zero-shot@builtin), as compare will"),
         arg("--as", dest="name", metavar="NAME", help="name to register the model under"),
         arg("--restart", action="store_true", help="ignore a checkpoint of the same name and start over"),
         epilog="Running the same command again resumes from the last checkpoint (or returns the finished model).\n"
                "example: llmops finetune smollm2-135m-instruct --data pydoc-train --max-steps 50 --as smol-pydoc")
def _finetune(ns, ctx):
    from ..models.finetune import finetune

    return finetune(ns.base, ns.data, method=ns.method, epochs=ns.epochs, lr=ns.lr, max_steps=ns.max_steps,
                    max_length=ns.max_length, batch_size=ns.batch_size, eval_split=ns.eval_split, lora_r=ns.lora_r,
                    lora_alpha=ns.lora_alpha, seed=ns.seed, device=ns.device, name=ns.name, template=ns.template,
                    resume=not ns.restart, progress=not ctx.quiet)


@command("generate", "generate completions for one or more prompts (batched, cached)",
         arg("model", metavar="MODEL", help="built-in, fine-tuned or local model"),
         arg("prompts", nargs="+", metavar="PROMPT", help="prompt text (quote it); several are batched"),
         arg("--max-new-tokens", type=int, default=64, metavar="N", help="default 64"),
         arg("--temperature", type=float, default=0.0, metavar="T", help="0 = greedy (default)"),
         arg("--seed", type=int, default=0),
         arg("--raw", action="store_true", help="send the text as is, without the model's chat template"),
         arg("--no-cache", action="store_true", help="regenerate instead of reading the response cache"),
         epilog='example: llmops generate smollm2-135m-instruct "What does the pass statement do?"')
def _generate(ns, ctx):
    from ..models.generation import generate

    return generate(ns.model, ns.prompts, max_new_tokens=ns.max_new_tokens, temperature=ns.temperature,
                    seed=ns.seed, cache=not ns.no_cache, chat=not ns.raw, progress=not ctx.quiet)
