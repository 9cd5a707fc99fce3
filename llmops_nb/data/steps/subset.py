"""`filter` (a predicate or a filter expression) and `sample` (a seeded subset); `split_records` for train/eval
splits."""
from __future__ import annotations

from typing import Any, Callable, Iterable, Iterator, List, Optional, Union

import numpy as np

from ...errors import InputError
from ...filters import Filter, filter_mask, parse_filter
from . import StepContext, step

_FILTER_BATCH = 4096
DERIVED = {"n_words": lambda t: len(t.split()), "n_chars": len}
_COLUMNS_LABEL = "columns"  # filter errors end with "columns: id, text, ..., n_words, n_chars"


def _frame(batch: List[dict]):
    import pandas as pd

    df = pd.DataFrame(batch)
    texts = df["text"].astype(str)
    df["n_words"] = texts.str.split().str.len()
    df["n_chars"] = texts.str.len()
    return df


def query_mask(batch: List[dict], expr: str) -> np.ndarray:
    """Boolean mask of `expr` over a batch of records: a filter in the language of `llmops_nb.filters` (parsed,
    never run as Python) over the records' fields plus `n_words` and `n_chars`."""
    return filter_mask(expr, _frame(batch), label=_COLUMNS_LABEL)


def _check_filter(params: dict, columns: Optional[List[str]]) -> None:
    """A filter expression is parsed when the curation is planned, so one that does not parse fails before any
    step reads a record (not after the multipass steps before it); its error lists the input's columns when they
    are known. Whether the columns it names exist is checked at the first record the filter reads (a step before
    it may add columns)."""
    expr = params.get("expr")
    if isinstance(expr, Filter):
        expr = params["expr"] = expr.text
    if callable(expr):
        return
    if not isinstance(expr, str) or not expr.strip():
        raise InputError("filter needs a filter expression or a callable, e.g. filter:'n_words > 20'")
    known = None if columns is None else [*columns, *(c for c in DERIVED if c not in columns)]
    parse_filter(expr, columns=known, label=_COLUMNS_LABEL)


@step("filter", primary="expr", validate=_check_filter)
def filter_records(records: Iterable[dict], ctx: StepContext, *, expr: Union[str, Filter, Callable[[dict], Any]],
                   reason: str = "filter") -> Iterator[dict]:
    """Keep records for which `expr` holds: a callable `record -> bool`, or a filter over the record's fields
    plus `n_words` and `n_chars`, e.g. "n_words >= 20 and lang in ['en', 'fr'] and not draft" (the language of
    `llmops_nb.filters`: comparisons, in / not in [...], and / or / not, parentheses). A filter outside the
    language, or naming an unknown field, is one InputError listing the columns."""
    if isinstance(expr, Filter):
        expr = expr.text
    if callable(expr):
        label = getattr(expr, "__name__", "predicate")
        for rec in records:
            if expr(rec):
                yield rec
            else:
                ctx.remove(rec, reason, predicate=label)
        return
    if not isinstance(expr, str) or not expr.strip():
        raise InputError("filter needs a filter expression or a callable, e.g. filter:'n_words > 20'")
    batch: List[dict] = []
    checked = False

    def flush():
        mask = query_mask(batch, expr)
        for rec, ok in zip(batch, mask):
            if ok:
                yield rec
            else:
                ctx.remove(rec, reason, query=expr)
        batch.clear()

    for rec in records:
        if not checked:  # an unknown column fails at the first record, not after a batch
            parse_filter(expr, columns=[*rec, *(c for c in DERIVED if c not in rec)], label=_COLUMNS_LABEL)
            checked = True
        batch.append(rec)
        if len(batch) >= _FILTER_BATCH:
            yield from flush()
    if batch:
        yield from flush()


def _count(records) -> int:
    if hasattr(records, "__len__"):
        return len(records)
    return sum(1 for _ in records)


@step("sample", multipass=True, primary="n", limits={"n": "[0, inf)", "fraction": "[0, 1]"})
def sample(records: Iterable[dict], ctx: StepContext, *, n: Optional[int] = None, fraction: Optional[float] = None,
           seed: int = 0) -> Iterator[dict]:
    """Keep a seeded random subset of `n` records (or `fraction` of them), in their original order."""
    if (n is None) == (fraction is None):
        raise InputError("sample needs exactly one of n (a count) or fraction (0-1)")
    total = _count(records)
    k = int(n) if n is not None else int(round(float(fraction) * total))
    if k < 0 or (fraction is not None and not 0 <= float(fraction) <= 1):
        raise InputError(f"sample size must be >= 0 and fraction in [0, 1] (got n={n}, fraction={fraction})")
    chosen = set(np.random.default_rng(seed).choice(total, size=min(k, total), replace=False).tolist())
    ctx.metrics.update(sampled=len(chosen), of=total)
    for i, rec in enumerate(records):
        if i in chosen:
            yield rec
        else:
            ctx.remove(rec, "not_sampled", seed=seed)


def split_assignment(n: int, *, eval_fraction: Optional[float] = 0.1, eval_size: Optional[int] = None,
                     seed: int = 0) -> np.ndarray:
    """Boolean mask of length n: True for the eval side. Exactly round(n * eval_fraction) (or eval_size)
    records, chosen by a seeded permutation, so the same seed gives the same split."""
    if eval_size is None:
        if eval_fraction is None or not 0 < float(eval_fraction) < 1:
            raise InputError(f"eval_fraction must be between 0 and 1 (got {eval_fraction}); or give eval_size")
        eval_size = max(1, int(round(n * float(eval_fraction))))
    if not 0 < eval_size < n:
        raise InputError(f"cannot split {n} records into train and eval with eval size {eval_size}; "
                         "both sides need at least one record")
    mask = np.zeros(n, dtype=bool)
    mask[np.random.default_rng(seed).permutation(n)[:eval_size]] = True
    return mask
