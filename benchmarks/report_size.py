"""Benchmark: the size of the report page, and what writing it costs, for N contacts.

Usage::

    .venv/bin/python benchmarks/report_size.py --sizes 2000 100000 --runs 3

The test suite proves the page is bounded at a small size (every list it carries is
capped, and a page with every list full is under 2 MiB: ``tests/report/test_size.py``)
and checks a capped page in a browser; how large the page of 100,000 contacts is,
and how long writing it takes, are figures, measured here. Prints per size the
page's bytes, the median CPU and wall seconds of ``report_from_export`` + ``render``
(the data generated once per size, outside the timing) as a markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.sandbox.csv_export import write_csv_export
from connectors.sandbox.generator import generate
from connectors.sandbox.vocabulary import EXCHANGE_RATES, HOME_CURRENCY
from sync.config import Config
from sync.report import report_from_export
from sync.report.render import render

AS_OF = date(2026, 6, 30)


def measure(contacts: int, runs: int) -> tuple[int, float, float]:
    """Page bytes, median CPU seconds, median wall seconds."""
    config = Config.model_validate(
        {"segmentation": {"currency": HOME_CURRENCY, "currency_rates": dict(EXCHANGE_RATES)}}
    )
    with tempfile.TemporaryDirectory(prefix="crmseg-report-bench-") as tmp:
        export = Path(tmp) / "export"
        write_csv_export(generate(seed=3, contacts=contacts, as_of=AS_OF), export)
        cpu, wall, size = [], [], 0
        for _ in range(runs):
            started, started_cpu = time.perf_counter(), time.process_time()
            page = render(report_from_export(export, config, AS_OF)).encode("utf-8")
            cpu.append(time.process_time() - started_cpu)
            wall.append(time.perf_counter() - started)
            size = len(page)
    return size, statistics.median(cpu), statistics.median(wall)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2_000, 100_000])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    print("| contacts | page bytes | CPU s (median) | wall s (median) |")
    print("|---:|---:|---:|---:|")
    for contacts in args.sizes:
        size, cpu, wall = measure(contacts, args.runs)
        print(f"| {contacts:,} | {size:,} | {cpu:.2f} | {wall:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
