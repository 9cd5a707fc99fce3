"""The one command tree shared by the CLI (`llmops ...`) and the magic (`%llmops ...`).

Each command is registered once with its arguments and a handler that calls one core function and
returns a result object. Faces add only their own options: the CLI `--json`/`--quiet`, the magic `-o NAME`.
Core modules are imported inside handlers so `llmops --help` stays fast.
"""
from __future__ import annotations

import argparse
import difflib
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from .errors import InputError

PROG = {"cli": "llmops", "magic": "%llmops"}


class HelpRequested(Exception):
    """Raised instead of printing and exiting, so each face shows help its own way."""

    def __init__(self, text: str):
        super().__init__(text)
        self.text = text


@dataclass
class Context:
    face: str  # "cli" or "magic"
    cell: Optional[str] = None  # body of a %%llmops cell
    quiet: bool = False


@dataclass
class Command:
    path: Tuple[str, ...]
    handler: Callable[[argparse.Namespace, Context], Any]
    help: str
    args: List[Tuple[tuple, dict]] = field(default_factory=list)
    cell: Optional[str] = None  # what a %%llmops cell body means for this command, if it takes one
    epilog: str = ""

    @property
    def name(self) -> str:
        return " ".join(self.path)


COMMANDS: Dict[Tuple[str, ...], Command] = {}
GROUP_HELP: Dict[str, str] = {}


def arg(*flags, **kwargs) -> Tuple[tuple, dict]:
    return flags, kwargs


def command(name: str, help: str, *args: Tuple[tuple, dict], cell: Optional[str] = None, epilog: str = ""):
    """Register a command: `@command("run show", "show one run", arg("id"))`."""

    def deco(fn):
        path = tuple(name.split())
        COMMANDS[path] = Command(path, fn, help, list(args), cell, epilog)
        return fn

    return deco


def group(name: str, help: str) -> None:
    GROUP_HELP[name] = help


# --------------------------------------------------------------------------------------------
# argparse that raises instead of exiting, with did-you-mean messages
class Parser(argparse.ArgumentParser):
    def error(self, message: str):
        raise InputError(self._friendly(message))

    def exit(self, status=0, message=None):
        if message:
            raise InputError(message.strip())
        raise HelpRequested(self.format_help())

    def print_help(self, file=None):
        raise HelpRequested(self.format_help())

    def _friendly(self, message: str) -> str:
        where = self.prog
        if "invalid choice:" in message:
            bad = message.split("invalid choice:", 1)[1].split("(")[0].strip().strip("'\"")
            option = message.split(":", 1)[0].replace("argument", "", 1).strip()
            if option.startswith("-"):  # a bad value for an option with choices, not a subcommand
                allowed = message.split("(choose from", 1)[-1].rstrip(")").strip()
                return f"invalid value '{bad}' for {option.split('/')[-1]} in '{where}'; choose from {allowed}"
            choices = self._subcommand_names()
            return (f"unknown command '{bad}' for '{where}'" + _suggest(bad, choices) +
                    f"; see '{where} --help'")
        if message.startswith("unrecognized arguments:"):
            bad = message.split(":", 1)[1].split()
            opts = [o for o in self._option_string_actions if o.startswith("--")]
            first = bad[0]
            if first.startswith("-"):
                return f"unknown option '{first}' for '{where}'" + _suggest(first.split("=")[0], opts) + \
                    f"; see '{where} --help'"
            return f"unexpected argument '{first}' for '{where}'; see '{where} --help'"
        return f"{where}: {message}; see '{where} --help'"

    def _subcommand_names(self) -> List[str]:
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                return list(action.choices)
        return []


def _suggest(bad: str, choices: Sequence[str]) -> str:
    hits = difflib.get_close_matches(bad, list(choices), n=1, cutoff=0.5)
    return f" (did you mean '{hits[0]}'?)" if hits else ""


def _face_options(p: argparse.ArgumentParser, face: str) -> None:
    if face == "cli":
        p.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="print JSON instead of text")
    else:
        p.add_argument("-o", dest="output_var", metavar="NAME", default=argparse.SUPPRESS,
                       help="store the result in the notebook variable NAME")
    p.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress bars")


_parsers: Dict[str, Parser] = {}
_leaves: Dict[Tuple[str, Tuple[str, ...]], Parser] = {}


def build_parser(face: str) -> Parser:
    """The parser tree for a face, built once per process."""
    if face in _parsers:
        return _parsers[face]
    _load_commands()
    prog = PROG[face]
    root = Parser(prog=prog, description="Notebook-native LLMOps: curate, index, compare, track, re-run.",
                  formatter_class=argparse.RawDescriptionHelpFormatter, add_help=True)
    if face == "cli":
        root.add_argument("-w", "--workspace", dest="workspace_path", metavar="PATH", default=None,
                          help="workspace folder (default: $LLMOPS_HOME or ./.llmops)")
        _face_options(root, face)
    subs: Dict[Tuple[str, ...], Any] = {(): root.add_subparsers(dest="cmd0", metavar="COMMAND", parser_class=Parser)}
    groups: Dict[Tuple[str, ...], Parser] = {}
    for path in sorted(COMMANDS, key=lambda p: (len(p), p)):
        cmd = COMMANDS[path]
        for depth in range(1, len(path)):
            gpath = path[:depth]
            if gpath not in groups:
                gp = subs[gpath[:-1]].add_parser(gpath[-1], help=GROUP_HELP.get(" ".join(gpath), ""),
                                                 prog=f"{prog} {' '.join(gpath)}")
                groups[gpath] = gp
                subs[gpath] = gp.add_subparsers(dest=f"cmd{depth}", metavar="SUBCOMMAND", parser_class=Parser)
        p = subs[path[:-1]].add_parser(path[-1], help=cmd.help, description=cmd.help, epilog=cmd.epilog or None,
                                       prog=f"{prog} {cmd.name}",
                                       formatter_class=argparse.RawDescriptionHelpFormatter)
        for flags, kwargs in cmd.args:
            p.add_argument(*flags, **kwargs)
        _face_options(p, face)
        p.set_defaults(_command=cmd)
        _leaves[(face, path)] = p
    _parsers[face] = root
    return root


def parse(argv: Sequence[str], face: str) -> Tuple[Command, argparse.Namespace]:
    parser = build_parser(face)
    if not argv:
        raise HelpRequested(help_text(face))
    ns, extras = parser.parse_known_args(list(argv))
    cmd = getattr(ns, "_command", None)
    if extras:  # report against the command's own parser, so did-you-mean knows its options
        leaf = _leaves.get((face, cmd.path)) if cmd is not None else parser
        leaf.error("unrecognized arguments: " + " ".join(extras))
    if cmd is None:  # a group without its subcommand, e.g. `llmops data`
        words = [getattr(ns, f"cmd{i}") for i in range(4) if getattr(ns, f"cmd{i}", None)]
        raise HelpRequested(_group_help(words, face))
    return cmd, ns


def execute(cmd: Command, ns: argparse.Namespace, ctx: Context) -> Any:
    if ctx.cell is not None and cmd.cell is None:
        raise InputError(f"'{cmd.name}' does not take a cell body; use the line magic %llmops {cmd.name}")
    return cmd.handler(ns, ctx)


def help_text(face: str, topic: Sequence[str] = ()) -> str:
    _load_commands()
    prog = PROG[face]
    if topic:
        path = tuple(topic)
        if path in COMMANDS:
            sub = build_parser(face)
            for word in path:
                sub = _child(sub, word)
            return sub.format_help()
        if any(p[: len(path)] == path for p in COMMANDS):
            return _group_help(list(path), face)
        names = [c.name for c in COMMANDS.values()]
        raise InputError(f"unknown command '{' '.join(topic)}'" + _suggest(" ".join(topic), names) +
                         f"; see '{prog} help'")
    lines = [f"usage: {prog} COMMAND [ARGS] [--help]", "", "commands:"]
    width = max(len(c.name) for c in COMMANDS.values()) + 2
    for cmd in sorted(COMMANDS.values(), key=lambda c: c.path):
        lines.append(f"  {cmd.name.ljust(width)}{cmd.help}")
    lines += ["", f"'{prog} COMMAND --help' shows a command's options."]
    if face == "magic":
        lines.append("Line magics interpolate {var} from the notebook; -o NAME stores the result.")
    else:
        lines.append("--json prints machine-readable output; exit codes: 0 ok, 1 failure, 2 usage error.")
    return "\n".join(lines)


def _group_help(words: List[str], face: str) -> str:
    prog = PROG[face]
    path = tuple(words)
    lines = [f"usage: {prog} {' '.join(words)} SUBCOMMAND [ARGS]", "", GROUP_HELP.get(" ".join(words), ""), ""]
    for cmd in sorted(COMMANDS.values(), key=lambda c: c.path):
        if cmd.path[: len(path)] == path:
            lines.append(f"  {cmd.name.ljust(20)}{cmd.help}")
    return "\n".join(lines)


def _child(parser: argparse.ArgumentParser, word: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action.choices[word]
    raise KeyError(word)


class HelpText(str):
    """Help output: a str that also displays nicely in a notebook."""

    def to_dict(self) -> dict:
        return {"help": str(self)}

    def _repr_pretty_(self, p, cycle):
        p.text(str(self))


_loaded = False


def _load_commands() -> None:
    global _loaded
    if not _loaded:
        _loaded = True
        import importlib
        import pkgutil

        from . import cmd

        for info in sorted(pkgutil.iter_modules(cmd.__path__), key=lambda i: (i.name != "core", i.name)):
            importlib.import_module(f"{cmd.__name__}.{info.name}")


__all__ = ["COMMANDS", "Command", "Context", "HelpRequested", "HelpText", "arg", "build_parser", "command",
           "execute", "group", "help_text", "parse"]
