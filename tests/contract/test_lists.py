"""Contract: ``ensure_lists`` keeps one list per segment holding exactly the records
whose tag holds the segment's value: created once, left alone when right, made
right again after a change of tags or a change by hand -- never a twin."""

from __future__ import annotations

from dataclasses import replace

from connectors.base import ListSpec, ListState
from tests.contract.adapters import TIER, Target

#: Only this test module writes "bronze", so the segment is exactly its records.
BRONZE = ListSpec("crmseg · contract tier = bronze", "contact", TIER.name, "bronze")


def spec_for(target: Target, members: set[str], list_id: str | None = None) -> ListSpec:
    needs = target.connector.lists_need_members
    return replace(BRONZE, members=frozenset(members) if needs else None, list_id=list_id)


def tag(target: Target, values: dict[str, str | None]) -> None:
    assert all(r.ok for r in target.write({cid: {TIER.name: v} for cid, v in values.items()}))


def ensure(target: Target, spec: ListSpec) -> ListState:
    (state,) = target.connector.ensure_lists([spec])
    assert state.spec.name == spec.name
    return state


def test_a_list_is_kept_exactly_through_tag_changes_and_hand_edits(tag_fields: Target) -> None:
    target = tag_fields
    target.require("lists")
    a, b, c = (target.new_contact() for _ in range(3))
    tag(target, {a: "bronze", b: "bronze", c: "silver"})

    made = ensure(target, spec_for(target, {a, b}))
    assert made.created
    assert target.members(made.list_id) == {a, b}
    assert target.lists_named(BRONZE.name) == 1

    writes = target.write_requests()
    same = ensure(target, spec_for(target, {a, b}, made.list_id))
    assert (same.list_id, same.created, same.updated, same.added, same.removed) == (
        made.list_id,
        False,
        False,
        0,
        0,
    )
    assert target.write_requests() == writes, "a list that is right is left alone"

    tag(target, {a: None, c: "bronze"})
    moved = ensure(target, spec_for(target, {b, c}, made.list_id))
    assert (moved.list_id, moved.created) == (made.list_id, False)
    assert target.members(made.list_id) == {b, c}

    target.tamper_with_list(made.list_id)
    assert target.members(made.list_id) != {b, c}
    fixed = ensure(target, spec_for(target, {b, c}, made.list_id))
    assert (fixed.list_id, fixed.created) == (made.list_id, False)
    assert fixed.updated or fixed.added or fixed.removed, "the correction is reported"
    assert target.members(made.list_id) == {b, c}
    assert target.lists_named(BRONZE.name) == 1
