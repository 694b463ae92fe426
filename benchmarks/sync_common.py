"""What the sync benchmarks share: the workload's constants, the achieved-rate
measure, resource use and the machine record (see ``benchmarks/sync_bench.py``)."""

from __future__ import annotations

import os
import platform
import resource
import statistics
import sys
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

AS_OF = date(2026, 6, 30)

SEED = 7

BUDGET = 190  # HubSpot Professional: requests per rolling 10 s per private app

WINDOW = 10.0

SEARCH_PER_SECOND = 5

CONCURRENCY = 4

PAGE = 100  # list page size and batch update size

SEARCH_PAGE = 200  # search page size

PHASES = ["full", "noop", "incremental"]


def rate(times: list[float]) -> dict[str, Any]:
    """Mean rate over the stretch (m - 1 intervals) and the peak rolling-window count."""
    times = sorted(times)
    m = len(times)
    out: dict[str, Any] = {"requests": m}
    if m < 2:
        return out | {"seconds": 0.0, "per_10s": None, "utilisation": None, "peak_10s": m}
    span = times[-1] - times[0]
    per_10s = (m - 1) / span * WINDOW if span > 0 else None
    peak, j = 0, 0
    for i in range(m):  # two pointers: requests in [times[i], times[i] + WINDOW)
        while j < m and times[j] < times[i] + WINDOW:
            j += 1
        peak = max(peak, j - i)
    return out | {
        "seconds": round(span, 3),
        "per_10s": round(per_10s, 2) if per_10s else None,
        "utilisation": round(per_10s / BUDGET, 4) if per_10s else None,
        "peak_10s": peak,
        "peak_utilisation": round(peak / BUDGET, 4),
    }


def process_cpu() -> float:
    """CPU seconds (user + system) of this process so far: crmseg's, with
    ``--standin-process``; crmseg's and the sandbox's together without."""

    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (crmseg and the in-process sandbox)."""

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def med(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f} %"


def ratio(calls: int, floor: int) -> str:
    if floor == 0:
        return "floor 0" if calls == 0 else f"{calls} (floor 0)"
    return f"{calls} / {floor} = {calls / floor:.2f}x"


def machine() -> dict[str, Any]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = Path("/proc/loadavg").read_text().split()[:3]
    except OSError:
        load = []
    return {
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "loadavg": load,
    }


def source_stamp() -> dict[str, str]:
    """The newest library source file and its mtime (the tree may change between runs)."""
    files = [f for d in ("connectors", "segmentation", "sync") for f in (ROOT / d).rglob("*.py")]
    newest = max(files, key=lambda f: f.stat().st_mtime)
    at = datetime.fromtimestamp(newest.stat().st_mtime, UTC).isoformat(timespec="seconds")
    return {"newest_source": str(newest.relative_to(ROOT)), "modified": at}
