"""Property and rule families beyond tags.csv: CRM fields, [lists] entries and explain."""

from __future__ import annotations

import duckdb
import pytest
from conftest import AS_OF, _write, contact, days_before, deal
from pydantic import ValidationError

from connectors.files import CsvLoader
from segmentation import SegmentationConfig, segment
from sync.config import Config
from sync.explain import explain
from sync.fields import families, field_specs, observed_values

SEG = {
    "level": "company",
    "properties": [
        {"family": "industry", "company_property": "industry"},
        {"family": "origin", "contact_property": "source", "map": {"WEB": "web", "Fair": "fair"}},
    ],
    "rules": [
        {
            "family": "tier",
            "values": [{"value": "gold", "abc": ["A"]}, {"value": "none", "revenue_max": "0"}],
        }
    ],
}


@pytest.fixture
def computed(tmp_path):
    _write(
        tmp_path / "contacts.csv",
        ["id", "email", "first_name", "last_name", "salutation", "country", "company_id"],
        [contact("1", company_id="k1", source="web"), contact("2", source="TV")],
    )
    _write(
        tmp_path / "deals.csv",
        ["id", "amount", "close_date", "won", "contact_ids", "company_ids"],
        [deal("d1", 10, days_before(3), ["1"], companies=["k1"])],
    )
    _write(
        tmp_path / "companies.csv",
        ["id", "name"],
        [{"id": "k1", "name": "K", "industry": "Lebensmittel & Getränke"}],
    )
    config = SegmentationConfig.model_validate(SEG)
    con = duckdb.connect()
    CsvLoader(con, tmp_path).load(["source"], [], ["industry"])
    report = segment(con, config, AS_OF)
    return con, config, report


def test_every_family_is_a_crmseg_field_with_its_options(computed):
    con, config, _ = computed
    observed = observed_values(con, config)
    assert observed["industry"] == ("lebensmittel_getränke",)
    specs = {s.name: s for s in field_specs(config, "contact", observed)}
    assert specs["crmseg_industry"].options == ("lebensmittel_getränke",)
    assert specs["crmseg_origin"].options == ("web", "fair", "other")
    assert specs["crmseg_tier"].options == ("gold", "none")
    company = {s.name for s in field_specs(config, "company", observed)}
    # companies get the company-property and rule families, not the contact's origin
    assert {"crmseg_industry", "crmseg_tier"} <= company and "crmseg_origin" not in company
    # before any value appears, an unmapped family has no field yet (but stays a family)
    assert "crmseg_industry" not in {s.name for s in field_specs(config, "contact")}
    assert "industry" in [f.column for f in families(config)]


def test_explain_says_why_each_family_has_its_value(computed):
    con, config, report = computed
    one = explain(con, "1", config, report)
    assert one["tags"]["industry"] == "lebensmittel_getränke"
    assert one["tags"]["tier"] == "gold"
    assert "'Lebensmittel & Getränke', normalised" in one["reasons"]["industry"]
    assert one["reasons"]["origin"].startswith("web: contact property source is 'web', mapped")
    assert one["reasons"]["tier"].startswith("gold: the first value whose conditions all hold")
    two = explain(con, "2", config, report)
    assert two["tags"]["origin"] == "other" and two["tags"]["tier"] == "none"
    assert "not in the map" in two["reasons"]["origin"]
    assert "before it gold did not match" in two["reasons"]["tier"]
    assert two["reasons"]["industry"].startswith("empty:")


def test_new_families_can_be_list_entries():
    config = Config.model_validate(
        {
            "segmentation": SEG,
            "lists": {
                "tier": ["gold"],
                "origin": ["other"],
                "industry": ["lebensmittel_getränke"],
                "lifecycle": ["at_risk"],
            },
        }
    )
    assert config.lists.entries() == [
        ("lifecycle", "at_risk"),
        ("tier", "gold"),
        ("origin", "other"),
        ("industry", "lebensmittel_getränke"),
    ]


@pytest.mark.parametrize(
    ("lists", "message"),
    [
        ({"tier": ["platinum"]}, "lists.tier: 'platinum' is not one of gold, none"),
        ({"origin": ["tv"]}, "lists.origin: 'tv' is not one of web, fair, other"),
        ({"industry": ["a;b"]}, "not a valid tag"),
        ({"vip": ["yes"]}, "lists.vip: no such tag family"),
        ({"tier": ["gold", "gold"]}, "must not repeat"),
    ],
)
def test_bad_list_entries_of_new_families_are_config_errors(lists, message):
    with pytest.raises(ValidationError, match=message):
        Config.model_validate({"segmentation": SEG, "lists": lists})
