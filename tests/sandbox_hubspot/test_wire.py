"""Wire tolerance (checklist 11.1-3, 11.9) checked with the SDK's raw-response mode."""

from __future__ import annotations

import json

import urllib3
from hubspot import HubSpot

from connectors.sandbox.hubspot import HubSpotStandIn


def raw(sandbox: HubSpotStandIn, method: str, path: str, body: object = None) -> tuple[int, dict]:
    pm = urllib3.PoolManager(ca_certs=sandbox.ca_path)
    r = pm.request(
        method,
        sandbox.base_url + path,
        headers={"Authorization": f"Bearer {sandbox.token}", "Content-Type": "application/json"},
        body=json.dumps(body) if body is not None else None,
    )
    return r.status, (json.loads(r.data) if r.data else {})


def test_comma_separated_and_repeated_arrays_are_equal(sandbox: HubSpotStandIn) -> None:
    _, a = raw(sandbox, "GET", "/crm/v3/objects/contacts?limit=1&properties=email,country")
    _, b = raw(
        sandbox, "GET", "/crm/v3/objects/contacts?limit=1&properties=email&properties=country"
    )
    assert a == b and "country" in a["results"][0]["properties"]


def test_booleans_are_case_insensitive(client: HubSpot, sandbox: HubSpotStandIn) -> None:
    sandbox.archive("contacts", 1)
    _, body = raw(sandbox, "GET", "/crm/v3/objects/contacts?archived=TRUE")
    assert [r["id"] for r in body["results"]] == ["1"]
    assert [r.id for r in client.crm.contacts.basic_api.get_page(archived=True).results] == ["1"]


def test_lists_route_with_and_without_trailing_slash(sandbox: HubSpotStandIn) -> None:
    status, _ = raw(
        sandbox,
        "POST",
        "/crm/v3/lists",
        {"name": "x", "objectTypeId": "0-1", "processingType": "MANUAL"},
    )
    assert status == 200
    status, body = raw(sandbox, "GET", "/crm/v3/lists/?listIds=1")
    assert status == 200 and body["lists"][0]["name"] == "x"


def test_object_type_ids_work_in_paths(sandbox: HubSpotStandIn) -> None:
    status, body = raw(sandbox, "GET", "/crm/v3/objects/0-3?limit=2")
    assert status == 200 and len(body["results"]) == 2


def test_errors_carry_fresh_correlation_ids(sandbox: HubSpotStandIn) -> None:
    _, a = raw(sandbox, "GET", "/crm/v3/objects/contacts/999999")
    _, b = raw(sandbox, "GET", "/crm/v3/objects/contacts/999999")
    assert a["status"] == "error" and a["category"] == "OBJECT_NOT_FOUND"
    assert a["correlationId"] != b["correlationId"]


def test_timestamps_are_iso_utc_with_millis(sandbox: HubSpotStandIn) -> None:
    _, body = raw(sandbox, "GET", "/crm/v3/objects/contacts?limit=1")
    created = body["results"][0]["createdAt"]
    assert created.endswith("Z") and len(created.split(".")[1]) == 4
