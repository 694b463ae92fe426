"""One Salesforce benchmark run (``--crm salesforce``) and its figures.

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

"""

from __future__ import annotations

import json
import math
import re
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from benchmarks.sync_common import AS_OF, PHASES
from connectors.sandbox.salesforce import SalesforceStandIn
from segmentation import InterestRule, SegmentationConfig
from sync.config import Config, CrmConfig, ListsConfig, StateConfig
from sync.connect import open_connector
from sync.engine import Engine, RunOptions
from sync.state import State

SF_OBJECTS = ("Contact", "Opportunity", "OpportunityContactRole")

SF_QUERY_PAGE = 2000  # REST query page (crmseg's query_page_size, the API's maximum)

SF_COLLECTION = 200  # records per composite/sobjects request

#: crmseg's default thresholds ([crm] bulk_query_threshold, bulk_ingest_threshold);
#: --bulk-query-threshold / --bulk-ingest-threshold change them (for both crmseg and
#: the floors), e.g. to try the Bulk 2.0 paths at a small size.
SF_THRESHOLDS: dict[str, Any] = {"bulk_query_threshold": 50_000, "bulk_ingest_threshold": 10_000}

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
    extra: dict[str, Any] = {} if overlap is None else {"overlap_minutes": overlap}
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
