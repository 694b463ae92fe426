"""Which SQL statements of ``CsvLoader.load`` + ``segment`` + ``write_tags`` take the time.

Usage (after ``segment_bench.py`` generated the data)::

    .venv/bin/python benchmarks/profile_phases.py benchmarks/data/1000000 [--as-of 2026-06-30]

Wraps the DuckDB connection in a proxy that times every ``execute`` and prints the
slowest statements (first line of the SQL, shortened) with the Python caller, then the
peak RSS of the process during each statement (``--memory``: Linux only; the kernel's
high-water mark is reset before each statement through ``/proc/self/clear_refs``, which
resets the process's ``ru_maxrss`` too: with ``--memory`` the run's peak is the largest
"peak during" printed, not what ``/usr/bin/time`` reports).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from datetime import date
from pathlib import Path

import duckdb

from connectors.files import CsvLoader, write_tags
from segmentation import SegmentationConfig, segment


def _rss_mib(field: str) -> int:
    """``VmHWM`` (peak) or ``VmRSS`` (now) of this process, in MiB."""
    with open("/proc/self/status") as status:
        match = re.search(rf"{field}:\s+(\d+)", status.read())
    return int(match.group(1)) // 1024 if match else 0


def _reset_peak() -> None:
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")


class TimedConnection:
    def __init__(self, con: duckdb.DuckDBPyConnection, memory: bool = False) -> None:
        self._con = con
        self.log: list[tuple[float, str, str]] = []
        #: CPU seconds of the process (every DuckDB thread) per statement, same order.
        self.cpu: list[float] = []
        #: With ``memory``: (RSS before, peak during, RSS after) in MiB, same order.
        self.memory = memory
        self.rss: list[tuple[int, int, int]] = []

    def execute(self, sql: str, *args, **kwargs):  # type: ignore[no-untyped-def]
        frame = sys._getframe(1)
        where = f"{Path(frame.f_code.co_filename).stem}.{frame.f_code.co_name}:{frame.f_lineno}"
        before = 0
        if self.memory:
            before = _rss_mib("VmRSS")
            _reset_peak()
        t0, c0 = time.perf_counter(), time.process_time()
        result = self._con.execute(sql, *args, **kwargs)
        self.log.append((time.perf_counter() - t0, where, " ".join(sql.split())[:110]))
        self.cpu.append(time.process_time() - c0)
        if self.memory:
            self.rss.append((before, _rss_mib("VmHWM"), _rss_mib("VmRSS")))
        return result

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self._con, name)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("directory", type=Path)
    ap.add_argument("--as-of", default="2026-06-30")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--config", type=Path, help="a TOML config (e.g. benchmarks/segment_full.toml)")
    ap.add_argument("--memory", action="store_true", help="peak RSS per statement (Linux)")
    a = ap.parse_args()
    config = SegmentationConfig()
    if a.config is not None:
        from sync.config import load_config

        config = load_config(a.config).segmentation
    con = TimedConnection(duckdb.connect(), memory=a.memory)
    con.execute("SET enable_progress_bar = false")
    phases = {}
    t0 = time.perf_counter()
    CsvLoader(con, a.directory).load(  # type: ignore[arg-type]
        [r.property for r in config.interests if r.source == "contact"]
        + [p.property for p in config.properties if p.source == "contact"],
        [r.property for r in config.interests if r.source == "deal"],
        [p.property for p in config.properties if p.source == "company"],
        currency=config.currency,
        currency_rates=config.currency_rates,
    )
    t1 = time.perf_counter()
    segment(con, config, date.fromisoformat(a.as_of))  # type: ignore[arg-type]
    t2 = time.perf_counter()
    write_tags(con, Path("/tmp/crmseg-profile-tags.csv"))  # type: ignore[arg-type]
    t3 = time.perf_counter()
    phases = {"load": t1 - t0, "segment": t2 - t1, "write_tags": t3 - t2}
    print("phases: " + ", ".join(f"{k} {v:.2f} s" for k, v in phases.items()))
    total = sum(t for t, _, _ in con.log)
    print(f"{len(con.log)} statements, {total:.2f} s in execute\n")
    cpu = sum(con.cpu)
    print(f"{cpu:.2f} CPU s in execute\n")
    print("| wall s | CPU s | CPU share | caller | statement |\n|---:|---:|---:|---|---|")
    rows = sorted(zip(con.cpu, con.log, strict=True), key=lambda r: r[0], reverse=True)
    for c, (t, where, sql) in rows[: a.top]:
        print(f"| {t:.2f} | {c:.2f} | {c / cpu:.0%} | {where} | `{sql}` |")
    if a.memory:
        print("\n| RSS before MiB | peak during MiB | RSS after MiB | caller | statement |")
        print("|---:|---:|---:|---|---|")
        for (before, peak, after), (_, where, sql) in zip(con.rss, con.log, strict=True):
            if peak >= 200:
                print(f"| {before:,} | {peak:,} | {after:,} | {where} | `{sql[:80]}` |")


if __name__ == "__main__":
    main()
