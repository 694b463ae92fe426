"""ensure_lists keeps one DYNAMIC list per segment (created once, corrected when its filter
was changed by hand, untouched otherwise); snapshot_list freezes exactly the given ids."""

from __future__ import annotations

import copy
import logging
from dataclasses import replace
from typing import Any

import pytest
from hubspot import HubSpot
from hubspot.crm.lists import ListCreateRequest, ListFilterUpdateRequest

from connectors.base import ListSpec, TagUpdate
from connectors.errors import CrmError, SchemaMismatch
from connectors.hubspot import lists as hs_lists
from connectors.hubspot.fields import HubSpotTransport, ensure_fields
from connectors.hubspot.lists import (
    ListNotOwned,
    ensure_lists,
    filter_branch,
    same_filter,
    snapshot_list,
)
from connectors.hubspot.transport import HubSpotSettings, Transport
from connectors.hubspot.writes import write_batch
from connectors.sandbox.hubspot import HubSpotStandIn

from . import INTERESTS, LIFECYCLE

AT_RISK = ListSpec("crmseg · lifecycle = at_risk", "contact", "crmseg_lifecycle", "at_risk")
LIKES_B = ListSpec("crmseg · interests = b", "contact", "crmseg_interests", "b")
LIST_WRITES = r"^/crm/v3/lists(/|$)"


def list_writes(hs: HubSpotStandIn) -> int:
    return sum(hs.log.count(m, LIST_WRITES) for m in ("PUT", "DELETE")) + hs.log.count(
        "POST", r"^/crm/v3/lists/?$"
    )


def members(client: HubSpot, list_id: str) -> set[str]:
    page = client.crm.lists.memberships_api.get_page(list_id, limit=250)
    assert page.paging is None
    return {m.record_id for m in page.results}


@pytest.fixture
def tagged(hs: HubSpotStandIn, transport: HubSpotTransport, contact_ids: list[str]) -> list[str]:
    """Six contacts tagged through write_batch; returns their ids."""
    c = contact_ids[:6]
    ensure_fields(transport, "contact", [LIFECYCLE, INTERESTS])
    values: list[dict[str, str | None]] = [
        {"crmseg_lifecycle": "at_risk", "crmseg_interests": "a;b"},
        {"crmseg_lifecycle": "active", "crmseg_interests": "a"},
        {"crmseg_lifecycle": "at_risk", "crmseg_interests": None},
        {"crmseg_lifecycle": "new", "crmseg_interests": "b"},
        {"crmseg_lifecycle": None, "crmseg_interests": "c;b"},
        {"crmseg_lifecycle": "active", "crmseg_interests": "c"},
    ]
    results = write_batch(
        transport, [TagUpdate("contact", i, v) for i, v in zip(c, values, strict=True)]
    )
    assert all(r.ok for r in results)
    hs.log.clear()
    return c


def test_lists_are_created_once_with_the_segment_filter(
    hs: HubSpotStandIn, client: HubSpot, transport: HubSpotTransport, tagged: list[str]
) -> None:
    c = tagged
    states = ensure_lists(transport, [AT_RISK, LIKES_B])

    assert [(s.spec, s.created, s.updated) for s in states] == [
        (AT_RISK, True, False),
        (LIKES_B, True, False),
    ]
    assert hs.log.count("POST", r"^/crm/v3/lists/?$") == 2
    at_risk = client.crm.lists.lists_api.get_by_id(states[0].list_id, include_filters=True).list
    assert (at_risk.name, at_risk.object_type_id, at_risk.processing_type) == (
        "crmseg · lifecycle = at_risk",
        "0-1",
        "DYNAMIC",
    )
    f = at_risk.filter_branch.filter_branches[0].filters[0]
    assert (f.filter_type, f._property, f.operation.operator, f.operation.values) == (
        "PROPERTY",
        "crmseg_lifecycle",
        "IS_ANY_OF",
        ["at_risk"],
    )
    assert members(client, states[0].list_id) == {c[0], c[2]}
    assert members(client, states[1].list_id) == {c[0], c[3], c[4]}  # "a;b", "b", "c;b"


def test_membership_follows_tags_written_later(
    client: HubSpot, transport: HubSpotTransport, tagged: list[str]
) -> None:
    c = tagged
    (state,) = ensure_lists(transport, [AT_RISK])
    write_batch(
        transport,
        [
            TagUpdate("contact", c[0], {"crmseg_lifecycle": "active"}),
            TagUpdate("contact", c[5], {"crmseg_lifecycle": "at_risk"}),
        ],
    )

    assert members(client, state.list_id) == {c[2], c[5]}


def test_second_ensure_lists_makes_no_write_call(
    hs: HubSpotStandIn, transport: HubSpotTransport, tagged: list[str]
) -> None:
    first = ensure_lists(transport, [AT_RISK, LIKES_B])
    hs.log.clear()

    second = ensure_lists(transport, [AT_RISK, LIKES_B])

    assert [(s.list_id, s.created, s.updated) for s in second] == [
        (first[0].list_id, False, False),
        (first[1].list_id, False, False),
    ]
    assert list_writes(hs) == 0
    assert len(hs.log) == 2  # one read by name per spec


def test_filter_changed_by_hand_is_corrected(
    hs: HubSpotStandIn, client: HubSpot, transport: HubSpotTransport, tagged: list[str]
) -> None:
    c = tagged
    (state,) = ensure_lists(transport, [AT_RISK])
    client.crm.lists.lists_api.update_list_filters(
        state.list_id,
        ListFilterUpdateRequest(filter_branch=filter_branch("crmseg_lifecycle", "active")),
    )
    assert members(client, state.list_id) == {c[1], c[5]}
    hs.log.clear()

    owned = replace(AT_RISK, list_id=state.list_id)  # crmseg recorded creating it
    (fixed,) = ensure_lists(transport, [owned])

    assert (fixed.list_id, fixed.created, fixed.updated) == (state.list_id, False, True)
    assert hs.log.count("PUT", r"/update-list-filters$") == 1
    assert list_writes(hs) == 1
    assert members(client, state.list_id) == {c[0], c[2]}
    hs.log.clear()
    assert ensure_lists(transport, [owned])[0].updated is False
    assert list_writes(hs) == 0


def made_by_hand(client: HubSpot, name: str, lifecycle: str) -> Any:
    """A DYNAMIC list created outside crmseg, "crmseg_lifecycle is any of [lifecycle]"."""
    return client.crm.lists.lists_api.create(
        ListCreateRequest(
            name=name,
            object_type_id="0-1",
            processing_type="DYNAMIC",
            filter_branch=filter_branch("crmseg_lifecycle", lifecycle),
        )
    ).list


def test_a_colleagues_dynamic_list_with_a_crmseg_name_is_never_changed(
    hs: HubSpotStandIn, client: HubSpot, transport: HubSpotTransport, tagged: list[str]
) -> None:
    theirs = made_by_hand(client, AT_RISK.name, "active")
    hs.log.clear()

    with pytest.raises(
        ListNotOwned, match=r"'crmseg · lifecycle = at_risk' \(id \d+\) was not created"
    ):
        ensure_lists(transport, [AT_RISK])
    with pytest.raises(ListNotOwned, match="as id 999, which is gone"):
        ensure_lists(transport, [replace(AT_RISK, list_id="999")])
    assert list_writes(hs) == 0
    kept = client.crm.lists.lists_api.get_by_id(theirs.list_id, include_filters=True).list
    assert kept.filter_branch.filter_branches[0].filters[0].operation.values == ["active"]


def test_a_list_with_crmseg_filter_but_no_record_is_adopted_without_a_write(
    hs: HubSpotStandIn, client: HubSpot, transport: HubSpotTransport, tagged: list[str]
) -> None:
    made = made_by_hand(client, AT_RISK.name, "at_risk")
    hs.log.clear()
    (state,) = ensure_lists(transport, [AT_RISK])
    assert (state.list_id, state.created, state.updated) == (made.list_id, False, False)
    assert list_writes(hs) == 0


def test_filters_compare_by_meaning_not_by_text() -> None:
    wanted = filter_branch("crmseg_interests", "b")
    wanted["filterBranches"][0]["filters"][0]["operation"]["values"] = ["b", "a"]
    wanted["filterBranches"].append(
        {
            "filterBranchType": "AND",
            "filters": [
                {
                    "filterType": "PROPERTY",
                    "property": "crmseg_abc",
                    "operation": {
                        "operationType": "ENUMERATION",
                        "operator": "IS_ANY_OF",
                        "values": ["A"],
                    },
                },
                {
                    "filterType": "PROPERTY",
                    "property": "crmseg_lifecycle",
                    "operation": {
                        "operationType": "ENUMERATION",
                        "operator": "IS_ANY_OF",
                        "values": ["new"],
                    },
                },
            ],
        }
    )
    stored = copy.deepcopy(wanted)  # re-serialised: other orders, defaults filled in
    stored["filterBranches"].reverse()
    stored["filterBranches"][1]["filters"][0]["operation"]["values"] = ["a", "b"]
    stored["filterBranches"][0]["filters"].reverse()
    stored["filterBranches"][0].update(filterBranchOperator="AND", filterBranches=[])
    for f in stored["filterBranches"][0]["filters"]:
        f["operation"]["includeObjectsWithNoValueSet"] = False
    assert same_filter(stored, wanted)
    stored["filterBranches"][0]["filters"][0]["operation"]["values"] = ["B"]
    assert not same_filter(stored, wanted)


def test_a_lost_snapshot_create_answer_is_retried_without_a_twin(
    hs: HubSpotStandIn, client: HubSpot, tagged: list[str]
) -> None:
    retrying = Transport(
        hs.token, HubSpotSettings(host=hs.base_url, ssl_ca_cert=hs.ca_path, max_wait=0.01)
    )
    hs.lose_responses(1, r"^/crm/v3/lists/?$")
    hs.lose_responses(1, r"/memberships/add$", method="PUT")

    list_id = snapshot_list(retrying, "campaign june", "contact", tagged[:3])

    assert len(hs.lost) == 2
    assert members(client, list_id) == set(tagged[:3])
    assert len(hs.state.lists.lists) == 1  # type: ignore[union-attr]


def test_list_of_that_name_that_is_not_dynamic_is_a_schema_mismatch(
    hs: HubSpotStandIn, client: HubSpot, transport: HubSpotTransport
) -> None:
    client.crm.lists.lists_api.create(
        ListCreateRequest(name=AT_RISK.name, object_type_id="0-1", processing_type="MANUAL")
    )
    hs.log.clear()

    with pytest.raises(SchemaMismatch, match="is a MANUAL list"):
        ensure_lists(transport, [AT_RISK])
    assert list_writes(hs) == 0


def test_company_lists_use_object_type_0_2(client: HubSpot, transport: HubSpotTransport) -> None:
    ensure_fields(transport, "company", [LIFECYCLE])
    spec = ListSpec("crmseg · company lifecycle = new", "company", "crmseg_lifecycle", "new")

    (state,) = ensure_lists(transport, [spec])

    assert client.crm.lists.lists_api.get_by_id(state.list_id).list.object_type_id == "0-2"


def test_snapshot_list_holds_exactly_the_ids(
    hs: HubSpotStandIn,
    client: HubSpot,
    transport: HubSpotTransport,
    contact_ids: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hs_lists, "MEMBERSHIP_CHUNK", 2)
    ids = [contact_ids[1], contact_ids[4], contact_ids[7], contact_ids[4]]  # one repeated

    list_id = snapshot_list(transport, "campaign 2026-11 at risk", "contact", ids)

    lst = client.crm.lists.lists_api.get_by_id(list_id).list
    assert (lst.name, lst.processing_type) == ("campaign 2026-11 at risk", "MANUAL")
    assert members(client, list_id) == {contact_ids[1], contact_ids[4], contact_ids[7]}
    assert hs.log.count("PUT", r"/memberships/add$") == 2  # 3 distinct ids in chunks of 2


def test_snapshot_never_overwrites_an_existing_list(
    hs: HubSpotStandIn, client: HubSpot, transport: HubSpotTransport, contact_ids: list[str]
) -> None:
    first = snapshot_list(transport, "frozen", "contact", contact_ids[:2])
    hs.log.clear()

    with pytest.raises(CrmError, match="never overwritten") as info:
        snapshot_list(transport, "frozen", "contact", contact_ids[2:4])

    assert f"id {first}" in str(info.value)
    assert list_writes(hs) == 0
    assert members(client, first) == set(contact_ids[:2])


def test_snapshot_name_taken_by_a_list_of_another_object_type_is_refused(
    transport: HubSpotTransport,
) -> None:
    snapshot_list(transport, "frozen", "company", [])

    with pytest.raises(CrmError, match="never overwritten"):
        snapshot_list(transport, "frozen", "contact", [])


def test_snapshot_warns_about_ids_hubspot_does_not_know(
    client: HubSpot,
    transport: HubSpotTransport,
    contact_ids: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="connectors.hubspot.lists"):
        list_id = snapshot_list(transport, "with ghosts", "contact", [contact_ids[0], "987654"])

    assert members(client, list_id) == {contact_ids[0]}
    assert "1 record id(s) unknown to HubSpot were left out: 987654" in caplog.text
