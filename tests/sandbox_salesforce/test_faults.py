"""Injected faults as simple-salesforce surfaces them, and the request log."""

from __future__ import annotations

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceGeneralError

from connectors.sandbox.salesforce.app import SalesforceStandIn


def test_server_unavailable_burst_raises_general_error_then_recovers(
    sf_server: SalesforceStandIn, sf: Salesforce
) -> None:
    sf_server.faults.error_burst(2, status=503, path=r"/query/")
    for _ in range(2):
        with pytest.raises(SalesforceGeneralError) as exc:
            sf.query("SELECT Id FROM Contact")
        assert exc.value.status == 503
        assert exc.value.content[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert sf.query("SELECT Id FROM Contact")["totalSize"] == 60


def test_dropped_connection_surfaces_as_a_requests_connection_error(
    sf_server: SalesforceStandIn, sf: Salesforce
) -> None:
    sf_server.faults.drop_connections(1)
    with pytest.raises(requests.ConnectionError):
        sf.query("SELECT Id FROM Contact")
    assert sf_server.log.by_status()[0] == 1


def test_slow_response_beyond_the_client_timeout_is_a_requests_timeout(
    sf_server: SalesforceStandIn, sf: Salesforce
) -> None:
    sf_server.faults.slow_responses(1, delay=0.5)
    with pytest.raises(requests.Timeout):
        sf.query("SELECT Id FROM Contact", timeout=0.1)


def test_next_write_can_be_made_to_hit_unable_to_lock_row(
    sf_server: SalesforceStandIn, sf: Salesforce
) -> None:
    from simple_salesforce.exceptions import SalesforceMalformedRequest

    sf_server.lock_next_writes(1)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Contact.create({"LastName": "Locked"})
    assert exc.value.content[0]["errorCode"] == "UNABLE_TO_LOCK_ROW"
    assert sf.Contact.create({"LastName": "Unlocked"})["success"] is True


def test_request_log_counts_calls_per_endpoint(
    sf_server: SalesforceStandIn, sf: Salesforce
) -> None:
    sf.query("SELECT Id FROM Contact")
    sf.Contact.describe()
    counts = sf_server.log.by_endpoint()
    assert counts["query"] == 1 and counts["describe"] == 1


def test_unrouted_path_is_a_not_found_array(sf: Salesforce) -> None:
    from simple_salesforce.exceptions import SalesforceResourceNotFound

    with pytest.raises(SalesforceResourceNotFound) as exc:
        sf.restful("no/such/thing")
    assert exc.value.content[0]["errorCode"] == "NOT_FOUND"


def test_session_refuses_hosts_other_than_loopback(sf_server: SalesforceStandIn) -> None:
    with pytest.raises(requests.ConnectionError, match="non-loopback"):
        sf_server.requests_session().get("https://example.com/")


def test_a_lost_response_commits_the_create_and_drops_the_answer(
    sf_server: SalesforceStandIn, sf: Salesforce
) -> None:
    sf_server.lose_responses(1, r"/sobjects/Campaign/?$", "POST")
    with pytest.raises(requests.ConnectionError):
        sf.Campaign.create({"Name": "Spring"})
    assert [c["Name"] for c in sf_server.org.live("Campaign")] == ["Spring"]
    assert sf.Campaign.create({"Name": "Spring"})["success"] is True  # names are not unique
    assert len(list(sf_server.org.live("Campaign"))) == 2
