"""Pulls: full (list endpoint) and incremental (search), against the sandbox through the real client;
plus the pure wire -> canonical mapping."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from connectors.base import Company, Contact, Cursor, Deal, Page
from connectors.errors import InputError
from connectors.hubspot import HubSpotConnector, Transport, plural, singular
from connectors.hubspot.records import Assoc, RecordMapper, WireRecord
from connectors.sandbox.hubspot import HubSpotStandIn, LimitConfig
from connectors.sandbox.hubspot.search import SearchConfig
from tests.fakeclock import FakeClock

from .conftest import settings_for, transport_for

LONG_AGO = Cursor(dt.datetime(1990, 1, 1, tzinfo=dt.UTC))


def records(pages: Iterator[Page[Any]] | list[Page[Any]]) -> list[Any]:
    return [r for p in pages for r in p.records]


def by_id(pages: Iterator[Page[Any]] | list[Page[Any]]) -> dict[str, Any]:
    return {r.id: r for r in records(pages)}


def deleted(pages: list[Page[Any]]) -> set[str]:
    return {d for p in pages for d in p.deleted_ids}


# -- mapping (no HTTP) --------------------------------------------------------------------


def test_contact_takes_the_primary_company_else_the_lowest_unlabeled() -> None:
    m = RecordMapper()
    w = WireRecord(
        "7",
        {"email": "a@b.de", "firstname": "Ann", "crmseg_abc": "A", "topics": None},
        associations={"companies": [Assoc("30"), Assoc("12"), Assoc("30", primary=True)]},
    )
    c = m.contact(w, ["crmseg_abc", "topics", "email"])
    assert (c.id, c.email, c.first_name, c.company_id) == ("7", "a@b.de", "Ann", "30")
    assert c.properties == {"crmseg_abc": "A", "topics": None}
    w.associations["companies"] = [Assoc("30"), Assoc("12")]
    assert m.contact(w).company_id == "12"
    w.associations["companies"] = []
    assert m.contact(w).company_id is None


def test_deal_fields_are_canonical() -> None:
    m = RecordMapper(won_stages={"won_a", "won_b"}, amount_property="hs_amount_eur")
    w = WireRecord(
        "5",
        {
            "hs_amount_eur": "1234.50",
            "amount": "1",
            "closedate": "2024-03-31T23:30:00.000-02:00",
            "dealstage": "won_b",
        },
        associations={
            "contacts": [Assoc("10"), Assoc("9"), Assoc("10")],
            "companies": [Assoc("3", primary=True), Assoc("3")],
        },
    )
    d = m.deal(w)
    assert d.amount == Decimal("1234.50")
    assert d.close_date == dt.date(2024, 4, 1)  # 23:30 at -02:00 is the next day in UTC
    assert d.won is True
    assert (d.contact_ids, d.company_ids) == (("9", "10"), ("3",))
    w.properties = {"hs_amount_eur": "", "closedate": "1711929600000", "dealstage": "closedwon"}
    d = m.deal(w)
    assert (d.amount, d.close_date, d.won) == (None, dt.date(2024, 4, 1), False)


@pytest.mark.parametrize("bad", ["12,50", "abc", "NaN", "Infinity"])
def test_unparseable_amount_names_the_deal_and_value(bad: str) -> None:
    with pytest.raises(InputError) as err:
        RecordMapper().deal(WireRecord("77", {"amount": bad}))
    assert "deal 77" in str(err.value)
    assert repr(bad) in str(err.value)


def test_object_type_names() -> None:
    assert [plural(t) for t in ("contact", "company", "deal")] == [
        "contacts",
        "companies",
        "deals",
    ]
    assert singular("companies") == "company"
    with pytest.raises(ValueError):
        singular("tickets")


# -- full pull ------------------------------------------------------------------------------


def test_full_pull_returns_exactly_the_sandbox_records(
    sandbox: HubSpotStandIn, connector: HubSpotConnector
) -> None:
    ds = sandbox.dataset
    assert ds is not None
    contacts = by_id(connector.pull("contact", None, ["origin_channel", "crmseg_abc"]))
    companies = by_id(connector.pull("company", None))
    deals = by_id(connector.pull("deal", None))
    assert set(contacts) == {str(c.id) for c in ds.contacts}
    assert set(companies) == {str(c.id) for c in ds.companies}
    assert set(deals) == {str(d.id) for d in ds.deals}

    # hand-checked example (seed 7)
    assert contacts["1"] == Contact(
        id="1",
        email="ali.mueller1@mail.test",
        first_name="Ali",
        last_name="Müller",
        salutation="Mr",
        country="GB",
        company_id="4",
        properties={"origin_channel": "web_form", "crmseg_abc": None},
        updated_at=dt.datetime(2022, 5, 10, 8, 11, 44, tzinfo=dt.UTC),
        street="Am Markt 63",  # the generator's gap: no postal code
        postal_code=None,
        city="London",
    )
    company_of = dict(ds.contact_company)
    for c in ds.contacts:
        got = contacts[str(c.id)]
        assert (got.email, got.first_name, got.last_name, got.country) == (
            c.email or None,
            c.first_name,
            c.last_name,
            c.country,
        )
        assert got.salutation == (c.salutation or None)
        expected_company = company_of.get(c.id)
        assert got.company_id == (str(expected_company) if expected_company else None)
    for co in ds.companies:
        assert companies[str(co.id)] == Company(
            id=str(co.id),
            name=co.name,
            properties={},
            updated_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        )
    for d in ds.deals:
        got = deals[str(d.id)]
        assert isinstance(got, Deal)
        assert got.amount == d.amount
        assert got.close_date == d.close_date
        assert got.won is (d.stage == "won")
        assert got.contact_ids == tuple(
            str(c) for c in sorted({c for dd, c in ds.deal_contact if dd == d.id})
        )
        assert got.company_ids == tuple(
            str(c) for c in sorted({c for dd, c in ds.deal_company if dd == d.id})
        )


def test_full_pull_pages_and_cursor(connector: HubSpotConnector, sandbox: HubSpotStandIn) -> None:
    for i in range(150):
        sandbox.create("companies", {"name": f"Extra {i}"})
    pages = list(connector.pull("company", None))
    assert [len(p.records) for p in pages] == [100, 57]  # 7 seeded + 150
    assert all(p.deleted_ids == () for p in pages)
    newest = max(records(pages), key=lambda r: (r.updated_at, int(r.id)))
    assert pages[-1].cursor == Cursor(newest.updated_at, newest.id)
    assert connector.api_calls() == {"objects.list": 2}


def test_primary_and_unlabeled_duplicates_are_collapsed(
    sandbox: HubSpotStandIn, connector: HubSpotConnector
) -> None:
    deal = sandbox.create("deals", {"dealname": "d", "dealstage": "closedwon", "amount": "10"})
    sandbox.associate("deals", deal, "companies", 5, primary=True)  # listed twice inline
    sandbox.associate("deals", deal, "companies", 2, primary=False)
    sandbox.associate("deals", deal, "contacts", 9)
    contact = sandbox.create("contacts", {"email": "x@y.test"})
    sandbox.associate("contacts", contact, "companies", 6, primary=False)
    sandbox.associate("contacts", contact, "companies", 3, primary=False)
    got = by_id(connector.pull("deal", None))[str(deal)]
    assert (got.company_ids, got.contact_ids) == (("2", "5"), ("9",))
    assert by_id(connector.pull("contact", None))[str(contact)].company_id == "3"
    sandbox.associate("contacts", contact, "companies", 6, primary=True)
    assert by_id(connector.pull("contact", None))[str(contact)].company_id == "6"


def test_capped_inline_associations_are_completed_via_v4(
    sandbox: HubSpotStandIn, connector: HubSpotConnector
) -> None:
    # inline lists stop at 100 entries; v4 pages by 500 per input: 620 needs both
    deal = sandbox.create("deals", {"dealname": "big", "dealstage": "closedwon"})
    ids = [sandbox.create("contacts", {"email": f"m{i}@big.test"}) for i in range(620)]
    for cid in ids:
        sandbox.associate("deals", deal, "contacts", cid)
    deals = by_id(connector.pull("deal", None))
    assert deals[str(deal)].contact_ids == tuple(str(i) for i in sorted(ids))
    calls = connector.api_calls()
    assert calls["associations.v4.batch.read"] == 2  # second call follows the v4 cursor
    # other deals kept their inline lists
    ds = sandbox.dataset
    assert ds is not None
    first = ds.deals[0]
    assert deals[str(first.id)].contact_ids == tuple(
        str(c) for c in sorted({c for dd, c in ds.deal_contact if dd == first.id})
    )


def test_long_property_lists_are_read_by_post(
    sandbox: HubSpotStandIn, connector: HubSpotConnector
) -> None:
    many = [f"custom_property_with_a_long_name_{i:03d}" for i in range(80)]
    contacts = by_id(connector.pull("contact", None, many))
    calls = connector.api_calls()
    assert calls["objects.batch.read"] == 1
    assert contacts["1"].email == "ali.mueller1@mail.test"
    assert contacts["1"].company_id == "4"
    assert contacts["1"].properties == dict.fromkeys(many)
    assert len(contacts) == 60


def test_pulls_survive_429s_503s_and_dropped_connections(sandbox: HubSpotStandIn) -> None:
    clock = FakeClock()
    connector = HubSpotConnector(Transport(sandbox.token, settings_for(sandbox), clock=clock))
    sandbox.faults.error_burst(2, 429, path="/crm/v3/objects/deals$")
    sandbox.faults.drop_connections(1, path="/crm/v3/objects/deals$")
    assert len(records(connector.pull("deal", None))) == 45
    sandbox.faults.error_burst(3, 429, path="/search")
    sandbox.faults.error_burst(2, 503, path="/search")
    sandbox.faults.drop_connections(2, path="/crm/v4/associations")
    assert len(records(connector.pull("deal", LONG_AGO))) == 45
    assert connector.transport.throttled == 5
    assert connector.transport.retries == 10
    assert sandbox.log.count(status=0) == 3  # the dropped ones
    assert len(clock.sleeps) >= 10  # each retry waited, on the clock


# -- incremental pull ---------------------------------------------------------------------


def test_incremental_returns_changed_contacts_and_new_won_deals(
    sandbox: HubSpotStandIn, connector: HubSpotConnector
) -> None:
    contact_cursor = list(connector.pull("contact", None))[-1].cursor
    deal_cursor = list(connector.pull("deal", None))[-1].cursor
    assert contact_cursor is not None and deal_cursor is not None
    sandbox.set_property("contacts", 5, "firstname", "Ada")
    deal = sandbox.add_won_deal(7, "1234.50", dt.date(2026, 3, 1), company_id=2)

    pages = list(connector.pull("contact", contact_cursor, ["crmseg_abc"]))
    changed = by_id(pages)
    # GTE: the record at the cursor itself may come again; nothing else
    assert set(changed) - {contact_cursor.last_id} == {"5"}
    assert changed["5"].first_name == "Ada"
    assert changed["5"].company_id is not None
    assert pages[-1].cursor == Cursor(changed["5"].updated_at, "5")

    new = by_id(connector.pull("deal", deal_cursor))
    assert set(new) - {deal_cursor.last_id} == {str(deal)}
    got = new[str(deal)]
    assert (got.amount, got.close_date, got.won) == (Decimal("1234.50"), dt.date(2026, 3, 1), True)
    assert (got.contact_ids, got.company_ids) == (("7",), ("2",))


def test_archived_and_merged_ids_are_deleted(
    sandbox: HubSpotStandIn, connector: HubSpotConnector
) -> None:
    cursor = list(connector.pull("contact", None))[-1].cursor
    assert cursor is not None
    sandbox.archive("contacts", 3)
    sandbox.merge("contacts", 10, 11)  # into a new record: both old ids go
    new = str(max(sandbox.state.store.ids("contacts")))
    pages = list(connector.pull("contact", cursor))
    assert deleted(pages) == {"3", "10", "11"}
    changed = by_id(pages)
    assert new in changed
    assert not {"3", "10", "11"} & set(changed)
    # archived before the cursor: not reported again
    time.sleep(0.01)
    sandbox.set_property("contacts", 20, "country", "DE")
    after_change = list(connector.pull("contact", pages[-1].cursor))
    later = list(connector.pull("contact", after_change[-1].cursor))
    assert "3" not in deleted(later)


def test_search_requests_carry_every_required_field(
    sandbox: HubSpotStandIn, connector: HubSpotConnector
) -> None:
    bodies: list[dict[str, Any]] = []

    def spy(req: Any) -> None:
        if req.path.endswith("/search"):
            bodies.append(req.json())

    sandbox.add_fault_hook("spy", spy)
    list(connector.pull("deal", LONG_AGO, ["product_line"]))
    assert bodies
    first = bodies[0]
    assert set(first) == {"filterGroups", "sorts", "properties", "limit", "after"}
    assert first["after"] == "0"
    assert first["limit"] == 200
    assert first["sorts"] == [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}]
    assert first["filterGroups"] == [
        {
            "filters": [
                {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": "631152000000"}
            ]
        }
    ]
    assert "product_line" in first["properties"]


def test_short_and_empty_pages_are_followed_to_the_end() -> None:
    with HubSpotStandIn(
        seed=5,
        contacts=700,
        companies=3,
        deals=0,
        limits=LimitConfig(enabled=False),
        search_config=SearchConfig(short_pages=True),
    ) as hs:
        connector = HubSpotConnector(transport_for(hs))
        pages = list(connector.pull("contact", LONG_AGO))
        ids = [r.id for r in records(pages)]
        assert sorted(ids, key=int) == [str(i) for i in range(1, 701)]
        # 100 per call, every third call empty: 7 full + 3 empty = at least 10 calls
        assert connector.api_calls()["objects.search"] >= 10


#: The stand-in's search cap in the two tests below: HubSpot's 10,000 results per query
#: (the stand-in's default, pinned in tests/sandbox_hubspot) lowered to 400, so 450
#: records are more than one query can page through, as 10,500 are at 10,000: paging
#: by offset (200 a page) would be refused at ``after=400``.
SMALL_CAP = SearchConfig(max_results=400)


def test_more_changes_than_the_search_cap_all_arrive_once() -> None:
    """More changed records than one search query can reach: all arrive, once each. The
    connector never learns the cap (it keeps its own 10,000), so a pull that leaned on
    offsets would be refused at 400 here just as at 10,000 in HubSpot."""
    with HubSpotStandIn(
        seed=1,
        contacts=450,
        companies=5,
        deals=0,
        limits=LimitConfig(enabled=False),
        search_config=SMALL_CAP,
    ) as hs:
        connector = HubSpotConnector(transport_for(hs))
        ids = [r.id for r in records(connector.pull("contact", LONG_AGO))]
        assert len(ids) == len(set(ids)) == 450
        calls = connector.api_calls()
        # every page restarts from the last timestamp seen, re-reading the one record
        # at it: 200 + 2 x 199 >= 450 -> 3 pages, never an offset near the cap
        assert 3 <= calls["objects.search"] <= 6


def test_more_than_the_search_cap_sharing_one_timestamp_terminates_with_all() -> None:
    """More records at one timestamp than one search query can reach (the cap lowered
    as above): the key-set pass by id reads them all, once each, and the pull ends."""
    with HubSpotStandIn(
        seed=1,
        contacts=450,
        companies=5,
        deals=0,
        limits=LimitConfig(enabled=False),
        search_config=SMALL_CAP,
    ) as hs:
        store = hs.state.store
        with store.lock:  # a month-end bulk update: one stamp for everyone
            stamp = store.records("contacts")[1].updated
            for rec in store.records("contacts").values():
                rec.updated = stamp
                store._stamp("contacts", rec)
            store.version += 1
        later = hs.create("contacts", {"email": "after@bulk.test"})
        connector = HubSpotConnector(transport_for(hs))
        pages = list(connector.pull("contact", LONG_AGO))
        ids = Counter(r.id for r in records(pages))
        assert set(ids) == {str(i) for i in range(1, 451)} | {str(later)}
        assert max(ids.values()) == 1
        assert pages[-1].cursor is not None and pages[-1].cursor.last_id == str(later)
        # one page showing a single stamp, the key-set pass by id (3), then GT it (1)
        assert connector.api_calls()["objects.search"] <= 6


def test_a_record_modified_during_the_pull_skips_no_other_record() -> None:
    """With offset paging, a record read on page 1 and modified before page 2 moves to
    the end and shifts every later offset by one: one unread record would be lost."""
    with HubSpotStandIn(
        seed=2, contacts=600, companies=3, deals=0, limits=LimitConfig(enabled=False)
    ) as hs:
        searches = 0
        oldest = min(hs.state.store.records("contacts").values(), key=lambda r: (r.updated, r.id))

        def edit_after_first_page(request: Any) -> None:
            nonlocal searches
            if request.path.endswith("/search"):
                searches += 1
                if searches == 2:  # before the second page is served
                    hs.set_property("contacts", oldest.id, "firstname", "Edited")
            return None

        hs.add_fault_hook("edit", edit_after_first_page)
        connector = HubSpotConnector(transport_for(hs))
        ids = {r.id for r in records(connector.pull("contact", LONG_AGO))}
        assert ids == {str(i) for i in range(1, 601)}


def test_custom_label_with_a_colliding_type_id_is_not_the_primary_company(
    sandbox: HubSpotStandIn, connector: HubSpotConnector
) -> None:
    """USER_DEFINED typeId 1 ("Reference") is not HUBSPOT_DEFINED 1 (primary): the contact
    keeps its primary company 6 although the labelled company 2 has the lower id."""
    contact = sandbox.create("contacts", {"email": "ref@x.test"})
    sandbox.associate("contacts", contact, "companies", 2, primary=False, labels={1: "Reference"})
    sandbox.associate("contacts", contact, "companies", 6, primary=True)
    full = by_id(connector.pull("contact", None))  # v3 inline associations
    assert full[str(contact)].company_id == "6"
    incremental = by_id(connector.pull("contact", LONG_AGO))  # v4 batch read
    assert incremental[str(contact)].company_id == "6"


def test_without_a_primary_the_lowest_company_id_is_used_labels_or_not(
    sandbox: HubSpotStandIn, connector: HubSpotConnector
) -> None:
    contact = sandbox.create("contacts", {"email": "noprimary@x.test"})
    sandbox.associate("contacts", contact, "companies", 6, primary=False, labels={1: "Reference"})
    sandbox.associate("contacts", contact, "companies", 4, primary=False)
    sandbox.associate("contacts", contact, "companies", 5, primary=False, labels={7: "Billing"})
    assert by_id(connector.pull("contact", None))[str(contact)].company_id == "4"
    assert by_id(connector.pull("contact", LONG_AGO))[str(contact)].company_id == "4"
