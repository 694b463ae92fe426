"""ensure_fields: crmseg tag properties are enumerations in the crmseg group; reads
first, writes only what differs, never drops an option, refuses foreign names."""

from __future__ import annotations

from typing import Any

import pytest
from hubspot import HubSpot
from hubspot.crm.properties import OptionInput, PropertyCreate

from connectors.base import FieldSpec
from connectors.errors import SchemaMismatch
from connectors.hubspot.fields import HubSpotTransport, cached_api, ensure_fields
from connectors.hubspot.transport import HubSpotSettings, Transport
from connectors.sandbox.hubspot import HubSpotStandIn

from . import INTERESTS, LIFECYCLE
from .conftest import StandInTransport

WRITES = r"^/crm/v3/properties/"


def _writes(hs: HubSpotStandIn) -> int:
    return sum(hs.log.count(m, WRITES) for m in ("POST", "PATCH", "PUT", "DELETE"))


def _options(client: HubSpot, name: str) -> list[tuple[str, str, int, bool]]:
    prop = client.crm.properties.core_api.get_by_name("contacts", name)
    return [(o.value, o.label, o.display_order, o.hidden) for o in prop.options]


def test_fields_are_created_as_enumerations_in_the_crmseg_group(
    hs: HubSpotStandIn, client: HubSpot, transport: HubSpotTransport
) -> None:
    changes = ensure_fields(transport, "contact", [LIFECYCLE, INTERESTS])

    assert changes == [
        "created property group crmseg on contact",
        "created contact property crmseg_lifecycle (select, 3 options)",
        "created contact property crmseg_interests (checkbox, 3 options)",
    ]
    group = client.crm.properties.groups_api.get_by_name("contacts", "crmseg")
    assert group.label == "crmseg segments"
    core = client.crm.properties.core_api
    lifecycle = core.get_by_name("contacts", "crmseg_lifecycle")
    interests = core.get_by_name("contacts", "crmseg_interests")
    assert (lifecycle.type, lifecycle.field_type, lifecycle.group_name) == (
        "enumeration",
        "select",
        "crmseg",
    )
    assert (interests.type, interests.field_type, interests.group_name) == (
        "enumeration",
        "checkbox",
        "crmseg",
    )
    assert lifecycle.label == "Lifecycle"
    assert _options(client, "crmseg_lifecycle") == [
        ("new", "new", 0, False),
        ("active", "active", 1, False),
        ("at_risk", "at_risk", 2, False),
    ]
    assert hs.log.count("POST", r"^/crm/v3/properties/contacts/groups$") == 1
    assert hs.log.count("POST", r"^/crm/v3/properties/contacts/?$") == 2


def test_second_call_with_the_same_specs_reads_once_and_writes_nothing(
    hs: HubSpotStandIn, transport: HubSpotTransport
) -> None:
    ensure_fields(transport, "contact", [LIFECYCLE, INTERESTS])
    hs.log.clear()

    assert ensure_fields(transport, "contact", [LIFECYCLE, INTERESTS]) == []
    assert _writes(hs) == 0
    assert hs.log.count("GET", WRITES) == 1  # one read of all contact properties
    assert len(hs.log) == 1


def test_new_option_is_added_and_options_only_hubspot_has_are_kept(
    hs: HubSpotStandIn, client: HubSpot, transport: HubSpotTransport, contact_ids: list[str]
) -> None:
    ensure_fields(transport, "contact", [FieldSpec("crmseg_interests", "I", ("a", "b", "c"), True)])
    hs.set_property("contacts", int(contact_ids[0]), "crmseg_interests", "b;c")
    hs.log.clear()

    # the engine now wants a and a new tag d; b and c may still be held by records
    changes = ensure_fields(
        transport, "contact", [FieldSpec("crmseg_interests", "I", ("a", "d"), True)]
    )

    assert changes == ["updated options of contact property crmseg_interests: added d"]
    assert _options(client, "crmseg_interests") == [
        ("a", "a", 0, False),
        ("d", "d", 1, False),
        ("b", "b", 2, False),
        ("c", "c", 3, False),
    ]
    assert hs.log.count("PATCH", r"^/crm/v3/properties/contacts/crmseg_interests$") == 1
    assert _writes(hs) == 1
    assert hs.get("contacts", int(contact_ids[0]))["crmseg_interests"] == "b;c"  # type: ignore[index]


def test_reordered_options_are_patched_once_then_stable(
    hs: HubSpotStandIn, client: HubSpot, transport: HubSpotTransport
) -> None:
    ensure_fields(transport, "contact", [LIFECYCLE])
    reordered = FieldSpec("crmseg_lifecycle", "Lifecycle", ("at_risk", "new", "active"))

    assert ensure_fields(transport, "contact", [reordered]) == [
        "updated options of contact property crmseg_lifecycle: reordered / relabelled"
    ]
    assert [v for v, *_ in _options(client, "crmseg_lifecycle")] == ["at_risk", "new", "active"]
    assert ensure_fields(transport, "contact", [reordered]) == []


@pytest.mark.parametrize(
    ("type_", "field_type", "spec"),
    [
        ("string", "text", LIFECYCLE),
        ("number", "number", LIFECYCLE),
        ("enumeration", "select", INTERESTS),  # single-select where crmseg needs multi
        ("enumeration", "checkbox", LIFECYCLE),  # multi where crmseg needs single-select
    ],
)
def test_existing_property_of_another_kind_is_a_schema_mismatch(
    hs: HubSpotStandIn,
    client: HubSpot,
    transport: HubSpotTransport,
    type_: str,
    field_type: str,
    spec: FieldSpec,
) -> None:
    client.crm.properties.core_api.create(
        "contacts",
        PropertyCreate(
            name=spec.name,
            label="made by hand",
            type=type_,
            field_type=field_type,
            group_name="contactinformation",
            options=[OptionInput(label="x", value="x", hidden=False, display_order=0)]
            if type_ == "enumeration"
            else [],
        ),
    )
    hs.log.clear()

    with pytest.raises(SchemaMismatch) as info:
        ensure_fields(transport, "contact", [LIFECYCLE, INTERESTS])

    message = str(info.value)
    assert spec.name in message
    assert f"type {type_!r} / fieldType {field_type!r}" in message
    assert "Rename or delete" in message
    assert _writes(hs) == 0  # nothing created, not even the group


@pytest.mark.parametrize("name", ["lifecycle", "hs_lead_status", "CRMSEG_x", "xcrmseg_a"])
def test_property_outside_crmseg_namespace_is_refused_before_any_call(
    hs: HubSpotStandIn, transport: HubSpotTransport, name: str
) -> None:
    with pytest.raises(ValueError, match="crmseg_"):
        ensure_fields(transport, "contact", [LIFECYCLE, FieldSpec(name, "x", ("a",))])
    assert len(hs.log) == 0


def test_companies_get_their_own_group_and_properties(
    hs: HubSpotStandIn, client: HubSpot, transport: HubSpotTransport
) -> None:
    ensure_fields(transport, "contact", [LIFECYCLE])

    assert ensure_fields(transport, "company", [LIFECYCLE]) == [
        "created property group crmseg on company",
        "created company property crmseg_lifecycle (select, 3 options)",
    ]
    prop = client.crm.properties.core_api.get_by_name("companies", "crmseg_lifecycle")
    assert (prop.type, prop.field_type, prop.group_name) == ("enumeration", "select", "crmseg")


def test_a_transport_with_only_the_protocols_members_is_enough_and_its_apis_are_cached(
    hs: HubSpotStandIn, client: HubSpot
) -> None:
    """``client``, ``call`` and ``call_json`` (``HubSpotTransport``), nothing more: no
    api cache of its own. ``call_json`` is required, not replaced by ``call`` and the
    client's models turned back into JSON: the writes and the recognition of crmseg's
    own writes call it anyway, and a second way to read answers would be a path no
    connector takes."""
    bare = StandInTransport(client)

    assert ensure_fields(bare, "contact", [LIFECYCLE])[-1].startswith("created contact property")
    assert cached_api(bare, "crm.properties.core_api") is cached_api(
        bare, "crm.properties.core_api"
    )
    assert cached_api(bare, "crm.lists.lists_api") is not cached_api(
        StandInTransport(client), "crm.lists.lists_api"
    )


def test_lost_group_and_property_create_answers_are_retried_without_failing(
    hs: HubSpotStandIn, client: HubSpot
) -> None:
    retrying = Transport(
        hs.token, HubSpotSettings(host=hs.base_url, ssl_ca_cert=hs.ca_path, max_wait=0.01)
    )
    hs.lose_responses(1, r"^/crm/v3/properties/contacts/groups$")
    hs.lose_responses(1, r"^/crm/v3/properties/contacts/?$")

    ensure_fields(retrying, "contact", [LIFECYCLE, INTERESTS])

    assert [status for _m, _p, status in hs.lost] == [201, 201]  # carried out, answer lost
    # logged (answered): the retried lifecycle create (409) and the interests create
    assert hs.log.count("POST", r"^/crm/v3/properties/contacts/?$") == 2
    assert _options(client, "crmseg_lifecycle")[0] == ("new", "new", 0, False)
    assert client.crm.properties.core_api.get_by_name(
        "contacts", "crmseg_interests"
    ).group_name == ("crmseg")
    hs.log.clear()
    assert ensure_fields(retrying, "contact", [LIFECYCLE, INTERESTS]) == []
    assert _writes(hs) == 0


def test_a_property_someone_else_created_meanwhile_is_refused(
    hs: HubSpotStandIn, client: HubSpot
) -> None:
    retrying = Transport(
        hs.token, HubSpotSettings(host=hs.base_url, ssl_ca_cert=hs.ca_path, max_wait=0.01)
    )
    made: list[bool] = []

    def colleague_first(request: Any) -> None:
        if request.method == "POST" and request.path == "/crm/v3/properties/contacts" and not made:
            made.append(True)
            client.crm.properties.core_api.create(  # as a colleague would, in their group
                "contacts",
                PropertyCreate(
                    name="crmseg_lifecycle",
                    label="mine",
                    type="enumeration",
                    field_type="select",
                    group_name="contactinformation",
                    options=[OptionInput(label="x", value="x", hidden=False, display_order=0)],
                ),
            )
        return None

    hs.add_fault_hook("colleague", colleague_first)
    with pytest.raises(SchemaMismatch, match="not created by crmseg"):
        ensure_fields(retrying, "contact", [LIFECYCLE])
