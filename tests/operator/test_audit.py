"""``crmseg audit``: what was written when."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from connectors.sandbox.hubspot import HubSpotStandIn
from tests.operator.conftest import AS_OF, hub_config


def test_audit_lists_written_values_per_run_and_contact(
    hub: HubSpotStandIn, tmp_path: Path, crmseg: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", hub.token)
    config = hub_config(tmp_path / "crmseg.toml", hub, tmp_path / "state.duckdb")
    first = json.loads(crmseg("sync", "--config", config, "--as-of", AS_OF, "--json").stdout)
    run = first["run_id"]
    everything = json.loads(
        crmseg("audit", "--config", config, "--json", "--limit", "10000").stdout
    )
    assert everything["count"] > 0
    assert {e["run"] for e in everything["entries"]} == {run}
    assert all(e["status"] == "written" and e["old"] is None for e in everything["entries"])
    one = json.loads(crmseg("audit", "--config", config, "--contact", "3", "--json").stdout)
    lifecycle = [e for e in one["entries"] if e["field"] == "crmseg_lifecycle"]
    assert len(lifecycle) == 1
    assert lifecycle[0]["new"] == hub.get("contacts", 3)["crmseg_lifecycle"]
    assert {e["record"] for e in one["entries"]} == {"3"}
    text = crmseg("audit", "--config", config, "--run", run)
    assert text.exit_code == 0 and "Audit (newest first)" in text.stdout
    missing = crmseg("audit", "--config", config, "--run", "999")
    assert missing.exit_code == 2 and "no run 999" in missing.stderr
