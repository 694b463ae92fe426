"""Contract: a refused record is a ``RecordRejected`` result for that record alone (the
rest of its batch is written); a refused batch raises the error tree's class for
what the caller must do."""

from __future__ import annotations

import pytest

from connectors.errors import (
    CrmError,
    PermissionDenied,
    RateLimited,
    RecordRejected,
    Retriable,
    ServerError,
)
from tests.contract.adapters import TIER, BatchFault, Target


def test_a_refused_record_is_rejected_alone_and_the_rest_is_written(tag_fields: Target) -> None:
    target = tag_fields
    target.require("errors")
    a, bad, c = (target.new_contact() for _ in range(3))
    target.reject(bad)

    results = target.write({i: {TIER.name: "gold"} for i in (a, bad, c)})

    assert [(r.record_id, r.ok) for r in results] == [(a, True), (bad, False), (c, True)]
    error = results[1].error
    assert isinstance(error, RecordRejected)
    assert (error.crm, error.record_id) == (target.connector.name, bad)
    assert [target.value(i, TIER.name) for i in (a, bad, c)] == ["gold", None, "gold"]


def test_an_unknown_record_is_rejected_alone(tag_fields: Target) -> None:
    target = tag_fields
    target.require("errors")
    known, ghost = target.new_contact(), target.unknown_id()

    results = target.write({i: {TIER.name: "silver"} for i in (ghost, known)})

    assert [(r.record_id, r.ok) for r in results] == [(ghost, False), (known, True)]
    assert isinstance(results[0].error, RecordRejected)
    assert target.value(known, TIER.name) == "silver"


EXPECTED: dict[BatchFault, type[CrmError]] = {
    "permission": PermissionDenied,
    "server": ServerError,
    "rate": RateLimited,
}


@pytest.mark.parametrize("fault", sorted(EXPECTED))
def test_a_refused_batch_raises_the_error_trees_class(
    tag_fields: Target, fault: BatchFault
) -> None:
    target = tag_fields
    target.require("errors")
    cid = target.new_contact()
    target.refuse_next_batch(fault)

    with pytest.raises(CrmError) as raised:
        target.write({cid: {TIER.name: "bronze"}})

    assert isinstance(raised.value, EXPECTED[fault]), repr(raised.value)
    assert isinstance(raised.value, Retriable) == (fault != "permission")
    assert raised.value.crm == target.connector.name
    assert target.value(cid, TIER.name) is None
