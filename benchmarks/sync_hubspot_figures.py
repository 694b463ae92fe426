"""The HubSpot figures of one phase, from the sandbox's request log, and their floors.

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

"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from benchmarks.sync_common import PAGE, SEARCH_PAGE, rate
from connectors.sandbox.hubspot import HubSpotStandIn
from connectors.sandbox.hubspot.jobs import BulkConfig
from sync.config import CrmConfig

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


def endpoint_name(entry: Any) -> str:
    """The route name; the archived listing (deletions check) is told apart from pages."""
    archived = [v.lower() for v in entry.query.get("archived", [])]
    if entry.endpoint == "objects.list" and "true" in archived:
        return "objects.list (archived)"
    return str(entry.endpoint)


def is_write(method: str, endpoint: str) -> bool:
    return method != "GET" and not (method == "POST" and endpoint in READ_POSTS)


def phase_figures(hs: HubSpotStandIn, summary: dict[str, Any], wall: float) -> dict[str, Any]:
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
