"""``write_tags`` against the sort it dropped: the same ``seg_tags``, written both ways.

Usage (after ``segment_bench.py`` generated the data)::

    .venv/bin/python benchmarks/tags_write.py benchmarks/data/1000000 OUT_DIR [--runs 5]

Loads and segments the export once, then alternates, ``--runs`` times each, the
former statement (``COPY (SELECT * FROM seg_tags ORDER BY contact_id)``, the
baseline) and :func:`connectors.files.write_tags` (the table in its own order),
each into its own file under ``OUT_DIR``. Prints the median wall seconds of both,
their ratio, and whether the two files are byte for byte the same.
"""

from __future__ import annotations

import argparse
import filecmp
import statistics
import time
from datetime import date
from pathlib import Path

from connectors.files import CsvLoader, write_tags
from segmentation import SegmentationConfig, segment
from segmentation.inputs import connect


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", type=Path)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--as-of", default="2026-06-30")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    con = connect()
    CsvLoader(con, args.input).load()
    segment(con, SegmentationConfig(), date.fromisoformat(args.as_of))
    sorted_out, kept_out = args.out_dir / "sorted.csv", args.out_dir / "kept.csv"
    quoted = str(sorted_out).replace("'", "''")
    times: dict[str, list[float]] = {"sorted again": [], "write_tags": []}
    for _ in range(args.runs):
        started = time.perf_counter()
        con.execute(
            f"COPY (SELECT * FROM seg_tags ORDER BY contact_id) TO '{quoted}' "
            "(HEADER, DELIMITER ',')"
        )
        times["sorted again"].append(time.perf_counter() - started)
        started = time.perf_counter()
        write_tags(con, kept_out)
        times["write_tags"].append(time.perf_counter() - started)
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, values in times.items():
        print(f"{name:>13}: median {medians[name]:.3f} s  runs {[round(v, 3) for v in values]}")
    print(f"ratio write_tags / sorted again: {medians['write_tags'] / medians['sorted again']:.3f}")
    print(f"byte-identical: {filecmp.cmp(sorted_out, kept_out, shallow=False)}")


if __name__ == "__main__":
    main()
