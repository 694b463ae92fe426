"""``crmseg plan`` shows the provisioning a sync would do, and refuses what it cannot
do, before a single write."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hubspot import HubSpot
from hubspot.crm.properties import PropertyCreate

from connectors.sandbox.hubspot import HubSpotStandIn
from connectors.sandbox.salesforce import SalesforceStandIn
from tests.operator.conftest import AS_OF, hub_config, writes

LISTS = '[lists]\nlifecycle = ["at_risk"]\n'


def test_plan_lists_the_properties_options_and_lists_to_create(
    hub: HubSpotStandIn, tmp_path: Path, crmseg: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", hub.token)
    config = hub_config(tmp_path / "crmseg.toml", hub, tmp_path / "state.duckdb", LISTS)
    result = crmseg("plan", "--config", config, "--as-of", AS_OF, "--json")
    assert result.exit_code == 0, result.output
    lines = json.loads(result.stdout)["provisioning"]
    assert "create contact property crmseg_abc (select, 3 options)" in lines
    assert "create contact property crmseg_data_quality (checkbox, 5 options)" in lines or any(
        line.startswith("create contact property crmseg_data_quality") for line in lines
    )
    assert "create active list 'crmseg · lifecycle = at_risk'" in lines
    assert writes(hub) == []
    text = crmseg("plan", "--config", config, "--as-of", AS_OF)
    assert "Provisioning a sync would do first" in text.stdout
    # after a sync everything is in place: the plan says so
    assert crmseg("sync", "--config", config, "--as-of", AS_OF).exit_code == 0
    again = json.loads(crmseg("plan", "--config", config, "--as-of", AS_OF, "--json").stdout)
    assert again["provisioning"] == []


def test_an_incompatible_existing_property_fails_the_plan_with_exit_5(
    hub: HubSpotStandIn, tmp_path: Path, crmseg: Any, monkeypatch: Any
) -> None:
    HubSpot(**hub.client_settings()).crm.properties.core_api.create(
        "contacts",
        PropertyCreate(
            name="crmseg_abc",
            label="ABC",
            type="string",
            field_type="text",
            group_name="contactinformation",
        ),
    )
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", hub.token)
    config = hub_config(tmp_path / "crmseg.toml", hub, tmp_path / "state.duckdb")
    before = len(writes(hub))
    result = crmseg("plan", "--config", config, "--as-of", AS_OF)
    assert result.exit_code == 5
    assert "crmseg_abc exists as type 'string'" in result.stderr
    assert len(writes(hub)) == before


def test_an_interest_rule_on_a_property_the_crm_lacks_is_exit_2_at_plan_time(
    hub: HubSpotStandIn, tmp_path: Path, crmseg: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", hub.token)
    rules = (
        '[[segmentation.interests]]\ntag = "eco"\ncontact_property = "topcs"\nany_of = ["x"]\n'
        '[[segmentation.interests]]\ntag = "big"\ndeal_property = "product_lne"\nany_of = ["x"]\n'
    )
    config = hub_config(tmp_path / "crmseg.toml", hub, tmp_path / "state.duckdb", rules)
    for command in ("plan", "sync"):
        result = crmseg(command, "--config", config, "--as-of", AS_OF)
        assert result.exit_code == 2, result.output
        assert "segmentation.interests[0].contact_property" in result.stderr
        assert "'topcs'" in result.stderr
        assert "segmentation.interests[1].deal_property" in result.stderr
    assert writes(hub) == []


def test_salesforce_plan_shows_fields_and_campaigns(
    tmp_path: Path, crmseg: Any, monkeypatch: Any
) -> None:
    with SalesforceStandIn(seed=3, contacts=10, as_of=AS_OF) as org:
        monkeypatch.setenv("SALESFORCE_CLIENT_SECRET", org.credentials.consumer_secret)
        config = tmp_path / "crmseg.toml"
        config.write_text(
            f'[crm]\ntype = "salesforce"\ninstance_url = "{org.instance_url}"\n'
            f'client_id = "{org.credentials.consumer_key}"\nca_bundle = "{org.ca_path}"\n'
            f'[state]\npath = "{tmp_path / "sf.duckdb"}"\n{LISTS}'
            '[[segmentation.interests]]\ntag = "web"\ncontact_property = "LeadSource"\n'
            'any_of = ["Web"]\n',
            encoding="utf-8",
        )
        result = crmseg("plan", "--config", config, "--as-of", AS_OF, "--json")
        assert result.exit_code == 0, result.output
        lines = json.loads(result.stdout)["provisioning"]
        assert any(line.startswith("create contact field crmseg_abc__c") for line in lines)
        assert "create campaign 'crmseg · lifecycle = at_risk'" in lines
        assert org.log.count("PATCH") == 0 and org.log.count("POST", r"CustomField") == 0
