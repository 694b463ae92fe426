"""Lists v3: MANUAL and DYNAMIC lists, lookups, search, filter updates, memberships."""

from __future__ import annotations

from typing import Any

import pytest
from hubspot import HubSpot
from hubspot.crm.lists import (
    ApiException,
    ListCreateRequest,
    ListFilterUpdateRequest,
    ListSearchRequest,
    MembershipChangeRequest,
)

from connectors.sandbox.hubspot import HubSpotStandIn


def branch(prop: str, values: list[str], op: str = "IS_ANY_OF") -> dict[str, Any]:
    return {
        "filterBranchType": "OR",
        "filterBranchOperator": "OR",
        "filters": [],
        "filterBranches": [
            {
                "filterBranchType": "AND",
                "filterBranchOperator": "AND",
                "filterBranches": [],
                "filters": [
                    {
                        "filterType": "PROPERTY",
                        "property": prop,
                        "operation": {
                            "operationType": "ENUMERATION",
                            "operator": op,
                            "values": values,
                        },
                    }
                ],
            }
        ],
    }


def manual(client: HubSpot, name: str = "seg: A") -> str:
    res = client.crm.lists.lists_api.create(
        ListCreateRequest(name=name, object_type_id="0-1", processing_type="MANUAL")
    )
    assert res is not None  # None would mean a non-200 status
    return res.list.list_id


def test_manual_memberships_are_idempotent(client: HubSpot) -> None:
    lid = manual(client)
    api = client.crm.lists.memberships_api
    first = api.add(lid, ["1", "2", "99999"])
    assert first.records_ids_added == ["1", "2"] and first.record_ids_missing == ["99999"]
    again = api.add(lid, ["1"])
    assert again.records_ids_added == []
    both = api.add_and_remove(
        lid, MembershipChangeRequest(record_ids_to_add=["3"], record_ids_to_remove=["1"])
    )
    assert both.records_ids_added == ["3"] and both.record_ids_removed == ["1"]
    assert api.remove(lid, ["2"]).record_ids_removed == ["2"]
    page = api.get_page(lid)
    assert [m.record_id for m in page.results] == ["3"]


def test_membership_read_pages_by_record_id(client: HubSpot) -> None:
    lid = manual(client)
    api = client.crm.lists.memberships_api
    api.add(lid, [str(i) for i in range(1, 31)])
    first = api.get_page(lid, limit=20)
    rest = api.get_page(lid, limit=20, after=first.paging.next.after)
    ids = [m.record_id for m in first.results + rest.results]
    assert ids == [str(i) for i in range(1, 31)] and rest.paging is None


def test_dynamic_list_follows_property_values(client: HubSpot, sandbox: HubSpotStandIn) -> None:
    res = client.crm.lists.lists_api.create(
        ListCreateRequest(
            name="dyn",
            object_type_id="0-1",
            processing_type="DYNAMIC",
            filter_branch=branch("origin_channel", ["partner"]),
        )
    )
    assert res.list.processing_status == "PROCESSING"
    lid = res.list.list_id
    recs = sandbox.state.store.records("contacts")
    expected = sorted(i for i, r in recs.items() if r.props["origin_channel"] == "partner")
    ids = [int(m.record_id) for m in client.crm.lists.memberships_api.get_page(lid).results]
    assert ids == expected
    sandbox.set_property("contacts", 1, "origin_channel", "partner")
    ids = [int(m.record_id) for m in client.crm.lists.memberships_api.get_page(lid).results]
    assert 1 in ids


def test_dynamic_root_must_be_or_of_and(client: HubSpot) -> None:
    bad = branch("origin_channel", ["partner"])
    bad["filterBranchType"] = "AND"
    with pytest.raises(ApiException) as e:
        client.crm.lists.lists_api.create(
            ListCreateRequest(
                name="bad", object_type_id="0-1", processing_type="DYNAMIC", filter_branch=bad
            )
        )
    assert e.value.status == 400


def test_memberships_cannot_change_on_dynamic_lists(client: HubSpot) -> None:
    lid = client.crm.lists.lists_api.create(
        ListCreateRequest(
            name="dyn2",
            object_type_id="0-1",
            processing_type="DYNAMIC",
            filter_branch=branch("origin_channel", ["partner"]),
        )
    ).list.list_id
    with pytest.raises(ApiException):
        client.crm.lists.memberships_api.add(lid, ["1"])


def test_get_by_id_name_search_update_delete(client: HubSpot) -> None:
    api = client.crm.lists.lists_api
    lid = manual(client, "seg: B")
    assert api.get_by_id(lid).list.name == "seg: B"
    assert api.get_by_name("SEG: b", "0-1").list.list_id == lid  # name first, case-insensitive
    assert [x.list_id for x in api.get_all(list_ids=[lid]).lists] == [lid]
    found = api.do_search(
        ListSearchRequest(query="seg:", offset=0, count=10, additional_properties=["hs_list_size"])
    )
    assert found.total == 1 and found.lists[0].additional_properties["hs_list_size"] == "0"
    dyn = api.create(
        ListCreateRequest(
            name="d",
            object_type_id="0-1",
            processing_type="DYNAMIC",
            filter_branch=branch("topics", ["cloud"]),
        )
    ).list.list_id
    upd = api.update_list_filters(
        dyn, ListFilterUpdateRequest(filter_branch=branch("topics", ["security"]))
    )
    assert upd.updated_list.list_version == 2
    api.remove(lid)
    with pytest.raises(ApiException) as e:
        api.get_by_id(lid)
    assert e.value.status == 404


def test_duplicate_list_name_is_rejected(client: HubSpot) -> None:
    manual(client, "same")
    with pytest.raises(ApiException):
        manual(client, "same")


def test_members_of_a_static_list_merged_away_are_answered_as_the_new_record(
    client: HubSpot, sandbox: HubSpotStandIn
) -> None:
    from hubspot.crm.lists import ListCreateRequest

    made = client.crm.lists.lists_api.create(
        ListCreateRequest(name="static", object_type_id="0-1", processing_type="MANUAL")
    ).list
    client.crm.lists.memberships_api.add(made.list_id, ["1", "5"])
    sandbox.merge("contacts", 1, 2)
    new = max(sandbox.state.store.ids("contacts"))
    page = client.crm.lists.memberships_api.get_page(made.list_id)
    assert sorted(int(m.record_id) for m in page.results) == [5, new]
