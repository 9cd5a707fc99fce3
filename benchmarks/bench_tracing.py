"""Cost of the generation log and of tracing. (a) Per-call overhead of `@trace`: a plain function that returns a 10 KB
(and a 1 KB) output for a prompt of the same size, undecorated vs decorated, under log_text full, redacted and none;
every call timed on its own, 2,000 calls per arm in 20 interleaved rounds of 100 (all arms in every round), p50 and
p95; the added time is decorated minus undecorated (p50 - p50, p95 - p95). The texts are the kit's own eval
questions and train-set answers joined to size (real prose and code, no PII). Each traced call commits its row (WAL)
before it returns. (b) Batched generation with SmolLM2-135M-Instruct (`--quick`: tiny-gpt2), 16 prompts in one batch
of 16, 32 new tokens, greedy, cache=False, one torch thread: `generate` as shipped (every row logged, and the cache
refreshed) and the same call inside a `@trace`d function (one more row) vs a baseline arm in which the benchmark,
and only the benchmark, monkeypatches `ResponseStore.log_row` and `ResponseStore.save` to no-ops (same decode,
nothing written). Arms interleaved, in a rotating order, medians over the rounds; the time spent inside log_row +
save (+ the tracer's trace_row + write_trace) is also measured directly in the logged arms and reported as its share
of the call (a wall-clock difference of a few ms is below this shared machine's noise: the notes give each arm's
per-round range). `--quick`: 200 calls per arm and 2 generation rounds."""
from __future__ import annotations

import os
import statistics
import time
from contextlib import contextmanager

from .common import Row, timeit


def _texts(size: int):
    """(prompt, output) of `size` characters each, from the eval questions and the train-set answers."""
    from llmops_nb.data.eval import eval_set, train_set

    def fill(parts):
        out, n = [], 0
        while n < size:
            for p in parts:
                out.append(p)
                n += len(p) + 1
                if n >= size:
                    break
        return "\n".join(out)[:size]

    return (fill([e["question"] for e in eval_set()]),
            fill([e["answer"] for e in eval_set()] + [t["response"] for t in train_set()]))


@contextmanager
def _log_text(mode: str):
    old = os.environ.get("LLMOPS_LOG_TEXT")
    os.environ["LLMOPS_LOG_TEXT"] = mode
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("LLMOPS_LOG_TEXT", None)
        else:
            os.environ["LLMOPS_LOG_TEXT"] = old


def _pct(samples, q):
    s = sorted(samples)
    return s[min(len(s) - 1, int(q * len(s)))]


def _load():
    try:
        return "load average %.2f / %.2f / %.2f (1/5/15 min)" % os.getloadavg()
    except OSError:
        return "load average n/a"


# ------------------------------------------------------------------------------------------------
def per_call_rows(quick: bool):
    import llmops_nb as L
    from llmops_nb.pii import redact_text
    from llmops_nb.workspace import workspace

    workspace()  # open (and migrate) the workspace before timing
    rounds, per_round = (4, 50) if quick else (20, 100)
    configs = [(10240, "full"), (10240, "redacted"), (10240, "none"), (1024, "full"), (1024, "redacted")]
    arms = {}
    for size, mode in configs:
        prompt, output = _texts(size)

        def plain(prompt, _out=output):
            return _out

        traced = L.trace(model="bench-trace", tags={"bench": "tracing"})(plain)
        arms[(size, mode)] = (prompt, output, plain, traced, [], [])
    before = _load()
    for r in range(rounds + 1):  # round 0 warms up and is discarded
        for (size, mode), (prompt, _, plain, traced, base, ours) in arms.items():
            with _log_text(mode):
                for fn, out in ((plain, base), (traced, ours)):
                    for _ in range(per_round):
                        t = time.perf_counter()
                        fn(prompt)
                        dt = time.perf_counter() - t
                        if r:
                            out.append(dt)
    after = _load()
    db = workspace().db
    logged = db.execute("SELECT COUNT(*) FROM generations WHERE source='trace'").fetchone()[0]
    expected = (rounds + 1) * per_round * len(configs)
    rows = []
    for (size, mode), (_, _, _, _, base, ours) in arms.items():
        b50, o50 = _pct(base, 0.5) * 1e6, _pct(ours, 0.5) * 1e6
        b95, o95 = _pct(base, 0.95) * 1e6, _pct(ours, 0.95) * 1e6
        label = f"{size // 1024} KB"
        redaction = ""
        if mode == "redacted":  # how much of it is the PII scan itself, timed alone on the same two texts
            prompt, output = arms[(size, mode)][:2]
            alone = timeit(lambda: (redact_text(prompt), redact_text(output)), repeat=9, number=5 if quick else 20)
            redaction = f"; of which redact_text on prompt + output alone {alone * 1000:.3f} ms"
        rows.append(Row(
            f"@trace per call, {label} prompt + {label} output, log_text={mode}", "undecorated function", b50, o50,
            "µs (p50)", higher_is_better=False, target="<= +0.5 ms p50",
            note=f"**+{(o50 - b50) / 1000:.3f} ms p50**, +{(o95 - b95) / 1000:.3f} ms p95 added "
                 f"(decorated p95 {o95:,.0f} µs); {len(ours)} calls per arm in {rounds} interleaved rounds; "
                 "row committed (WAL) before the call returns" + redaction))
    rows[0].note += f"; {logged}/{expected} traced calls found in the log; {before}, after: {after}"
    return rows


# ------------------------------------------------------------------------------------------------
class _LogTimer:
    """Wraps ResponseStore.log_row and .save (generate's log) and the tracer's trace_row and write_trace: counts
    the seconds spent in them (the log's whole cost), or makes generate's no-ops for the baseline arm. Benchmark
    only."""

    def __init__(self):
        from llmops_nb.models.response_cache import ResponseStore
        from llmops_nb.tracking import tracer

        self.cls, self.tracer = ResponseStore, tracer
        self.log_row, self.save = ResponseStore.log_row, ResponseStore.save
        self.trace_row, self.write_trace = tracer.trace_row, tracer.write_trace
        self.seconds = 0.0

    def _timed(self, fn):
        def wrapper(*args, **kwargs):
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - t
        return wrapper

    @contextmanager
    def logging(self):
        self.seconds = 0.0
        self.cls.log_row, self.cls.save = self._timed(self.log_row), self._timed(self.save)
        self.tracer.trace_row, self.tracer.write_trace = self._timed(self.trace_row), self._timed(self.write_trace)
        try:
            yield self
        finally:
            self.cls.log_row, self.cls.save = self.log_row, self.save
            self.tracer.trace_row, self.tracer.write_trace = self.trace_row, self.write_trace

    @contextmanager
    def disabled(self):
        self.cls.log_row = lambda *args, **kwargs: None
        self.cls.save = lambda *args, **kwargs: None
        try:
            yield self
        finally:
            self.cls.log_row, self.cls.save = self.log_row, self.save


def generation_rows(quick: bool):
    import llmops_nb as L
    from llmops_nb.data.eval import eval_set
    from llmops_nb.models.prompts import default_prompt
    from llmops_nb.workspace import workspace

    name = "tiny-gpt2" if quick else "smollm2-135m-instruct"
    n, max_new, rounds = 16, (16 if quick else 32), (2 if quick else 6)
    t0 = time.perf_counter()
    lm = L.load_model(name)
    load_s = time.perf_counter() - t0
    zero = default_prompt("zero-shot")
    prompts = [zero.render_chat(lm, question=e["question"]) for e in eval_set()[:n]]

    def gen():
        return L.generate(lm, prompts, max_new_tokens=max_new, batch_size=n, cache=False, progress=False)

    @L.trace(model=f"bench-{name}", tags={"bench": "tracing"})
    def traced_gen(prompt):
        return gen()

    timer = _LogTimer()
    arms = {"baseline": [], "logged": [], "traced": []}
    share = {"logged": [], "traced": []}
    texts = {}

    def one(arm):
        if arm == "baseline":
            with timer.disabled():
                t = time.perf_counter()
                out = gen()
                dt = time.perf_counter() - t
        else:
            with timer.logging():
                t = time.perf_counter()
                out = gen() if arm == "logged" else traced_gen(prompts)
                dt = time.perf_counter() - t
            share[arm].append(timer.seconds / dt)
        texts.setdefault(arm, out.texts)
        return dt

    with _log_text("full"):
        L.generate(lm, prompts[:2], max_new_tokens=4, cache=False, progress=False)  # warm up
        db = workspace().db
        start_rows = db.execute("SELECT COUNT(*) FROM generations").fetchone()[0]
        order = list(arms)
        before = _load()
        for r in range(rounds):
            for arm in order[r % 3:] + order[:r % 3]:  # rotate which arm goes first
                arms[arm].append(one(arm))
        after = _load()
        logged_rows = db.execute("SELECT COUNT(*) FROM generations").fetchone()[0] - start_rows
    med = {k: statistics.median(v) for k, v in arms.items()}
    same = texts["baseline"] == texts["logged"] == texts["traced"]
    expected = rounds * (n + n + 1)
    rows = []
    for arm, label in (("logged", "generate as shipped (each row logged, cache refreshed)"),
                       ("traced", "the same call inside a @trace'd function (one more row)")):
        wall = 100 * (med[arm] / med["baseline"] - 1)
        inside = 100 * statistics.median(share[arm])
        tr = " + trace_row + write_trace" if arm == "traced" else ""
        rows.append(Row(
            f"batched generation {name}, {n} prompts x {max_new} tokens, batch {n}: {label}",
            "same generate with log_row/save patched to no-ops (benchmark only)", med["baseline"], med[arm], "s",
            higher_is_better=False, target="< 3%",
            note=f"**log writes {inside:.2f}% of the call** (time inside log_row + save{tr}, median of {rounds}); "
                 f"wall-clock medians {wall:+.1f}% ({med[arm]:.2f}s vs {med['baseline']:.2f}s, "
                 f"{rounds} interleaved rounds; per-round range {min(arms[arm]):.2f}-{max(arms[arm]):.2f}s, "
                 f"baseline {min(arms['baseline']):.2f}-{max(arms['baseline']):.2f}s)"))
    rows[0].note += (f"; outputs identical across arms: {same}; {logged_rows}/{expected} rows logged; "
                     f"model {name} (load {load_s:.0f}s); 1 torch thread; {before}, after: {after}")
    return rows


def run(quick: bool = False):
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as bench_generation: this 2-core machine is shared and oversubscribed
    try:
        return per_call_rows(quick) + generation_rows(quick)
    finally:
        torch.set_num_threads(threads)
