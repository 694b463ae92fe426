"""Benchmark: ``crmseg sync`` against the local HubSpot sandbox, rate limits enforced
(or, with ``--crm salesforce``, against the local Salesforce stand-in).

Usage::

    .venv/bin/python benchmarks/sync_bench.py --sizes 10000
    .venv/bin/python benchmarks/sync_bench.py --sizes 10000 100000 --json /tmp/sync.json
    .venv/bin/python benchmarks/sync_bench.py --sizes 100000 --phases full --dump /tmp/d
    .venv/bin/python benchmarks/sync_bench.py --report /tmp/sync.json   # tables again
    .venv/bin/python benchmarks/sync_bench.py --crm salesforce --sizes 10000 100000

For each size N, each run starts a fresh ``HubSpotSandbox(seed, contacts=N, as_of)``
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

What is reported per phase, from the sandbox's request log (what the server saw,
retried attempts included), not from crmseg's own counters:

* wall time of ``Engine.run`` (pull, segment, plan, provision, write, lists);
* API calls per endpoint (the sandbox's route names), 429 answers (self-inflicted: no
  fault is injected, so every 429 is crmseg exceeding a limit; target 0), and write
  calls: every POST/PUT/PATCH/DELETE except the read-only POSTs (search, batch reads,
  list search); that is batch update/upsert/create, property and group create/patch,
  list create / filter update / memberships (target 0 on the no-op rerun);
* the floors: ``ceil(N / 100)`` list pages for contacts and ``ceil(deals / 100)`` for
  deals on a full pull (the list endpoint returns at most 100 per page); one page of
  the archived listing per type on an incremental pull (the only way to see deletions;
  logged as ``objects.list (archived)``); and ``ceil(written / 100)`` batch updates,
  written = contacts whose tags were written (summary ``written``). On an incremental
  pull also ``max(1, ceil(records found / 200))`` searches per type (200 per search
  page; records found = summary ``pulled``), shown in the per-endpoint table. The ratio
  is calls / floor.

**Achieved request rate** (the 10-second budget is the bottleneck of a big sync): over a
stretch of requests, take the accepted (non-429) requests of the ``standard`` bucket (the
sandbox's own bucket table: this excludes search, which has its own 5/s bucket, and the
association batch reads, which are exempt), sorted by arrival time ``at`` (stamped by the
server when the request arrives). With m requests from t_first to t_last::

    rate per 10 s = (m - 1) / (t_last - t_first) * 10
    utilisation   = rate per 10 s / 190

(m - 1 intervals between m arrivals.) Also reported: the peak, the most requests that
arrived in any 10-second span [at_i, at_i + 10) (the server's rolling window), which
must stay <= 190. Two stretches of the first sync are measured:

* ``whole``: every standard-bucket request of the full sync, first to last;
* ``write``: the ``objects.batch.update`` requests only (first to last arrival). This
  is the stretch where crmseg can be rate-bound: the pull pages one request after
  another (each waits for the previous page's cursor), so at --latency 0.08 s it cannot
  exceed about 1 / (0.08 s + handling) ~ 7-12 requests/s whatever the budget; the
  writes run ``concurrency`` at a time. Only when the write stretch lasts well over
  10 s (N >= ~50k) is it rate-bound; a shorter one is a burst inside one window (shown
  as "burst") and its "rate" says nothing about pacing. A 429 inside the stretch makes
  crmseg hold all requests for 10.25 s (no Retry-After), which the rate shows.

The client's limiter allows 190 requests per 10 s + 0.25 s margin, so its ceiling is
10 / 10.25 = 97.6 % of the budget. Target: >= 95 % over the rate-bound stretch.

``--dump DIR`` writes, per run and phase, every request the sandbox saw (arrival ``at``,
endpoint, status, duration) and every time crmseg's limiter let a request go, as JSON
lines, to compare send and arrival times (e.g. when a 429 happens).

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

**Salesforce** (``--crm salesforce``): each run starts a fresh
``SalesforceStandIn(seed, contacts=N, as_of)`` (the generator's opportunities and
contact roles, as Contact / Opportunity / OpportunityContactRole records) with a daily
API allocation of 10,000,000 (never reached) and ``--latency`` added to every response;
crmseg is configured as ``crmseg demo --crm salesforce`` (the demo's two LeadSource
interest rules, copied here, and its three lists, kept as campaigns) with crmseg's
defaults: concurrency 4, REST query pages of 2,000 rows, a full pull of more than
50,000 rows of one object through a Bulk 2.0 query job, more than 10,000 tag updates
through one Bulk 2.0 ingest job (``--bulk-query-threshold`` / ``--bulk-ingest-threshold``
change both crmseg's setting and the floors). The same three phases; the incremental
one adds ``org.add_won_opportunity`` (with its contact role) for k contacts. The
stand-in has no 10-second rate limit, so there is no rate section. Reported per phase
from the stand-in's request log: wall time, requests per method and endpoint (queries
named by their sObject: the SOQL ``FROM`` for a first page, the stand-in's cursor for a
``nextRecordsUrl`` page, the stand-in's job for a Bulk 2.0 request other than create),
write calls (every POST/PUT/PATCH/DELETE except the OAuth token request and the Bulk 2.0
query jobs, so they include field and permission provisioning and campaign members;
target 0 on the no-op rerun), responses >= 400 and the floors:

* full pull, per object (Contact; Opportunity and OpportunityContactRole for deals),
  rows = its live records: ``ceil(rows / 2000)`` REST query pages, or above the bulk
  threshold one Bulk 2.0 query job: one create, one status read and
  ``ceil(rows / 50,000)`` result pages (crmseg first reads one REST page to learn the
  row count: floor 0, shown);
* incremental pull: ``max(1, ceil(found / 2000))`` queryAll pages for Contact and
  Opportunity (found = records pulled) and ``max(1, ceil(roles changed / 2000))`` for
  OpportunityContactRole;
* tag writes: ``ceil(written / 200)`` ``composite/sobjects`` PATCH requests, or one
  Bulk 2.0 ingest job (its ``POST /jobs/ingest``) above 10,000.

Runs: default 3 per size below 100k and 1 from 100k on (a full 100k sync takes about
5 minutes: ~1,750 list pages one after another, then ~1,000 batch updates at the
19 requests/s budget; the no-op and incremental runs about 2.5 minutes each). Medians
over runs are printed; every run's figures go into the JSON.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from connectors.sandbox.hubspot import HubSpotSandbox, LimitConfig  # noqa: E402
from connectors.sandbox.hubspot.jobs import BulkConfig  # noqa: E402
from connectors.sandbox.salesforce import SalesforceStandIn  # noqa: E402
from segmentation import InterestRule, SegmentationConfig  # noqa: E402
from sync.config import Config, CrmConfig, ListsConfig, StateConfig  # noqa: E402
from sync.connect import open_connector  # noqa: E402
from sync.engine import Engine, RunOptions  # noqa: E402
from sync.state import State  # noqa: E402

AS_OF = date(2026, 6, 30)
SEED = 7
BUDGET = 190  # HubSpot Professional: requests per rolling 10 s per private app
WINDOW = 10.0
SEARCH_PER_SECOND = 5
CONCURRENCY = 4
PAGE = 100  # list page size and batch update size
SEARCH_PAGE = 200  # search page size
PHASES = ["full", "noop", "incremental"]
#: POST endpoints that only read (everything else that is not a GET writes).
READ_POSTS = {
    "objects.search",
    "objects.batch.read",
    "associations.v4.batch.read",
    "properties.batch.read",
    "lists.search",
    "exports.start",  # starts a read of the records; writes nothing in the CRM
}

#: Endpoints of the pull (their first to last arrival: the pull's stretch).
PULL_ENDPOINTS = {
    "objects.list",
    "objects.search",
    "objects.batch.read",
    "associations.v4.batch.read",
}


#: HubSpot exports/imports: crmseg's thresholds ([crm] export_threshold, import_threshold;
#: ``--bulk off`` sets both to 0, the batch path) and the stand-in's processing-time
#: assumption (``BulkConfig``; its defaults unless overridden on the command line).
HS_BULK: dict[str, Any] = {
    "export_threshold": CrmConfig().export_threshold,
    "import_threshold": CrmConfig().import_threshold,
    "export_delay_seconds": BulkConfig().export_delay_seconds,
    "export_rows_per_second": BulkConfig().export_rows_per_second,
    "import_delay_seconds": BulkConfig().import_delay_seconds,
    "import_rows_per_second": BulkConfig().import_rows_per_second,
    "deals_per_contact": None,  # None: the generator's 0.75
    "serial_pulls": False,  # --serial-pulls: one object type after another (A/B)
}


#: The interest rules and lists of ``crmseg demo`` (sync/demo.py, 2026-11-23), kept here
#: so the benchmark's workload does not move when the demo changes.
INTERESTS = [
    InterestRule(tag="security", contact_property="topics", any_of=["security"]),
    InterestRule(tag="cloud", contact_property="topics", any_of=["cloud"]),
    InterestRule(tag="learning", contact_property="topics", any_of=["training"]),
    InterestRule(tag="learning", deal_property="product_line", any_of=["training"]),
    InterestRule(tag="enterprise", deal_property="product_line", any_of=["enterprise"]),
]


def bench_config(hs: HubSpotSandbox, state_path: Path, overlap: int | None = None) -> Config:
    """The demo's segmentation and lists, with the Professional budget and concurrency 4."""
    extra = {} if overlap is None else {"overlap_minutes": overlap}
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


def endpoint_name(entry: Any) -> str:
    """The route name; the archived listing (deletions check) is told apart from pages."""
    archived = [v.lower() for v in entry.query.get("archived", [])]
    if entry.endpoint == "objects.list" and "true" in archived:
        return "objects.list (archived)"
    return str(entry.endpoint)


def is_write(method: str, endpoint: str) -> bool:
    return method != "GET" and not (method == "POST" and endpoint in READ_POSTS)


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


def phase_figures(hs: HubSpotSandbox, summary: dict[str, Any], wall: float) -> dict[str, Any]:
    entries = hs.log.entries
    buckets = hs.gateway.routes.bucket
    by_endpoint = Counter(endpoint_name(e) for e in entries)
    pulls = [e.at for e in entries if e.endpoint in PULL_ENDPOINTS]
    writes = Counter(e.endpoint for e in entries if is_write(e.method, e.endpoint))
    standard = [
        e for e in entries if buckets.get(e.endpoint, "standard") == "standard" and e.status != 429
    ]
    return {
        "wall": round(wall, 3),
        "engine_seconds": summary.get("seconds"),
        "written": summary.get("written", 0),
        "failed": summary.get("failed", 0),
        "pulled": summary.get("pulled"),
        "plan": summary.get("plan"),
        "client_api_calls": summary.get("api_calls"),
        "calls": dict(sorted(by_endpoint.items())),
        "calls_total": sum(by_endpoint.values()),
        "by_status": {str(k): v for k, v in sorted(hs.log.by_status().items())},
        "status_429": hs.log.count(status=429),
        "write_calls": dict(sorted(writes.items())),
        "write_calls_total": sum(writes.values()),
        "pull_seconds": round(max(pulls) - min(pulls), 3) if pulls else 0.0,
        "rate_whole": rate([e.at for e in standard]),
        "rate_write": rate([e.at for e in standard if e.endpoint == "objects.batch.update"]),
    }


def floors(n_contacts: int, n_deals: int, written: int, pulled: dict[str, Any] | None) -> dict:
    """Minimum calls: list pages per fully pulled type, batch updates for what was written."""
    out: dict[str, int] = {"objects.batch.update": math.ceil(written / PAGE)}
    pages = archived = searches = 0
    for object_type, n in (("contact", n_contacts), ("deal", n_deals)):
        if pulled and (pulled.get(object_type) or {}).get("full"):
            pages += math.ceil(n / PAGE)
        elif pulled and object_type in pulled:
            archived += 1  # an incremental pull lists archived ids: one page per type
            found = (pulled.get(object_type) or {}).get("records", 0)
            searches += max(1, math.ceil(found / SEARCH_PAGE))
    out["objects.list"] = pages
    out["objects.list (archived)"] = archived
    out["objects.search"] = searches
    return bulk_floors(out, n_contacts, n_deals, written, pulled)


def bulk_floors(
    out: dict[str, int], n_contacts: int, n_deals: int, written: int, pulled: dict[str, Any] | None
) -> dict[str, int]:
    """Above crmseg's thresholds a full pull is one count search, one export start and at
    least one status poll per type (no list pages); the writes one import start, one
    status read and one errors page (no batch updates)."""
    ex, im = HS_BULK["export_threshold"], HS_BULK["import_threshold"]
    for object_type, n in (("contact", n_contacts), ("deal", n_deals)):
        found = (pulled or {}).get(object_type) or {}
        if ex > 0 and not found.get("full") and found.get("records", 0) > ex:
            # an incremental pull of that many changes reads one export instead of search
            out["objects.search"] += 1 - max(1, math.ceil(found["records"] / SEARCH_PAGE))
            out["exports.start"] = out.get("exports.start", 0) + 1
            out["exports.status"] = out.get("exports.status", 0) + 1
            out["properties.list"] = out.get("properties.list", 0) + 1
            continue
        if ex > 0 and n > ex and pulled and (pulled.get(object_type) or {}).get("full"):
            out["objects.list"] -= math.ceil(n / PAGE)
            out["objects.search"] += 1
            out["exports.start"] = out.get("exports.start", 0) + 1
            out["exports.status"] = out.get("exports.status", 0) + 1
            out["properties.list"] = out.get("properties.list", 0) + 1
    if im > 0 and written > im:
        out["objects.batch.update"] = 0
        out |= {"imports.start": 1, "imports.get": 1, "imports.errors": 1}
    return out


#: ``--count-window``: HubSpotSettings.count_own_write_window for every HubSpot run.
COUNT_WINDOW = False


def sync_once(
    hs: HubSpotSandbox, config: Config, state: State, dump: Path | None = None
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
    t0 = time.perf_counter()
    result = Engine(connector, state, config).run(RunOptions("sync", AS_OF))
    wall = time.perf_counter() - t0
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


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (crmseg and the in-process sandbox)."""
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


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
    with (
        tempfile.TemporaryDirectory(prefix="crmseg-syncbench-") as tmp,
        HubSpotSandbox(
            seed=seed,
            contacts=n,
            deals=None
            if HS_BULK["deals_per_contact"] is None
            else n * HS_BULK["deals_per_contact"],
            as_of=AS_OF,
            limits=limits,
            bulk=BulkConfig(
                export_delay_seconds=HS_BULK["export_delay_seconds"],
                export_rows_per_second=HS_BULK["export_rows_per_second"],
                import_delay_seconds=HS_BULK["import_delay_seconds"],
                import_rows_per_second=HS_BULK["import_rows_per_second"],
            ),
        ) as hs,
    ):
        seeded = time.perf_counter() - t0
        assert hs.dataset is not None
        n_deals = len(hs.dataset.deals)
        hs.faults.set_latency(latency)
        config = bench_config(hs, Path(tmp) / "state.duckdb", overlap)
        res: dict[str, Any] = {"deals": n_deals, "seed_seconds": round(seeded, 2)}
        with State(config.state.path) as state:
            for name in phases:
                if name == "incremental":
                    k = math.ceil(change_share * n)
                    ids = [c.id for c in hs.dataset.contacts]
                    step = len(ids) / k
                    chosen = [ids[int(i * step)] for i in range(k)]
                    for cid in chosen:
                        hs.add_won_deal(cid, Decimal("1234.50"), AS_OF - timedelta(days=1))
                    res["changed_contacts"] = k
                where = dump / f"{tag}{name}.jsonl" if dump else None
                summary, wall = sync_once(hs, config, state, where)
                fig = phase_figures(hs, summary, wall)
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
                    f"write {fig['rate_write'].get('utilisation')}",
                    file=sys.stderr,
                )
    return res


# ----- Salesforce (--crm salesforce) ----------------------------------------------------------

SF_OBJECTS = ("Contact", "Opportunity", "OpportunityContactRole")
SF_QUERY_PAGE = 2000  # REST query page (crmseg's query_page_size, the API's maximum)
SF_COLLECTION = 200  # records per composite/sobjects request
#: crmseg's default thresholds ([crm] bulk_query_threshold, bulk_ingest_threshold);
#: --bulk-query-threshold / --bulk-ingest-threshold change them (for both crmseg and
#: the floors), e.g. to try the Bulk 2.0 paths at a small size.
SF_THRESHOLDS = {"bulk_query_threshold": 50_000, "bulk_ingest_threshold": 10_000}
SF_BULK_PAGE = 50_000  # crmseg's bulk_page_size (maxRecords per result page)
SF_DAILY_MAX = 10_000_000  # the stand-in's daily API allocation, far out of reach
_FROM = re.compile(r"\bFROM\s+(\w+)", re.IGNORECASE)
_LOCATOR = re.compile(r"/(0r8\w{15})-\d+")
_JOB = re.compile(r"/jobs/(?:ingest|query)/(\w+)")

#: Interest rules of ``crmseg demo --crm salesforce`` (sync/demo.py, 2026-11-23): the
#: stand-in's contacts have no topics or product lines, only a LeadSource.
SF_INTERESTS = [
    InterestRule(tag="partner", contact_property="LeadSource", any_of=["Partner"]),
    InterestRule(tag="web", contact_property="LeadSource", any_of=["Web"]),
]


def sf_config(org: SalesforceStandIn, state_path: Path, overlap: int | None = None) -> Config:
    """As ``run_demo(crm="salesforce")``: the demo's rules and lists, crmseg's defaults."""
    extra = {} if overlap is None else {"overlap_minutes": overlap}
    return Config(
        segmentation=SegmentationConfig(interests=SF_INTERESTS),
        lists=ListsConfig(lifecycle=["at_risk"], rfm_segment=["champion", "cannot_lose"]),
        crm=CrmConfig(
            type="salesforce",
            instance_url=org.instance_url,
            client_id=org.credentials.consumer_key,
            ca_bundle=Path(org.ca_path),
            **SF_THRESHOLDS,
            **extra,
        ),
        state=StateConfig(path=state_path),
    )


def sf_label(org: SalesforceStandIn, entry: Any) -> str:
    """The stand-in's route name, with the sObject for queries and Bulk 2.0 jobs.

    A query's object comes from its SOQL (``q``); a ``nextRecordsUrl`` page's from the
    stand-in's open cursor; a Bulk 2.0 job request's from the stand-in's job (the
    create request has no id yet, so it stays unnamed).
    """
    ep = str(entry.endpoint)
    if ep in ("query", "queryAll"):
        m = _FROM.search((entry.query.get("q") or [""])[0])
        return f"{ep} {m.group(1) if m else '?'}"
    if ep == "query more":
        m = _LOCATOR.search(entry.path)
        result = org.state.cursors.get(m.group(1)) if m else None
        kind = "queryAll" if "/queryAll/" in entry.path else "query"
        return f"{kind} more {getattr(result, 'sobject', '?')}"
    if ep.startswith("bulk2 "):
        m = _JOB.search(entry.path)
        job = org.state.bulk_jobs.get(m.group(1)) if m else None
        return f"{ep} {job.object}" if job is not None else ep
    return ep


def sf_is_write(method: str, label: str) -> bool:
    """Every POST/PUT/PATCH/DELETE but the token request and Bulk 2.0 query jobs."""
    if method == "GET" or label == "oauth token":
        return False
    return not label.startswith("bulk2 query")


def sf_pages(calls: dict[str, int], sobject: str) -> int:
    """REST query pages of one sObject: first pages and ``nextRecordsUrl`` pages."""
    kinds = ("query", "queryAll", "query more", "queryAll more")
    return sum(calls.get(f"{k} {sobject}", 0) for k in kinds)


def sf_bulk_query(calls: dict[str, int], sobject: str) -> int:
    """Bulk 2.0 query job requests of one sObject, without the (unnamed) create."""
    return sum(v for k, v in calls.items() if k.startswith("bulk2 query") and k.endswith(sobject))


def sf_floors(
    rows: dict[str, int], pulled: dict[str, Any] | None, written: int, roles_changed: int
) -> dict[str, Any]:
    """Minimum calls of one phase.

    Full pull of an object with ``rows`` live records: ceil(rows / 2000) REST query
    pages, or, above the bulk threshold, one Bulk 2.0 query job: one create (counted
    over all objects: its request names no job yet) + one status read + ceil(rows /
    50,000) result pages (these two per object). Incremental pull: max(1, ceil(found /
    2000)) queryAll pages for Contact (found = records pulled) and Opportunity, and
    max(1, ceil(roles changed / 2000)) for OpportunityContactRole. Writes:
    ceil(written / 200) ``composite/sobjects`` PATCH requests, or one Bulk 2.0 ingest
    job (its create request) above 10,000.
    """
    pulled = pulled or {}
    pages: dict[str, int] = {}
    bulk: dict[str, int] = {}
    found = {
        "Contact": (pulled.get("contact") or {}).get("records", 0),
        "Opportunity": (pulled.get("deal") or {}).get("records", 0),
        "OpportunityContactRole": roles_changed,
    }
    for sobject in SF_OBJECTS:
        kind = "contact" if sobject == "Contact" else "deal"
        if kind not in pulled:
            continue
        if pulled[kind].get("full"):
            n = rows[sobject]
            if n > SF_THRESHOLDS["bulk_query_threshold"]:
                pages[sobject] = 0
                bulk[sobject] = 1 + math.ceil(n / SF_BULK_PAGE)  # + its create
            else:
                pages[sobject] = math.ceil(n / SF_QUERY_PAGE)
        else:
            pages[sobject] = max(1, math.ceil(found[sobject] / SF_QUERY_PAGE))
    out: dict[str, Any] = {"pages": pages, "bulk_query": bulk}
    if written > SF_THRESHOLDS["bulk_ingest_threshold"]:
        out["writes"] = {"bulk2 ingest create": 1, "collections update": 0}
    else:
        out["writes"] = {
            "bulk2 ingest create": 0,
            "collections update": math.ceil(written / SF_COLLECTION),
        }
    return out


def sf_phase_figures(
    org: SalesforceStandIn, summary: dict[str, Any], wall: float, rows: dict[str, int]
) -> dict[str, Any]:
    entries = org.log.entries
    labels = [(e, sf_label(org, e)) for e in entries]
    calls = Counter(label for _, label in labels)
    writes = Counter(label for e, label in labels if sf_is_write(e.method, label))
    # the method matters for collections: PATCH = tag updates, POST/DELETE = campaign members
    by_method = Counter(f"{e.method} {label}" for e, label in labels)
    pulls = [  # requests of the pull: queries and Bulk 2.0 query jobs of the three objects
        e.at
        for e, label in labels
        if label.split(" ")[-1] in SF_OBJECTS and not label.startswith("bulk2 ingest")
    ]
    statuses = Counter(e.status for e in entries)
    # tag writes: composite PATCH requests, or the ingest job's requests (first to last)
    tags = [
        e.at
        for e, label in labels
        if (e.method == "PATCH" and label == "collections update")
        or label.startswith("bulk2 ingest")
    ]
    return {
        "wall": round(wall, 3),
        "engine_seconds": summary.get("seconds"),
        "written": summary.get("written", 0),
        "failed": summary.get("failed", 0),
        "pulled": summary.get("pulled"),
        "plan": {k: v for k, v in (summary.get("plan") or {}).items() if k != "by_field"},
        "client_api_calls": summary.get("api_calls"),
        "rows": dict(rows),
        "calls": dict(sorted(calls.items())),
        "calls_by_method": dict(sorted(by_method.items())),
        "calls_total": sum(calls.values()),
        "by_status": {str(k): v for k, v in sorted(statuses.items())},
        "errors": sum(v for k, v in statuses.items() if k == 0 or k >= 400),
        "write_calls": dict(sorted(writes.items())),
        "write_calls_total": sum(writes.values()),
        "pull_seconds": round(max(pulls) - min(pulls), 3) if pulls else 0.0,
        "tag_write_seconds": round(max(tags) - min(tags), 3) if tags else 0.0,
        "daily_api_used": org.limits.header(),
    }


def sf_one_run(
    n: int,
    latency: float,
    change_share: float,
    seed: int,
    phases: list[str] = PHASES,
    dump: Path | None = None,
    tag: str = "",
    overlap: int | None = None,
) -> dict[str, Any]:
    t0 = time.perf_counter()
    with (
        tempfile.TemporaryDirectory(prefix="crmseg-syncbench-sf-") as tmp,
        SalesforceStandIn(seed=seed, contacts=n, as_of=AS_OF, daily_api_max=SF_DAILY_MAX) as org,
    ):
        seeded = time.perf_counter() - t0
        org.faults.set_latency(latency)
        config = sf_config(org, Path(tmp) / "state.duckdb", overlap)
        secret = org.credentials.consumer_secret

        def live_rows() -> dict[str, int]:
            return {s: sum(1 for _ in org.org.live(s)) for s in SF_OBJECTS}

        start_rows = live_rows()
        res: dict[str, Any] = {
            "deals": start_rows["Opportunity"],
            "roles": start_rows["OpportunityContactRole"],
            "seed_seconds": round(seeded, 2),
        }
        with State(config.state.path) as state:
            for name in phases:
                roles_changed = 0
                if name == "incremental":
                    k = math.ceil(change_share * n)
                    ids = list(org.ids["contact"].values())
                    step = len(ids) / k
                    chosen = [ids[int(i * step)] for i in range(k)]
                    for cid in chosen:
                        org.add_won_opportunity(cid, Decimal("1234.50"), AS_OF - timedelta(days=1))
                    res["changed_contacts"] = roles_changed = k
                rows = live_rows()
                org.log.clear()
                connector = open_connector(config, token=secret)
                t1 = time.perf_counter()
                result = Engine(connector, state, config).run(RunOptions("sync", AS_OF))
                wall = time.perf_counter() - t1
                if dump is not None:
                    with (dump / f"{tag}{name}.jsonl").open("w") as f:
                        for e in org.log.entries:
                            row = {"at": e.at, "method": e.method, "endpoint": sf_label(org, e)}
                            row |= {"status": e.status, "duration": e.duration}
                            f.write(json.dumps(row) + "\n")
                if result.status != "ok":
                    raise RuntimeError(f"sync ended {result.status}: {result.summary}")
                fig = sf_phase_figures(org, result.summary, wall, rows)
                fig["floor"] = sf_floors(rows, fig["pulled"], fig["written"], roles_changed)
                res[name] = fig
                print(
                    f"  [{n:,}] {name}: {wall:.1f} s, {fig['calls_total']} calls, "
                    f"written {fig['written']}, errors {fig['errors']}, "
                    f"writes {fig['write_calls_total']}",
                    file=sys.stderr,
                )
    return res


def sf_pull_cell(fig: dict[str, Any]) -> str:
    """Pull calls against the floor, per sObject (REST pages or Bulk 2.0 job requests)."""
    calls, fl = fig["calls"], fig["floor"]
    out = []
    short = {"Contact": "C", "Opportunity": "O", "OpportunityContactRole": "OCR"}
    for sobject in SF_OBJECTS:
        if sobject not in fl["pages"]:
            continue
        pages = sf_pages(calls, sobject)
        if sobject in fl["bulk_query"]:
            jobs = sf_bulk_query(calls, sobject)
            out.append(
                f"{short[sobject]} bulk status + results {ratio(jobs, fl['bulk_query'][sobject])}"
                f", {pages} REST page{'s' if pages != 1 else ''} (floor 0)"
            )
        else:
            out.append(f"{short[sobject]} {ratio(pages, fl['pages'][sobject])}")
    if fl["bulk_query"]:
        creates = calls.get("bulk2 query create", 0)
        out.append(f"bulk query creates {ratio(creates, len(fl['bulk_query']))}")
    return "; ".join(out)


def sf_write_cell(fig: dict[str, Any]) -> str:
    calls, fl = fig["calls_by_method"], fig["floor"]["writes"]
    patches = calls.get("PATCH collections update", 0)
    ingest = calls.get("POST bulk2 ingest create", 0)
    if fl["bulk2 ingest create"]:
        return f"ingest jobs {ratio(ingest, 1)}; PATCH {patches} (floor 0)"
    text = f"PATCH {ratio(patches, fl['collections update'])}"
    return text + (f"; ingest jobs {ingest} (floor 0)" if ingest else "")


def sf_pulled(fig: dict[str, Any]) -> str:
    pulled = fig.get("pulled") or {}
    c, d = pulled.get("contact") or {}, pulled.get("deal") or {}
    return f"{c.get('records', 0):,} / {d.get('records', 0):,}"


def sf_table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| contacts | opps / roles | runs | phase | wall (s) | calls | pull calls vs floor "
        "| tag writes vs floor | pulled C / O | written | write calls | errors |",
        "|---:|---:|---:|---|---:|---:|---|---|---:|---:|---:|---:|",
    ]
    for r in results:
        for phase in [p for p in PHASES if p in r["runs"][0]]:
            rs = [run[phase] for run in r["runs"]]
            first = rs[0]
            wall = med([x["wall"] for x in rs])
            label = phase if phase != "incremental" else f"incremental (k={r['k']:,})"
            lines.append(
                f"| {r['n']:,} | {r['deals']:,} / {r['roles']:,} | {len(rs)} | {label} "
                f"| {wall:.1f} | {first['calls_total']:,} | {sf_pull_cell(first)} "
                f"| {sf_write_cell(first)} | {sf_pulled(first)} | {first['written']:,} "
                f"| {first['write_calls_total']} | {max(x['errors'] for x in rs)} |"
            )
    return "\n".join(lines)


def sf_endpoint_table(results: list[dict[str, Any]]) -> str:
    lines = []
    for r in results:
        run = r["runs"][0]
        present = [p for p in PHASES if p in run]
        names = sorted(set().union(*(run[p]["calls_by_method"] for p in present)))
        lines += [
            f"\nrequests per method and endpoint, {r['n']:,} contacts (run 1; stand-in log)\n",
            "| request | " + " | ".join(present) + " |",
            "|---|" + "---:|" * len(present),
        ]
        for name in names:
            cells = " | ".join(str(run[p]["calls_by_method"].get(name, 0)) for p in present)
            lines.append(f"| {name} | {cells} |")
    return "\n".join(lines)


def sf_report(out: dict[str, Any]) -> None:
    st = out["settings"]
    print(
        f"\nSalesforce stand-in, latency {st['latency']} s; crmseg defaults (concurrency 4, "
        f"REST pages of 2,000) but bulk query above {st['bulk_query_threshold']:,} rows, "
        f"bulk ingest above {st['bulk_ingest_threshold']:,} updates; overlap "
        f"{st['overlap_minutes'] if st['overlap_minutes'] is not None else 'default'}; "
        f"as_of {st['as_of']}; medians of runs for wall, calls from run 1, "
        "errors = max over runs\n"
    )
    print(sf_table(out["results"]))
    print(sf_endpoint_table(out["results"]))


def med(values: list[float | None]) -> float | None:
    vals = [v for v in values if v is not None]
    return statistics.median(vals) if vals else None


def pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f} %"


def ratio(calls: int, floor: int) -> str:
    if floor == 0:
        return "floor 0" if calls == 0 else f"{calls} (floor 0)"
    return f"{calls} / {floor} = {calls / floor:.2f}x"


def write_rate(rs: list[dict[str, Any]]) -> str:
    """Median utilisation of the write stretch; a stretch under one window is a burst."""
    secs = med([x["rate_write"].get("seconds") for x in rs]) or 0.0
    if secs < WINDOW:
        return f"burst ({secs:.1f} s)"
    return f"{pct(med([x['rate_write'].get('utilisation') for x in rs]))} ({secs:.1f} s)"


def archived(calls: dict[str, int], fl: dict[str, int]) -> str:
    key = "objects.list (archived)"
    if not calls.get(key) and not fl.get(key):
        return ""
    return f"; archived {ratio(calls.get(key, 0), fl.get(key, 0))}"


def table(results: list[dict[str, Any]]) -> str:
    lines = [
        "| contacts | deals | runs | phase | wall (s) | calls | list pages vs floor "
        "| batch updates vs floor | written | write calls | 429s | std-bucket rate, whole "
        "| rate, write stretch (s) | peak 10 s |",
        "|---:|---:|---:|---|---:|---:|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        for phase in [p for p in PHASES if p in r["runs"][0]]:
            rs = [run[phase] for run in r["runs"]]
            first = rs[0]
            wall = med([x["wall"] for x in rs])
            calls = first["calls"]
            fl = first["floor"]
            label = phase if phase != "incremental" else f"incremental (k={r['k']:,})"
            lines.append(
                f"| {r['n']:,} | {r['deals']:,} | {len(rs)} | {label} | {wall:.1f} "
                f"| {first['calls_total']:,} "
                f"| {ratio(calls.get('objects.list', 0), fl['objects.list'])}"
                f"{archived(calls, fl)} "
                f"| {ratio(calls.get('objects.batch.update', 0), fl['objects.batch.update'])} "
                f"| {first['written']:,} | {first['write_calls_total']} "
                f"| {max(x['status_429'] for x in rs)} "
                f"| {pct(med([x['rate_whole'].get('utilisation') for x in rs]))} "
                f"| {write_rate(rs)} "
                f"| {first['rate_whole'].get('peak_10s')} |"
            )
    return "\n".join(lines)


def cell(calls: int, floor: int | None) -> str:
    return str(calls) if floor is None else f"{calls} (floor {floor})"


def endpoint_table(results: list[dict[str, Any]]) -> str:
    lines = []
    for r in results:
        run = r["runs"][0]
        present = [p for p in PHASES if p in run]
        names = sorted(set().union(*(run[p]["calls"] for p in present)))
        lines += [
            f"\ncalls per endpoint, {r['n']:,} contacts (run 1; sandbox log, retries included)\n",
            "| endpoint | " + " | ".join(present) + " |",
            "|---|" + "---:|" * len(present),
        ]
        for name in names:
            cells = " | ".join(
                cell(run[p]["calls"].get(name, 0), run[p]["floor"].get(name)) for p in present
            )
            lines.append(f"| {name} | {cells} |")
    return "\n".join(lines)


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
    import os

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
    a = ap.parse_args()
    global COUNT_WINDOW
    COUNT_WINDOW = a.count_window
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
            "budget_per_10s": BUDGET,
            "search_per_second": SEARCH_PER_SECOND,
            "concurrency": CONCURRENCY,
            "change_share": a.change_share,
            "overlap_minutes": a.overlap_minutes,
            **(dict(SF_THRESHOLDS) if a.crm == "salesforce" else {}),
            **({"hubspot_bulk": dict(HS_BULK)} if a.crm == "hubspot" else {}),
        },
        "results": results,
    }
    if a.json:
        a.json.write_text(json.dumps(out, indent=2, default=str))
    report(out)


def report(out: dict[str, Any]) -> None:
    """Print the tables; floors are recomputed from each phase's stored summary."""
    if out["settings"].get("crm") == "salesforce":
        sf_report(out)  # floors as stored by the run
        return
    results = out["results"]
    HS_BULK.update(
        out["settings"].get("hubspot_bulk") or {"export_threshold": 0, "import_threshold": 0}
    )
    for r in results:
        for run in r["runs"]:
            for phase in [p for p in PHASES if p in run]:
                fig = run[phase]
                deals = run["deals"] + (
                    run.get("changed_contacts", 0) if phase == "incremental" else 0
                )
                fig["floor"] = floors(r["n"], deals, fig["written"], fig["pulled"])
    st = out["settings"]
    print(
        f"\nsandbox limits on: {st['budget_per_10s']}/10 s, search {st['search_per_second']}/s; "
        f"latency {st['latency']} s; crmseg {st['budget_per_10s']}/10 s, concurrency "
        f"{st['concurrency']}; as_of {st['as_of']}; medians of runs for wall and rates, calls "
        "from run 1, 429s = max over runs\n"
    )
    hb = st.get("hubspot_bulk")
    if hb:
        print(
            f"exports above {hb['export_threshold']:,} records of a type, imports above "
            f"{hb['import_threshold']:,} changes (0 = never); sandbox processing: exports "
            f"{hb['export_delay_seconds']:g} s + {hb['export_rows_per_second']:,.0f} rows/s, "
            f"imports {hb['import_delay_seconds']:g} s + {hb['import_rows_per_second']:,.0f} "
            f"rows/s; peak RSS (crmseg + sandbox, one process): "
            + ", ".join(
                f"{r['n']:,}: {max(run[p].get('peak_rss_mib') or 0 for run in r['runs'] for p in PHASES if p in run):,.0f} MiB"
                for r in results
            )
            + "\n"
        )
    print(table(results))
    print(endpoint_table(results))


if __name__ == "__main__":
    main()
