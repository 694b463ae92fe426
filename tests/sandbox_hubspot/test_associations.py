"""Associations: inline primary + unlabeled entries, v4 per-record and batch read."""

from __future__ import annotations

import json

import pytest
from hubspot import HubSpot
from hubspot.crm.associations.v4 import (
    ApiException,
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)

from connectors.sandbox.hubspot import HubSpotStandIn


def test_inline_associations_list_primary_and_unlabeled(
    client: HubSpot, sandbox: HubSpotStandIn
) -> None:
    sandbox.associate("contacts", 1, "companies", 3)
    rec = client.crm.contacts.basic_api.get_by_id("1", associations=["companies"])
    types = {(a.id, a.type) for a in rec.associations["companies"].results}
    assert {("3", "contact_to_company"), ("3", "contact_to_company_unlabeled")} <= types


def test_v4_per_record_has_numeric_to_object_id(client: HubSpot, sandbox: HubSpotStandIn) -> None:
    sandbox.associate("deals", 1, "companies", 2)
    api = client.crm.associations.v4.basic_api
    page = api.get_page("deals", "1", "companies", limit=500)
    hit = next(r for r in page.results if r.to_object_id == "2")
    assert {t.type_id for t in hit.association_types} == {5, 341}
    raw = api.get_page("deals", "1", "companies", _preload_content=False)
    assert isinstance(json.loads(raw.data)["results"][0]["toObjectId"], int)


def test_v4_batch_read_reports_empty_inputs_as_207(
    client: HubSpot, sandbox: HubSpotStandIn
) -> None:
    deal = sandbox.create("deals", {"dealname": "lonely"})
    sandbox.associate("deals", 1, "contacts", 5)
    res = client.crm.associations.v4.batch_api.get_page(
        "deals",
        "contacts",
        BatchInputPublicFetchAssociationsBatchRequest(
            inputs=[
                PublicFetchAssociationsBatchRequest(id="1"),
                PublicFetchAssociationsBatchRequest(id=str(deal)),
            ]
        ),
    )
    assert res.num_errors == 1
    assert res.errors[0].sub_category == "crm.associations.NO_ASSOCIATIONS_FOUND"
    assert res.errors[0].context["fromObjectId"] == [str(deal)]
    assert res.results[0]._from.id == "1"


def test_v4_batch_over_1000_inputs_is_400(client: HubSpot) -> None:
    with pytest.raises(ApiException) as e:
        client.crm.associations.v4.batch_api.get_page(
            "contacts",
            "companies",
            BatchInputPublicFetchAssociationsBatchRequest(
                inputs=[PublicFetchAssociationsBatchRequest(id=str(i)) for i in range(1001)]
            ),
        )
    assert e.value.status == 400


def test_custom_labels_are_user_defined_and_may_reuse_hubspot_type_ids(
    client: HubSpot, sandbox: HubSpotStandIn
) -> None:
    # captured real answer: {"category": "USER_DEFINED", "typeId": 1, "label": "Reference"}
    contact = sandbox.create("contacts", {"email": "label@x.test"})
    sandbox.associate("contacts", contact, "companies", 2, primary=False, labels={1: "Reference"})
    sandbox.associate("contacts", contact, "companies", 5, primary=True)
    page = client.crm.associations.v4.basic_api.get_page("contacts", str(contact), "companies")
    types = {
        r.to_object_id: sorted((t.category, t.type_id, t.label or "") for t in r.association_types)
        for r in page.results
    }
    assert types == {
        "2": [("HUBSPOT_DEFINED", 279, ""), ("USER_DEFINED", 1, "Reference")],
        "5": [("HUBSPOT_DEFINED", 1, "Primary"), ("HUBSPOT_DEFINED", 279, "")],
    }
    raw = page.results[0].association_types
    assert any(t.label is None for t in raw)  # unlabelled types answer label: null
    inline = client.crm.contacts.basic_api.get_by_id(str(contact), associations=["companies"])
    kinds = sorted((r.id, r.type) for r in inline.associations["companies"].results)
    assert kinds == [
        ("2", "contact_to_company_unlabeled"),
        ("2", "reference"),
        ("5", "contact_to_company"),
        ("5", "contact_to_company_unlabeled"),
    ]
