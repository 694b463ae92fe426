"""One HubSpot benchmark run: a fresh sandbox, then the phases through ``Engine.run``.

**HubSpot exports and imports**: crmseg runs with its default thresholds (a full pull of
more than 50,000 records of a type reads one CRM export; more than 20,000 tag changes of a
type go through one CRM import); ``--bulk off`` sets both to 0 (list pages and batch
updates only), ``--export-threshold`` / ``--import-threshold`` set them. The sandbox
processes exports and imports in a time proportional to the rows, its defaults unless
``--export-rows-per-second`` / ``--import-rows-per-second`` say otherwise (10 s + 10,000
rows/s per export, one at a time; 10 s + 2,000 rows/s per import: an assumption, HubSpot
publishes no figure); the settings and the report print the values used. Floors on that
path: per exported type one count search, one properties read, one export start and one
status poll (no list pages); for the writes one import start, one status read and one
errors page (no batch updates). ``--deals-per-contact`` seeds N x that many deals.
The peak resident memory of the benchmark process (crmseg and the in-process sandbox
together, so an upper bound for crmseg) is recorded per phase.

"""

from __future__ import annotations

import json
import math
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks.sync_common import (
    AS_OF,
    BUDGET,
    CONCURRENCY,
    PHASES,
    SEARCH_PER_SECOND,
    WINDOW,
    peak_rss_mib,
    process_cpu,
)
from benchmarks.sync_hubspot_figures import HS_BULK, endpoint_name, floors, phase_figures
from connectors.sandbox.hubspot import HubSpotStandIn, LimitConfig
from connectors.sandbox.hubspot.jobs import BulkConfig
from segmentation import InterestRule, SegmentationConfig
from sync.config import Config, CrmConfig, ListsConfig, StateConfig
from sync.connect import open_connector
from sync.engine import Engine, RunOptions
from sync.state import State

#: The interest rules and lists of ``crmseg demo`` (sync/demo.py, 2026-11-23), kept here
#: so the benchmark's workload does not move when the demo changes.
INTERESTS = [
    InterestRule(tag="security", contact_property="topics", any_of=["security"]),
    InterestRule(tag="cloud", contact_property="topics", any_of=["cloud"]),
    InterestRule(tag="learning", contact_property="topics", any_of=["training"]),
    InterestRule(tag="learning", deal_property="product_line", any_of=["training"]),
    InterestRule(tag="enterprise", deal_property="product_line", any_of=["enterprise"]),
]


def bench_config(hs: HubSpotStandIn, state_path: Path, overlap: int | None = None) -> Config:
    """The demo's segmentation and lists, with the Professional budget and concurrency 4."""
    extra: dict[str, Any] = {} if overlap is None else {"overlap_minutes": overlap}
    return Config(
        segmentation=SegmentationConfig(interests=INTERESTS),
        lists=ListsConfig(lifecycle=["at_risk"], rfm_segment=["champion", "cannot_lose"]),
        crm=CrmConfig(
            base_url=hs.base_url,
            ca_bundle=Path(hs.ca_path),
            requests_per_10s=BUDGET,
            concurrency=CONCURRENCY,
            export_threshold=HS_BULK["export_threshold"],
            import_threshold=HS_BULK["import_threshold"],
            **extra,
        ),
        state=StateConfig(path=state_path),
    )


#: ``--count-window``: HubSpotSettings.count_own_write_window for every HubSpot run.
COUNT_WINDOW = False

#: ``--standin-process``: run the sandbox in a child process (benchmarks/standin_process.py).
STANDIN_PROCESS = False


def sync_once(
    hs: HubSpotStandIn, config: Config, state: State, dump: Path | None = None
) -> tuple[dict[str, Any], float]:
    hs.log.clear()
    hs.reset_limits()
    connector = open_connector(config, token=hs.token)
    if COUNT_WINDOW:
        connector.transport.settings.count_own_write_window = True  # type: ignore[attr-defined]
    if HS_BULK.get("serial_pulls"):
        connector.concurrent_pulls = False  # type: ignore[attr-defined]
    sends: list[tuple[float, str]] = []
    if dump is not None:
        record_sends(connector, sends)
    cpu0 = process_cpu()
    t0 = time.perf_counter()
    result = Engine(connector, state, config).run(RunOptions("sync", AS_OF))
    wall = time.perf_counter() - t0
    result.summary["bench_client_cpu"] = round(process_cpu() - cpu0, 2)
    result.summary["bench_limiter_waited"] = {
        b: round(lim.waited_total, 2)
        for b, lim in connector.transport.limiters.items()  # type: ignore[attr-defined]
    }
    if dump is not None:
        with dump.open("w") as f:
            for e in hs.log.entries:
                row = {"side": "server", "at": e.at, "method": e.method}
                row |= {"endpoint": endpoint_name(e), "status": e.status, "duration": e.duration}
                f.write(json.dumps(row) + "\n")
            for at, bucket in sends:
                f.write(json.dumps({"side": "client", "at": at, "bucket": bucket}) + "\n")
    if result.status != "ok":
        raise RuntimeError(f"sync ended {result.status}: {result.summary}")
    return result.summary, wall


def record_sends(connector: Any, sends: list[tuple[float, str]]) -> None:
    """Note (time.time(), bucket) each time crmseg's limiter lets a request go (--dump)."""
    for bucket, limiter in connector.transport.limiters.items():
        acquire = limiter.acquire

        def noted(acquire: Any = acquire, bucket: str = bucket) -> float:
            waited = acquire()
            sends.append((time.time(), bucket))
            return float(waited)

        limiter.acquire = noted


def one_run(
    n: int,
    latency: float,
    change_share: float,
    seed: int,
    phases: list[str] = PHASES,
    dump: Path | None = None,
    tag: str = "",
    overlap: int | None = None,
) -> dict[str, Any]:
    limits = LimitConfig(
        enabled=True,
        ten_secondly=BUDGET,
        window_seconds=WINDOW,
        search_per_second=SEARCH_PER_SECOND,
    )
    t0 = time.perf_counter()
    sandbox_kwargs: dict[str, Any] = {
        "seed": seed,
        "contacts": n,
        "deals": None if HS_BULK["deals_per_contact"] is None else n * HS_BULK["deals_per_contact"],
        "as_of": AS_OF,
        "limits": limits,
        "bulk": BulkConfig(
            export_delay_seconds=HS_BULK["export_delay_seconds"],
            export_rows_per_second=HS_BULK["export_rows_per_second"],
            import_delay_seconds=HS_BULK["import_delay_seconds"],
            import_rows_per_second=HS_BULK["import_rows_per_second"],
        ),
    }
    if STANDIN_PROCESS:
        from benchmarks.standin_process import RemoteSandbox

        sandbox: Any = RemoteSandbox(sandbox_kwargs)
    else:
        sandbox = HubSpotStandIn(**sandbox_kwargs)
    with (
        tempfile.TemporaryDirectory(prefix="crmseg-syncbench-") as tmp,
        sandbox as hs,
    ):
        seeded = time.perf_counter() - t0
        assert hs.dataset is not None
        n_deals = len(hs.dataset.deals)
        hs.faults.set_latency(latency)
        config = bench_config(hs, Path(tmp) / "state.duckdb", overlap)
        res: dict[str, Any] = {"deals": n_deals, "seed_seconds": round(seeded, 2)}
        with State(config.state.path) as state:
            for name in phases:
                if name == "incremental" and STANDIN_PROCESS:
                    res["changed_contacts"] = hs.add_won_deals(
                        change_share, "1234.50", AS_OF - timedelta(days=1)
                    )
                elif name == "incremental":
                    k = math.ceil(change_share * n)
                    ids = [c.id for c in hs.dataset.contacts]
                    step = len(ids) / k
                    chosen = [ids[int(i * step)] for i in range(k)]
                    for cid in chosen:
                        hs.add_won_deal(cid, Decimal("1234.50"), AS_OF - timedelta(days=1))
                    res["changed_contacts"] = k
                where = dump / f"{tag}{name}.jsonl" if dump else None
                used = hs.usage() if STANDIN_PROCESS else None
                summary, wall = sync_once(hs, config, state, where)
                fig = phase_figures(hs, summary, wall)
                fig["client_cpu_seconds"] = summary.get("bench_client_cpu")
                fig["limiter_waited_seconds"] = summary.get("bench_limiter_waited")
                if used is not None:
                    after = hs.usage()
                    fig["standin_cpu_seconds"] = round(
                        after["cpu_seconds"] - used["cpu_seconds"], 2
                    )
                    fig["standin_peak_rss_mib"] = after["peak_rss_mib"]
                deals_now = n_deals + (
                    res.get("changed_contacts", 0) if name == "incremental" else 0
                )
                fig["floor"] = floors(n, deals_now, fig["written"], summary.get("pulled"))
                fig["peak_rss_mib"] = peak_rss_mib()
                res[name] = fig
                print(
                    f"  [{n:,}] {name}: {wall:.1f} s, {fig['calls_total']} calls, "
                    f"written {fig['written']}, 429s {fig['status_429']}, "
                    f"writes {fig['write_calls_total']}, "
                    f"rate whole {fig['rate_whole'].get('utilisation')}, "
                    f"write {fig['rate_write'].get('utilisation')}, "
                    f"cpu crmseg {fig['client_cpu_seconds']} s, "
                    f"stand-in {fig.get('standin_cpu_seconds')} s, "
                    f"limiter waits {fig['limiter_waited_seconds']}, "
                    f"rss {fig['peak_rss_mib']} MiB",
                    file=sys.stderr,
                )
    return res
