"""Workspace and tracking commands: help, workspace, runs, run show, models. Each handler reads the parsed
args, calls one core function and returns its result; the other areas have their own modules in cmd/."""
from __future__ import annotations

from ..commands import HelpText, arg, command, group, help_text
from ..tracking.runs import STATUSES  # the package root imports tracking already: no cost to `llmops --help`

group("run", "show one run")


@command("help", "usage of every command, or of one", arg("topic", nargs="*", metavar="COMMAND"))
def _help(ns, ctx):
    return HelpText(help_text(ctx.face, ns.topic))


@command("workspace", "show the workspace, or switch to PATH (created if missing)", arg("path", nargs="?"))
def _workspace(ns, ctx):
    from ..workspace import workspace

    return workspace(ns.path)


@command("runs", "list runs, newest first", arg("--last", type=int, metavar="N", help="only the N newest"),
         arg("--name", help="only runs with this name"), arg("--status", choices=STATUSES, help="only runs with this status"),
         arg("--kind", help="only runs of this kind (load, curate, review, index, compare, finetune, notebook, sweep, "
                            "run)"))
def _runs(ns, ctx):
    from ..tracking import runs

    return runs(ns.last, name=ns.name, status=ns.status, kind=ns.kind)


@command("traces", "logged generations and traced calls, newest first",
         arg("--model", metavar="M", help="only this model's calls"),
         arg("--since", metavar="T", help="from T: epoch seconds, an ISO date/time or a span ago like 7d, 2h, 30m"),
         arg("--until", metavar="T", help="before T (same forms as --since)"),
         arg("--tag", action="append", metavar="K=V", help="only calls tagged K=V (repeatable: all must match)"),
         arg("--run", metavar="ID", help="only calls logged inside this run"),
         arg("--last", type=int, default=50, metavar="N", help="the N newest (default 50)"),
         arg("--offset", type=int, default=0, metavar="K", help="skip the K newest first (paging)"))
def _traces(ns, ctx):
    from ..tracking import traces

    return traces(model=ns.model, since=ns.since, until=ns.until, tags=ns.tag, run=ns.run, limit=ns.last,
                  offset=ns.offset)


@command("run show", "show one run: params, metrics, records, artifacts, environment",
         arg("id", help="run id or a unique prefix of it"))
def _run_show(ns, ctx):
    from ..tracking import get_run

    return get_run(ns.id)


@command("models", "list known models (built-in and fine-tuned) and whether they are installed")
def _models(ns, ctx):
    from ..models.registry import models

    return models()
