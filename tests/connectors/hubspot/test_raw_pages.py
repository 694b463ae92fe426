"""Pages read as JSON through the official client: hand-written HubSpot answers served
by the sandbox (its fault hooks) -> the canonical records, cursors and deletions, and the
transport's mapping of what only a raw read can meet (a body that is not JSON, a body
cut short)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest

from connectors.base import Contact, Cursor, Deal, TagUpdate
from connectors.errors import RecordRejected, ServerError
from connectors.hubspot import HubSpotConnector
from connectors.hubspot.writes import NOT_UPDATED, write_batch
from connectors.sandbox._http import Request, Response
from connectors.sandbox.hubspot import HubSpotStandIn

from .conftest import transport_for

UTC = dt.UTC
CONTACT_PROPS = {
    "firstname": "Ada",
    "lastname": "Lovelace",
    "salutation": None,
    "country": "GB",
    "address": None,
    "zip": None,
    "city": None,
    "lastmodifieddate": "2026-06-30T12:34:56Z",
    "hs_merged_object_ids": None,
}


def _contact(rid: str, updated: str, **props: Any) -> dict[str, Any]:
    return {
        "id": rid,
        "properties": {**CONTACT_PROPS, "email": f"c{rid}@mail.test", **props},
        "createdAt": "2019-01-01T00:00:00Z",
        "updatedAt": updated,
        "archived": False,
    }


def _serve(
    hs: HubSpotStandIn, method: str, path: str, answer: Any, status: int = 200
) -> list[Request]:
    """Answer ``method path`` with ``answer(request)`` (a JSON value); returns the requests."""
    seen: list[Request] = []

    def hook(req: Request) -> Response | None:
        if req.method != method or req.path != path:
            return None
        seen.append(req)
        return Response(status, answer(req))

    hs.faults.add_hook(f"{method} {path}", hook)
    return seen


def test_a_full_pull_reads_hand_written_list_pages(sandbox: HubSpotStandIn) -> None:
    first = {
        "results": [
            {
                **_contact("901", "2026-06-30T12:34:56Z", email=None),
                "associations": {
                    "companies": {
                        "results": [
                            {"id": "77", "type": "contact_to_company_unlabeled"},
                            {"id": "55", "type": "contact_to_company"},
                        ]
                    }
                },
            },
            _contact("902", "2026-06-30T12:34:56.789Z", num_notes=3),
        ],
        "paging": {"next": {"after": "MjAw", "link": "/crm/v3/objects/contacts?after=MjAw"}},
    }
    last = {"results": [_contact("903", "2026-06-29T23:00:00.000-02:00")]}
    seen = _serve(
        sandbox,
        "GET",
        "/crm/v3/objects/contacts",
        lambda req: last if req.query.get("after") == ["MjAw"] else first,
    )
    connector = HubSpotConnector(transport_for(sandbox))

    pages = list(connector.pull("contact", None, ["num_notes"]))

    assert len(seen) == 2 and seen[1].query["after"] == ["MjAw"]
    assert [[r.id for r in p.records] for p in pages] == [["901", "902"], ["903"]]
    ada = pages[0].records[0]
    assert ada == Contact(
        id="901",
        email=None,
        first_name="Ada",
        last_name="Lovelace",
        salutation=None,
        country="GB",
        company_id="55",  # the primary edge, not the lower unlabeled id
        properties={"num_notes": None},
        updated_at=dt.datetime(2026, 6, 30, 12, 34, 56, tzinfo=UTC),
    )
    assert pages[0].records[1].properties == {"num_notes": "3"}
    assert pages[0].records[1].company_id is None
    # 23:00 at -02:00 is 01:00 UTC the next day: the newest stamp of the pull
    assert pages[1].records[0].updated_at == dt.datetime(2026, 6, 30, 1, 0, tzinfo=UTC)
    assert pages[0].cursor == Cursor(dt.datetime(2026, 6, 30, 12, 34, 56, 789_000, UTC), "902")
    assert pages[1].cursor == pages[0].cursor


def test_capped_inline_associations_follow_every_v4_page(sandbox: HubSpotStandIn) -> None:
    deal = {
        "id": "5001",
        "properties": {
            "amount": "1200.50",
            "closedate": "2026-06-01T00:00:00Z",
            "dealstage": "closedwon",
            "hs_lastmodifieddate": "2026-06-02T00:00:00.000Z",
        },
        "updatedAt": "2026-06-02T00:00:00.000Z",
        "associations": {
            "contacts": {
                "results": [{"id": "9", "type": "deal_to_contact"}],
                "paging": {"next": {"after": "MQ=="}},  # capped: more on the v4 read
            },
            "companies": {"results": [{"id": "3", "type": "deal_to_company"}]},
        },
    }
    _serve(sandbox, "GET", "/crm/v3/objects/deals", lambda req: {"results": [deal]})

    def v4(req: Request) -> dict[str, Any]:
        (given,) = json.loads(req.body)["inputs"]
        to: list[dict[str, Any]]
        if "after" not in given:
            to = [{"toObjectId": n, "associationTypes": []} for n in (12, 9)]
            return {
                "status": "COMPLETE",
                "results": [
                    {"from": {"id": "5001"}, "to": to, "paging": {"next": {"after": "p2"}}}
                ],
            }
        assert given == {"id": "5001", "after": "p2"}
        to = [{"toObjectId": 10, "associationTypes": []}, {"toObjectId": 9}]
        return {"status": "COMPLETE", "results": [{"from": {"id": "5001"}, "to": to}]}

    reads = _serve(sandbox, "POST", "/crm/v4/associations/deals/contacts/batch/read", v4)
    connector = HubSpotConnector(transport_for(sandbox))

    (page,) = list(connector.pull("deal", None))

    assert len(reads) == 2
    (got,) = page.records
    assert isinstance(got, Deal)
    # complete, de-duplicated and sorted numerically: 9 twice, 10 and 12 from both pages
    assert got.contact_ids == ("9", "10", "12")
    assert got.company_ids == ("3",)
    assert (got.amount, got.close_date, got.won) == (
        Decimal("1200.50"),
        dt.date(2026, 6, 1),
        True,
    )


def test_an_incremental_pull_reads_merged_and_archived_ids(sandbox: HubSpotStandIn) -> None:
    found = _contact("901", "2026-06-30T12:00:00.5Z", hs_merged_object_ids="5;6")
    _serve(
        sandbox,
        "POST",
        "/crm/v3/objects/contacts/search",
        lambda req: {"total": 1, "results": [found]},
    )
    _serve(
        sandbox,
        "POST",
        "/crm/v4/associations/contacts/companies/batch/read",
        lambda req: {
            "status": "COMPLETE",
            "results": [],
            "errors": [
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                    "message": "No contacts is associated with 901",
                    "context": {"fromObjectId": ["901"]},
                }
            ],
        },
    )
    _serve(
        sandbox,
        "GET",
        "/crm/v3/objects/contacts",
        lambda req: {
            "results": [
                {"id": "44", "properties": {}, "archived": True, "archivedAt": "2026-06-15T00:00Z"},
                {"id": "43", "properties": {}, "archived": True, "archivedAt": "2020-01-01T00:00Z"},
                {"id": "42", "properties": {}, "archived": True, "archivedAt": None},
            ]
        },
    )
    connector = HubSpotConnector(transport_for(sandbox))
    since = Cursor(dt.datetime(2026, 6, 1, tzinfo=UTC), None)

    pages = list(connector.pull("contact", since))

    assert [([r.id for r in p.records], list(p.deleted_ids)) for p in pages] == [
        (["901"], ["5", "6"]),
        ([], ["44", "42"]),  # archived since the cursor, or at an unknown time
    ]
    assert pages[0].records[0].updated_at == dt.datetime(2026, 6, 30, 12, 0, 0, 500_000, UTC)
    assert pages[0].records[0].company_id is None


def test_an_answer_that_is_not_json_is_a_server_error_and_retried(
    sandbox: HubSpotStandIn,
) -> None:
    answers = iter([Response(200, b"<html>maintenance</html>", content_type="text/html")])

    def hook(req: Request) -> Response | None:
        return next(answers, None) if req.path == "/crm/v3/objects/contacts" else None

    sandbox.faults.add_hook("html", hook)
    t = transport_for(sandbox, attempts=2)
    api = t.api("crm.contacts.basic_api")

    page = t.call_json("objects.list", api.get_page, limit=2)

    assert [r["id"] for r in page["results"]] == ["1", "2"]
    assert t.calls["objects.list"] == 2 and t.retries == 1

    sandbox.faults.add_hook("html", lambda req: Response(200, b"{not json"))
    with pytest.raises(ServerError, match=r"objects\.list: the answer is not JSON"):
        transport_for(sandbox, attempts=2).call_json("objects.list", api.get_page, limit=2)


def test_json_reads_are_paced_counted_and_feed_the_daily_budget(
    sandbox: HubSpotStandIn,
) -> None:
    sandbox.faults.error_burst(1, 429, retry_after=0.01, path="/crm/v3/objects/contacts$")
    sandbox.faults.drop_connections(1, path="/crm/v3/objects/contacts$")
    t = transport_for(sandbox, attempts=3)
    api = t.api("crm.contacts.basic_api")

    page = t.call_json("objects.list", api.get_page, limit=1, properties=["email"])

    assert page["results"][0]["properties"]["email"] == "ali.mueller1@mail.test"
    assert page["paging"]["next"]["after"]  # the cursor, as HubSpot wrote it
    assert (t.calls["objects.list"], t.throttled, t.retries) == (3, 1, 2)
    assert t.budget.limit == sandbox.limits.daily
    assert t.budget.remaining is not None and t.budget.remaining < sandbox.limits.daily


def test_call_json_needs_a_generated_api_method(sandbox: HubSpotStandIn) -> None:
    with pytest.raises(TypeError, match="needs a generated api method"):
        transport_for(sandbox).call_json("x", lambda: None)


def test_batch_update_answers_are_read_as_json_one_result_per_update(
    sandbox: HubSpotStandIn,
) -> None:
    invalid = [
        {
            "isValid": False,
            "message": "was not one of the allowed options",
            "error": "INVALID_OPTION",
            "name": "crmseg_lifecycle",
        }
    ]
    answer = {
        "status": "COMPLETE",
        "results": [
            {
                "id": "1",
                "properties": {"crmseg_lifecycle": "active"},
                "createdAt": "2019-01-01T00:00:00Z",
                "updatedAt": "2026-06-30T12:00:00Z",
                "archived": False,
            }
        ],
        "numErrors": 1,
        "errors": [
            {
                "status": "error",
                "category": "VALIDATION_ERROR",
                "message": f"Property values were not valid: {json.dumps(invalid)}",
                "context": {"objectWriteTraceId": ["2"]},
            }
        ],
    }
    sent = _serve(
        sandbox, "POST", "/crm/v3/objects/contacts/batch/update", lambda req: answer, status=207
    )
    updates = [
        TagUpdate("contact", rid, {"crmseg_lifecycle": value})
        for rid, value in (("1", "active"), ("2", "bogus"), ("3", None))
    ]

    results = write_batch(transport_for(sandbox), updates)

    assert json.loads(sent[0].body) == {
        "inputs": [
            {"id": "1", "objectWriteTraceId": "1", "properties": {"crmseg_lifecycle": "active"}},
            {"id": "2", "objectWriteTraceId": "2", "properties": {"crmseg_lifecycle": "bogus"}},
            {"id": "3", "objectWriteTraceId": "3", "properties": {"crmseg_lifecycle": ""}},
        ]
    }
    assert [(r.record_id, r.ok) for r in results] == [("1", True), ("2", False), ("3", False)]
    assert results[0].modified_at == dt.datetime(2026, 6, 30, 12, 0, tzinfo=UTC)
    rejected = results[1].error
    assert isinstance(rejected, RecordRejected) and rejected.code == "VALIDATION_ERROR"
    assert rejected.message == (
        "INVALID_OPTION on crmseg_lifecycle: was not one of the allowed options"
    )
    # not in the answer and no error names it: read back, still itself, so not updated
    assert results[2].error is not None and results[2].error.message == NOT_UPDATED
