"""The monitor command: drift and operational figures of the generation log (llmops_nb/monitor)."""
from __future__ import annotations

from ..commands import arg, command, group


@command("monitor", "drift of prompts and outputs, latency, errors: the current window against a reference",
         arg("--model", metavar="M", help="only this model's calls (default: all)"),
         arg("--since", metavar="T", help="current window from T: epoch seconds, ISO date/time or a span ago like 7d; "
                                          "default: the newest run (against the run before it), else the last 24h"),
         arg("--until", metavar="T", help="current window before T (same forms as --since)"),
         arg("--reference", metavar="REF", help="a run id, a dataset NAME[@vN], a span like 7d (just before the "
                                                "current window) or START..END; default: the window of equal "
                                                "length before --since"),
         arg("--tag", action="append", metavar="K=V", help="only calls tagged K=V (repeatable: all must match)"),
         arg("--sample", type=int, default=200, metavar="N",
             help="current items tested for drift (the reference gets 2N; default 200)"),
         arg("--alpha", type=float, default=0.01, metavar="P", help="flag drift when p <= P (default 0.01)"),
         arg("--models", action="store_true", help="list logged models with their last verdict instead"))
def _monitor(ns, ctx):
    from ..monitoring import monitor, monitored_models

    if ns.models:
        return monitored_models()
    return monitor(model=ns.model, since=ns.since, until=ns.until, reference=ns.reference,
                   tags=ns.tag, sample=ns.sample, alpha=ns.alpha)


group("trace", "show one logged call")


@command("trace show", "one logged call in full: prompt, retrieved passages with scores, output, timing",
         arg("id", type=int, help="the call's id (traces lists them)"))
def _trace_show(ns, ctx):
    from ..monitoring.traceview import trace_view

    return trace_view(ns.id)
