"""Merges and archiving: merged contact disappears, archived visible only with archived=true."""

from __future__ import annotations

import datetime as dt

from hubspot import HubSpot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    SimplePublicObjectBatchInput,
)

from connectors.sandbox.hubspot import HubSpotStandIn


def all_ids(client: HubSpot, archived: bool = False) -> list[str]:
    return [r.id for r in client.crm.contacts.get_all(archived=archived)]


def test_archived_only_with_archived_true(client: HubSpot, sandbox: HubSpotStandIn) -> None:
    sandbox.archive("contacts", 5)
    assert "5" not in all_ids(client)
    archived = client.crm.contacts.basic_api.get_page(archived=True).results
    assert [r.id for r in archived] == ["5"] and archived[0].archived is True
    assert archived[0].archived_at is not None


def test_archive_endpoint_returns_204(client: HubSpot) -> None:
    assert client.crm.contacts.basic_api.archive("6") is None
    assert "6" not in all_ids(client)


def test_merge_creates_a_new_record_that_both_old_ids_resolve_to(
    client: HubSpot, sandbox: HubSpotStandIn
) -> None:
    before = sandbox.get("contacts", 1)
    assert before is not None
    sandbox.set_property("contacts", 2, "country", "DE")
    sandbox.set_property("contacts", 1, "country", None)
    sandbox.merge("contacts", 1, 2)
    ids = all_ids(client)
    assert "1" not in ids and "2" not in ids
    new = ids[-1]
    assert int(new) > 60
    for old in ("1", "2"):
        got = client.crm.contacts.basic_api.get_by_id(
            old, properties=["hs_merged_object_ids", "email", "country"]
        )
        assert got.id == new
        assert got.properties["hs_merged_object_ids"] == "1;2"
        assert got.properties["email"] == before["email"]  # the primary's values win
        assert got.properties["country"] == "DE"  # the secondary fills what it lacks
    assert "1" not in all_ids(client, archived=True)


def test_merge_moves_associations_and_keeps_one_primary_company(
    client: HubSpot, sandbox: HubSpotStandIn
) -> None:
    a = sandbox.create("contacts", {"email": "a@merge.test"})
    b = sandbox.create("contacts", {"email": "b@merge.test"})
    sandbox.associate("contacts", a, "companies", 2, primary=True)
    sandbox.associate("contacts", b, "companies", 3, primary=True)
    deal = sandbox.add_won_deal(b, "10", dt.date(2026, 1, 5))
    sandbox.merge("contacts", a, b)
    new = all_ids(client)[-1]
    page = client.crm.associations.v4.basic_api.get_page("contacts", new, "companies")
    primary = {
        r.to_object_id for r in page.results if any(t.type_id == 1 for t in r.association_types)
    }
    assert primary == {"2"} and {r.to_object_id for r in page.results} == {"2", "3"}
    rec = client.crm.deals.basic_api.get_by_id(str(deal), associations=["contacts"])
    assert {x.id for x in rec.associations["contacts"].results} == {new}


def test_merge_endpoint(client: HubSpot) -> None:
    from hubspot.crm.contacts import PublicMergeInput

    res = client.crm.contacts.basic_api.merge(
        PublicMergeInput(primary_object_id="3", object_id_to_merge="4")
    )
    assert res.id not in ("3", "4")
    assert res.properties["hs_merged_object_ids"] == "3;4"
    assert "4" not in all_ids(client) and "3" not in all_ids(client)


def test_batch_update_silently_drops_merged_ids(client: HubSpot, sandbox: HubSpotStandIn) -> None:
    sandbox.merge("contacts", 1, 2)
    res = client.crm.contacts.batch_api.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[SimplePublicObjectBatchInput(id="2", properties={"firstname": "x"})]
        )
    )
    assert res.results == [] and getattr(res, "num_errors", None) is None


def test_added_won_deal_is_associated_and_visible(client: HubSpot, sandbox: HubSpotStandIn) -> None:
    deal = sandbox.add_won_deal(7, "1234.50", dt.date(2025, 6, 30), product_line="Pro")
    rec = client.crm.deals.basic_api.get_by_id(
        str(deal), properties=["amount", "dealstage"], associations=["contacts"]
    )
    assert rec.properties["amount"] == "1234.50" and rec.properties["dealstage"] == "closedwon"
    assert {a.id for a in rec.associations["contacts"].results} == {"7"}
