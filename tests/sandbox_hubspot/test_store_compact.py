"""The stand-in's compact store answers exactly what a dict per record did.

Records keep their values in one tuple over a shared name table and derive the id
and time stamps on read; edges are packed ints. None of that may show: these tests
pin the mapping a record's ``props`` is, the stamps' text, seeding against the
generated dataset, and associations held in bulk against one by one.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest

from connectors.sandbox.generator import generate
from connectors.sandbox.hubspot.record import Record, iso_ms
from connectors.sandbox.hubspot.seed import ANALYTICS_SOURCE, STAGE, load
from connectors.sandbox.hubspot.store import Store
from connectors.sandbox.hubspot.wire import iso


def test_stamp_text_is_the_wire_format_for_every_millisecond() -> None:
    rng = random.Random(4)
    day = 86_400_000
    samples = [0, 1, 999, 1000, day - 1, day, 951_782_400_000, 4_102_444_799_999]
    samples += [rng.randrange(0, 4_102_444_800_000) for _ in range(2000)]
    for ms in samples:
        assert iso_ms(ms) == iso(ms), ms
    assert iso_ms(1_767_225_600_123) == "2026-01-01T00:00:00.123Z"


def test_a_created_record_has_the_keys_it_was_given_and_the_stamps() -> None:
    store = Store()
    rec = store.create(
        "contacts", {"email": "a@b.test", "firstname": None, "hs_object_id": "99"}, created=5000
    )
    assert dict(rec.props) == {
        "email": "a@b.test",
        "firstname": None,  # a null is a value the record has
        "hs_object_id": "1",  # the server's, not the client's
        "createdate": "1970-01-01T00:00:05.000Z",
        "lastmodifieddate": "1970-01-01T00:00:05.000Z",
    }
    assert "lastname" not in rec.props and rec.props.get("lastname", "x") == "x"
    assert "firstname" in rec.props and len(rec.props) == 5
    with pytest.raises(KeyError):
        rec.props["lastname"]


def test_an_update_adds_clears_and_restamps_and_a_later_type_name_stays_absent() -> None:
    store = Store()
    one = store.create("contacts", {"email": "a@b.test"}, created=1000)
    two = store.create("contacts", {"email": "c@d.test"}, created=1000)
    store.update("contacts", one.id, {"crmseg_tag": "A", "email": ""})
    assert one.props["crmseg_tag"] == "A" and one.props["email"] is None
    assert one.updated > 1000 and one.props["lastmodifieddate"] == iso(one.updated)
    assert "crmseg_tag" not in two.props and list(two.props) == [
        "email",
        "hs_object_id",
        "createdate",
        "lastmodifieddate",
    ]
    del one.props["crmseg_tag"]
    assert "crmseg_tag" not in one.props
    assert store.by_email("c@d.test") is two and store.by_email("a@b.test") is None


def test_a_record_built_from_a_dict_is_that_dict() -> None:
    snap = Record(3, {"email": "x@y.test", "createdate": "then"}, 1, 2)
    assert dict(snap.props) == {"email": "x@y.test", "createdate": "then"}
    snap.props["email"] = None
    assert snap.props.get("email", "gone") is None


def test_deal_amount_in_home_currency_follows_amount_and_currency() -> None:
    store = Store()
    deal = store.create("deals", {"amount": "10.05", "deal_currency_code": "CHF"})
    assert deal.props["amount_in_home_currency"] == "10.7535"
    store.update("deals", deal.id, {"deal_currency_code": "EUR"})
    assert deal.props["amount_in_home_currency"] == "10.05"
    store.update("deals", deal.id, {"amount": ""})
    assert deal.props["amount_in_home_currency"] is None


def test_seeded_records_carry_the_generated_values() -> None:
    ds = generate(seed=3, contacts=300)
    store = Store()
    load(store, ds)
    c = ds.contacts[41]
    assert dict(store.records("contacts")[c.id].props) == {
        "email": c.email or None,
        "firstname": c.first_name,
        "lastname": c.last_name,
        "salutation": c.salutation or None,
        "country": c.country,
        "origin_channel": c.channel,
        "hs_analytics_source": ANALYTICS_SOURCE[c.channel],
        "address": c.street,
        "zip": c.postal_code,
        "city": c.city,
        "topics": ";".join(c.topics) or None,
        "hs_object_id": str(c.id),
        "createdate": iso(int(c.created.timestamp() * 1000)),
        "lastmodifieddate": iso(int(c.created.timestamp() * 1000)),
    }
    d = ds.deals[7]
    props = dict(store.records("deals")[d.id].props)
    midnight = dt.datetime.combine(d.close_date, dt.time(), tzinfo=dt.UTC)
    assert props["amount"] == str(d.amount) and props["dealstage"] == STAGE[d.stage]
    assert props["closedate"] == iso(int(midnight.timestamp() * 1000))
    assert props["hs_object_id"] == str(d.id) and "amount_in_home_currency" in props
    firsts: dict[str, int] = {}
    for cc in ds.contacts:
        if cc.email:
            firsts.setdefault(cc.email.lower(), cc.id)
    assert all(store.by_email(e).id == i for e, i in firsts.items())  # type: ignore[union-attr]


def _edges(store: Store) -> dict[tuple[str, int, str], list[tuple[int, bool]]]:
    out = {}
    for f, t in (("contacts", "companies"), ("companies", "contacts"), ("deals", "contacts")):
        for rid in store.ids(f):
            out[(f, rid, t)] = store.associated(f, rid, t)
    return out


def test_edges_seeded_in_bulk_equal_edges_added_one_by_one() -> None:
    def filled() -> Store:
        store = Store()
        for t, n in (("contacts", 6), ("companies", 3), ("deals", 4)):
            for _ in range(n):
                store.create(t, {})
        return store

    pairs = [(1, 1), (2, 1), (3, 2), (1, 1), (4, 1), (5, 1), (2, 1), (6, 3)]
    deals = [(1, 1), (1, 2), (1, 2), (1, 3), (2, 4), (3, 4), (3, 4)]
    bulk, single = filled(), filled()
    bulk.bulk_associate("contacts", "companies", pairs)
    bulk.bulk_associate("deals", "contacts", deals)
    for a, b in pairs:
        single.associate("contacts", a, "companies", b)
    for a, b in deals:
        single.associate("deals", a, "contacts", b)
    assert _edges(bulk) == _edges(single)
    assert bulk.associated("companies", 1, "contacts") == [
        (1, True),
        (2, True),
        (4, True),
        (5, True),
    ]
    assert bulk.associated("deals", 1, "contacts") == [(1, True), (2, True), (3, True)]


def test_edges_keep_their_primary_flag_and_drop_one_at_a_time() -> None:
    store = Store()
    for _ in range(3):
        store.create("companies", {})
    store.create("contacts", {})
    store.associate("contacts", 1, "companies", 2, primary=False)
    store.associate("contacts", 1, "companies", 3)
    store.associate("contacts", 1, "companies", 1, primary=False)
    assert store.associated("contacts", 1, "companies") == [(1, False), (2, False), (3, True)]
    store.associate("contacts", 1, "companies", 2)  # again, now primary
    store.dissociate("contacts", 1, "companies", 1)
    assert store.associated("contacts", 1, "companies") == [(2, True), (3, True)]
    store.dissociate("contacts", 1, "companies", 3)
    store.dissociate("contacts", 1, "companies", 2)
    assert store.associated("contacts", 1, "companies") == []
    assert store.associated("companies", 2, "contacts") == []


def test_setting_a_derived_stamp_through_props_is_refused_not_lost() -> None:
    store = Store()
    rec = store.create("contacts", {"email": "a@b.de"})
    with pytest.raises(ValueError, match="lastmodifieddate is server-maintained"):
        rec.props["lastmodifieddate"] = "yesterday"
    rec.props["firstname"] = "Ann"
    assert rec.props["firstname"] == "Ann" and rec.props["lastmodifieddate"] == iso(rec.updated)
