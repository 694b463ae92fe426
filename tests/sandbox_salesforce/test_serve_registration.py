"""``crmseg sandbox serve salesforce`` starts an org whose printed credentials work."""

from __future__ import annotations

from simple_salesforce import Salesforce

from connectors.sandbox.cli import SANDBOXES, ServeOptions


def test_salesforce_serve_gives_a_working_session() -> None:
    options = ServeOptions(
        port=0,
        seed=3,
        contacts=5,
        token=None,
        rate_limits=True,
        latency=0.0,
        jitter=0.0,
        error_burst=0,
        error_status=429,
        retry_after=None,
    )
    running = SANDBOXES["salesforce"](options)
    running.start()
    try:
        import requests

        session = requests.Session()
        session.trust_env = False
        session.verify = running.ca_path
        sf = Salesforce(instance_url=running.base_url, session_id=running.token, session=session)
        assert sf.query("SELECT Id FROM Contact")["totalSize"] == 5
    finally:
        running.stop()
