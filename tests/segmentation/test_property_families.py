"""docs/SEGMENTS.md "Property families": raw value, trimming, map, normalisation, company level."""

from __future__ import annotations

import pytest
from conftest import contact, days_before, deal, fresh_connection
from pydantic import ValidationError

from segmentation import SegmentationConfig
from segmentation.config import RESERVED_WORDS
from segmentation.families import normalise

CHANNEL = {"family": "channel", "contact_property": "source"}
INDUSTRY = {"family": "industry", "company_property": "industry"}


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("Lebensmittel & Getränke", "lebensmittel_getränke"),
        ("Messe München", "messe_münchen"),
        ("  --Trade__Fair-- ", "trade_fair"),
        ("ÉLECTRONIQUE grand-public", "électronique_grand_public"),
        ("B2B/SaaS 2.0", "b2b_saas_2_0"),
        # str.lower turns İ into i + a combining dot, which is no letter: one gap
        ("İstanbul", "i_stanbul"),
        ("ΣΟΦΊΑ", "σοφία"),
        ("東京 Office", "東京_office"),
    ],
)
def test_normalisation_is_lowercase_and_one_underscore_per_gap(raw, value):
    assert normalise(raw) == value


def test_contact_property_without_map_is_normalised(seg):
    contacts = [
        contact("1", source="Lebensmittel & Getränke"),
        contact("2", source="  "),
        contact("3", source=""),
        contact("4", source="Messe München"),
    ]
    tags = seg(contacts, properties=[CHANNEL])
    assert [tags[c]["channel"] for c in "1234"] == [
        "lebensmittel_getränke",
        None,
        None,
        "messe_münchen",
    ]


def test_only_punctuation_normalises_to_empty(seg):
    tags = seg([contact("1", source=" -- ")], properties=[CHANNEL])
    assert tags["1"]["channel"] is None


def test_map_keys_compare_case_insensitively_after_trimming(seg):
    family = dict(
        CHANNEL, map={"REFERRALS": "referral", "Offline": "trade_fair", "organic_search": "Website"}
    )
    contacts = [
        contact("1", source="referrals"),
        contact("2", source=" OFFLINE "),
        contact("3", source="ORGANIC_SEARCH"),
        contact("4", source="PAID_SOCIAL"),
        contact("5", source=" "),
    ]
    tags = seg(contacts, properties=[family])
    # map values are used as written ("Website"); unknown -> other; empty stays empty
    assert [tags[c]["channel"] for c in "12345"] == [
        "referral",
        "trade_fair",
        "Website",
        "other",
        None,
    ]


def test_company_property_comes_from_the_contacts_company(seg):
    companies = [
        {"id": "k1", "name": "A", "industry": "Lebensmittel & Getränke"},
        {"id": "k2", "name": "B", "industry": ""},
    ]
    contacts = [
        contact("1", company_id="k1"),
        contact("2", company_id="k2"),
        contact("3"),
        contact("4", company_id="unknown"),
    ]
    tags = seg(contacts, companies=companies, properties=[INDUSTRY])
    assert [tags[c]["industry"] for c in "1234"] == ["lebensmittel_getränke", None, None, None]


def test_company_level_companies_get_their_own_value_contact_families_stay_per_contact(seg):
    companies = [
        {"id": "k1", "name": "A", "industry": "STEEL"},
        {"id": "k2", "name": "B", "industry": "Metal processing"},
    ]
    contacts = [
        contact("1", company_id="k1", source="Web"),
        contact("2", company_id="k1", source="Phone"),
        contact("3", company_id="k2", source="Web"),
    ]
    deals = [deal("d1", 10, days_before(5), [], companies=["k1"])]
    family = dict(INDUSTRY, map={"steel": "steel", "METAL PROCESSING": "steel"})
    tags = seg(contacts, deals, companies=companies, level="company", properties=[family, CHANNEL])
    assert [tags[c]["industry"] for c in "123"] == ["steel", "steel", "steel"]
    assert [tags[c]["channel"] for c in "123"] == ["web", "phone", "web"]
    assert tags.entities["k1"]["industry"] == tags.entities["k2"]["industry"] == "steel"
    assert "channel" not in tags.entities["k1"]


def test_columns_follow_data_quality_properties_then_rules_in_configured_order(seg):
    rules = [
        {"family": "vip", "values": [{"value": "yes", "abc": ["A"]}]},
        {"family": "fit", "values": [{"value": "no"}]},
    ]
    tags = seg(
        [contact("1", source="x")],
        properties=[CHANNEL, dict(CHANNEL, family="origin")],
        rules=rules,
    )
    assert tags.columns[-5:] == ["data_quality", "channel", "origin", "vip", "fit"]


@pytest.mark.parametrize(
    ("family", "message"),
    [
        ({"family": "abc", "contact_property": "x"}, "built-in"),
        ({"family": "data_quality", "contact_property": "x"}, "built-in"),
        ({"family": "group", "contact_property": "x"}, "reserved SQL word"),
        ({"family": "order", "contact_property": "x"}, "reserved SQL word"),
        ({"family": "Industry", "contact_property": "x"}, "pattern"),
        ({"family": "a__b", "contact_property": "x"}, "pattern"),
        ({"family": "x"}, "exactly one"),
        ({"family": "x", "contact_property": "a", "company_property": "b"}, "exactly one"),
        ({"family": "x", "contact_property": "a", "map": {"A": "1", "a ": "2"}}, "same"),
        ({"family": "x", "contact_property": "a", "map": {"A": "x;y"}}, "not a valid tag"),
        ({"family": "x", "contact_property": "a", "mapping": {}}, "Extra inputs"),
    ],
)
def test_bad_property_families_are_config_errors(family, message):
    with pytest.raises(ValidationError, match=message):
        SegmentationConfig.model_validate({"properties": [family]})


def test_the_reserved_words_are_the_installed_duckdbs_keywords():
    # The list is written out so validating a config opens no database; a DuckDB that
    # reserves a word more (or one less) fails here until the list follows it.
    with fresh_connection() as con:
        rows = con.execute(
            "SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category <> 'unreserved'"
        ).fetchall()
    assert {str(r[0]) for r in rows} == RESERVED_WORDS


def test_a_family_name_may_not_repeat_across_kinds():
    with pytest.raises(ValidationError, match="defined twice"):
        SegmentationConfig.model_validate(
            {
                "properties": [{"family": "tier", "contact_property": "x"}],
                "rules": [{"family": "tier", "values": [{"value": "gold"}]}],
            }
        )
