"""Contract: a create whose answer is lost after the CRM carried it out makes no twin.

The connector may retry the create itself, or raise a ``Retriable`` error and
leave the retry to the next run; either way, asking again ends in exactly the
expected state, and asking once more changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TypeVar

from connectors.base import FieldSpec, ListSpec
from connectors.errors import Retriable
from tests.contract.adapters import TIER, Target

T = TypeVar("T")
LOST = FieldSpec("crmseg_contract_lost", "Contract lost", ("one", "two"))
LOST_LIST = ListSpec("crmseg · contract tier = platinum", "contact", TIER.name, "platinum")


def as_runs_would(target: Target, call: Callable[[], T], runs: int = 3) -> T:
    """Call again after a ``Retriable`` error, as the next run would; anything else is
    raised. A connector that retries lost answers itself must succeed at once."""
    if target.retries_lost_answers:
        return call()
    for _ in range(runs - 1):
        try:
            return call()
        except Retriable:
            continue
    return call()


def test_a_field_create_whose_answer_is_lost_leaves_one_field(healthy: Target) -> None:
    target = healthy
    target.require("lost answers")
    lost_before = target.lost()
    target.lose_next_answer("field")

    as_runs_would(target, lambda: target.connector.ensure_fields("contact", [LOST]))

    assert target.lost() == lost_before + 1, "the fault was reached"
    assert target.options("contact", LOST.name) == LOST.options
    writes = target.write_requests()
    assert target.connector.ensure_fields("contact", [LOST]) == []
    assert target.write_requests() == writes


def test_a_list_create_whose_answer_is_lost_leaves_one_list(tag_fields: Target) -> None:
    target = tag_fields
    target.require("lost answers")
    member = target.new_contact()
    assert all(r.ok for r in target.write({member: {TIER.name: "platinum"}}))
    needs = target.connector.lists_need_members
    spec = replace(LOST_LIST, members=frozenset({member}) if needs else None)
    lost_before = target.lost()
    target.lose_next_answer("list")

    (state,) = as_runs_would(target, lambda: target.connector.ensure_lists([spec]))

    assert target.lost() == lost_before + 1, "the fault was reached"
    assert target.lists_named(spec.name) == 1
    assert target.members(state.list_id) == {member}
    writes = target.write_requests()
    (again,) = target.connector.ensure_lists([spec])
    assert (again.list_id, again.created, again.updated) == (state.list_id, False, False)
    assert target.write_requests() == writes
