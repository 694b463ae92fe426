"""crmseg's own CPU per ``crmseg sync`` on a small portal, and its calls.

What every scheduled run pays whatever the portal's size: opening the state file,
reading the CRM's field lists, building the client, planning, storing the run. Each
run here is a fresh stand-in (``--crm hubspot`` or ``salesforce``, ``--contacts``
contacts, HubSpot's rate limits off, every wait on a fake clock), then ``crmseg sync``
twice through the command line in this process: the first sync (everything written)
and the rerun (nothing to write). Reported per sync: the CPU seconds of this process
(``time.process_time``: crmseg, the client and the stand-in's server threads together,
so an upper bound for crmseg) and the stand-in's calls per endpoint.

``--profile FILE`` writes a cProfile (timed in process CPU) of each sync of the last
run (``FILE.first``, ``FILE.rerun``). ``--warmup`` runs (1) come first, uncounted: the
first sync in a process imports the client.

    python benchmarks/cli_sync_cpu.py --contacts 200 --runs 5
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import statistics
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

import connectors.clock
from connectors.sandbox.hubspot import HubSpotStandIn, LimitConfig
from connectors.sandbox.salesforce import SalesforceStandIn
from sync.cli import app

AS_OF = date(2026, 6, 30)
#: One contact rule and one deal rule (HubSpot): the preflight checks both properties exist.
INTERESTS = """
[[segmentation.interests]]
tag = "security"
contact_property = "topics"
any_of = ["security"]

[[segmentation.interests]]
tag = "enterprise"
deal_property = "product_line"
any_of = ["enterprise"]
"""


class _NoWait:
    """Every wait returns at once; the clock moves on by it (what the tests use)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)


def _hubspot(contacts: int, tmp: Path) -> tuple[Any, str]:
    hub = HubSpotStandIn(
        seed=11, contacts=contacts, as_of=AS_OF, limits=LimitConfig(enabled=False)
    ).start()
    os.environ["HUBSPOT_ACCESS_TOKEN"] = hub.token
    crm = f'[crm]\nbase_url = "{hub.base_url}"\nca_bundle = "{hub.ca_path}"\n'
    return hub, crm + INTERESTS


def _salesforce(contacts: int, tmp: Path) -> tuple[Any, str]:
    org = SalesforceStandIn(seed=11, contacts=contacts, as_of=AS_OF).start()
    os.environ["SALESFORCE_CLIENT_SECRET"] = org.credentials.consumer_secret
    crm = (
        f'[crm]\ntype = "salesforce"\ninstance_url = "{org.instance_url}"\n'
        f'client_id = "{org.credentials.consumer_key}"\nca_bundle = "{org.ca_path}"\n'
    )
    return org, crm


def _endpoint(entry: Any) -> str:
    name = getattr(entry, "endpoint", "") or ""
    return str(name) if name else f"{entry.method} {entry.path}"


def one_run(crm_type: str, contacts: int, profile: Path | None) -> dict[str, Any]:
    runner = CliRunner()
    connectors.clock.DEFAULT = _NoWait()
    with tempfile.TemporaryDirectory() as tmp:
        standin, crm = (_salesforce if crm_type == "salesforce" else _hubspot)(contacts, Path(tmp))
        try:
            config = Path(tmp) / "crmseg.toml"
            config.write_text(
                f'{crm}[state]\npath = "{Path(tmp) / "state.duckdb"}"\n'
                '[lists]\nlifecycle = ["at_risk"]\n',
                encoding="utf-8",
            )
            args = ["sync", "--config", str(config), "--as-of", str(AS_OF), "--json"]
            out: dict[str, Any] = {}
            for name in ("first", "rerun"):
                before = len(standin.log.entries)
                prof = cProfile.Profile(time.process_time) if profile else None
                cpu, wall = time.process_time(), time.perf_counter()
                if prof:
                    prof.enable()
                result = runner.invoke(app, args, catch_exceptions=False)
                if prof:
                    prof.disable()
                    prof.dump_stats(f"{profile}.{name}")
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                assert result.exit_code == 0, result.stdout
                calls = Counter(_endpoint(e) for e in standin.log.entries[before:])
                out[name] = {"cpu": cpu, "wall": wall, "calls": dict(sorted(calls.items()))}
        finally:
            standin.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--crm", choices=["hubspot", "salesforce"], default="hubspot")
    parser.add_argument("--contacts", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--profile", type=Path)
    parser.add_argument(
        "--warmup", type=int, default=1, help="uncounted runs first (the lazy imports)"
    )
    args = parser.parse_args()
    for _ in range(args.warmup):
        one_run(args.crm, args.contacts, None)
    runs = [one_run(args.crm, args.contacts, args.profile) for _ in range(args.runs)]
    report: dict[str, Any] = {"crm": args.crm, "contacts": args.contacts, "runs": args.runs}
    for name in ("first", "rerun"):
        cpus = [r[name]["cpu"] for r in runs]
        report[name] = {
            "cpu_median": round(statistics.median(cpus), 3),
            "cpu_runs": [round(c, 3) for c in cpus],
            "wall_median": round(statistics.median(r[name]["wall"] for r in runs), 3),
            "calls": runs[-1][name]["calls"],
            "calls_total": sum(runs[-1][name]["calls"].values()),
        }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
