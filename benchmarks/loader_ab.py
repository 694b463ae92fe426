"""Side by side: ``crmseg segment`` end to end from two source trees on the same data.

    python benchmarks/loader_ab.py BASE_TREE NEW_TREE DATA_DIR [--runs 3]

Runs alternate (base, new, base, new, ...) so machine load hits both alike; prints
each wall time, peak RSS and the medians.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(tree: Path, data: Path) -> tuple[float, float]:
    out = Path(tempfile.mkdtemp()) / "tags.csv"
    code = (
        f"import sys; sys.path.insert(0, {str(tree)!r}); sys.argv = ['crmseg', 'segment', "
        f"'--input', {str(data)!r}, '--out', {str(out)!r}, '--as-of', '2026-06-30', '-q']; "
        "from sync.cli import main; main()"
    )
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    wall = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("base", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("data", type=Path)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    times: dict[str, list[float]] = {"base": [], "new": []}
    for _ in range(args.runs):
        for name in ("base", "new"):
            wall, peak = run(getattr(args, name), args.data)
            times[name].append(wall)
            print(f"{name}: {wall:.2f} s (peak RSS so far {peak:.0f} MiB)", flush=True)
    base, new = statistics.median(times["base"]), statistics.median(times["new"])
    print(f"median base {base:.2f} s, new {new:.2f} s, base/new = {base / new:.2f}x")


if __name__ == "__main__":
    main()
