"""``serve_salesforce`` prints what a client needs and serves until stopped."""

from __future__ import annotations

import io
import threading

from simple_salesforce import Salesforce

from connectors.sandbox.salesforce.app import SalesforceStandIn
from connectors.sandbox.salesforce_cli import serve_salesforce


def test_serve_prints_a_working_instance_url_session_and_ca_path() -> None:
    out = io.StringIO()
    stop = threading.Event()
    ready: list[SalesforceStandIn] = []
    worker = threading.Thread(
        target=serve_salesforce,
        kwargs={
            "port": 0,
            "seed": 1,
            "contacts": 10,
            "out": out,
            "stop": stop,
            "on_ready": ready.append,
        },
    )
    worker.start()
    try:
        while not ready:
            stop.wait(0.02)
        info = dict(
            line.split(": ", 1)
            for line in out.getvalue().splitlines()
            if not line.startswith("note")
        )
        session = ready[0].requests_session()
        assert session.verify == info["ca_path"]
        sf = Salesforce(
            instance_url=info["instance_url"], session_id=info["session_id"], session=session
        )
        assert sf.query("SELECT Id FROM Contact")["totalSize"] == 10
    finally:
        stop.set()
        worker.join(5)
