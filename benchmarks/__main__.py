"""Runner: `python -m benchmarks [NAME ...] [--quick]`."""
from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from .common import fmt

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results.md"


def discover():
    return sorted(p.stem[len("bench_"):] for p in HERE.glob("bench_*.py"))


def table(rows):
    lines = ["| benchmark | baseline | baseline value | ours | unit | ratio (x better) | target | note |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r.name} | {r.baseline_name} | {fmt(r.baseline)} | {fmt(r.ours)} | {r.unit} | "
                     f"{r.ratio:.2f}x | {r.target} | {r.note} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks")
    ap.add_argument("names", nargs="*", help=f"benchmarks to run (default all): {', '.join(discover())}")
    ap.add_argument("--quick", action="store_true", help="smaller sizes, for a smoke check")
    ap.add_argument("--no-write", action="store_true", help="do not update results.md")
    args = ap.parse_args(argv)
    names = args.names or discover()
    os.environ.setdefault("LLMOPS_QUIET", "1")
    sections = []
    for name in names:
        mod = importlib.import_module(f"benchmarks.bench_{name}")
        t = time.time()
        with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as tmp:
            os.environ["LLMOPS_HOME"] = str(Path(tmp) / "ws")
            from llmops_nb.workspace import reset_workspace

            reset_workspace()
            rows = mod.run(quick=args.quick)
            reset_workspace()
        text = table(rows)
        if hasattr(mod, "extra") and mod.extra():
            text += "\n\n" + mod.extra()
        print(f"\n## {name} ({time.time() - t:.0f}s)\n{text}\n", flush=True)
        sections.append((name, (mod.__doc__ or "").strip(), text))
    if not args.no_write:
        _write(sections, args.quick)
    return 0


def _cpu() -> str:
    """The CPU model and its widest vector instructions: results differ several-fold between the machines here."""
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or "cpu unknown"
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "")
    flags = set(next((line.split(":", 1)[1].split() for line in info.splitlines() if line.startswith("flags")), []))
    isa = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return f"{name} ({isa})" if name else isa


def _write(sections, quick):
    """Replace the sections just measured in results.md, keep the others."""
    existing = {}
    if RESULTS.exists():
        current = None
        for line in RESULTS.read_text().splitlines():
            if line.startswith("## "):
                current = line[3:].strip()
                existing[current] = []
            elif current:
                existing[current].append(line)
    stamp = f"_{dt.date.today()} · {platform.machine()} · {_cpu()} · {os.cpu_count()} cores · " \
            f"python {platform.python_version()}{' · quick sizes' if quick else ''}_"
    for name, doc, text in sections:
        existing[name] = ["", doc, "", stamp, "", text, ""]
    out = ["# Benchmark results", "", "Each row runs ours and the named baseline in one process on the same data; "
           "ratio > 1 means ours is better. Regenerate with `make bench`.", ""]
    for name in sorted(existing):
        out.append(f"## {name}")
        out.extend(existing[name])
    from llmops_nb.workspace.files import atomic_write_text

    atomic_write_text(RESULTS, "\n".join(out).rstrip() + "\n")


if __name__ == "__main__":
    sys.exit(main())
