"""The names crmseg gives its fields and lists, and the prefix that marks what it owns."""

from __future__ import annotations

import pytest

from connectors.naming import PREFIX, family_of, field_name, list_name, owned, unowned
from connectors.salesforce.records import from_api_name, to_api_name
from segmentation.config import SegmentationConfig
from sync.fields import families


def test_a_family_field_is_the_prefix_and_the_family() -> None:
    assert PREFIX == "crmseg_"
    assert field_name("lifecycle") == "crmseg_lifecycle"
    assert family_of("crmseg_abc_trend") == "abc_trend"
    assert family_of(field_name("data_quality")) == "data_quality"


def test_only_prefixed_names_are_owned() -> None:
    assert owned("crmseg_abc")
    assert not owned("lifecyclestage") and not owned("CRMSEG_abc") and not owned("xcrmseg_abc")
    assert unowned(["crmseg_abc", "email", "crmseg_rfm_score", "Amount"]) == ["Amount", "email"]
    with pytest.raises(ValueError, match="'email' is not a crmseg field"):
        family_of("email")


def test_list_names_are_deterministic() -> None:
    assert list_name("lifecycle", "at_risk") == "crmseg · lifecycle = at_risk"


def test_the_provisioned_fields_and_salesforce_api_names_follow_the_naming() -> None:
    fields = [f.field for f in families(SegmentationConfig())]
    assert fields[:2] == ["crmseg_abc", "crmseg_abc_trend"]
    assert all(owned(f) for f in fields)
    assert to_api_name(field_name("abc")) == "crmseg_abc__c"
    assert from_api_name("crmseg_abc__c") == "crmseg_abc"
    assert to_api_name("Industry") == "Industry"
