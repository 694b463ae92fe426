"""The CRM settings are defined once (``connectors.settings``): the config's ``[crm]``
defaults come from there, and ``sync.connect`` maps the keys back by name."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from connectors.settings import CrmSettings, HubSpotSettings, SalesforceSettings
from sync.config import CrmConfig
from sync.connect import config_key, settings_for

SF_URL = "https://acme.my.salesforce.com"


def test_a_default_config_gives_each_connector_its_default_settings() -> None:
    assert settings_for(HubSpotSettings, CrmConfig()) == HubSpotSettings()
    crm = CrmConfig(type="salesforce", instance_url=SF_URL)
    assert settings_for(SalesforceSettings, crm) == SalesforceSettings(instance_url=SF_URL)
    # the knob whose default differs by CRM stays unset in the file
    assert CrmConfig().daily_reserve is None
    assert (
        HubSpotSettings().daily_reserve,
        SalesforceSettings(instance_url=SF_URL).daily_reserve,
    ) == (
        0.05,
        0.20,
    )


def test_the_config_keys_reach_the_settings_by_name_or_rename(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    hubspot = settings_for(
        HubSpotSettings,
        CrmConfig(
            tier="starter",
            concurrency=2,
            timeout_seconds=5,
            daily_reserve=0.1,
            base_url="https://127.0.0.1:8443",
            ca_bundle=ca,
            count_own_write_window=True,
        ),
    )
    assert hubspot == HubSpotSettings(
        ten_secondly_limit=100,
        concurrency=2,
        timeout_seconds=5,
        daily_reserve=0.1,
        host="https://127.0.0.1:8443",
        ssl_ca_cert=str(ca),
        count_own_write_window=True,
    )
    same = {
        "auth": "jwt",
        "username": "sync@acme.example",
        "client_id": "key",
        "api_version": "61.0",
        "concurrency": 3,
        "bulk_ingest_threshold": 5,
        "bulk_query_threshold": 7,
        "partial_visibility_ok": True,
    }
    crm = CrmConfig(
        type="salesforce",
        instance_url=SF_URL + "/",
        amount_property="Net__c",
        ca_bundle=ca,
        **same,  # type: ignore[arg-type]
    )
    salesforce = settings_for(SalesforceSettings, crm, instance_url=SF_URL)
    assert salesforce == SalesforceSettings(
        instance_url=SF_URL,
        amount_field="Net__c",
        ca_bundle=str(ca),
        **same,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("cls", [HubSpotSettings, SalesforceSettings])
def test_every_key_the_file_offers_defaults_to_the_connectors_own_default(
    cls: type[CrmSettings],
) -> None:
    defaults = CrmConfig(type="salesforce", instance_url=SF_URL)
    for f in dataclasses.fields(cls):
        key = config_key(cls, f.name)
        if key is None or f.default is dataclasses.MISSING:
            continue
        in_file = getattr(defaults, key)
        assert in_file is None or in_file == f.default, (key, in_file, f.default)


def test_the_shared_knobs_are_the_base_classes() -> None:
    shared = {f.name for f in dataclasses.fields(CrmSettings)}
    assert shared == {"daily_reserve", "timeout_seconds", "attempts", "max_wait", "concurrency"}
    assert issubclass(HubSpotSettings, CrmSettings) and issubclass(SalesforceSettings, CrmSettings)


def test_reading_the_config_loads_no_crm_client() -> None:
    code = (
        "import sys, sync.config, sync.connect\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('hubspot', 'simple_salesforce') or m.startswith(('connectors.hubspot', "
        "'connectors.salesforce'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
