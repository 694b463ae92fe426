"""Benchmark: ``crmseg sync`` against the local HubSpot sandbox, rate limits enforced
(or, with ``--crm salesforce``, against the local Salesforce stand-in).

Usage::

    .venv/bin/python benchmarks/sync_bench.py --sizes 10000
    .venv/bin/python benchmarks/sync_bench.py --sizes 10000 100000 --json /tmp/sync.json
    .venv/bin/python benchmarks/sync_bench.py --sizes 100000 --phases full --dump /tmp/d
    .venv/bin/python benchmarks/sync_bench.py --report /tmp/sync.json   # tables again
    .venv/bin/python benchmarks/sync_bench.py --crm salesforce --sizes 10000 100000
    .venv/bin/python benchmarks/sync_bench.py --sizes 1000000 --phases full --standin-process

For each size N, each run starts a fresh ``HubSpotStandIn(seed, contacts=N, as_of)``
(the generator's default of 0.75 N deals) with its rate limits ENABLED at HubSpot's
Professional budget (190 requests per rolling 10 s per app, 5 searches per second) and
``--latency`` seconds added to every response. crmseg runs with the demo's segmentation
config (its five interest rules and its three lists, copied into this file),
``requests_per_10s=190``, ``concurrency=4``, a state file in a temp dir, and does, as
``crmseg sync`` would:

1. **full**: the first sync (empty mirror: full pull of contacts and deals, provision the
   crmseg fields and lists, write every contact's tags).
2. **no-op**: the same sync again, same data, same as_of. It must write nothing.
3. **incremental**: ``hs.add_won_deal`` for k = ceil(--change-share * N) contacts (evenly
   spread over the ids, closed the day before as_of), then the same sync again.

The sandbox's rate-limit windows are reset between the three phases (``reset_limits``),
as if the runs were more than 10 s apart; each phase uses a new connector (its own
client-side limiter), as a new ``crmseg sync`` process would.

The phases run back to back, and that matters for the pulls after the first: the full
sync's own batch updates bump every written contact's ``lastmodifieddate``, so the no-op
rerun's incremental search finds all N contacts again (it writes nothing); and with
crmseg's default ``[crm] overlap_minutes = 10`` the incremental run that follows
re-reads everything modified in the 10 minutes before the no-op's cursor, i.e. the full
sync's writes again. ``--overlap-minutes 0`` shows the incremental pull without that
artefact of back-to-back runs (runs hours apart only see the overlap's own changes).


``--dump DIR`` writes, per run and phase, every request the sandbox saw (arrival ``at``,
endpoint, status, duration) and every time crmseg's limiter let a request go, as JSON
lines, to compare send and arrival times (e.g. when a 429 happens).


Runs: default 3 per size below 100k and 1 from 100k on (a full 100k sync takes about
5 minutes: ~1,750 list pages one after another, then ~1,000 batch updates at the
19 requests/s budget; the no-op and incremental runs about 2.5 minutes each). Medians
over runs are printed; every run's figures go into the JSON.

The parts: ``sync_common`` (constants, the rate measure, the machine record),
``sync_hubspot`` (one HubSpot run) and ``sync_hubspot_figures`` (what is measured from
the sandbox's log, with the floors), ``sync_salesforce`` (one Salesforce run and its
figures), ``sync_report`` (the tables) and ``standin_process`` (the sandbox in a child
process, ``--standin-process``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import sync_breakdown, sync_common, sync_hubspot  # noqa: E402
from benchmarks.sync_common import (  # noqa: E402
    AS_OF,
    BUDGET,
    CONCURRENCY,
    PHASES,
    SEARCH_PER_SECOND,
    SEED,
    machine,
    source_stamp,
)
from benchmarks.sync_hubspot import one_run  # noqa: E402
from benchmarks.sync_hubspot_figures import HS_BULK  # noqa: E402
from benchmarks.sync_report import report, sf_table, table  # noqa: E402
from benchmarks.sync_salesforce import SF_THRESHOLDS, sf_one_run  # noqa: E402
from sync.engine import Engine  # noqa: E402


class _TimedEngine(Engine):
    """The engine of a HubSpot run, its steps timed (``benchmarks/sync_breakdown.py``):
    the progress phases through the reporter, the steps under them through wrappers
    put in place for the run only."""

    last: sync_breakdown.Spans | None = None
    started: float = 0.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        spans = sync_breakdown.Spans()
        kwargs["reporter"] = spans
        super().__init__(*args, **kwargs)
        self._spans = spans

    def run(self, options: Any) -> Any:
        _TimedEngine.last, _TimedEngine.started = self._spans, time.time()
        sync_breakdown.instrument(self._spans)
        try:
            with self._spans.span("sync (Engine.run)"):
                return super().run(options)
        finally:
            self._spans.restore()


def _figures_with_breakdown(hs: Any, summary: dict[str, Any], wall: float) -> dict[str, Any]:
    """``phase_figures``, plus the timeline of the sync just run (printed as well)."""
    fig = _phase_figures(hs, summary, wall)
    spans = _TimedEngine.last
    if spans is not None:
        rows = sync_breakdown.timeline(spans, hs.log.entries, _TimedEngine.started)
        fig["breakdown"] = rows
        print(
            sync_breakdown.render(rows, "  where the sync's wall time went (s from its start)"),
            file=sys.stderr,
        )
        _TimedEngine.last = None
    return fig


_phase_figures = sync_hubspot.phase_figures


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument(
        "--crm",
        choices=["hubspot", "salesforce"],
        default="hubspot",
        help="the local HubSpot sandbox (default) or the Salesforce stand-in",
    )
    ap.add_argument(
        "--bulk-query-threshold",
        type=int,
        default=SF_THRESHOLDS["bulk_query_threshold"],
        help="Salesforce: [crm] bulk_query_threshold (default crmseg's, 50,000)",
    )
    ap.add_argument(
        "--bulk-ingest-threshold",
        type=int,
        default=SF_THRESHOLDS["bulk_ingest_threshold"],
        help="Salesforce: [crm] bulk_ingest_threshold (default crmseg's, 10,000)",
    )
    ap.add_argument(
        "--bulk",
        choices=["default", "off"],
        default="default",
        help="HubSpot: crmseg's export/import thresholds (default 50,000 / 20,000) or "
        "'off' (both 0: list pages and batch updates only)",
    )
    ap.add_argument("--export-threshold", type=int, default=None, help="HubSpot: override")
    ap.add_argument("--import-threshold", type=int, default=None, help="HubSpot: override")
    ap.add_argument(
        "--export-rows-per-second",
        type=float,
        default=HS_BULK["export_rows_per_second"],
        help="sandbox export processing speed (default the stand-in's, 10,000)",
    )
    ap.add_argument(
        "--import-rows-per-second",
        type=float,
        default=HS_BULK["import_rows_per_second"],
        help="sandbox import processing speed (default the stand-in's, 2,000)",
    )
    ap.add_argument(
        "--deals-per-contact",
        type=int,
        default=None,
        help="HubSpot: deals = N * this (default the generator's 0.75 N)",
    )
    ap.add_argument(
        "--serial-pulls",
        action="store_true",
        help="HubSpot: pull one object type after another (crmseg pulls them at once)",
    )
    ap.add_argument("--latency", type=float, default=0.08, help="seconds added to each response")
    ap.add_argument(
        "--budget",
        type=int,
        default=BUDGET,
        help="HubSpot: requests per 10 s, the sandbox's and crmseg's (default Professional's "
        "190); a lower one makes the budget bind on a machine too loaded to reach 190",
    )
    ap.add_argument(
        "--runs", type=int, default=None, help="runs per size (default 3 below 100k, else 1)"
    )
    ap.add_argument("--change-share", type=float, default=0.01, help="share changed (default 1%%)")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("--json", type=Path, default=None, help="write all figures here")
    ap.add_argument(
        "--overlap-minutes",
        type=int,
        default=None,
        help="[crm] overlap_minutes (default: crmseg's, 10). Back-to-back runs re-read "
        "everything modified within it, including the previous run's own writes",
    )
    ap.add_argument(
        "--phases",
        nargs="+",
        choices=PHASES,
        default=PHASES,
        help="phases to run, in this order (default all; full is needed first)",
    )
    ap.add_argument(
        "--dump",
        type=Path,
        default=None,
        help="write each phase's request log (server arrivals, crmseg's limiter sends) "
        "as JSON lines into this folder",
    )
    ap.add_argument(
        "--report", type=Path, default=None, help="only print the tables of an earlier --json"
    )
    ap.add_argument(
        "--count-window",
        action="store_true",
        help="HubSpot: turn on count_own_write_window (one counting search instead of "
        "re-reading crmseg's own write window)",
    )
    ap.add_argument(
        "--standin-process",
        action="store_true",
        help="HubSpot: run the sandbox in a child process, so crmseg's CPU time and "
        "memory are measured alone",
    )
    ap.add_argument(
        "--no-breakdown",
        action="store_true",
        help="HubSpot: do not time the sync's steps (the breakdown printed after each "
        "phase and stored under 'breakdown' in --json)",
    )
    a = ap.parse_args()
    sync_hubspot.COUNT_WINDOW = a.count_window
    sync_common.BUDGET = sync_hubspot.BUDGET = a.budget
    sync_hubspot.STANDIN_PROCESS = a.standin_process
    if a.crm == "hubspot" and not a.no_breakdown:
        sync_hubspot.Engine = _TimedEngine  # type: ignore[misc]
        sync_hubspot.phase_figures = _figures_with_breakdown
    if a.report:
        report(json.loads(a.report.read_text()))
        return

    if a.bulk == "off":
        HS_BULK["export_threshold"] = HS_BULK["import_threshold"] = 0
    if a.export_threshold is not None:
        HS_BULK["export_threshold"] = a.export_threshold
    if a.import_threshold is not None:
        HS_BULK["import_threshold"] = a.import_threshold
    HS_BULK["export_rows_per_second"] = a.export_rows_per_second
    HS_BULK["import_rows_per_second"] = a.import_rows_per_second
    HS_BULK["deals_per_contact"] = a.deals_per_contact
    HS_BULK["serial_pulls"] = a.serial_pulls
    SF_THRESHOLDS["bulk_query_threshold"] = a.bulk_query_threshold
    SF_THRESHOLDS["bulk_ingest_threshold"] = a.bulk_ingest_threshold
    if a.dump:
        a.dump.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    stamp = source_stamp()
    results = []
    for n in a.sizes:
        runs = a.runs or (3 if n < 100_000 else 1)
        before = machine()["loadavg"]
        rs = []
        for i in range(runs):
            print(f"[{n:,}] run {i + 1}/{runs}", file=sys.stderr)
            run = sf_one_run if a.crm == "salesforce" else one_run
            rs.append(
                run(
                    n,
                    a.latency,
                    a.change_share,
                    a.seed,
                    a.phases,
                    a.dump,
                    f"{n}-{i + 1}-",
                    a.overlap_minutes,
                )
            )
        results.append(
            {
                "n": n,
                "deals": rs[0]["deals"],
                "k": rs[0].get("changed_contacts", 0),
                "runs": rs,
                "loadavg_before": before,
                "loadavg_after": machine()["loadavg"],
            }
        )
        if a.crm == "salesforce":
            results[-1]["roles"] = rs[0]["roles"]
            print(sf_table(results[-1:]), file=sys.stderr)
        else:
            print(table(results[-1:]), file=sys.stderr)
    out = {
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "source_at_start": stamp,
        "settings": {
            "crm": a.crm,
            "as_of": AS_OF.isoformat(),
            "seed": a.seed,
            "latency": a.latency,
            "budget_per_10s": a.budget,
            "search_per_second": SEARCH_PER_SECOND,
            "concurrency": CONCURRENCY,
            "change_share": a.change_share,
            "overlap_minutes": a.overlap_minutes,
            **(dict(SF_THRESHOLDS) if a.crm == "salesforce" else {}),
            **({"hubspot_bulk": dict(HS_BULK)} if a.crm == "hubspot" else {}),
            "standin_process": a.standin_process,
        },
        "results": results,
    }
    if a.json:
        a.json.write_text(json.dumps(out, indent=2, default=str))
    report(out)


if __name__ == "__main__":
    main()
