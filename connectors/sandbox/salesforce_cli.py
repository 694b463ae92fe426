"""``crmseg sandbox serve salesforce``: run the Salesforce stand-in until Ctrl-C.

The sandbox CLI parses options and calls ``serve_salesforce``; this module only
starts the server, prints what a client needs (instance URL, credentials, CA
path) and waits. The consumer secret and session id are sandbox-only values
minted at start, so printing them leaks nothing real.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TextIO

from .salesforce.app import SalesforceStandIn


def describe_connection(server: SalesforceStandIn) -> str:
    """The connection details as ``key: value`` lines (stdout is data)."""
    creds = server.credentials
    return "\n".join(
        [
            f"instance_url: {server.instance_url}",
            f"ca_path: {server.ca_path}",
            f"session_id: {server.new_session_id()}",
            f"consumer_key: {creds.consumer_key}",
            f"consumer_secret: {creds.consumer_secret}",
            f"username: {creds.username}",
            f"domain: {creds.my_domain}",
            "note: the login host https://<domain>.salesforce.com is not this server; use "
            "session_id + instance_url, or a requests session that routes *.salesforce.com here",
            "note: set session.trust_env = False and session.verify = ca_path "
            "(REQUESTS_CA_BUNDLE would override verify)",
        ]
    )


def serve_salesforce(
    port: int = 0,
    seed: int = 0,
    contacts: int = 1000,
    *,
    daily_api_max: int = 15_000,
    max_long_requests: int = 5,
    out: TextIO = sys.stdout,
    stop: threading.Event | None = None,
    on_ready: Callable[[SalesforceStandIn], None] | None = None,
) -> None:
    """Serve a seeded org on ``127.0.0.1:port`` until Ctrl-C (or ``stop`` is set)."""
    stop = stop or threading.Event()
    with SalesforceStandIn(
        port=port,
        seed=seed,
        contacts=contacts,
        daily_api_max=daily_api_max,
        max_long_requests=max_long_requests,
    ) as server:
        print(describe_connection(server), file=out, flush=True)
        print("Serving Salesforce stand-in; press Ctrl-C to stop.", file=sys.stderr, flush=True)
        if on_ready is not None:
            on_ready(server)
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            print("Stopped.", file=sys.stderr)
