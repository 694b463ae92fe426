"""v3 objects: list paging, get, batch read / update / upsert, server-kept stamps."""

from __future__ import annotations

from typing import Any

import pytest
from hubspot import HubSpot
from hubspot.crm.contacts import (
    ApiException,
    BatchInputSimplePublicObjectBatchInput,
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
    SimplePublicObjectBatchInput,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
)

from connectors.sandbox.hubspot import HubSpotStandIn


def test_list_pages_until_paging_is_absent(client: HubSpot) -> None:
    api = client.crm.contacts.basic_api
    seen, after, pages = [], None, 0
    while True:
        page = api.get_page(limit=25, after=after)
        pages += 1
        seen += [r.id for r in page.results]
        if page.paging is None:
            break
        after = page.paging.next.after
    assert pages == 3 and len(seen) == 60 and len(set(seen)) == 60


def test_list_limit_over_100_is_400(client: HubSpot) -> None:
    with pytest.raises(ApiException) as e:
        client.crm.contacts.basic_api.get_page(limit=101)
    assert e.value.status == 400 and '"VALIDATION_ERROR"' in e.value.body


def test_default_properties_and_server_stamps_are_returned(client: HubSpot) -> None:
    rec = client.crm.contacts.basic_api.get_page(limit=1).results[0]
    assert set(rec.properties) == {
        "firstname",
        "lastname",
        "email",
        "createdate",
        "lastmodifieddate",
        "hs_object_id",
    }
    assert rec.properties["hs_object_id"] == rec.id
    assert rec.properties["createdate"].endswith("Z") and "." in rec.properties["createdate"]


def test_requested_property_without_value_is_null(client: HubSpot, sandbox: HubSpotStandIn) -> None:
    sandbox.set_property("contacts", 1, "salutation", "")
    rec = client.crm.contacts.basic_api.get_by_id("1", properties=["salutation"])
    assert rec.properties["salutation"] is None


def test_deal_defaults_use_hs_lastmodifieddate(client: HubSpot) -> None:
    rec = client.crm.deals.basic_api.get_page(limit=1).results[0]
    assert {
        "dealname",
        "amount",
        "closedate",
        "pipeline",
        "dealstage",
        "hs_lastmodifieddate",
    } <= set(rec.properties)


def test_get_by_email_id_property_decodes_path(client: HubSpot, sandbox: HubSpotStandIn) -> None:
    sandbox.set_property("contacts", 3, "email", "a+b@example.com")
    rec = client.crm.contacts.basic_api.get_by_id("a+b@example.com", id_property="email")
    assert rec.id == "3"


def test_get_missing_is_not_found(client: HubSpot) -> None:
    from hubspot.crm.contacts.exceptions import NotFoundException

    with pytest.raises(NotFoundException):
        client.crm.contacts.basic_api.get_by_id("999999")


def test_batch_read_with_missing_id_is_207(client: HubSpot) -> None:
    res = client.crm.contacts.batch_api.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id="1"), SimplePublicObjectId(id="999")],
            properties=["email"],
            properties_with_history=[],
        )
    )
    assert res.num_errors == 1 and res.errors[0].category == "OBJECT_NOT_FOUND"
    assert res.errors[0].context == {"ids": ["999"]}
    assert [r.id for r in res.results] == ["1"]


def test_batch_over_100_inputs_is_400(client: HubSpot) -> None:
    with pytest.raises(ApiException) as e:
        client.crm.contacts.batch_api.read(
            BatchReadInputSimplePublicObjectId(
                inputs=[SimplePublicObjectId(id=str(i)) for i in range(101)],
                properties=[],
                properties_with_history=[],
            )
        )
    assert e.value.status == 400


def test_batch_read_with_history_caps_at_50(client: HubSpot) -> None:
    with pytest.raises(ApiException) as e:
        client.crm.contacts.batch_api.read(
            BatchReadInputSimplePublicObjectId(
                inputs=[SimplePublicObjectId(id=str(i)) for i in range(51)],
                properties=[],
                properties_with_history=["email"],
            )
        )
    assert "property histories is 50" in e.value.body


def test_batch_update_bumps_lastmodifieddate(client: HubSpot) -> None:
    before = client.crm.contacts.basic_api.get_by_id("2").properties["lastmodifieddate"]
    res = client.crm.contacts.batch_api.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[SimplePublicObjectBatchInput(id="2", properties={"firstname": "Ada"})]
        )
    )
    after = res.results[0].properties["lastmodifieddate"]
    assert res.results[0].properties["firstname"] == "Ada" and after > before


def test_batch_update_by_email_id_property_is_rejected(client: HubSpot) -> None:
    with pytest.raises(ApiException) as e:
        client.crm.contacts.batch_api.update(
            BatchInputSimplePublicObjectBatchInput(
                inputs=[
                    SimplePublicObjectBatchInput(id="x@y.z", id_property="email", properties={})
                ]
            )
        )
    assert "non-unique 0-1 property" in e.value.body


def test_batch_update_missing_id_is_207_with_trace_id(client: HubSpot) -> None:
    res = client.crm.contacts.batch_api.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[
                SimplePublicObjectBatchInput(id="1", properties={"firstname": "A"}),
                SimplePublicObjectBatchInput(
                    id="9999", properties={"firstname": "B"}, object_write_trace_id="t-1"
                ),
            ]
        )
    )
    assert res.num_errors == 1 and res.errors[0].context["objectWriteTraceId"] == ["t-1"]


def test_upsert_by_email_creates_then_updates(client: HubSpot) -> None:
    def upsert(name: str) -> Any:
        return client.crm.contacts.batch_api.upsert(
            BatchInputSimplePublicObjectBatchInputUpsert(
                inputs=[
                    SimplePublicObjectBatchInputUpsert(
                        id="new@x.test", id_property="email", properties={"firstname": name}
                    )
                ]
            )
        )

    first, second = upsert("N1"), upsert("N2")
    assert first.results[0].new is True and second.results[0].new is False
    assert first.results[0].id == second.results[0].id


def test_upsert_duplicate_ids_in_one_batch_is_400(client: HubSpot) -> None:
    with pytest.raises(ApiException) as e:
        client.crm.contacts.batch_api.upsert(
            BatchInputSimplePublicObjectBatchInputUpsert(
                inputs=[
                    SimplePublicObjectBatchInputUpsert(
                        id="d@x.test", id_property="email", properties={}
                    ),
                    SimplePublicObjectBatchInputUpsert(
                        id="D@x.test", id_property="email", properties={}
                    ),
                ]
            )
        )
    assert e.value.status == 400


def test_on_demand_partial_failure_is_207(client: HubSpot, sandbox: HubSpotStandIn) -> None:
    sandbox.fail_batch_inputs(ids={"2"})
    res = client.crm.contacts.batch_api.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[
                SimplePublicObjectBatchInput(id="1", properties={"firstname": "A"}),
                SimplePublicObjectBatchInput(id="2", properties={"firstname": "B"}),
            ]
        )
    )
    assert res.num_errors == 1 and [r.id for r in res.results] == ["1"]
    again = client.crm.contacts.batch_api.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[SimplePublicObjectBatchInput(id="2", properties={"firstname": "B"})]
        )
    )
    assert getattr(again, "num_errors", None) is None


def test_create_contact_with_existing_email_is_409(
    client: HubSpot, sandbox: HubSpotStandIn
) -> None:
    from hubspot.crm.contacts import SimplePublicObjectInputForCreate

    sandbox.set_property("contacts", 4, "email", "dup@x.test")
    with pytest.raises(ApiException) as e:
        client.crm.contacts.basic_api.create(
            SimplePublicObjectInputForCreate(properties={"email": "DUP@x.test"}, associations=[])
        )
    assert e.value.status == 409 and "Existing ID: 4" in e.value.body


def test_batch_create_is_201_and_stamps_are_server_side(client: HubSpot) -> None:
    from hubspot.crm.contacts import (
        BatchInputSimplePublicObjectBatchInputForCreate,
        SimplePublicObjectBatchInputForCreate,
    )

    res = client.crm.contacts.batch_api.create(
        BatchInputSimplePublicObjectBatchInputForCreate(
            inputs=[
                SimplePublicObjectBatchInputForCreate(
                    properties={"email": "fresh@x.test"}, associations=[]
                )
            ]
        )
    )
    assert res is not None  # None would mean the status was not 201/207
    rec = res.results[0]
    assert rec.properties["hs_object_id"] == rec.id == "61"
    assert rec.properties["createdate"] == rec.properties["lastmodifieddate"]


def test_batch_update_invalid_value_is_400_without_trace_ids_and_207_with_them(
    client: HubSpot,
) -> None:
    from hubspot.crm.contacts import ApiException

    inputs = [
        SimplePublicObjectBatchInput(id="1", properties={"firstname": "Ok"}),
        SimplePublicObjectBatchInput(id="2", properties={"no_such_property": "x"}),
    ]
    with pytest.raises(ApiException) as e:
        client.crm.contacts.batch_api.update(BatchInputSimplePublicObjectBatchInput(inputs=inputs))
    assert e.value.status == 400 and "Property values were not valid" in e.value.body
    assert (client.crm.contacts.basic_api.get_by_id("1").properties["firstname"]) != "Ok"

    for item in inputs:
        item.object_write_trace_id = f"t{item.id}"
    res = client.crm.contacts.batch_api.update(
        BatchInputSimplePublicObjectBatchInput(inputs=inputs)
    )
    assert [r.id for r in res.results] == ["1"] and res.num_errors == 1
    (error,) = res.errors
    assert error.context["objectWriteTraceId"] == ["t2"]
    assert "PROPERTY_DOESNT_EXIST" in error.message
    assert res.results[0].updated_at is not None
