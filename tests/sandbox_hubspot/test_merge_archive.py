"""Merges and archiving: merged contact disappears, archived visible only with archived=true."""

from __future__ import annotations

import datetime as dt

from hubspot import HubSpot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    SimplePublicObjectBatchInput,
)

from connectors.sandbox.hubspot import HubSpotSandbox


def all_ids(client: HubSpot, archived: bool = False) -> list[str]:
    return [r.id for r in client.crm.contacts.get_all(archived=archived)]


def test_archived_only_with_archived_true(client: HubSpot, sandbox: HubSpotSandbox) -> None:
    sandbox.archive("contacts", 5)
    assert "5" not in all_ids(client)
    archived = client.crm.contacts.basic_api.get_page(archived=True).results
    assert [r.id for r in archived] == ["5"] and archived[0].archived is True
    assert archived[0].archived_at is not None


def test_archive_endpoint_returns_204(client: HubSpot) -> None:
    assert client.crm.contacts.basic_api.archive("6") is None
    assert "6" not in all_ids(client)


def test_merged_contact_disappears_and_survivor_lists_it(
    client: HubSpot, sandbox: HubSpotSandbox
) -> None:
    sandbox.merge("contacts", 1, 2)
    assert "2" not in all_ids(client)
    survivor = client.crm.contacts.basic_api.get_by_id("1", properties=["hs_merged_object_ids"])
    assert survivor.properties["hs_merged_object_ids"] == "2"


def test_merge_endpoint(client: HubSpot) -> None:
    from hubspot.crm.contacts import PublicMergeInput

    res = client.crm.contacts.basic_api.merge(
        PublicMergeInput(primary_object_id="3", object_id_to_merge="4")
    )
    assert res.id == "3"
    assert "4" not in all_ids(client)


def test_batch_update_silently_drops_merged_ids(client: HubSpot, sandbox: HubSpotSandbox) -> None:
    sandbox.merge("contacts", 1, 2)
    res = client.crm.contacts.batch_api.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[SimplePublicObjectBatchInput(id="2", properties={"firstname": "x"})]
        )
    )
    assert res.results == [] and getattr(res, "num_errors", None) is None


def test_added_won_deal_is_associated_and_visible(client: HubSpot, sandbox: HubSpotSandbox) -> None:
    deal = sandbox.add_won_deal(7, "1234.50", dt.date(2025, 6, 30), product_line="Pro")
    rec = client.crm.deals.basic_api.get_by_id(
        str(deal), properties=["amount", "dealstage"], associations=["contacts"]
    )
    assert rec.properties["amount"] == "1234.50" and rec.properties["dealstage"] == "closedwon"
    assert {a.id for a in rec.associations["contacts"].results} == {"7"}
