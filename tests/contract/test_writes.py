"""Contract: a write sets absolute values through ``Connector.write`` (``Target.write``); writing a value
a record already holds changes nothing else; a written tag comes back from the next
pull under its crmseg name."""

from __future__ import annotations

from tests.contract.adapters import TIER, TOPICS, Target


def test_values_land_on_exactly_the_records_written(tag_fields: Target) -> None:
    target = tag_fields
    target.require("writes")
    a, b = target.new_contact(), target.new_contact()

    results = target.write(
        {a: {TIER.name: "gold", TOPICS.name: "b;a"}, b: {TIER.name: "silver", TOPICS.name: None}}
    )

    assert [(r.record_id, r.ok, r.error) for r in results] == [(a, True, None), (b, True, None)]
    assert (target.value(a, TIER.name), target.value(a, TOPICS.name)) == ("gold", "a;b")
    assert (target.value(b, TIER.name), target.value(b, TOPICS.name)) == ("silver", None)


def test_writing_an_unchanged_value_again_changes_nothing(tag_fields: Target) -> None:
    target = tag_fields
    target.require("writes")
    cid = target.new_contact()
    target.write({cid: {TOPICS.name: "a;c"}})
    target.write({cid: {TIER.name: "gold"}})

    again = target.write({cid: {TIER.name: "gold"}})

    assert [(r.record_id, r.ok) for r in again] == [(cid, True)]
    assert target.value(cid, TIER.name) == "gold"
    assert target.value(cid, TOPICS.name) == "a;c"  # the field not written is untouched


def test_none_clears_a_value_held_or_already_empty(tag_fields: Target) -> None:
    target = tag_fields
    target.require("writes")
    held, empty = target.new_contact(), target.new_contact()
    target.write({held: {TIER.name: "gold", TOPICS.name: "a;b"}})

    results = target.write({held: {TIER.name: None, TOPICS.name: None}, empty: {TIER.name: None}})

    assert [(r.record_id, r.ok) for r in results] == [(held, True), (empty, True)]
    assert (target.value(held, TIER.name), target.value(held, TOPICS.name)) == (None, None)
    assert target.value(empty, TIER.name) is None


def test_a_written_tag_comes_back_from_the_next_pull(tag_fields: Target) -> None:
    target = tag_fields
    target.require("writes")
    cid = target.new_contact()
    target.write({cid: {TOPICS.name: "c;b"}})

    pulled = {
        r.id: r
        for p in target.connector.pull("contact", None, [TIER.name, TOPICS.name])
        for r in p.records
    }

    topics = pulled[cid].properties.get(TOPICS.name)
    assert topics is not None and sorted(topics.split(";")) == ["b", "c"]
    assert pulled[cid].properties.get(TIER.name) is None


def test_more_updates_than_one_batch_all_get_one_result(tag_fields: Target) -> None:
    target = tag_fields
    target.require("writes")
    ids = [target.new_contact() for _ in range(target.connector.max_batch_size + 1)]

    results = target.write({i: {TIER.name: "silver"} for i in ids})

    # batches go out ``concurrency`` at a time, so results come in the order batches end
    assert sorted((r.record_id, r.ok) for r in results) == sorted((i, True) for i in ids)
    assert {target.value(i, TIER.name) for i in ids} == {"silver"}
