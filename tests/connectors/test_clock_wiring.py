"""Every wait a connector makes goes through its clock: backoffs, Retry-After, the rate
limiters' windows and the status polls of exports. A fake clock records each wait and
spends none of it, so these tests check the waits exactly."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.errors import Timeout
from connectors.hubspot import HubSpotConnector, HubSpotSettings, Transport
from connectors.salesforce import SalesforceSession
from connectors.sandbox.hubspot import HubSpotStandIn, LimitConfig
from connectors.sandbox.salesforce import SalesforceStandIn
from tests.connectors.hubspot.conftest import settings_for as hubspot_settings
from tests.connectors.salesforce.conftest import settings_for as salesforce_settings
from tests.fakeclock import FakeClock, default_clock


@pytest.fixture
def hub() -> Iterator[HubSpotStandIn]:
    with HubSpotStandIn(seed=7, contacts=12, limits=LimitConfig(enabled=False)) as hs:
        yield hs


def list_one(t: Transport) -> object:
    return t.call("objects.list", t.api("crm.contacts.basic_api").get_page, limit=1)


def test_hubspot_backoff_and_retry_after_are_slept_on_the_clock(hub: HubSpotStandIn) -> None:
    clock = FakeClock()
    t = Transport(hub.token, hubspot_settings(hub, max_wait=30), clock=clock)
    hub.faults.error_burst(2, 503)
    hub.faults.error_burst(1, 429, retry_after=7)
    list_one(t)
    first, second, third = clock.sleeps
    # "equal jitter": half of 2**(n-1) fixed, half random
    assert 0.5 <= first <= 1.0 and 1.0 <= second <= 2.0
    assert third == 7.0  # Retry-After, exactly (the limiter's hold adds no second wait)
    assert t.retries == 3


def test_hubspot_limiter_waits_out_its_window_on_the_clock(hub: HubSpotStandIn) -> None:
    clock = FakeClock()
    settings = hubspot_settings(hub, ten_secondly_limit=2, window_seconds=10.0)
    t = Transport(hub.token, settings, clock=clock)
    for _ in range(3):
        list_one(t)
    # the third request waits until the first leaves the 10-second window
    assert len(clock.sleeps) == 1 and 9.9 < clock.sleeps[0] <= 10.0
    assert t.limiters["standard"].waited_total == clock.sleeps[0]


def test_export_polls_wait_and_time_out_on_the_transport_clock(hub: HubSpotStandIn) -> None:
    hub.bulk.export_delay_seconds = 1e9  # never done
    clock = FakeClock()
    t = Transport(hub.token, hubspot_settings(hub), clock=clock)
    c = HubSpotConnector(t, export_threshold=5, import_threshold=5)
    c.exporter.timeout_seconds = 20.0
    with pytest.raises(Timeout, match="after 20 s"):
        list(c.pull("contact", None))
    # 0.5, 1, then 2 s between status polls, until 20 s have passed on the clock
    assert clock.sleeps == [0.5, 1.0, *[2.0] * 10]
    assert c.api_calls()["exports.status"] == 13


def test_salesforce_backoff_and_retry_after_are_slept_on_the_clock() -> None:
    clock = FakeClock()
    with SalesforceStandIn(seed=7, contacts=5) as org:
        session = SalesforceSession(
            salesforce_settings(org, max_wait=30),
            org.credentials.consumer_secret,
            clock=clock,
        )
        session.call("query", lambda sf: sf.query("SELECT Id FROM Contact"))
        org.faults.error_burst(1, status=503, path=r"/query/")
        org.faults.error_burst(1, status=429, retry_after=4, path=r"/query/")
        session.call("query", lambda sf: sf.query("SELECT Id FROM Contact"))
        session.close()
    first, second = clock.sleeps
    assert 0.5 <= first <= 1.0
    assert second == 4.0
    assert session.retries == 2


def test_the_default_clock_reaches_transports_built_without_one(hub: HubSpotStandIn) -> None:
    with default_clock(FakeClock()) as clock:
        t = Transport(hub.token, HubSpotSettings(host=hub.base_url, ssl_ca_cert=hub.ca_path))
        hub.faults.error_burst(1, 429, retry_after=2)
        list_one(t)
    assert t.clock is clock and clock.sleeps == [2.0]
    assert Transport(hub.token, HubSpotSettings()).clock is not clock
