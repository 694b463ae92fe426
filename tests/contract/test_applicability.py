"""What the suite skips is declared, explained and true: every CRM passes every clause;
a source that declares writing not applicable refuses writes out loud."""

from __future__ import annotations

import pytest

from connectors.base import ListSpec, TagUpdate
from connectors.errors import CrmsegError
from tests.contract.adapters import CLAUSES, TIER, Target

READ_ONLY = ("fields", "writes", "errors", "lists", "lost answers")


def test_not_applicable_names_only_clauses_each_with_a_reason(target: Target) -> None:
    assert set(target.not_applicable) <= set(CLAUSES)
    assert all(reason.strip() for reason in target.not_applicable.values())


def test_a_source_that_writes_skips_no_clause(target: Target) -> None:
    if target.read_only:
        pytest.skip(f"not applicable to {target.name}: a read-only source")
    assert dict(target.not_applicable) == {}


def test_a_source_declared_read_only_refuses_every_write_clearly(target: Target) -> None:
    if not target.read_only:
        pytest.skip(f"not applicable to {target.name}: it writes")
    assert set(READ_ONLY) <= set(target.not_applicable)
    connector = target.connector
    some_id = sorted(target.ids("contact"))[0]

    assert connector.ensure_fields("contact", []) == []
    with pytest.raises(CrmsegError, match="read-only"):
        list(connector.write([TagUpdate("contact", some_id, {TIER.name: "gold"})]))
    with pytest.raises(CrmsegError, match="no lists"):
        connector.ensure_lists([ListSpec("x", "contact", TIER.name, "gold")])
