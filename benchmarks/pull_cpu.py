"""Run ``sync_bench.py`` of a source tree with crmseg's CPU seconds and memory per pull.

Usage::

    .venv/bin/python benchmarks/pull_cpu.py [--tree DIR] [--out FILE] -- \\
        --sizes 100000 --runs 1 --phases full --standin-process

Why: on a machine shared with other jobs wall times say little; the CPU seconds the
benchmark process spends in each object type's pull (``MirrorPull.pull_one``: reading
the export or the pages, building what the mirror stores, storing it) and its resident
memory carry over. With ``--standin-process`` the sandbox runs in a child process, so
the process measured holds crmseg alone. CPU is the whole process's (every thread):
while contacts are stored, the prefetch thread already reads the deals' export.

``--tree`` runs another checkout's ``benchmarks/sync_bench.py`` with its own code (as
long as it has ``sync.pulling.MirrorPull.pull_one``), so two versions can be measured
side by side with the same wrapper. Per pull it prints and writes (``--out``, JSON):
CPU seconds, wall seconds, RSS at the end and the highest RSS sampled (every 0.2 s)
during it; at the end the process's peak RSS (``ru_maxrss``) and its total CPU.
"""

from __future__ import annotations

import argparse
import json
import resource
import runpy
import sys
import threading
import time
from pathlib import Path
from typing import Any


def _rss_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


class _Peak:
    """The highest RSS sampled since the last :meth:`reset`."""

    def __init__(self) -> None:
        self.value = 0.0
        self._stop = threading.Event()
        threading.Thread(target=self._run, daemon=True, name="rss-sampler").start()

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self.value = max(self.value, _rss_mib())

    def reset(self) -> None:
        self.value = _rss_mib()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tree", type=Path, default=Path(__file__).resolve().parent.parent)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("bench", nargs=argparse.REMAINDER, help="-- then sync_bench.py's arguments")
    a = ap.parse_args()
    args = a.bench[1:] if a.bench[:1] == ["--"] else a.bench
    tree = a.tree.resolve()
    sys.path.insert(0, str(tree))
    from sync.pulling import MirrorPull

    peak = _Peak()
    pulls: list[dict[str, Any]] = []
    pull_one = MirrorPull.pull_one

    def measured(self: Any, object_type: Any, options: Any) -> Any:
        peak.reset()
        cpu, wall = time.process_time(), time.monotonic()
        result = pull_one(self, object_type, options)
        row = {
            "object_type": object_type,
            "records": result.get("records"),
            "cpu_s": round(time.process_time() - cpu, 2),
            "wall_s": round(time.monotonic() - wall, 2),
            "rss_end_mib": round(_rss_mib()),
            "rss_peak_mib": round(max(peak.value, _rss_mib())),
        }
        pulls.append(row)
        print(f"[pull_cpu] {json.dumps(row)}", file=sys.stderr, flush=True)
        return result

    MirrorPull.pull_one = measured  # type: ignore[method-assign]
    sys.argv = [str(tree / "benchmarks" / "sync_bench.py"), *args]
    try:
        runpy.run_path(sys.argv[0], run_name="__main__")
    finally:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        summary = {
            "tree": str(tree),
            "args": args,
            "pulls": pulls,
            "process_cpu_s": round(usage.ru_utime + usage.ru_stime, 1),
            "peak_rss_mib": round(usage.ru_maxrss / 1024),
        }
        print(f"[pull_cpu] {json.dumps(summary)}", file=sys.stderr, flush=True)
        if a.out is not None:
            a.out.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
