"""A scripted 429 -> 503 -> 200 through each official client against its stand-in:
the retry wiring waits as the CRM said (``Retry-After``), then backs off for the
server error, and the third request succeeds. Waits go to a recording sleeper, so
nothing here waits for long (HubSpot's pacer still pauses its bucket for
the Retry-After in real time, hence the short one)."""

from __future__ import annotations

import pytest

from connectors.hubspot import HubSpotSettings, Transport
from connectors.salesforce import SalesforceSession, SalesforceSettings
from connectors.sandbox.hubspot import HubSpotStandIn, LimitConfig
from connectors.sandbox.salesforce import SalesforceStandIn


@pytest.fixture(autouse=True)
def _no_real_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith(("HUBSPOT_", "SALESFORCE_", "SF_")):
            monkeypatch.delenv(key)


def _second_wait_is_the_backoff(waits: list[float]) -> None:
    # After the second attempt: exponential base 2**1 = 2 s, half of it jittered.
    assert 1.0 <= waits[1] <= 2.0, waits


def test_hubspot_429_then_503_then_ok() -> None:
    with HubSpotStandIn(seed=7, contacts=5, limits=LimitConfig(enabled=False)) as hs:
        waits: list[float] = []
        settings = HubSpotSettings(
            host=hs.base_url, ssl_ca_cert=hs.ca_path, timeout_seconds=10, max_wait=30
        )
        t = Transport(hs.token, settings, sleep=waits.append)
        hs.faults.error_burst(1, 429, retry_after=0.25, path=r"/crm/v3/objects/contacts")
        hs.faults.error_burst(1, 503, path=r"/crm/v3/objects/contacts")
        before = hs.log.count("GET", r"/crm/v3/objects/contacts")

        page = t.call("objects.list", t.api("crm.contacts.basic_api").get_page, limit=1)

        assert len(page.results) == 1
        assert hs.log.count("GET", r"/crm/v3/objects/contacts") - before == 3
        assert t.calls["objects.list"] == 3
        assert (t.throttled, t.retries) == (1, 2)
        assert len(waits) == 2 and waits[0] == 0.25
        _second_wait_is_the_backoff(waits)


def test_salesforce_429_then_503_then_ok() -> None:
    with SalesforceStandIn(seed=7, contacts=5) as sf_server:
        waits: list[float] = []
        settings = SalesforceSettings(
            instance_url=sf_server.instance_url,
            client_id=sf_server.credentials.consumer_key,
            ca_bundle=sf_server.ca_path,
            timeout_seconds=10,
            max_wait=30,
        )
        session = SalesforceSession(
            settings, sf_server.credentials.consumer_secret, sleep=waits.append
        )
        sf_server.faults.error_burst(1, status=429, retry_after=0.25, path=r"/query/")
        sf_server.faults.error_burst(1, status=503, path=r"/query/")

        result = session.call("query", lambda sf: sf.query("SELECT Id FROM Contact"))

        assert result["totalSize"] == 5
        assert sf_server.log.count("GET", r"/query/") == 3
        assert session.calls_snapshot()["query"] == 3
        assert session.retries == 2
        assert len(waits) == 2 and waits[0] == 0.25
        _second_wait_is_the_backoff(waits)
        session.close()
