"""The property lists one ``crmseg sync`` reads: the preflight's read also serves
provisioning's check that nothing needs writing, and every write is decided on a
list read just before it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hubspot.crm.properties import Configuration

from connectors.base import FieldSpec
from connectors.hubspot import HubSpotConnector, HubSpotSettings, Transport
from connectors.hubspot.connector import PROPERTY_LIST_REUSE_SECONDS
from connectors.sandbox.hubspot import HubSpotStandIn
from tests.e2e_hubspot.conftest import AS_OF
from tests.fakeclock import FakeClock

LIFECYCLE = FieldSpec("crmseg_lifecycle", "Lifecycle", ("prospect", "customer"))
GROWN = FieldSpec("crmseg_lifecycle", "Lifecycle", ("prospect", "customer", "lapsed"))
PROPERTY_WRITES = r"^/crm/v3/properties/"


def sync(crmseg: Callable[..., Any], config: Path) -> dict[str, Any]:
    result = crmseg("sync", "--config", str(config), "--as-of", str(AS_OF), "--json")
    assert result.exit_code == 0, result.stdout
    return dict(json.loads(result.stdout))


def connector_for(hub: HubSpotStandIn) -> HubSpotConnector:
    return HubSpotConnector(
        Transport(hub.token, HubSpotSettings(host=hub.base_url, ssl_ca_cert=hub.ca_path))
    )


def property_writes(hub: HubSpotStandIn) -> int:
    return sum(hub.log.count(m, PROPERTY_WRITES) for m in ("POST", "PATCH", "PUT", "DELETE"))


def options(hub: HubSpotStandIn, name: str) -> list[str]:
    prop = hub.state.schema.get("contacts", name)
    assert prop is not None
    return [str(o["value"]) for o in prop.options]


def test_a_no_op_rerun_reads_the_contact_and_deal_property_lists_once_each(
    hub: HubSpotStandIn, config_file: Callable[..., Path], crmseg: Any
) -> None:
    config = config_file()  # one contact rule and one deal rule: both lists are checked
    sync(crmseg, config)
    before = len(hub.log.entries)

    summary = sync(crmseg, config)

    reads = [e.path for e in hub.log.entries[before:] if e.endpoint == "properties.list"]
    assert sorted(reads) == ["/crm/v3/properties/contacts", "/crm/v3/properties/deals"]
    assert summary["provisioned"] == [] and summary["api_calls"]["properties.list"] == 2


def test_the_first_sync_reads_the_contact_list_again_before_creating_its_fields(
    hub: HubSpotStandIn, config_file: Callable[..., Path], crmseg: Any
) -> None:
    summary = sync(crmseg, config_file())

    # preflight: contacts and deals; provisioning has fields to create: contacts again
    assert summary["api_calls"]["properties.list"] == 3
    assert any(line.startswith("created contact property") for line in summary["provisioned"])


def test_an_option_added_in_hubspot_after_the_preflight_is_kept_by_the_next_write(
    hub: HubSpotStandIn,
) -> None:
    connector = connector_for(hub)
    connector.ensure_fields("contact", [LIFECYCLE])
    assert connector.missing_properties("contact", ["crmseg_lifecycle"]) == []  # the preflight
    # meanwhile an admin adds an option by hand
    prop = hub.state.schema.get("contacts", "crmseg_lifecycle")
    assert prop is not None
    prop.options.append({"label": "VIP", "value": "vip", "displayOrder": 2, "hidden": False})
    reads = hub.log.count("GET", r"^/crm/v3/properties/contacts$")

    changes = connector.ensure_fields("contact", [GROWN])

    assert changes == ["updated options of contact property crmseg_lifecycle: added lapsed"]
    assert options(hub, "crmseg_lifecycle") == ["prospect", "customer", "lapsed", "vip"]
    assert hub.log.count("GET", r"^/crm/v3/properties/contacts$") == reads + 1


def test_the_preflights_list_stands_in_once_and_only_while_recent(
    hub: HubSpotStandIn, clock: FakeClock
) -> None:
    connector = connector_for(hub)
    connector.ensure_fields("contact", [LIFECYCLE])
    writes = property_writes(hub)

    def reads() -> int:
        return hub.log.count("GET", r"^/crm/v3/properties/contacts$")

    connector.missing_properties("contact", ["email"])
    connector.plan_fields("contact", [LIFECYCLE])  # the preflight of a plan: same read
    after_preflight = reads()
    assert connector.ensure_fields("contact", [LIFECYCLE]) == []
    assert reads() == after_preflight  # nothing to write: no second read
    assert connector.ensure_fields("contact", [LIFECYCLE]) == []
    assert reads() == after_preflight + 1  # used once: provisioning again reads again

    connector.missing_properties("contact", ["email"])
    clock.sleep(PROPERTY_LIST_REUSE_SECONDS + 1)
    before = reads()
    assert connector.ensure_fields("contact", [LIFECYCLE]) == []
    assert reads() == before + 1  # too old to stand in
    assert property_writes(hub) == writes


def test_request_bodies_are_built_without_copying_the_clients_configuration(
    hub: HubSpotStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A generated model given no configuration deep-copies one per object (a tenth
    of a CPU second for a property of 150 options); the bodies share one."""
    connector = connector_for(hub)
    many = FieldSpec("crmseg_rfm_segment", "RFM", tuple(f"s{i}" for i in range(150)))

    def copied(cls: type) -> None:
        raise AssertionError("a request body copied the client's configuration")

    monkeypatch.setattr(Configuration, "get_default_copy", classmethod(copied))

    assert len(connector.ensure_fields("contact", [many, LIFECYCLE])) == 3  # group + 2
    assert connector.ensure_fields("contact", [GROWN]) == [
        "updated options of contact property crmseg_lifecycle: added lapsed"
    ]
