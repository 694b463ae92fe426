"""What one ``crmseg`` process costs before it does its work: CPU per command, and the
imports behind it.

Every scheduled run, every ``crmseg status`` an operator types and every test that runs
crmseg as its own process pays the interpreter's start and crmseg's imports. Each
``--crmseg`` names a console script (``<venv>/bin/crmseg``, so two checkouts can be
measured side by side in the same run: their runs alternate, so load falls on both
alike). Against one HubSpot stand-in on loopback (rate limits off), each checkout gets
its own config and state file, filled by one ``crmseg sync`` first (uncounted); then,
``--runs`` times, each of ``crmseg --help``, ``crmseg status`` and
``crmseg sync --dry-run`` runs as a child process. Reported per command and checkout:
the median CPU seconds of the child (user + system, from ``os.wait4``; the stand-in's
threads are in this process and not counted) and its wall time, and the ratio of each
checkout's median CPU to the first's.

``--importtime`` adds, per command and checkout, one run under ``python -X importtime``
summed by top-level package (self time, milliseconds): which imports a command pays.

    python benchmarks/cli_startup.py --runs 5 \\
        --crmseg /path/to/main/venv/bin/crmseg --crmseg .venv/bin/crmseg --importtime
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from connectors.sandbox.hubspot import HubSpotStandIn, LimitConfig

AS_OF = date(2026, 6, 30)
COMMANDS: dict[str, list[str]] = {
    "--help": ["--help"],
    "status": ["status"],
    "sync --dry-run": ["sync", "--dry-run", "--as-of", AS_OF.isoformat()],
}


def _run(argv: list[str], *, cwd: Path, env: dict[str, str]) -> tuple[float, float, int]:
    """CPU seconds (user + system) and wall seconds of one child process, and its exit code."""
    started = time.perf_counter()
    child = subprocess.Popen(
        argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime, time.perf_counter() - started, child.returncode


def _interpreter(script: str) -> str:
    """The python a console script runs under (its ``#!`` line)."""
    with open(script, encoding="utf-8") as fh:
        return fh.readline().removeprefix("#!").strip()


def import_profile(script: str, args: list[str], *, cwd: Path, env: dict[str, str]) -> Counter[str]:
    """Self time of every import of one run, summed per top-level package (ms)."""
    done = subprocess.run(
        [_interpreter(script), "-X", "importtime", script, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    by_package: Counter[str] = Counter()
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        own, _, name = line.removeprefix("import time:").split("|")
        by_package[name.strip().split(".")[0]] += int(own) // 1000
    return by_package


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--crmseg", action="append", help="a console script (repeatable)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--contacts", type=int, default=40)
    parser.add_argument("--importtime", action="store_true")
    args = parser.parse_args()
    scripts = args.crmseg or [shutil.which("crmseg") or "crmseg"]
    with (
        tempfile.TemporaryDirectory() as tmp,
        HubSpotStandIn(
            seed=5, contacts=args.contacts, as_of=AS_OF, limits=LimitConfig(enabled=False)
        ) as hub,
    ):
        env = {**os.environ, "HUBSPOT_ACCESS_TOKEN": hub.token}
        homes = []
        for n, script in enumerate(scripts):
            home = Path(tmp) / str(n)
            home.mkdir()
            (home / "crmseg.toml").write_text(
                f'[crm]\nbase_url = "{hub.base_url}"\nca_bundle = "{hub.ca_path}"\n'
                f'[state]\npath = "{home / "state.duckdb"}"\n',
                encoding="utf-8",
            )
            _, _, code = _run([script, *COMMANDS["sync --dry-run"][:1]], cwd=home, env=env)
            if code != 0:
                raise SystemExit(f"{script}: the first sync exited {code}")
            homes.append(home)
        samples: dict[tuple[str, int], list[tuple[float, float]]] = {}
        for _ in range(args.runs):
            for name, command in COMMANDS.items():
                for n, script in enumerate(scripts):
                    cpu, wall, code = _run([script, *command], cwd=homes[n], env=env)
                    if code != 0:
                        raise SystemExit(f"{script} {' '.join(command)} exited {code}")
                    samples.setdefault((name, n), []).append((cpu, wall))
        report: dict[str, Any] = {"runs": args.runs, "crmseg": scripts, "commands": {}}
        for name, command in COMMANDS.items():
            rows = []
            for n, script in enumerate(scripts):
                cpus = [c for c, _ in samples[name, n]]
                row: dict[str, Any] = {
                    "crmseg": script,
                    "cpu_median": round(statistics.median(cpus), 3),
                    "cpu_runs": [round(c, 3) for c in cpus],
                    "wall_median": round(statistics.median(w for _, w in samples[name, n]), 3),
                }
                if args.importtime:
                    top = import_profile(script, command, cwd=homes[n], env=env)
                    row["imports_ms"] = dict(top.most_common(14))
                    row["imports_ms_total"] = sum(top.values())
                rows.append(row)
            first = rows[0]["cpu_median"]
            for row in rows:
                row["cpu_ratio_to_first"] = round(row["cpu_median"] / first, 3) if first else None
            report["commands"][name] = rows
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
