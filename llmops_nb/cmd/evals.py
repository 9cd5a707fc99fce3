"""compare."""
from __future__ import annotations

from ..commands import arg, command


@command("compare", "run prompt, RAG and fine-tuned variants on one eval set, side by side with CIs",
         arg("--eval", dest="eval_set", default="pydoc-qa",
             help="eval set: pydoc-qa (shipped), a dataset name, or a .jsonl path"),
         arg("--variant", dest="variants", action="append", default=[], metavar="SPEC", required=True,
             help="zero-shot:MODEL, few-shot:MODEL:K, rag:MODEL:INDEX:K, prompt:MODEL:PROMPT@vN, ft:MODEL[+rag:INDEX:K]"),
         arg("--metric", dest="metrics", action="append", default=None, metavar="M",
             help="exact_match, token_f1, rouge_l, semantic, groundedness, hallucination, context_hit, length, "
                  "latency_s, tokens (default all)"),
         arg("--baseline", default=None, help="variant the others are tested against (default the first)"),
         arg("--limit", type=int, default=None, help="only the first N examples"),
         arg("--max-new-tokens", type=int, default=64),
         arg("--question-field", default=None), arg("--reference-field", default=None),
         arg("--no-cache", action="store_true", help="regenerate even when a cached response exists"),
         arg("--seed", type=int, default=0),
         arg("--workers", type=int, default=None,
             help="generate on a Dask LocalCluster of N processes, examples sharded over them (answers as local)"),
         arg("--scheduler", default=None, metavar="ADDR", help="generate on an existing Dask cluster, e.g. tcp://host:8786"),
         epilog="example: llmops compare --variant zero-shot:smollm2-135m-instruct --variant rag:smollm2-135m-instruct:pydoc:4")
def _compare(ns, ctx):
    from ..evals.compare import compare

    return compare(ns.eval_set, ns.variants, ns.metrics, baseline=ns.baseline, limit=ns.limit,
                   max_new_tokens=ns.max_new_tokens, question_field=ns.question_field,
                   reference_field=ns.reference_field, cache=not ns.no_cache, seed=ns.seed, progress=not ctx.quiet,
                   workers=ns.workers, scheduler=ns.scheduler)
