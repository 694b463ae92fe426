"""Daily API allocation, the limits resource, and the concurrent long-request cap."""

from __future__ import annotations

import threading

import pytest
from simple_salesforce.exceptions import SalesforceRefusedRequest

from connectors.sandbox.salesforce.app import SalesforceStandIn
from tests.fakeclock import FakeClock


def test_every_call_reports_api_usage_which_the_client_parses() -> None:
    with SalesforceStandIn(contacts=5, daily_api_max=100) as server:
        sf = server.client()
        sf.query("SELECT Id FROM Contact")
        assert sf.api_usage["api-usage"].used == 1
        assert sf.api_usage["api-usage"].total == 100
        sf.describe()
        assert sf.api_usage["api-usage"].used == 2
        contact = sf.Contact
        contact.describe()  # SFType keeps its own copy of the parsed header
        assert contact.api_usage["api-usage"].used == 3


def test_limits_resource_reports_daily_api_requests(sf_server: SalesforceStandIn) -> None:
    sf = sf_server.client()
    limits = sf.limits()
    assert limits["DailyApiRequests"]["Max"] == 15_000
    assert limits["DailyApiRequests"]["Remaining"] == 15_000 - 1
    assert "DailyBulkV2QueryJobs" in limits


def test_calls_past_the_daily_allocation_are_refused_with_403() -> None:
    with SalesforceStandIn(contacts=5, daily_api_max=3) as server:
        sf = server.client()
        for _ in range(3):
            sf.query("SELECT Id FROM Contact")
        with pytest.raises(SalesforceRefusedRequest) as exc:
            sf.query("SELECT Id FROM Contact")
        assert exc.value.status == 403
        assert exc.value.content == [
            {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
        ]


class HeldClock(FakeClock):
    """The org's time for one test: a held request sleeps until the test releases it,
    and the clock moves only when the test moves it."""

    def __init__(self) -> None:
        super().__init__()
        self.holding = threading.Event()
        self.release = threading.Event()

    def sleep(self, seconds: float) -> None:
        self.holding.set()
        self.release.wait(10)
        super().sleep(seconds)

    def advance(self, seconds: float) -> None:
        super().sleep(seconds)


def test_request_beyond_the_concurrent_long_running_cap_is_refused() -> None:
    clock = HeldClock()
    with SalesforceStandIn(
        contacts=5, max_long_requests=1, long_request_seconds=20, timing=clock
    ) as server:
        server.hold_requests(1, 30, path=r"/limits/")
        slow_client = server.client()
        worker = threading.Thread(target=slow_client.limits)
        worker.start()
        try:
            assert clock.holding.wait(10)  # the limits request is running inside the org
            # running, not yet long-running: another request is served
            assert server.client().query("SELECT Id FROM Contact")["totalSize"] == 5
            clock.advance(20)  # the held request is now long-running
            with pytest.raises(SalesforceRefusedRequest) as exc:
                server.client().query("SELECT Id FROM Contact")
            assert exc.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
            assert "ConcurrentPerOrgLongTxn" in exc.value.content[0]["message"]
        finally:
            clock.release.set()
            worker.join()
        assert server.client().query("SELECT Id FROM Contact")["totalSize"] == 5


def test_a_hold_by_soql_delays_only_the_queries_it_names() -> None:
    clock = FakeClock()
    with SalesforceStandIn(contacts=3, timing=clock) as server:
        server.hold_requests(2, 7, r"/query", soql=r"FROM Account\b")
        sf = server.client()
        sf.query("SELECT Id FROM Contact")
        sf.query("SELECT COUNT() FROM Account")
        sf.query("SELECT Id FROM Contact WHERE LastName = 'Account'")
        sf.query("SELECT Id, Name FROM Account")
        sf.query("SELECT Id FROM Account")  # the two holds are used up
        assert clock.sleeps == [7, 7]
