"""Benchmark: process CPU per request against each stand-in, both sides counted.

Usage::

    python benchmarks/standin_cpu.py --requests 60 --runs 3 [--json]

Tests against the stand-ins spend their time on requests: crmseg's connectors and the
official clients on one side, the in-process stand-in's server thread on the other,
both in this one process. So ``time.process_time()`` (every thread's CPU) per request
is the figure that counts, and it holds on a loaded machine where wall time does not.
Each kind of request is sent ``--requests`` times through crmseg's own doors
(:class:`connectors.hubspot.Transport`, :class:`connectors.salesforce.SalesforceSession`)
the way the connectors send it, after one warm-up call; "new client" rows build a
transport or session and send its first request (client set-up, a new connection and
its TLS handshake), "start/stop" rows build, start and stop a stand-in with 60 contacts.

The script imports crmseg from the tree it lives in, so the same command run from two
checkouts compares them; run them alternately on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from connectors.hubspot import HubSpotSettings, Transport
from connectors.hubspot.fields import read_properties
from connectors.salesforce import SalesforceSession, SalesforceSettings
from connectors.sandbox.hubspot import HubSpotStandIn, LimitConfig
from connectors.sandbox.salesforce import SalesforceStandIn


def _per_call(fn: Callable[[], Any], n: int) -> tuple[float, float]:
    """Mean process CPU ms and median wall ms of ``n`` calls of ``fn``."""
    fn()
    walls = []
    cpu0 = time.process_time()
    for _ in range(n):
        started = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - started)
    return (time.process_time() - cpu0) / n * 1000, statistics.median(walls) * 1000


def hubspot_settings(hs: HubSpotStandIn) -> HubSpotSettings:
    return HubSpotSettings(
        host=hs.base_url,
        ssl_ca_cert=hs.ca_path,
        ten_secondly_limit=100_000,
        search_per_second=100_000,
        timeout_seconds=10,
        # the tests' pacing (tests/connectors/hubspot/conftest.py): short windows, so
        # the limiters hold a few requests, not every one of the run
        window_seconds=0.2,
        search_window_seconds=0.2,
        margin_seconds=0.0,
    )


def hubspot_rows(n: int) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    with HubSpotStandIn(seed=7, contacts=60, limits=LimitConfig(enabled=False)) as hs:
        t = Transport(hs.token, hubspot_settings(hs))
        basic = t.api("crm.contacts.basic_api")
        search = t.api("crm.contacts.search_api")
        batch = t.api("crm.contacts.batch_api")
        props = t.api("crm.properties.core_api")
        ids = [{"id": str(i)} for i in range(1, 11)]
        kinds: dict[str, Callable[[], Any]] = {
            "list page (10), call_json": lambda: t.call_json(
                "contacts.page", basic.get_page, limit=10
            ),
            "list page (10), models": lambda: t.call("contacts.page", basic.get_page, limit=10),
            "search (10)": lambda: t.call_json(
                "contacts.search",
                search.do_search,
                public_object_search_request={"limit": 10},
                bucket="search",
            ),
            "batch read (10)": lambda: t.call(
                "contacts.batch_read",
                batch.read,
                batch_read_input_simple_public_object_id={"inputs": ids, "properties": []},
            ),
            "properties of contacts": lambda: t.call(
                "properties.get_all", props.get_all, object_type="contacts"
            ),
            "fields.read_properties (contact)": lambda: read_properties(t, "contact"),
        }
        for name, fn in kinds.items():
            out[f"HubSpot {name}"] = _per_call(fn, n)

        def new_transport() -> None:
            fresh = Transport(hs.token, hubspot_settings(hs))
            fresh.call_json("contacts.page", fresh.api("crm.contacts.basic_api").get_page, limit=1)
            fresh.call_json(
                "contacts.search",
                fresh.api("crm.contacts.search_api").do_search,
                public_object_search_request={"limit": 1},
                bucket="search",
            )

        out["HubSpot new transport + page + search"] = _per_call(new_transport, max(5, n // 4))
    out["HubSpot stand-in start/stop"] = _per_call(
        lambda: HubSpotStandIn(seed=7, contacts=60, limits=LimitConfig()).start().stop(),
        max(5, n // 6),
    )
    return out


def salesforce_rows(n: int) -> dict[str, tuple[float, float]]:
    out: dict[str, tuple[float, float]] = {}
    with SalesforceStandIn(seed=7, contacts=60) as org:
        settings = SalesforceSettings(
            instance_url=org.instance_url,
            client_id=org.credentials.consumer_key,
            ca_bundle=org.ca_path,
            timeout_seconds=10,
        )
        secret = org.credentials.consumer_secret
        s = SalesforceSession(settings, secret, sleep=lambda _s: None)
        some_id = s.call("query", lambda sf: sf.query("SELECT Id FROM Contact LIMIT 1"))["records"][
            0
        ]["Id"]
        kinds: dict[str, Callable[[], Any]] = {
            "query (10 rows)": lambda: s.call(
                "query", lambda sf: sf.query("SELECT Id, Email, LastName FROM Contact LIMIT 10")
            ),
            "record get": lambda: s.call("get", lambda sf: sf.Contact.get(some_id)),
            "describe Contact": lambda: s.call(
                "describe", lambda sf: sf.restful("sobjects/Contact/describe")
            ),
            "limits": lambda: s.call("limits", lambda sf: sf.restful("limits")),
        }
        for name, fn in kinds.items():
            out[f"Salesforce {name}"] = _per_call(fn, n)

        def new_session() -> None:
            fresh = SalesforceSession(settings, secret, sleep=lambda _s: None)
            fresh.call("limits", lambda sf: sf.restful("limits"))
            fresh.close()

        out["Salesforce new session + login + 1 call"] = _per_call(new_session, max(5, n // 4))
        s.close()
    out["Salesforce stand-in start/stop"] = _per_call(
        lambda: SalesforceStandIn(seed=7, contacts=60).start().stop(), max(5, n // 6)
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="one JSON object per run")
    args = parser.parse_args(argv)
    runs: list[dict[str, tuple[float, float]]] = []
    for _ in range(args.runs):
        rows = {**hubspot_rows(args.requests), **salesforce_rows(args.requests)}
        runs.append(rows)
        if args.json:
            print(json.dumps(rows), flush=True)
    if not args.json:
        print("| what | CPU ms per call (median of runs) | wall ms (median) |")
        print("|---|---:|---:|")
        for what in runs[0]:
            cpu = statistics.median(r[what][0] for r in runs)
            wall = statistics.median(r[what][1] for r in runs)
            print(f"| {what} | {cpu:.2f} | {wall:.2f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
