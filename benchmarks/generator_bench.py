"""Benchmark: how long the stand-ins' data generator takes for N contacts.

Usage::

    .venv/bin/python benchmarks/generator_bench.py --sizes 10000 100000 --runs 3

The test suite checks what the generator makes (unique ids at 100k contacts,
deterministic per seed); how fast it makes it is a figure, and figures are
measured here, never asserted in a test: a wall-clock bound in a test fails on a
loaded machine without anything being wrong. Prints the median seconds per size
and the contacts per second as a markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.sandbox.generator import generate


def measure(contacts: int, runs: int) -> float:
    times = []
    for run in range(runs):
        started = time.perf_counter()
        dataset = generate(seed=run, contacts=contacts)
        times.append(time.perf_counter() - started)
        assert len(dataset.contacts) == contacts
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    print("| contacts | median s | contacts/s |")
    print("|---:|---:|---:|")
    for n in args.sizes:
        seconds = measure(n, args.runs)
        print(f"| {n:,} | {seconds:.2f} | {n / seconds:,.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
