"""Describe, single-record REST, and the updated/deleted replication resources."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

from connectors.sandbox.salesforce.app import SalesforceStandIn

PREFIXES = {
    "Account": "001",
    "Contact": "003",
    "Opportunity": "006",
    "Campaign": "701",
    "CampaignMember": "00v",
    "OpportunityContactRole": "00K",
    "PermissionSet": "0PS",
}


def test_describe_global_lists_the_objects_with_conventional_key_prefixes(sf: Salesforce) -> None:
    listed = {o["name"]: o["keyPrefix"] for o in sf.describe()["sobjects"]}
    for name, prefix in PREFIXES.items():
        assert listed[name] == prefix


def test_object_describe_reports_types_picklists_and_writability(sf: Salesforce) -> None:
    fields = {f["name"]: f for f in sf.Opportunity.describe()["fields"]}
    assert fields["Amount"]["type"] == "currency"
    assert fields["CloseDate"]["type"] == "date"
    assert fields["IsWon"]["updateable"] is False and fields["IsClosed"]["createable"] is False
    assert fields["SystemModstamp"]["type"] == "datetime"
    assert "Closed Won" in [p["value"] for p in fields["StageName"]["picklistValues"]]
    assert fields["AccountId"]["relationshipName"] == "Account"


def test_create_get_update_delete_through_sftype(sf: Salesforce) -> None:
    created = sf.Contact.create({"LastName": "Rowe", "Email": "rowe@x.test"})
    assert created["success"] is True and created["id"].startswith("003")
    got = sf.Contact.get(created["id"])
    assert got["Name"] == "Rowe" and got["IsDeleted"] is False
    assert sf.Contact.update(created["id"], {"FirstName": "Ada"}) == 204
    assert sf.Contact.get(created["id"])["Name"] == "Ada Rowe"
    assert sf.Contact.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound) as exc:
        sf.Contact.get(created["id"])
    assert exc.value.content[0]["errorCode"] == "NOT_FOUND"


def test_single_create_with_a_missing_required_field_is_a_400_array(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Contact.create({"FirstName": "NoLast"})
    assert exc.value.content == [
        {
            "message": "Required fields are missing: [LastName]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["LastName"],
        }
    ]


def test_updated_and_deleted_list_ids_changed_in_the_window(
    sf_server: SalesforceStandIn, sf: Salesforce
) -> None:
    start = datetime.now(UTC) - timedelta(minutes=1)
    contacts = [r["Id"] for r in sf.query("SELECT Id FROM Contact LIMIT 2")["records"]]
    sf_server.update(contacts[0], Title="CEO")
    sf_server.delete(contacts[1])
    end = datetime.now(UTC) + timedelta(minutes=2)
    updated = sf.Contact.updated(start, end)
    assert updated["ids"] == [contacts[0]]
    assert updated["latestDateCovered"].endswith("+0000")
    deleted = sf.Contact.deleted(start, end)
    assert [d["id"] for d in deleted["deletedRecords"]] == [contacts[1]]
    assert {"earliestDateAvailable", "latestDateCovered"} <= deleted.keys()


def test_updated_window_older_than_30_days_is_refused(sf: Salesforce) -> None:
    now = datetime.now(UTC)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.Contact.updated(now - timedelta(days=31), now)
    assert exc.value.content[0]["errorCode"] == "INVALID_REPLICATION_DATE"


def test_updated_with_a_naive_datetime_is_malformed(sf: Salesforce) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)
    with pytest.raises(SalesforceMalformedRequest):
        sf.Contact.updated(now - timedelta(days=1), now)
