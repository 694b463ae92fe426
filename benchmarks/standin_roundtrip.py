"""Benchmark: what one keep-alive request and one stand-in start/stop cost in the tests.

Usage::

    .venv/bin/python benchmarks/standin_roundtrip.py --requests 40 --starts 10 --runs 3

Every test against a stand-in starts one, sends it tens of requests through the
official clients and stops it, so these three figures multiply into the suite's
time. Requests are timed twice in the same run, side by side: with the server's
``TCP_NODELAY`` (what the stand-ins do) and with Nagle's algorithm back on (what
they did before), so the ratio holds on a loaded machine where the absolute
milliseconds do not. Prints medians (wall ms, and process CPU ms for starts) as a
markdown table.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hubspot import HubSpot

import connectors.sandbox._server as server_module
from connectors.sandbox.hubspot import HubSpotStandIn, LimitConfig
from connectors.sandbox.salesforce import SalesforceStandIn
from connectors.sandbox.salesforce.auth import _new_key_pair

_make_handler = server_module._make_handler


def _handler_with_nagle(server: Any) -> type:
    cls = _make_handler(server)
    cls.disable_nagle_algorithm = False  # type: ignore[attr-defined]
    return cls


def request_ms(requests: int, *, nagle: bool) -> tuple[float, float]:
    """Median wall ms of a HubSpot list page and of a search, one keep-alive connection."""
    server_module._make_handler = _handler_with_nagle if nagle else _make_handler  # type: ignore[assignment]
    try:
        with HubSpotStandIn(seed=7, contacts=60, limits=LimitConfig(enabled=False)) as hs:
            client = HubSpot(**hs.client_settings())
            contacts = client.crm.contacts
            calls: list[Callable[[], Any]] = [
                lambda: contacts.basic_api.get_page(limit=10),
                lambda: contacts.search_api.do_search(public_object_search_request={"limit": 10}),
            ]
            out = []
            for call in calls:
                call()  # the TLS handshake is not what is measured
                times = []
                for _ in range(requests):
                    started = time.perf_counter()
                    call()
                    times.append(time.perf_counter() - started)
                out.append(statistics.median(times) * 1000)
            return out[0], out[1]
    finally:
        server_module._make_handler = _make_handler  # type: ignore[assignment]


def start_stop_ms(make: Callable[[], Any], starts: int) -> tuple[float, float]:
    """Median wall ms and mean process CPU ms of constructing, starting and stopping."""
    make().start().stop()  # imports and the process-wide key pair are not measured
    walls = []
    cpu0 = time.process_time()
    for _ in range(starts):
        started = time.perf_counter()
        make().start().stop()
        walls.append(time.perf_counter() - started)
    return statistics.median(walls) * 1000, (time.process_time() - cpu0) / starts * 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    rows: dict[str, list[float]] = {}
    for _ in range(args.runs):
        for nagle in (False, True):
            page, search = request_ms(args.requests, nagle=nagle)
            label = "Nagle on (before)" if nagle else "TCP_NODELAY (now)"
            rows.setdefault(f"HubSpot list page, {label}", []).append(page)
            rows.setdefault(f"HubSpot search, {label}", []).append(search)
        for name, make in (
            ("HubSpot", lambda: HubSpotStandIn(seed=7, contacts=60, limits=LimitConfig())),
            ("Salesforce", lambda: SalesforceStandIn(seed=7, contacts=60)),
        ):
            wall, cpu = start_stop_ms(make, args.starts)
            rows.setdefault(f"{name} stand-in, 60 contacts: build, start, stop", []).append(wall)
            rows.setdefault(f"{name} stand-in, 60 contacts: same, CPU ms", []).append(cpu)
        cpu0 = time.process_time()
        _new_key_pair.__wrapped__()  # what every Salesforce start cost before the cache
        rows.setdefault("RSA key pair (once per process now), CPU ms", []).append(
            (time.process_time() - cpu0) * 1000
        )
    print("| what | median of runs (ms) | runs (ms) |")
    print("|---|---:|---|")
    for what, values in rows.items():
        shown = ", ".join(f"{v:.1f}" for v in values)
        print(f"| {what} | {statistics.median(values):.1f} | {shown} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
