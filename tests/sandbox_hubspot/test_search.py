"""Search: filters and their limits, sorts, numeric offset, 10k cap, archived, lag, short pages."""

from __future__ import annotations

from typing import Any

import pytest
from hubspot import HubSpot
from hubspot.crm.contacts import ApiException, PublicObjectSearchRequest

from connectors.sandbox.hubspot import HubSpotStandIn, LimitConfig
from connectors.sandbox.hubspot.search import SearchConfig
from tests.fakeclock import FakeClock

from .conftest import make_client


def search(
    client: HubSpot,
    groups: list[Any],
    after: str = "0",
    limit: int = 200,
    sorts: list[Any] | None = None,
    props: list[str] | None = None,
) -> Any:
    return client.crm.contacts.search_api.do_search(
        PublicObjectSearchRequest(
            filter_groups=groups,
            sorts=sorts or [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            properties=props or ["country"],
            limit=limit,
            after=after,
        )
    )


def eq(prop: str, value: str, op: str = "EQ") -> dict[str, Any]:
    return {"propertyName": prop, "operator": op, "value": value}


def test_filter_groups_are_ored_and_filters_anded(client: HubSpot, sandbox: HubSpotStandIn) -> None:
    recs = sandbox.state.store.records("contacts")
    de = {i for i, r in recs.items() if r.props["country"] == "DE"}
    at = {i for i, r in recs.items() if r.props["country"] == "AT"}
    res = search(client, [{"filters": [eq("country", "DE")]}, {"filters": [eq("country", "AT")]}])
    assert {int(r.id) for r in res.results} == de | at and res.total == len(de | at)
    res = search(client, [{"filters": [eq("country", "DE"), eq("hs_object_id", "10", "GT")]}])
    assert {int(r.id) for r in res.results} == {i for i in de if i > 10}


def test_more_than_5_groups_or_10_filters_is_400(client: HubSpot) -> None:
    with pytest.raises(ApiException) as e:
        search(client, [{"filters": [eq("country", "DE")]}] * 6)
    assert e.value.status == 400
    with pytest.raises(ApiException):
        search(client, [{"filters": [eq("country", "DE")] * 11}])
    with pytest.raises(ApiException):
        search(client, [{"filters": [eq("country", "DE")] * 9}] * 3)


def test_limit_over_200_is_400(client: HubSpot) -> None:
    with pytest.raises(ApiException):
        search(client, [], limit=201)


def test_after_is_a_numeric_offset_and_sort_descending_works(client: HubSpot) -> None:
    first = search(
        client, [], limit=10, sorts=[{"propertyName": "createdate", "direction": "DESCENDING"}]
    )
    assert first.paging.next.after == "10" and first.total == 60
    created = [r.properties["createdate"] for r in first.results]
    assert created == sorted(created, reverse=True)
    second = search(client, [], limit=10, after="10")
    assert len(second.results) == 10


def test_offset_of_10000_or_more_is_400(client: HubSpot) -> None:
    with pytest.raises(ApiException) as e:
        search(client, [], after="10000")
    assert e.value.status == 400


def test_results_past_the_cap_are_unreachable() -> None:
    """The cap is a number on the stand-in (10,000 by default, next test): with it at
    500, 550 records show the same edge as 10,050 would at 10,000, for a twentieth of
    the records: the last page below the cap is served and names the cap as its next
    ``after``, and that ``after`` is refused."""
    with HubSpotStandIn(
        seed=1,
        contacts=550,
        limits=LimitConfig(enabled=False),
        search_config=SearchConfig(max_results=500),
    ) as hs:
        c = make_client(hs)
        last = search(c, [], after="300", limit=200)
        assert last.total == 550 and last.paging.next.after == "500"
        assert [r.id for r in last.results] == [str(i) for i in range(301, 501)]
        with pytest.raises(ApiException) as refused:
            search(c, [], after=last.paging.next.after)
        assert refused.value.status == 400


def test_the_search_cap_is_10000_results_by_default() -> None:
    assert SearchConfig().max_results == 10_000


def test_date_filters_take_epoch_millis(client: HubSpot, sandbox: HubSpotStandIn) -> None:
    sandbox.set_property("contacts", 7, "firstname", "Touch")
    cut = sandbox.state.store.records("contacts")[7].updated
    res = search(client, [{"filters": [eq("lastmodifieddate", str(cut), "GTE")]}])
    assert [r.id for r in res.results] == ["7"]


def test_in_and_has_property_and_token(client: HubSpot, sandbox: HubSpotStandIn) -> None:
    sandbox.set_property("contacts", 9, "email", "zed.token@corp.example")
    res = search(
        client,
        [{"filters": [{"propertyName": "email", "operator": "CONTAINS_TOKEN", "value": "zed*"}]}],
    )
    assert [r.id for r in res.results] == ["9"]
    res = search(
        client,
        [
            {
                "filters": [
                    {"propertyName": "hs_object_id", "operator": "IN", "values": ["1", "2", "999"]}
                ]
            }
        ],
    )
    assert [r.id for r in res.results] == ["1", "2"]
    res = search(client, [{"filters": [{"propertyName": "email", "operator": "NOT_HAS_PROPERTY"}]}])
    recs = sandbox.state.store.records("contacts")
    assert {int(r.id) for r in res.results} == {i for i, r in recs.items() if not r.props["email"]}


def test_archived_records_are_never_returned(client: HubSpot, sandbox: HubSpotStandIn) -> None:
    sandbox.archive("contacts", 1)
    res = search(client, [])
    assert "1" not in [r.id for r in res.results] and res.total == 59


def test_writes_appear_only_after_indexing_lag() -> None:
    """The lag is counted on the stand-in's clock, a fake one here: moved on past the
    lag instead of waiting it out."""
    clock = FakeClock()
    with HubSpotStandIn(
        seed=1,
        contacts=5,
        limits=LimitConfig(enabled=False),
        search_config=SearchConfig(lag=0.4, clock=clock.monotonic),
    ) as hs:
        c = make_client(hs)
        hs.set_property("contacts", 2, "firstname", "Lagged")
        flt = [{"filters": [eq("firstname", "Lagged")]}]
        assert search(c, flt).total == 0
        clock.sleep(0.39)
        assert search(c, flt).total == 0  # still within the lag
        clock.sleep(0.02)
        assert [r.id for r in search(c, flt).results] == ["2"]


def test_short_pages_keep_a_next_cursor_until_the_end() -> None:
    with HubSpotStandIn(
        seed=1,
        contacts=30,
        limits=LimitConfig(enabled=False),
        search_config=SearchConfig(short_pages=True),
    ) as hs:
        c = make_client(hs)
        seen, after, sizes = [], "0", []
        while True:
            page = search(c, [], after=after, limit=10)
            sizes.append(len(page.results))
            seen += [r.id for r in page.results]
            if page.paging is None:
                break
            after = page.paging.next.after
        assert len(seen) == 30 and len(set(seen)) == 30
        assert 0 in sizes and max(sizes) < 10
