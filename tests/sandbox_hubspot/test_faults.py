"""Injected faults surface through the SDK like real network and server failures."""

from __future__ import annotations

import json

import pytest
import urllib3
from hubspot import HubSpot
from hubspot.crm.contacts import ApiException, BatchReadInputSimplePublicObjectId
from hubspot.crm.contacts.exceptions import ServiceException

from connectors.sandbox._server import Response
from connectors.sandbox.hubspot import HubSpotStandIn

BODY = BatchReadInputSimplePublicObjectId(inputs=[], properties=[], properties_with_history=[])


def test_429_burst_is_api_exception_with_hubspot_body(
    client: HubSpot, sandbox: HubSpotStandIn
) -> None:
    sandbox.faults.error_burst(1, 429)
    with pytest.raises(ApiException) as e:
        client.crm.contacts.batch_api.read(BODY)
    assert e.value.status == 429
    assert json.loads(e.value.body)["policyName"] == "TEN_SECONDLY_ROLLING"
    assert client.crm.contacts.batch_api.read(BODY) is not None


def test_429_burst_with_retry_after_sets_header(client: HubSpot, sandbox: HubSpotStandIn) -> None:
    sandbox.faults.error_burst(1, 429, retry_after=3)
    with pytest.raises(ApiException) as e:
        client.crm.contacts.batch_api.read(BODY)  # POST: urllib3 does not retry
    assert e.value.headers["Retry-After"] == "3"


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_service_exception(client: HubSpot, sandbox: HubSpotStandIn, status: int) -> None:
    sandbox.faults.error_burst(1, status, path="/batch/read")
    with pytest.raises(ServiceException) as e:
        client.crm.contacts.batch_api.read(BODY)
    assert e.value.status == status


def test_dropped_connection_raises_protocol_error(client: HubSpot, sandbox: HubSpotStandIn) -> None:
    sandbox.faults.drop_connections(1)
    with pytest.raises(urllib3.exceptions.ProtocolError):
        client.crm.contacts.batch_api.read(BODY)
    assert sandbox.log.by_status()[0] == 1


def test_slow_response_trips_client_timeout(client: HubSpot, sandbox: HubSpotStandIn) -> None:
    sandbox.faults.slow_responses(1, 0.6)
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        client.crm.contacts.batch_api.read(BODY, _request_timeout=(2, 0.2))


def test_latency_is_added(client: HubSpot, sandbox: HubSpotStandIn) -> None:
    sandbox.faults.set_latency(0.1, jitter=0.05)
    client.crm.contacts.basic_api.get_page(limit=1)
    assert sandbox.log.entries[-1].duration >= 0.1


def test_custom_fault_hook(client: HubSpot, sandbox: HubSpotStandIn) -> None:
    sandbox.add_fault_hook("teapot", lambda req: Response(418, {"status": "error"}))
    with pytest.raises(ApiException) as e:
        client.crm.contacts.basic_api.get_page()
    assert e.value.status == 418


def test_request_log_counts_calls_per_endpoint(client: HubSpot, sandbox: HubSpotStandIn) -> None:
    client.crm.contacts.basic_api.get_page(limit=1)
    client.crm.contacts.basic_api.get_by_id("1")
    assert sandbox.log.by_endpoint()["objects.list"] == 1
    assert sandbox.log.count("GET", r"/crm/v3/objects/contacts") == 2
