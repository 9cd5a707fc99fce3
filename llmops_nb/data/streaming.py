"""The plumbing of a curation: its steps chained as generators over a snapshot's records, spill files for
steps that read their input more than once, per-step counts and timings, and the log of every change.

Records stream: a step that reads its input more than once (near/semantic dedup, select, sample) gets the
snapshot itself when it comes first, or a spill file of the records before it. Changes go to a `ChangeLog`
and reach the database only in the transaction that stores the snapshot they belong to.
"""
from __future__ import annotations

import itertools
import json
import pickle
import time
from pathlib import Path
from typing import Any, Iterable, Iterator, List, Optional

from ..display import jsonable
from .datasets import Dataset
from .planning import PlannedStep
from .steps import FLAGS, RecordChange, StepContext
from .storage import temp_path

_BATCH = 2048


def _append_batch(path: Path, batch: list) -> None:
    with open(path, "ab") as fh:
        pickle.dump(batch, fh, protocol=pickle.HIGHEST_PROTOCOL)


def _load_batches(path: Path) -> Iterator[list]:
    with open(path, "rb") as fh:
        while True:
            try:
                yield pickle.load(fh)
            except EOFError:
                return


class Spill:
    """Records of a one-shot stream written once to a temp file, re-readable for multi-pass steps."""

    def __init__(self, upstream: Iterable[dict], folder: Path):
        self.upstream = upstream
        self.path = temp_path(folder, "spill", "pkl")
        self.n: Optional[int] = None

    def _fill(self) -> None:
        def batches() -> Iterator[list]:
            buf: List[dict] = []
            for rec in self.upstream:
                buf.append(rec)
                if len(buf) >= _BATCH:
                    yield buf
                    buf = []
            if buf:
                yield buf

        n = 0
        with open(self.path, "wb") as fh:
            for batch in batches():
                pickle.dump(batch, fh, protocol=pickle.HIGHEST_PROTOCOL)
                n += len(batch)
        self.n = n

    def __len__(self) -> int:
        if self.n is None:
            self._fill()
        return self.n

    def __iter__(self) -> Iterator[dict]:
        if self.n is None:
            self._fill()
        for batch in _load_batches(self.path):
            for rec in batch:
                yield dict(rec)

    def close(self) -> None:
        self.path.unlink(missing_ok=True)


class Counted:
    """Counts what a step yields and the time spent inside it (and upstream)."""

    def __init__(self, it: Iterable[dict]):
        self.it = iter(it)
        self.n = 0
        self.seconds = 0.0

    def __iter__(self):
        return self

    def __next__(self) -> dict:
        t = time.perf_counter()
        try:
            rec = next(self.it)
        finally:
            self.seconds += time.perf_counter() - t
        self.n += 1
        return rec


class ChangeLog:
    """The changes a curation or review made, held (past a batch, in a spill file) until the snapshot they
    describe is stored; `insert` then writes them inside that same transaction, so a killed curation leaves
    no change rows without their snapshot, only a temp file the next workspace open removes."""

    def __init__(self, folder: Path):
        self.path = temp_path(folder, "spill", "pkl")
        self.buf: List[tuple] = []
        self.n = 0
        self._spilled = False

    def add(self, ch: RecordChange) -> None:
        rec = None if ch.record is None else json.dumps(ch.record, default=str, ensure_ascii=False)
        self.buf.append((ch.record_id, ch.step, ch.action, ch.reason, ch.duplicate_of,
                         json.dumps(jsonable(ch.detail), default=str, ensure_ascii=False), rec))
        self.n += 1
        if len(self.buf) >= _BATCH:
            _append_batch(self.path, self.buf)
            self._spilled = True
            self.buf = []

    def insert(self, db, curation_id: int) -> None:
        """Write every change under `curation_id` (call inside the transaction that stores the snapshot)."""
        batches = _load_batches(self.path) if self._spilled else iter(())
        for batch in itertools.chain(batches, [self.buf]):
            db.executemany("INSERT INTO curation_changes (curation_id, record_id, step, action, reason, duplicate_of,"
                           " detail, record) VALUES (?,?,?,?,?,?,?,?)", [(curation_id, *row) for row in batch])

    def close(self) -> None:
        self.path.unlink(missing_ok=True)

    def __enter__(self) -> "ChangeLog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _progress(records: Iterable[dict], total: int, desc: str, enabled: bool) -> Iterator[dict]:
    from ..config import progress_disabled
    from ..progress import progress as progress_bar

    bar = progress_bar(total=total, desc=desc, unit="rec", disable=not enabled or progress_disabled() or total < 5000)
    try:
        for rec in records:
            bar.update(1)
            yield rec
    finally:
        bar.close()


def _with_flags_column(records: Iterable[dict]) -> Iterator[dict]:
    for rec in records:
        rec.setdefault(FLAGS, None)
        yield rec


class StepChain:
    """The planned steps of one curation over `src`, chained lazily: `records()` is the stream of what the last
    step keeps, `report()` what each step did, `changes` every removal, edit and flag. Use it in a `with`
    block: its temp files go when it closes."""

    def __init__(self, src: Dataset, planned: List[PlannedStep], folder: Path, *, seed: int = 0,
                 progress: bool = True):
        self.src, self.planned, self.folder = src, planned, folder
        self.seed, self.progress = seed, progress
        self.changes = ChangeLog(folder)
        self.spills: List[Spill] = []
        self.contexts: List[StepContext] = []
        self.counters: List[Counted] = []
        self.streams: List[Iterator[dict]] = []  # the source's progress generators, closed by close()

    def records(self) -> Iterator[dict]:
        src, current = self.src, self.src
        for p in self.planned:
            ctx = StepContext(p.name, self.changes.add, progress=self.progress, seed=self.seed)
            inp: Any = current
            if p.spec.multipass and not isinstance(inp, (Dataset, Spill, list)):
                inp = Spill(inp, self.folder)
                self.spills.append(inp)
            if inp is src:
                inp = src.raw() if p.spec.multipass else _progress(src.records(raw=True), len(src), f"curate {src.ref}",
                                                                   self.progress)
                if not p.spec.multipass:
                    self.streams.append(inp)
            counted = Counted(p.spec.fn(inp, ctx, **p.params))
            self.contexts.append(ctx)
            self.counters.append(counted)
            current = counted
        if any(p.spec.can_flag and p.params.get("mode") == "flag" for p in self.planned) or FLAGS in src.columns:
            current = _with_flags_column(current)
        return iter(current)

    def report(self) -> List[dict]:
        """Per step: params, records in and out, removed/edited/flagged by reason, metrics, seconds."""
        rows, prev_n, prev_t = [], len(self.src), 0.0
        for p, ctx, cnt in zip(self.planned, self.contexts, self.counters):
            rows.append({"step": p.name, "params": p.describe()["params"], "in": prev_n, "out": cnt.n,
                         "removed": dict(ctx.removed), "edited": dict(ctx.edited), "flagged": dict(ctx.flagged),
                         "metrics": jsonable(ctx.metrics), "seconds": round(max(cnt.seconds - prev_t, 0.0), 3)})
            prev_n, prev_t = cnt.n, cnt.seconds
        return rows

    def close(self) -> None:
        for g in self.streams:  # a step that failed midway leaves its source suspended (its traceback keeps it):
            g.close()  # closing it now ends the progress bar as its one line, in the cell that ran the curation
        for s in self.spills:
            s.close()
        self.changes.close()

    def __enter__(self) -> "StepChain":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


__all__ = ["ChangeLog", "Counted", "Spill", "StepChain"]
