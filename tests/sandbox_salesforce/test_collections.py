"""sObject Collections writes and their per-record results."""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from connectors.sandbox.salesforce.app import SalesforceStandIn


def _contacts(sf: Salesforce, n: int) -> list[str]:
    return [r["Id"] for r in sf.query(f"SELECT Id FROM Contact LIMIT {n}")["records"]]


def _patch(sf: Salesforce, records: list[dict[str, Any]], all_or_none: bool = False) -> Any:
    return sf.restful(
        "composite/sobjects", method="PATCH", json={"allOrNone": all_or_none, "records": records}
    )


def test_update_returns_one_result_per_record_in_input_order(sf: Salesforce) -> None:
    a, b = _contacts(sf, 2)
    out = _patch(
        sf,
        [
            {"attributes": {"type": "Contact"}, "id": a, "Title": "CTO"},
            {"attributes": {"type": "Contact"}, "id": b, "Title": "CFO"},
        ],
    )
    assert out == [
        {"id": a, "success": True, "errors": []},
        {"id": b, "success": True, "errors": []},
    ]
    assert sf.Contact.get(b)["Title"] == "CFO"


def test_bad_value_on_a_restricted_picklist_fails_only_that_record(sf: Salesforce) -> None:
    opps = [r["Id"] for r in sf.query("SELECT Id FROM Opportunity LIMIT 2")["records"]]
    out = _patch(
        sf,
        [
            {"attributes": {"type": "Opportunity"}, "id": opps[0], "StageName": "Maybe"},
            {"attributes": {"type": "Opportunity"}, "id": opps[1], "StageName": "Closed Won"},
        ],
    )
    assert out[0]["success"] is False
    assert out[0]["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert out[0]["errors"][0]["fields"] == ["StageName"]
    assert out[1]["success"] is True
    assert sf.Opportunity.get(opps[1])["IsWon"] is True


def test_read_only_field_is_invalid_field_for_insert_update(sf: Salesforce) -> None:
    opp = sf.query("SELECT Id FROM Opportunity LIMIT 1")["records"][0]["Id"]
    out = _patch(sf, [{"attributes": {"type": "Opportunity"}, "id": opp, "IsWon": True}])
    assert out[0]["errors"][0]["statusCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_all_or_none_rolls_back_the_good_records(sf: Salesforce) -> None:
    a, b = _contacts(sf, 2)
    before = sf.Contact.get(a)["Title"]
    out = _patch(
        sf,
        [
            {"attributes": {"type": "Contact"}, "id": a, "Title": "Changed"},
            {"attributes": {"type": "Contact"}, "id": b, "IsDeleted": True},
        ],
        all_or_none=True,
    )
    assert out[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert out[1]["errors"][0]["statusCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert sf.Contact.get(a)["Title"] == before


def test_second_campaign_member_for_the_same_contact_is_duplicate_value(sf: Salesforce) -> None:
    campaign = sf.Campaign.create({"Name": "Segment A"})["id"]
    (contact,) = _contacts(sf, 1)
    member = {
        "attributes": {"type": "CampaignMember"},
        "CampaignId": campaign,
        "ContactId": contact,
    }
    out = sf.restful(
        "composite/sobjects", method="POST", json={"allOrNone": False, "records": [member, member]}
    )
    assert out[0]["success"] is True and out[0]["id"].startswith("00v")
    assert out[1]["errors"] == [
        {"statusCode": "DUPLICATE_VALUE", "message": "Already a campaign member.", "fields": []}
    ]


def test_unable_to_lock_row_is_injected_per_record(
    sf_server: SalesforceStandIn, sf: Salesforce
) -> None:
    a, b = _contacts(sf, 2)
    sf_server.lock_rows(b)
    out = _patch(
        sf,
        [
            {"attributes": {"type": "Contact"}, "id": a, "Title": "X"},
            {"attributes": {"type": "Contact"}, "id": b, "Title": "X"},
        ],
    )
    assert out[0]["success"] is True
    assert out[1]["errors"][0]["statusCode"] == "UNABLE_TO_LOCK_ROW"
    sf_server.unlock_rows()
    assert _patch(sf, [{"attributes": {"type": "Contact"}, "id": b, "Title": "X"}])[0]["success"]


def test_more_than_200_records_is_refused_whole(sf: Salesforce) -> None:
    records = [{"attributes": {"type": "Contact"}, "LastName": f"N{i}"} for i in range(201)]
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.restful("composite/sobjects", method="POST", json={"records": records})
    assert exc.value.content[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def test_collections_delete_by_ids(sf: Salesforce) -> None:
    a, b = _contacts(sf, 2)
    out = sf.restful("composite/sobjects", method="DELETE", params={"ids": f"{a},{b}"})
    assert [r["success"] for r in out] == [True, True]
    assert sf.query(f"SELECT Id FROM Contact WHERE Id IN ('{a}','{b}')")["totalSize"] == 0


def test_a_collections_request_counts_as_one_api_call(
    sf_server: SalesforceStandIn, sf: Salesforce
) -> None:
    ids = _contacts(sf, 3)
    used = sf_server.limits.used
    _patch(sf, [{"attributes": {"type": "Contact"}, "id": i, "Title": "T"} for i in ids])
    assert sf_server.limits.used == used + 1
