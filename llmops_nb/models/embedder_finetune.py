"""Fine-tuning an embedder on in-domain (query, positive) pairs and registering it under a name.

`finetune_embedder(base, pairs, name=...)` trains a sentence-transformers model (MiniLM by default) with the
MultipleNegativesRankingLoss: each query must score its own positive above every other positive of its batch
(in-batch negatives), so no negatives need labelling. Batches never hold the same positive (or query) twice,
which would count a right answer as a wrong one. The loop runs on plain transformers for a Transformer + Pooling
folder (MiniLM), the loss computed as sentence-transformers defines it, so training does not wait seconds for
sentence-transformers to import; other layouts train through a SentenceTransformer.

The run is tracked like a LoRA fine-tune (kind "finetune", method "embedding"); the model is saved as a
sentence-transformers folder in the workspace's models/ and registered, so `load_embedder(name)`,
`build_index(..., model=name)` and `models()` know it. Its embeddings are cached under the content hash of its
weights, so a model trained again under the same name never reuses vectors of the old weights; replacing a
registered name takes overwrite=True, since indexes built with the old weights must then be rebuilt.
"""
from __future__ import annotations

import hashlib
import json
import math
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..checks import whole_number
from ..config import progress_disabled
from ..errors import InputError
from ..tracking.runs import start_run
from ..workspace import atomic_dir, check_name, workspace
from .identity import folder_fingerprint
from .loading import Embedder, embedder_folder, open_embedder, resolve_device
from .registered import EMBEDDING, FineTunedModel, from_row, refuse_other_kind, registered_model, registered_row
from .registration import save_registration
from .registry import BUILTINS
from .runtime import forget, quiet_transformers, quiet_warnings
from .training_data import resolve_dataset

MIN_PAIRS = 20
PAIR_FIELDS = (("query", "positive"), ("query", "passage"), ("question", "passage"), ("question", "positive"),
               ("anchor", "positive"))
MNRL_SCALE = 20.0  # sentence-transformers' default: cosine similarities x 20 as logits
TRAIN_VERSION = 1  # bump when the loop changes what the same call would train


@dataclass(frozen=True)
class EmbedderTrainConfig:
    epochs: float
    batch_size: int
    lr: float
    seed: int
    warmup: float


@dataclass(frozen=True)
class Pairs:
    queries: List[str]
    positives: List[str]
    negatives: List[Optional[str]]  # a hard negative per pair (field "negative"), or None
    groups: List[Optional[str]]  # pairs of one group (field "group", e.g. the source document) share no batch
    fields: Tuple[str, str]
    ref: str
    snapshot: Optional[str]
    digest: str


def finetune_embedder(base: Any = "all-minilm-l6-v2", pairs: Any = None, *, name: str, epochs: float = 1,
                      batch_size: int = 32, lr: float = 2e-5, seed: int = 0, warmup: float = 0.1,
                      device: str = "auto", overwrite: bool = False, progress: bool = True) -> FineTunedModel:
    """Fine-tune the embedder `base` on `pairs` and register it as `name` (kind "embedding").

    pairs: a dataset name/ref, Dataset, DataFrame, list of dicts or .jsonl path whose rows hold a query and the
    passage it should find (fields query/positive, query/passage, question/passage, question/positive or
    anchor/positive); at least 20 distinct pairs. A row may add a hard `negative` (a passage that looks right
    but is not) and a `group` (e.g. its source document: pairs of one group are kept out of each other's batches,
    where their passages would count as wrong answers). The same call again returns the registered model without
    training; another training under a registered name needs overwrite=True. Every option is checked before
    anything loads.
    """
    name = _check_name(name)
    config = _check_config(epochs, batch_size, lr, seed, warmup)
    base = base.name if isinstance(base, (Embedder, FineTunedModel)) else str(base)
    data = read_pairs(pairs)
    dev, _ = resolve_device(device)
    folder, base_version = embedder_folder(base)  # refuses chat models and unknown names
    chash = _config_hash(base, folder_fingerprint(folder), data, config, dev)
    existing = registered_row(name)
    refuse_other_kind(existing, embedder=True)  # a language-model fine-tune keeps its name
    if existing is not None:
        if json.loads(existing["params"]).get("config_hash") == chash and (workspace().path / existing["path"]).exists():
            return from_row(existing)
        if not overwrite:
            raise InputError(f"'{name}' is already registered as a fine-tuned embedder trained with other settings or "
                             "data; pass overwrite=True (--overwrite) to replace it (indexes built with it must be "
                             "rebuilt), or choose another name")
    workspace().require_writable()  # before any training: the model could not be registered
    params = {"base": base, "method": EMBEDDING, "data": data.ref, "snapshot": data.snapshot, "pairs": len(data.queries),
              "fields": list(data.fields), "hard_negatives": sum(n is not None for n in data.negatives),
              "groups": len({g for g in data.groups if g is not None}), **asdict(config), "loss": "MultipleNegativesRankingLoss",
              "scale": MNRL_SCALE, "device": dev.split(":")[0], "name": name}
    with start_run(f"finetune-embedder {name}", params=params, kind="finetune", seed=config.seed) as run:
        quiet_transformers()
        with quiet_warnings():
            emb = open_embedder(base, folder, dev)  # a private copy: the shared one keeps the base weights
        metrics = _train(emb, data, config, run, name, progress and not progress_disabled())
        target = workspace().dir("models") / name / "embedder"
        with atomic_dir(target) as tmp:
            emb.save(tmp, like=folder)
        _register(run, name=name, base=base, data=data, folder=target, metrics=metrics,
                  params={**params, "config_hash": chash, "base_version": base_version})
    forget(lambda key: key[:2] == ("emb", name))  # this process's copy holds the old weights
    return registered_model(name)


def _check_name(name: Any) -> str:
    name = check_name("model", name)
    if name in BUILTINS:
        raise InputError(f"'{name}' is a built-in model's name; register the fine-tuned embedder under another name")
    return name


def _check_config(epochs: Any, batch_size: Any, lr: Any, seed: Any, warmup: Any) -> EmbedderTrainConfig:
    def number(what: str, value: Any, low: float, high: float, hint: str) -> float:
        try:
            x = float(value)
        except (TypeError, ValueError):
            x = float("nan")
        if isinstance(value, bool) or not math.isfinite(x) or not low <= x <= high:
            raise InputError(f"{what} must be a number {hint} (got {value!r})")
        return x

    epochs = number("epochs", epochs, 1e-9, 1000, "above 0 and at most 1000")
    lr = number("lr", lr, 1e-12, 1.0, "above 0 and at most 1, e.g. 2e-5")
    warmup = number("warmup", warmup, 0.0, 1.0, "from 0 to 1 (the share of steps the learning rate ramps up)")
    batch_size = whole_number("batch_size", batch_size, minimum=2, maximum=4096)  # in-batch negatives need 2+
    seed = whole_number("seed", seed, minimum=0)
    return EmbedderTrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, warmup=warmup)


def read_pairs(pairs: Any) -> Pairs:
    """The distinct (query, positive) pairs of a dataset-like value; fewer than MIN_PAIRS is refused with why."""
    if pairs is None:
        raise InputError("give the training pairs: pairs=DATASET (--pairs N) with query/positive fields, e.g. "
                         "llmops_nb.data.eval.retrieval_pairs.pydoc_retrieval_pairs()")
    records, ref, snapshot = resolve_dataset(pairs)
    fields = _pair_fields(records)
    seen: Dict[Tuple[str, str], Tuple[Optional[str], Optional[str]]] = {}
    skipped = 0
    for r in records:
        q, p = r.get(fields[0]), r.get(fields[1])
        if isinstance(q, str) and isinstance(p, str) and q.strip() and p.strip():
            neg, group = r.get("negative"), r.get("group")
            neg = neg.strip() if isinstance(neg, str) and neg.strip() and neg.strip() != p.strip() else None
            seen.setdefault((q.strip(), p.strip()), (neg, None if group is None else str(group)))
        else:
            skipped += 1
    if len(seen) < MIN_PAIRS:
        extra = f"; {skipped} rows lack a {fields[0]} or {fields[1]}" if skipped else ""
        dupes = len(records) - skipped - len(seen)
        extra += f"; {dupes} repeat another pair" if dupes else ""
        raise InputError(f"an embedder fine-tune needs at least {MIN_PAIRS} distinct (query, positive) pairs; {ref} "
                         f"has {len(seen)}{extra}: with fewer, in-batch negatives teach little and the model "
                         "overfits; add pairs (e.g. pydoc_retrieval_pairs() for the pydoc topics)")
    queries, positives = [q for q, _ in seen], [p for _, p in seen]
    negatives, groups = [v[0] for v in seen.values()], [v[1] for v in seen.values()]
    payload = [queries, positives] + ([negatives] if any(negatives) else []) + ([groups] if any(groups) else [])
    digest = hashlib.sha256(json.dumps(payload, ensure_ascii=False).encode()).hexdigest()[:16]
    return Pairs(queries, positives, negatives, groups, fields, ref, snapshot, digest)


def _pair_fields(records: Sequence[dict]) -> Tuple[str, str]:
    def ok(v: Any) -> bool:
        return isinstance(v, str) and bool(v.strip())

    for qf, pf in PAIR_FIELDS:
        if any(ok(r.get(qf)) and ok(r.get(pf)) for r in records):
            return qf, pf
    present = sorted({str(k) for r in records for k in r})
    names = ", ".join(f"{q}/{p}" for q, p in PAIR_FIELDS)
    raise InputError(f"the pairs have no rows with a query and its positive passage (fields {names}); fields "
                     f"present: {', '.join(present) or 'none'}" + ("" if records else " (it is empty)"))


def _config_hash(base: str, base_sha: str, data: Pairs, config: EmbedderTrainConfig, dev: str) -> str:
    payload = {"v": TRAIN_VERSION, "base": base, "base_sha": base_sha, "pairs": data.digest, **asdict(config),
               "scale": MNRL_SCALE,
               "device": dev.split(":")[0]}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


# ---- the loop -------------------------------------------------------------------------------------------
def plan_batches(queries: Sequence[str], positives: Sequence[str], batch_size: int, rng: random.Random, *,
                 negatives: Optional[Sequence[Optional[str]]] = None,
                 groups: Optional[Sequence[Optional[str]]] = None) -> List[List[int]]:
    """One epoch of batches in a seeded order. No batch holds a query twice or a passage (positive or hard
    negative) twice: an in-batch copy of the right passage would be scored as a wrong one. Pairs of one group
    share a batch only when nothing else is left to fill it. A pair that would clash waits for a later batch;
    batches of one pair (no negative) are left out."""
    negatives = negatives or [None] * len(queries)
    groups = groups or [None] * len(queries)
    pending = list(range(len(queries)))
    rng.shuffle(pending)
    out = []
    while pending:
        batch: List[int] = []
        seen_q: set = set()
        seen_p: set = set()
        seen_g: set = set()
        for strict in (True, False):
            for i in pending:
                passages = {positives[i], negatives[i]} - {None}
                if len(batch) >= batch_size or i in batch or queries[i] in seen_q or passages & seen_p:
                    continue
                if strict and groups[i] is not None and groups[i] in seen_g:
                    continue
                batch.append(i)
                seen_q.add(queries[i])
                seen_p |= passages
                seen_g.add(groups[i])
        if len(batch) < 2:
            break
        out.append(batch)
        taken = set(batch)
        pending = [i for i in pending if i not in taken]
    return out


def mnrl_loss(queries, positives, negatives=None, scale: float = MNRL_SCALE):
    """sentence-transformers' MultipleNegativesRankingLoss (its default, query -> passage): cross-entropy of each
    query's cosine similarities to every positive of the batch (and every hard negative, when given), times
    `scale`, with its own positive as the label; the other passages are its negatives."""
    import torch

    q = torch.nn.functional.normalize(queries, p=2, dim=1)
    candidates = positives if negatives is None else torch.cat([positives, negatives])
    p = torch.nn.functional.normalize(candidates, p=2, dim=1)
    logits = scale * q @ p.T
    return torch.nn.functional.cross_entropy(logits, torch.arange(len(q), device=logits.device))


def _train(emb: Embedder, data: Pairs, config: EmbedderTrainConfig, run, name: str, progress: bool
           ) -> Dict[str, Any]:
    import torch

    from ..progress import progress as progress_bar

    rng = random.Random(config.seed)
    epochs = math.ceil(config.epochs)
    plan = [b for _ in range(epochs) for b in plan_batches(data.queries, data.positives, config.batch_size, rng,
                                                            negatives=data.negatives, groups=data.groups)]
    per_epoch = len(plan) / epochs
    plan = plan[:max(1, math.ceil(config.epochs * per_epoch))]
    from transformers import get_linear_schedule_with_warmup

    params = [p for p in emb.model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, int(config.warmup * len(plan)), len(plan))
    run.log_params({"steps": len(plan), "batches_per_epoch": per_epoch})
    emb.model.train()
    losses: List[float] = []
    t0 = time.perf_counter()
    bar = progress_bar(total=len(plan), desc=f"finetune-embedder {name}", unit="step", disable=not progress)
    try:
        for step, batch in enumerate(plan, 1):
            hard = [data.negatives[i] for i in batch if data.negatives[i] is not None]
            loss = mnrl_loss(emb.forward([data.queries[i] for i in batch]),
                             emb.forward([data.positives[i] for i in batch]), emb.forward(hard) if hard else None)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            schedule.step()
            losses.append(float(loss.detach()))
            run.log_metric("loss", losses[-1], step=step)
            bar.update(1)
            bar.set_postfix(loss=f"{sum(losses[-10:]) / len(losses[-10:]):.3f}")
    finally:
        bar.close()
        emb.model.eval()
    tail = losses[-max(1, len(losses) // 10):]
    metrics = {"steps": len(plan), "pairs": len(data.queries), "first_loss": losses[0] if losses else None,
               "train_loss": sum(tail) / len(tail) if tail else None, "train_time_s": time.perf_counter() - t0}
    run.log_metrics({k: v for k, v in metrics.items() if v is not None})
    return metrics


def _register(run, *, name: str, base: str, data: Pairs, folder: Path, metrics: Dict[str, Any],
              params: Dict[str, Any]) -> None:
    save_registration(run, name=name, base=base, method=EMBEDDING, folder=folder, artifact=folder / "modules.json",
                      data_ref=data.ref, snapshot=data.snapshot, metrics=metrics, params=params)


__all__ = ["MIN_PAIRS", "MNRL_SCALE", "PAIR_FIELDS", "finetune_embedder", "mnrl_loss", "plan_batches", "read_pairs"]
