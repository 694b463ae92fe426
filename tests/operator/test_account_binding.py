"""A state file belongs to one CRM account."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from connectors.sandbox.hubspot import HubSpotStandIn
from connectors.sandbox.salesforce import SalesforceStandIn
from sync.config import load_config
from tests.operator.conftest import AS_OF, hub_config, hubspot, writes


def sync(crmseg: Callable[..., Any], config: Path, *args: str) -> Any:
    return crmseg("sync", "--config", config, "--as-of", AS_OF, *args)


def test_the_account_is_recorded_and_status_names_it(
    hub: HubSpotStandIn, tmp_path: Path, crmseg: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", hub.token)
    config = hub_config(tmp_path / "a.toml", hub, tmp_path / "state.duckdb")
    assert sync(crmseg, config).exit_code == 0
    assert hub.log.count("GET", r"^/account-info/v3/details$") == 1
    status = crmseg("status", "--config", config, "--json")
    assert status.exit_code == 0
    assert json.loads(status.stdout)["account"] == "hubspot portal 111"
    text = crmseg("status", "--config", config)
    assert "belongs to hubspot portal 111" in text.stderr


def test_a_state_file_of_another_portal_is_refused_before_any_pull_or_write(
    tmp_path: Path, crmseg: Any, monkeypatch: Any
) -> None:
    state = tmp_path / "shared.duckdb"
    with hubspot(portal_id=111) as a:
        monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", a.token)
        assert sync(crmseg, hub_config(tmp_path / "a.toml", a, state)).exit_code == 0
    before = state.read_bytes()
    with hubspot(portal_id=222) as b:
        config_b = hub_config(tmp_path / "b.toml", b, state)
        result = sync(crmseg, config_b, "--allow-mass-change")
        assert result.exit_code == 2, result.output
        assert "hubspot portal 111" in result.stderr and "hubspot portal 222" in result.stderr
        assert "[state] path" in result.stderr and "move the file away" in result.stderr
        # only the account question reached portal B: no pull, no write
        assert [e.path for e in b.log.entries] == ["/account-info/v3/details"]
        assert writes(b) == []
        plan = crmseg("plan", "--config", config_b, "--as-of", AS_OF)
        assert plan.exit_code == 2
    assert state.read_bytes() == before
    con = duckdb.connect(str(state), read_only=True)
    assert con.execute("SELECT count(*) FROM mirror_contacts").fetchone() == (40,)
    con.close()


def test_a_typo_in_the_base_url_fails_without_emptying_the_mirror(
    hub: HubSpotStandIn, tmp_path: Path, crmseg: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", hub.token)
    state = tmp_path / "state.duckdb"
    assert sync(crmseg, hub_config(tmp_path / "a.toml", hub, state)).exit_code == 0
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    typo = tmp_path / "typo.toml"
    typo.write_text(
        f'[crm]\nbase_url = "https://127.0.0.1:{closed_port}"\nca_bundle = "{hub.ca_path}"\n'
        f'[state]\npath = "{state}"\n',
        encoding="utf-8",
    )
    result = sync(crmseg, typo)
    assert result.exit_code == 5
    assert f"https://127.0.0.1:{closed_port}" in result.stderr
    status = json.loads(crmseg("status", "--config", typo, "--json").stdout)
    assert status["mirror"]["contact"] == 40
    assert status["account"] == "hubspot portal 111"


def test_salesforce_org_binding(tmp_path: Path, crmseg: Any, monkeypatch: Any) -> None:
    state = tmp_path / "sf.duckdb"

    def config(org: SalesforceStandIn, name: str) -> Path:
        path = tmp_path / name
        path.write_text(
            f'[crm]\ntype = "salesforce"\ninstance_url = "{org.instance_url}"\n'
            f'client_id = "{org.credentials.consumer_key}"\nca_bundle = "{org.ca_path}"\n'
            f'[state]\npath = "{state}"\n',
            encoding="utf-8",
        )
        monkeypatch.setenv("SALESFORCE_CLIENT_SECRET", org.credentials.consumer_secret)
        return path

    with SalesforceStandIn(seed=3, contacts=20, as_of=AS_OF, org_id="00D000000000AAA") as a:
        first = config(a, "a.toml")
        assert sync(crmseg, first).exit_code == 0
        status = json.loads(crmseg("status", "--config", first, "--json").stdout)
        assert status["account"] == "salesforce org 00D000000000AAA"
    with SalesforceStandIn(seed=3, contacts=20, as_of=AS_OF, org_id="00D000000000BBB") as b:
        result = sync(crmseg, config(b, "b.toml"))
        assert result.exit_code == 2
        assert "salesforce org 00D000000000AAA" in result.stderr
        assert "salesforce org 00D000000000BBB" in result.stderr
        assert b.log.count("PATCH") == 0 and b.log.count(path=r"/query") == 0


def test_two_configs_without_a_state_path_never_share_a_state_file(tmp_path: Path) -> None:
    first, second = tmp_path / "one" / "crmseg.toml", tmp_path / "two" / "crmseg.toml"
    for path in (first, second):
        path.parent.mkdir()
        path.write_text('[crm]\ntier = "starter"\n', encoding="utf-8")
    one, two = load_config(first).state.path, load_config(second).state.path
    assert one != two
    assert one.name.startswith("crmseg-") and one.suffix == ".duckdb"
    assert load_config(first).state.path == one  # stable from run to run
