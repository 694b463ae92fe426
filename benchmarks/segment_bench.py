"""Benchmark: ``crmseg segment`` on generated CSV exports, side by side with the same
rules hand-written in DuckDB (the floor) and a pandas R/F/M baseline.

Usage::

    python benchmarks/segment_bench.py --sizes 100000 1000000 3000000 --runs 3 \\
        --config benchmarks/segment_full.toml

For each size N it generates (once, cached under ``benchmarks/data/N/``, which is
gitignored; skipped with a message when the disk lacks room) N contacts and 5N
deals with DuckDB ``COPY ... TO`` (no Python loops), then runs, each in a fresh
subprocess so wall, CPU (user + system, from ``wait4``) and peak RSS are per
measurement, in alternating rounds so the load of the shared machine hits each alike:

* ``crmseg``: ``crmseg segment --input DIR --out FILE --as-of D`` end to end, default
  config. Falls back to the library through ``python -c`` when the CLI is absent.
* ``floor``: ``segment_floor.py`` (``segment_floor.sql``): the same default rules
  written directly in DuckDB SQL, exact money, typed and checked input; its
  ``tags.csv`` is compared byte for byte with crmseg's.
* ``pandas``: the baseline RFM summary (recency, frequency, monetary per contact) on
  the same ``deals.csv``: ``read_csv``, filter won deals, split / explode contact ids,
  split amounts (float), ``groupby``. No tags, no output file.
* ``crmseg_full`` (with ``--config``): crmseg with that config, e.g.
  ``segment_full.toml`` with every family of segments v2.
* ``--phases``: also the library in one process, ``CsvLoader.load`` / ``segment`` /
  ``write_tags`` timed separately.

Medians over ``--runs`` rounds are printed as a markdown table with the ratios
crmseg / floor and crmseg / pandas of wall and CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / "data"
DEFAULT_AS_OF = "2026-06-30"
GENERATOR_VERSION = "1"  # bump when the generator changes, to invalidate the cache

# --------------------------------------------------------------------------------------
# data generation (DuckDB SQL; deterministic: hash() of the row number and a salt)
# --------------------------------------------------------------------------------------

FIRST = [
    "Mia",
    "Ida",
    "Lukas",
    "Noah",
    "Emma",
    "Ben",
    "Lea",
    "Paul",
    "Anna",
    "Jonas",
    "Sofia",
    "Elias",
    "Marie",
    "Finn",
    "Lina",
    "Leon",
    "Clara",
    "Felix",
    "Nora",
    "Jan",
]
LAST = [
    "Schwarz",
    "Fischer",
    "Meier",
    "Weber",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Koch",
    "Richter",
    "Klein",
    "Wolf",
    "Neumann",
    "Braun",
    "Zimmermann",
    "Keller",
    "Huber",
    "Vogel",
]
COUNTRIES = ["DE", "AT", "CH", "FR", "IT", "NL", "BE", "GB", "ES", "PL", "SE", "US"]
SALUTATIONS = ["Mr", "Ms", "Dr", "Prof", ""]
TOPICS = ["automation", "support", "training", "analytics", "integration", "security", "cloud"]
CHANNELS = ["web_form", "referral", "event", "import", "partner"]


def _sql_list(values: list[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _u(expr: str, salt: int) -> str:
    """A deterministic pseudo-random double in [0, 1) from ``expr`` and ``salt``."""
    return f"(h({expr}, {salt}) / 1000000007.0)"


def generate(n: int, as_of: str, force: bool = False) -> Path:
    import duckdb

    out = DATA / str(n)
    stamp = out / ".complete"
    expected = f"{GENERATOR_VERSION} {n} {as_of}"
    if not force and stamp.exists() and stamp.read_text().strip() == expected:
        return out
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    n_deals = 5 * n
    n_companies = max(1, n // 10)
    con = duckdb.connect()
    # hash() is UBIGINT; fold it to a BIGINT in [0, 1000000007) so it can index lists.
    con.execute("CREATE MACRO h(a, b) AS CAST(hash(a, b) % 1000000007 AS BIGINT)")
    t0 = time.perf_counter()
    # Contacts: ~3% missing email, ~1% invalid email, ~2% duplicate email, ~5% missing
    # country, 60% with a company, a topics column of 0-3 ;-separated interests.
    con.execute(f"""
        COPY (
          SELECT i + 1 AS id,
                 CASE WHEN {_u("i", 1)} < 0.03 THEN NULL
                      WHEN {_u("i", 1)} < 0.04 THEN 'user' || i || ' at mail.test'
                      WHEN {_u("i", 1)} < 0.06 THEN 'shared' || (i % 997) || '@mail.test'
                      ELSE lower(fn) || '.' || lower(ln) || i || '@mail.test' END AS email,
                 fn AS first_name, ln AS last_name,
                 {_sql_list(SALUTATIONS)}[1 + h(i, 4) % {len(SALUTATIONS)}] AS salutation,
                 CASE WHEN {_u("i", 5)} < 0.05 THEN NULL
                      ELSE {_sql_list(COUNTRIES)}[1 + h(i, 6) % {len(COUNTRIES)}] END AS country,
                 CASE WHEN {_u("i", 7)} < 0.6 THEN 1 + h(i, 8) % {n_companies} END AS company_id,
                 {_sql_list(CHANNELS)}[1 + h(i, 9) % {len(CHANNELS)}] AS channel,
                 nullif(array_to_string(list_transform(range(h(i, 10) % 4),
                     lambda x: {_sql_list(TOPICS)}[1 + (h(i, 11) + x * 3) % {len(TOPICS)}]), ';'),
                     '') AS topics
          FROM (SELECT i,
                       {_sql_list(FIRST)}[1 + h(i, 2) % {len(FIRST)}] AS fn,
                       {_sql_list(LAST)}[1 + h(i, 3) % {len(LAST)}] AS ln
                FROM range({n}) t(i))
        ) TO '{out / "contacts.csv"}' (HEADER, DELIMITER ',')
    """)
    # Deals: 1 contact (80%), 2 (15%), 3 (5%); ~70% won; close dates uniform over the
    # 3 years up to as_of plus 30 days after it (those are not purchases yet);
    # amounts 100.00-50000.00 with 2 decimals, ~3% empty; half have a company.
    con.execute(f"""
        COPY (
          SELECT i + 1 AS id,
                 CASE WHEN {_u("i", 21)} < 0.03 THEN NULL
                      ELSE CAST(round(100 + 49900 * pow({_u("i", 22)}, 3), 2)
                                AS DECIMAL(12, 2)) END AS amount,
                 DATE '{as_of}' + 30 - CAST(floor({_u("i", 23)} * 1125) AS INTEGER) AS close_date,
                 {_u("i", 24)} < 0.7 AS won,
                 array_to_string(list_transform(
                     range(CASE WHEN {_u("i", 25)} < 0.80 THEN 1
                                WHEN {_u("i", 25)} < 0.95 THEN 2 ELSE 3 END),
                     lambda x: CAST(1 + h(i, 26 + x) % {n} AS VARCHAR)), ';') AS contact_ids,
                 CASE WHEN {_u("i", 30)} < 0.5
                      THEN CAST(1 + h(i, 31) % {n_companies} AS VARCHAR) END AS company_ids,
                 {_sql_list(["closedwon", "closedlost", "open"])}[1 + h(i, 32) % 3] AS stage
          FROM range({n_deals}) t(i)
        ) TO '{out / "deals.csv"}' (HEADER, DELIMITER ',')
    """)
    con.close()
    stamp.write_text(expected + "\n")
    print(
        f"generated {n:,} contacts + {n_deals:,} deals in {time.perf_counter() - t0:.1f} s "
        f"-> {out}",
        file=sys.stderr,
    )
    return out


# --------------------------------------------------------------------------------------
# workers (run in a child process; print one JSON line of timings)
# --------------------------------------------------------------------------------------


def worker_inproc(directory: str, as_of: str, out: str) -> dict[str, float]:
    import duckdb

    from connectors.files import CsvLoader, write_tags
    from segmentation import SegmentationConfig, segment

    t = {}
    t0 = time.perf_counter()
    con = duckdb.connect()
    CsvLoader(con, Path(directory)).load([], [])
    t1 = time.perf_counter()
    report = segment(con, SegmentationConfig(), date.fromisoformat(as_of))
    t2 = time.perf_counter()
    write_tags(con, Path(out))
    t3 = time.perf_counter()
    t.update(load=t1 - t0, segment=t2 - t1, write=t3 - t2, total=t3 - t0)
    try:  # the CLI also summarizes the tags (counts per segment); time that too if present
        from sync.summary import summarize
    except ImportError:
        return t
    t4 = time.perf_counter()
    summarize(con, report)
    t["summarize"] = time.perf_counter() - t4
    return t


def worker_pandas(directory: str, as_of: str, window_days: int = 365) -> dict[str, float]:
    import numpy as np
    import pandas as pd

    as_of_ts = pd.Timestamp(as_of)
    window_start = as_of_ts - pd.Timedelta(days=window_days)
    t0 = time.perf_counter()
    deals = pd.read_csv(
        Path(directory) / "deals.csv",
        usecols=["id", "amount", "close_date", "won", "contact_ids"],
        dtype={"id": "int64", "amount": "float64", "won": "bool", "contact_ids": "string"},
        parse_dates=["close_date"],
    )
    t1 = time.perf_counter()
    p = deals[deals["won"] & deals["close_date"].notna() & (deals["close_date"] <= as_of_ts)]
    ids = p["contact_ids"].str.split(";")
    k = ids.str.len()
    p = p.assign(contact_id=ids, share=p["amount"].fillna(0.0) / k).explode("contact_id")
    p["in_window"] = p["close_date"] > window_start
    p["share_w"] = np.where(p["in_window"], p["share"], 0.0)
    t2 = time.perf_counter()
    rfm = p.groupby("contact_id", sort=False).agg(
        last=("close_date", "max"), frequency=("in_window", "sum"), monetary=("share_w", "sum")
    )
    rfm["recency_days"] = (as_of_ts - rfm["last"]).dt.days
    t3 = time.perf_counter()
    return {
        "read": t1 - t0,
        "prep": t2 - t1,
        "groupby": t3 - t2,
        "after_read": t3 - t1,
        "total": t3 - t0,
        "rows": float(len(rfm)),
    }


def run_child(argv: list[str]) -> tuple[float, float, dict[str, float] | None]:
    """Run argv, return (wall seconds, peak RSS MiB of that process, parsed JSON or None).

    The child's CPU seconds (user + system) go into ``LAST_CPU`` (less sensitive than
    wall time to other load on the machine).
    """
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # wait4 gives the rusage of exactly this child (ru_maxrss in KiB on Linux).
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    stdout = proc.stdout.read().decode() if proc.stdout else ""
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"{argv} failed ({proc.returncode}):\n{stdout}\n{stderr}")
    data = None
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            data = json.loads(line)
            break
    LAST_CPU[0] = usage.ru_utime + usage.ru_stime
    return wall, usage.ru_maxrss / 1024, data


LAST_CPU = [0.0]


def loadavg() -> str:
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "?"


def cli_command(directory: Path, out: Path, as_of: str) -> tuple[list[str], str]:
    exe = Path(sys.executable).parent / "crmseg"
    if exe.exists() and (ROOT / "sync" / "cli.py").exists():
        return [
            str(exe),
            "segment",
            "--input",
            str(directory),
            "--out",
            str(out),
            "--as-of",
            as_of,
        ], "crmseg segment"
    code = (
        "import duckdb, datetime; from pathlib import Path; "
        "from connectors.files import CsvLoader, write_tags; "
        "from segmentation import SegmentationConfig, segment; "
        "con = duckdb.connect(); "
        f"CsvLoader(con, Path({str(directory)!r})).load([], []); "
        f"segment(con, SegmentationConfig(), datetime.date.fromisoformat({as_of!r})); "
        f"write_tags(con, Path({str(out)!r}))"
    )
    return [sys.executable, "-c", code], "python -c (library; crmseg CLI absent)"


def med(values: list[float]) -> float:
    return statistics.median(values)


#: Bytes of CSV per contact (contacts.csv + deals.csv, measured at 1M: 78 + 264 MB).
CSV_BYTES_PER_CONTACT = 342
#: Room needed beyond the files: DuckDB spills and tags.csv (measured: a few times the CSV).
DISK_FACTOR = 3


def room_for(n: int) -> str | None:
    """Why size ``n`` cannot be generated here (``None`` when it can)."""
    if (DATA / str(n) / ".complete").exists():
        return None
    DATA.mkdir(parents=True, exist_ok=True)
    need = n * CSV_BYTES_PER_CONTACT * DISK_FACTOR
    free = shutil.disk_usage(DATA).free
    if free < need:
        return f"needs about {need / 2**30:.1f} GiB free under {DATA}, has {free / 2**30:.1f} GiB"
    return None


def floor_command(directory: Path, out: Path, as_of: str) -> list[str]:
    return [
        sys.executable,
        str(HERE / "segment_floor.py"),
        str(directory),
        str(out),
        "--as-of",
        as_of,
    ]


def measure(argv: list[str]) -> dict[str, float]:
    wall, peak, _ = run_child(argv)
    return {"wall": wall, "cpu": LAST_CPU[0], "rss": peak}


def bench(
    n: int,
    runs: int,
    as_of: str,
    config: Path | None,
    phases: bool,
    keep: Path | None = None,
    baseline: Path | None = None,
) -> dict:
    """Runs crmseg, the floor, pandas (and crmseg with ``config``; and ``baseline``, the
    ``crmseg`` executable of another version, with each config) alternately, ``runs``
    rounds, so load from elsewhere on the machine hits each alike."""
    directory = generate(n, as_of)
    res: dict = {"n": n, "runs": runs, "loadavg_1min": [loadavg()]}
    with tempfile.TemporaryDirectory(prefix="crmseg-bench-") as tmp:
        out, floor_out = Path(tmp) / "tags.csv", Path(tmp) / "floor-tags.csv"
        argv, how = cli_command(directory, out, as_of)
        res["cli_how"] = how
        variants: dict[str, list[str]] = {
            "crmseg": argv,
            "floor": floor_command(directory, floor_out, as_of),
            "pandas": [sys.executable, __file__, "--worker", "pandas", str(directory), as_of],
        }
        if config is not None:
            full_argv, _ = cli_command(directory, Path(tmp) / "full-tags.csv", as_of)
            variants["crmseg_full"] = [*full_argv, "--config", str(config)]
        if baseline is not None:
            variants["baseline"] = [
                str(baseline),
                *argv[1:5],
                str(Path(tmp) / "base-tags.csv"),
                *argv[6:],
            ]
            if config is not None:
                variants["baseline_full"] = [
                    str(baseline),
                    *argv[1:5],
                    str(Path(tmp) / "base-full-tags.csv"),
                    *argv[6:],
                    "--config",
                    str(config),
                ]
        samples: dict[str, list[dict[str, float]]] = {k: [] for k in variants}
        for r in range(runs):
            for name, variant in variants.items():
                m = measure(variant)
                samples[name].append(m)
                res["loadavg_1min"].append(loadavg())
                print(
                    f"  [{n:,}] round {r + 1} {name}: {m['wall']:.2f} s wall, "
                    f"{m['cpu']:.2f} s CPU, {m['rss']:.0f} MiB, loadavg {loadavg()}",
                    file=sys.stderr,
                )
        for name, ms in samples.items():
            res[name] = {k: med([m[k] for m in ms]) for k in ("wall", "cpu")}
            res[name]["rss"] = max(m["rss"] for m in ms)
            res[name]["walls"] = [m["wall"] for m in ms]
            res[name]["cpus"] = [m["cpu"] for m in ms]
        res["tags_rows"] = sum(1 for _ in out.open()) - 1
        res["same_tags_as_floor"] = out.read_bytes() == floor_out.read_bytes()
        if baseline is not None:
            pairs = {"baseline": ("tags.csv", "base-tags.csv")}
            if config is not None:
                pairs["baseline_full"] = ("full-tags.csv", "base-full-tags.csv")
            res["same_tags_as_baseline"] = {
                name: (Path(tmp) / mine).read_bytes() == (Path(tmp) / theirs).read_bytes()
                for name, (mine, theirs) in pairs.items()
            }
        if keep is not None:  # for a byte-for-byte comparison with another version
            keep.mkdir(parents=True, exist_ok=True)
            for produced in Path(tmp).glob("*tags.csv"):
                shutil.copy(produced, keep / f"{n}-{produced.name}")
        if phases:
            per: dict[str, list[float]] = {}
            for _ in range(runs):
                _, _, data = run_child(
                    [
                        sys.executable,
                        __file__,
                        "--worker",
                        "inproc",
                        str(directory),
                        as_of,
                        str(out),
                    ]
                )
                assert data is not None
                for key, value in data.items():
                    per.setdefault(key, []).append(value)
            res["inproc"] = {k: med(v) for k, v in per.items()}
    return res


def table(results: list[dict]) -> str:
    full = any("crmseg_full" in r for r in results)
    head = [
        "contacts",
        "deals",
        "runs",
        "crmseg wall (s)",
        "crmseg CPU (s)",
        "crmseg peak (MiB)",
        "floor wall (s)",
        "floor CPU (s)",
        "floor peak (MiB)",
        "pandas wall (s)",
        "pandas CPU (s)",
        "pandas peak (MiB)",
        "wall / floor",
        "CPU / floor",
        "wall / pandas",
        "CPU / pandas",
        "peak MiB per 1M contacts",
        "tags.csv = floor's",
    ]
    if full:
        head[6:6] = ["all v2 families wall (s)", "CPU (s)", "peak (MiB)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    for r in results:
        c, f, p = r["crmseg"], r["floor"], r["pandas"]
        cells = [
            f"{r['n']:,}",
            f"{5 * r['n']:,}",
            str(r["runs"]),
            f"{c['wall']:.2f}",
            f"{c['cpu']:.2f}",
            f"{c['rss']:,.0f}",
        ]
        if full:
            x = r.get("crmseg_full")
            cells += (
                [f"{x['wall']:.2f}", f"{x['cpu']:.2f}", f"{x['rss']:,.0f}"] if x else ["", "", ""]
            )
        cells += [
            f"{f['wall']:.2f}",
            f"{f['cpu']:.2f}",
            f"{f['rss']:,.0f}",
            f"{p['wall']:.2f}",
            f"{p['cpu']:.2f}",
            f"{p['rss']:,.0f}",
            f"{c['wall'] / f['wall']:.2f}x",
            f"{c['cpu'] / f['cpu']:.2f}x",
            f"{c['wall'] / p['wall']:.2f}x",
            f"{c['cpu'] / p['cpu']:.2f}x",
            f"{c['rss'] / (r['n'] / 1e6):,.0f}",
            "yes" if r["same_tags_as_floor"] else "**no**",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def baseline_table(results: list[dict]) -> str:
    """This version against ``--baseline``: CPU medians and ratios, peaks, same tags.csv."""
    lines = [
        "| contacts | config | CPU (s) | baseline CPU (s) | CPU / baseline | peak (MiB) "
        "| baseline peak (MiB) | tags.csv = baseline's |",
        "|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        for mine, theirs, label in (
            ("crmseg", "baseline", "default"),
            ("crmseg_full", "baseline_full", "--config"),
        ):
            if theirs not in r:
                continue
            c, b = r[mine], r[theirs]
            same = r["same_tags_as_baseline"][theirs]
            lines.append(
                f"| {r['n']:,} | {label} | {c['cpu']:.2f} | {b['cpu']:.2f} | "
                f"{c['cpu'] / b['cpu']:.2f}x | {c['rss']:,.0f} | {b['rss']:,.0f} | "
                f"{'yes' if same else '**no**'} |"
            )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--as-of", default=DEFAULT_AS_OF)
    ap.add_argument("--generate-only", action="store_true")
    ap.add_argument("--json", type=Path, help="also write the raw results here")
    ap.add_argument(
        "--config",
        type=Path,
        help="also run crmseg with this config (benchmarks/segment_full.toml: every v2 family)",
    )
    ap.add_argument("--keep-tags", type=Path, help="copy each size's tags.csv files here")
    ap.add_argument(
        "--baseline",
        type=Path,
        help="the crmseg executable of another version, run alternately with the same input; "
        "its tags.csv is compared byte for byte",
    )
    ap.add_argument(
        "--phases", action="store_true", help="also time load / segment() / write in one process"
    )
    ap.add_argument("--worker", choices=["inproc", "pandas"], help=argparse.SUPPRESS)
    ap.add_argument("args", nargs="*", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker == "inproc":
        print(json.dumps(worker_inproc(*a.args)))
        return
    if a.worker == "pandas":
        print(json.dumps(worker_pandas(*a.args)))
        return
    if a.generate_only:
        for n in a.sizes:
            generate(n, a.as_of)
        return
    results = []
    for n in a.sizes:
        why = room_for(n)
        if why is not None:
            print(f"skipping {n:,} contacts: {why}", file=sys.stderr)
            continue
        results.append(bench(n, a.runs, a.as_of, a.config, a.phases, a.keep_tags, a.baseline))
        print(table(results[-1:]), file=sys.stderr)
    if not results:
        return
    if a.json:
        a.json.write_text(json.dumps(results, indent=2))
    print(
        f"\nas_of {a.as_of}; crmseg via {results[0]['cli_how']}; medians of --runs rounds "
        "(crmseg, floor, pandas, ... alternately); peak = max ru_maxrss over the rounds; "
        "CPU = user + system of the child\n"
    )
    print(table(results))
    if a.baseline is not None:
        print("\n" + baseline_table(results))


if __name__ == "__main__":
    main()
