"""Benchmarks: each module `bench_*.py` defines `run(quick: bool) -> list[Row]`, measuring ours and the
named baseline in the same process on the same data. `python -m benchmarks [NAME ...] [--quick]`
prints the table and writes benchmarks/results.md."""
