"""Benchmark: the fixed cost of one ``segment()`` run on tiny data.

Why: nearly every test, every ``crmseg segment`` on a small export and every sync of a
small portal pays one segmentation run whose cost is DuckDB's per-statement overhead
(parse, bind, plan, create a temp table), not the rows. This measures that cost, per
run, on two small datasets and two configs, and the one-off cost of importing
``segmentation`` and validating a config with families.

Usage::

    python benchmarks/segment_small.py --runs 5 --reps 20 \\
        --baseline OTHER_CHECKOUT --baseline-python OTHER_VENV/bin/python

Datasets: ``demo`` is the shipped sample (``sync/sample``: 300 contacts, 900 deals,
37 companies) as of the demo's date; ``50`` is its first 50 contacts with the deals
that list only them. Configs: ``demo`` (the demo's interests and currency rates) and
``full`` (``segment_full.toml``: every family of segments v2, plus the demo's rates).

Each measurement is a fresh subprocess of the checkout's own Python, with that
checkout first on ``sys.path``: it loads the data once, runs ``segment()`` once to
warm up, then ``--reps`` times, and reports the median CPU (``process_time``) per
run and the number of DuckDB calls per run (``execute`` + one per ``executemany``
row). Checkouts alternate round by round, so the load of a shared machine hits
each alike; the table shows medians over ``--runs`` rounds and the ratio
checkout / baseline from the same rounds.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATASETS = ("demo", "50")
CONFIGS = ("demo", "full")


# --------------------------------------------------------------------------------------
# worker (runs inside the checkout under test)
# --------------------------------------------------------------------------------------


class CountingConnection:
    """Forwards to a DuckDB connection and counts the statements sent to it."""

    def __init__(self, con: Any) -> None:
        self._con = con
        self.statements = 0

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        self.statements += 1
        return self._con.execute(*args, **kwargs)

    def executemany(self, query: str, rows: Any = (), *args: Any) -> Any:
        rows = list(rows)
        self.statements += len(rows)
        return self._con.executemany(query, rows, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def _subset(sample: Path, out: Path, contacts: int) -> None:
    """The first ``contacts`` contacts of the sample and the deals that list only them."""
    out.mkdir(parents=True, exist_ok=True)
    with (sample / "contacts.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    kept = rows[: contacts + 1]
    ids = {r[0] for r in kept[1:]}
    with (out / "contacts.csv").open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(kept)
    with (sample / "deals.csv").open(newline="", encoding="utf-8") as f:
        deals = list(csv.reader(f))
    col = deals[0].index("contact_ids")
    chosen = [deals[0]] + [d for d in deals[1:] if d[col] and set(d[col].split(";")) <= ids]
    with (out / "deals.csv").open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(chosen)
    (out / "companies.csv").write_bytes((sample / "companies.csv").read_bytes())


def _config(name: str) -> Any:
    import tomllib

    from segmentation import SegmentationConfig
    from sync.demo import DEMO_CURRENCY, DEMO_INTERESTS, DEMO_RATES

    if name == "demo":
        raw: dict[str, Any] = {"interests": DEMO_INTERESTS}
    else:
        with (HERE / "segment_full.toml").open("rb") as f:
            raw = tomllib.load(f)["segmentation"]
    raw = {**raw, "currency": DEMO_CURRENCY, "currency_rates": DEMO_RATES}
    return SegmentationConfig.model_validate(raw)


def worker_runs(dataset: str, config_name: str, reps: int) -> dict[str, Any]:
    from segmentation import segment
    from sync.cli import run_segmentation
    from sync.demo import SAMPLE_AS_OF

    sample = Path.cwd() / "sync" / "sample"
    config = _config(config_name)
    with tempfile.TemporaryDirectory(prefix="segment-small-") as tmp:
        directory = sample
        if dataset != "demo":
            directory = Path(tmp) / dataset
            _subset(sample, directory, int(dataset))
        # Loads the data as ``crmseg segment`` does and segments once: the warm-up.
        con, _ = run_segmentation(directory, config, SAMPLE_AS_OF)
    counting = CountingConnection(con)
    cpu: list[float] = []
    wall: list[float] = []
    for _ in range(reps):
        c0, w0 = time.process_time(), time.perf_counter()
        segment(counting, config, SAMPLE_AS_OF)  # type: ignore[arg-type]
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return {
        "cpu_ms": statistics.median(cpu) * 1000,
        "wall_ms": statistics.median(wall) * 1000,
        "statements": counting.statements / reps,
    }


def worker_import() -> dict[str, Any]:
    """CPU of importing ``segmentation`` and validating a config with families, in a
    process that has imported nothing of crmseg yet (pydantic and duckdb themselves are
    imported first: they are not crmseg's cost)."""
    import duckdb  # noqa: F401
    import pydantic  # noqa: F401

    c0 = time.process_time()
    import segmentation  # noqa: F401

    c1 = time.process_time()
    import tomllib

    from segmentation import SegmentationConfig

    with (HERE / "segment_full.toml").open("rb") as f:
        raw = tomllib.load(f)["segmentation"]
    SegmentationConfig.model_validate(raw)
    c2 = time.process_time()
    return {"import_ms": (c1 - c0) * 1000, "validate_ms": (c2 - c1) * 1000}


# --------------------------------------------------------------------------------------
# driver
# --------------------------------------------------------------------------------------


def _measure(python: str, checkout: Path, args: list[str]) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    done = subprocess.run(
        [python, str(Path(__file__).resolve()), "--worker", *args],
        cwd=checkout,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"worker failed in {checkout}:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="rounds (subprocesses per case)")
    parser.add_argument("--reps", type=int, default=20, help="segment() calls per subprocess")
    parser.add_argument("--baseline", type=Path, help="another checkout, measured alongside")
    parser.add_argument("--baseline-python", default=None, help="its Python (default: ours)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--dataset", default="demo", help=argparse.SUPPRESS)
    parser.add_argument("--config", default="demo", help=argparse.SUPPRESS)
    parser.add_argument("--import-cost", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        result = (
            worker_import()
            if args.import_cost
            else worker_runs(args.dataset, args.config, args.reps)
        )
        print(json.dumps(result))
        return

    checkouts = [("this", sys.executable, ROOT)]
    if args.baseline is not None:
        checkouts.append(
            ("baseline", args.baseline_python or sys.executable, args.baseline.resolve())
        )
    cases = [(d, c) for d in DATASETS for c in CONFIGS]
    results: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    imports: dict[str, list[dict[str, Any]]] = {}
    for _ in range(args.runs):
        for dataset, config in cases:
            for name, python, checkout in checkouts:
                got = _measure(
                    python,
                    checkout,
                    ["--dataset", dataset, "--config", config, "--reps", str(args.reps)],
                )
                results.setdefault((name, dataset, config), []).append(got)
        for name, python, checkout in checkouts:
            imports.setdefault(name, []).append(_measure(python, checkout, ["--import-cost"]))

    def med(rows: list[dict[str, Any]], key: str) -> float:
        return statistics.median(r[key] for r in rows)

    print(f"runs={args.runs} reps={args.reps}")
    header = "| dataset | config | CPU ms/run | statements/run |"
    if args.baseline is not None:
        header += " baseline CPU ms/run | baseline statements/run | CPU ratio |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for dataset, config in cases:
        mine = results[("this", dataset, config)]
        line = (
            f"| {dataset} | {config} | {med(mine, 'cpu_ms'):.1f} | {med(mine, 'statements'):.0f} |"
        )
        if args.baseline is not None:
            base = results[("baseline", dataset, config)]
            ratio = statistics.median(
                m["cpu_ms"] / b["cpu_ms"] for m, b in zip(mine, base, strict=True)
            )
            line += f" {med(base, 'cpu_ms'):.1f} | {med(base, 'statements'):.0f} | {ratio:.2f} |"
        print(line)
    for name, rows in imports.items():
        print(
            f"{name}: import segmentation {med(rows, 'import_ms'):.1f} ms CPU, "
            f"validate the full config {med(rows, 'validate_ms'):.1f} ms CPU"
        )


if __name__ == "__main__":
    main()
