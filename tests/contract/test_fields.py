"""Contract: ``ensure_fields`` makes a tag field exist with exactly its options, and
asking again for the same fields changes nothing and sends no write."""

from __future__ import annotations

from connectors.base import FieldSpec
from tests.contract.adapters import TIER, TOPICS, Target

NEW = FieldSpec("crmseg_contract_new", "Contract new", ("x", "y"))
MULTI = FieldSpec("crmseg_contract_many", "Contract many", ("p", "q", "r"), multi=True)


def test_provisioning_creates_the_fields_with_their_options(healthy: Target) -> None:
    healthy.require("fields")
    assert healthy.options("contact", NEW.name) is None

    changes = healthy.connector.ensure_fields("contact", [NEW, MULTI])

    assert changes, "a created field is reported"
    assert healthy.options("contact", NEW.name) == NEW.options
    assert healthy.options("contact", MULTI.name) == MULTI.options


def test_provisioning_the_same_fields_twice_is_a_no_op(tag_fields: Target) -> None:
    tag_fields.require("fields")
    before = tag_fields.write_requests()

    assert tag_fields.connector.ensure_fields("contact", [TIER, TOPICS]) == []
    assert tag_fields.write_requests() == before
    assert tag_fields.options("contact", TIER.name) == TIER.options
