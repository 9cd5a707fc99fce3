"""Data commands: `data load|list|show|revert`, `curate`, `review`. Each handler calls one core function."""
from __future__ import annotations

from ..commands import arg, command, group

group("data", "load, list and show dataset snapshots")


@command("data load", "load a file (JSONL/CSV/Parquet/JSON/TXT) or 'pydoc' as a new dataset snapshot",
         arg("source", help="file path, or 'pydoc' for Python's reference topics"),
         arg("--name", help="dataset name (default: the file name); an existing name gets a new version"),
         arg("--text-field", metavar="F", help="field holding the text (default: text/content/body/... if present)"),
         arg("--id-field", metavar="F", help="field holding a stable record id (default: 'id' if present, else a hash)"),
         arg("--format", choices=["jsonl", "json", "csv", "tsv", "parquet", "txt"], help="default: from the extension"),
         arg("--on-error", "--errors", dest="on_error", choices=["stop", "skip"], default="stop",
             help="malformed lines or rows: stop with the file and line (default) or skip and count them"))
def _data_load(ns, ctx):
    from ..data.datasets import load_dataset

    return load_dataset(ns.source, ns.name, text_field=ns.text_field, id_field=ns.id_field, format=ns.format,
                        on_error=ns.on_error)


@command("data list", "list datasets (their current versions)", arg("--all", action="store_true", help="every version"))
def _data_list(ns, ctx):
    from ..data.datasets import datasets

    return datasets(all_versions=ns.all)


@command("data show", "show a dataset snapshot: records, lineage", arg("ref", metavar="NAME[@VERSION]"))
def _data_show(ns, ctx):
    from ..data.datasets import dataset

    return dataset(ns.ref)


@command("data revert", "restore records a curation or review removed, as a new snapshot",
         arg("ref", metavar="NAME[@VERSION]"), arg("ids", nargs="+", metavar="ID", help="record ids to restore"),
         arg("--as", dest="name", metavar="NEW", help="name of the new snapshot (default: same name, new version)"))
def _data_revert(ns, ctx):
    from ..data.curation import revert

    return revert(ns.ref, ns.ids, name=ns.name)


@command("curate", "curate a dataset into a new snapshot: dedup, quality, PII, selection; every removal is kept",
         arg("ref", metavar="NAME[@VERSION]"),
         arg("--steps", nargs="+", metavar="STEP",
             help="steps in order (default: normalize exact_dedup near_dedup quality pii); parameters as "
                  "STEP:KEY=VALUE[,KEY=VALUE] or STEP:VALUE, e.g. near_dedup:threshold=0.85 pii:drop select:200 "
                  "'filter:n_words > 20 and lang in [\"en\", \"fr\"]' (a filter is a small language, never run as "
                  "code: fields plus n_words/n_chars compared by == != < <= > >=, in [...], not in [...], joined by "
                  "and/or/not and parentheses)"),
         arg("--near-threshold", type=float, metavar="T", help="near-duplicate Jaccard threshold (default 0.8)"),
         arg("--pii", choices=["redact", "drop", "flag", "off"], help="PII handling (default redact)"),
         arg("--select", type=int, metavar="N", help="keep the N records that best cover the dataset (embeddings)"),
         arg("--split", type=float, metavar="F", help="also write NAME-train / NAME-eval with fraction F for eval"),
         arg("--seed", type=int, default=0, help="seed for sampling, selection and splits (default 0)"),
         arg("--as", dest="name", metavar="NEW", help="name of the result (default: same name, new version)"),
         epilog="steps: normalize, exact_dedup, near_dedup, semantic_dedup, quality, pii, select, filter, sample")
def _curate(ns, ctx):
    from ..data.curation import curate

    return curate(ns.ref, ns.steps, near_threshold=ns.near_threshold, pii=ns.pii, select=ns.select, split=ns.split,
                  seed=ns.seed, name=ns.name, progress=not ctx.quiet)


@command("review", "review a dataset by hand: accept / reject / edit records, then commit (a widget in notebooks)",
         arg("ref", metavar="NAME[@VERSION]"), arg("--page-size", type=int, default=10, help="records per page"))
def _review(ns, ctx):
    from ..display import widget

    return widget("review", ns.ref, page_size=ns.page_size)
