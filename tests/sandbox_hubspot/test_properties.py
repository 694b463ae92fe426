"""Properties and groups: create 201, read, options full replacement, enum enforcement."""

from __future__ import annotations

from typing import Any

import pytest
from hubspot import HubSpot
from hubspot.crm.contacts import (
    ApiException as ContactsApiException,
)
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    SimplePublicObjectBatchInput,
)
from hubspot.crm.properties import (
    ApiException,
    OptionInput,
    PropertyCreate,
    PropertyGroupCreate,
    PropertyUpdate,
)


def make_tag_property(client: HubSpot, field_type: str = "select") -> None:
    client.crm.properties.groups_api.create(
        "contacts", PropertyGroupCreate(name="segmentation", label="Segmentation", display_order=-1)
    )
    prop = client.crm.properties.core_api.create(
        "contacts",
        PropertyCreate(
            name="seg_abc",
            label="ABC",
            type="enumeration",
            field_type=field_type,
            group_name="segmentation",
            options=[
                OptionInput(label="A", value="A", hidden=False, display_order=0),
                OptionInput(label="B", value="B", hidden=False, display_order=1),
            ],
        ),
    )
    assert prop is not None and prop.name == "seg_abc"  # None would mean a non-201 status


def write(client: HubSpot, value: str) -> Any:
    return client.crm.contacts.batch_api.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[SimplePublicObjectBatchInput(id="1", properties={"seg_abc": value})]
        )
    )


def test_create_read_and_list_property(client: HubSpot) -> None:
    make_tag_property(client)
    got = client.crm.properties.core_api.get_by_name("contacts", "seg_abc")
    assert [o.value for o in got.options] == ["A", "B"]
    names = [p.name for p in client.crm.properties.core_api.get_all("contacts").results]
    assert "seg_abc" in names and "email" in names
    groups = [g.name for g in client.crm.properties.groups_api.get_all("contacts").results]
    assert "segmentation" in groups


def test_duplicate_property_is_409(client: HubSpot) -> None:
    make_tag_property(client)
    with pytest.raises(ApiException) as e:
        client.crm.properties.core_api.create(
            "contacts",
            PropertyCreate(
                name="seg_abc",
                label="x",
                type="string",
                field_type="text",
                group_name="segmentation",
            ),
        )
    assert e.value.status == 409


def test_options_update_replaces_the_whole_list(client: HubSpot) -> None:
    make_tag_property(client)
    got = client.crm.properties.core_api.update(
        "contacts",
        "seg_abc",
        PropertyUpdate(options=[OptionInput(label="C", value="C", hidden=False, display_order=0)]),
    )
    assert [o.value for o in got.options] == ["C"]


def test_unknown_option_is_400_invalid_option(client: HubSpot) -> None:
    make_tag_property(client)
    with pytest.raises(ContactsApiException) as e:
        write(client, "Z")
    assert e.value.status == 400 and "INVALID_OPTION" in e.value.body
    assert "Property values were not valid" in e.value.body
    assert write(client, "A").results[0].properties["seg_abc"] == "A"


def test_multi_checkbox_values_are_semicolon_separated(client: HubSpot) -> None:
    make_tag_property(client, field_type="checkbox")
    assert write(client, "A;B").results[0].properties["seg_abc"] == "A;B"
    with pytest.raises(ContactsApiException):
        write(client, "A;Z")


def test_unknown_property_is_rejected(client: HubSpot) -> None:
    with pytest.raises(ContactsApiException) as e:
        client.crm.contacts.batch_api.update(
            BatchInputSimplePublicObjectBatchInput(
                inputs=[SimplePublicObjectBatchInput(id="1", properties={"nope": "x"})]
            )
        )
    assert "PROPERTY_DOESNT_EXIST" in e.value.body


def test_archive_property_is_204_and_then_only_archived(client: HubSpot) -> None:
    make_tag_property(client)
    assert client.crm.properties.core_api.archive("contacts", "seg_abc") is None
    with pytest.raises(ApiException) as e:
        client.crm.properties.core_api.get_by_name("contacts", "seg_abc")
    assert e.value.status == 404
    got = client.crm.properties.core_api.get_by_name("contacts", "seg_abc", archived=True)
    assert got.archived is True
