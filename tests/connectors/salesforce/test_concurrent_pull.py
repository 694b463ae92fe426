"""Concurrent pulls against the Salesforce stand-in: contacts, opportunities and their
contact roles are read at once, within ``[crm] concurrency``, with the same result as
one object after another, and an error in one stream stops the pull cleanly."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from connectors.sandbox._server import Request, Response
from connectors.sandbox.salesforce import SalesforceStandIn
from connectors.sandbox.salesforce.common import json_response
from sync.config import Config, CrmConfig, StateConfig
from sync.connect import open_connector
from sync.engine import Engine, RunOptions
from sync.state import State
from tests.e2e_salesforce.test_sync import sync

AS_OF = date(2026, 6, 30)
TABLES = ("mirror_contacts", "mirror_deals", "mirror_deal_contacts")


@pytest.fixture
def org() -> Iterator[SalesforceStandIn]:
    with SalesforceStandIn(seed=7, contacts=80, as_of=AS_OF) as server:
        yield server


def config_for(org: SalesforceStandIn, state: Path, **crm: Any) -> Config:
    return Config(
        crm=CrmConfig(
            type="salesforce",
            instance_url=org.instance_url,
            client_id=org.credentials.consumer_key,
            ca_bundle=Path(org.ca_path),
            **crm,
        ),
        state=StateConfig(path=state),
    )


def pull_into(
    org: SalesforceStandIn, state_path: Path, *, concurrent: bool = True, **crm: Any
) -> dict[str, list[tuple[Any, ...]]]:
    """Run the engine's pull into a fresh state file; its mirror tables, sorted."""
    config = config_for(org, state_path, **crm)
    connector = open_connector(config, token=org.credentials.consumer_secret)
    if not concurrent:  # crmseg's default is one stream per object type
        connector.concurrent_pulls = False  # type: ignore[attr-defined]
    with State(state_path) as state:
        Engine(connector, state, config).pull(RunOptions("sync", AS_OF))
        return {t: sorted(state.con.execute(f"SELECT * FROM {t}").fetchall()) for t in TABLES}


#: The record queries of the three streams; their ``COUNT()`` and the pull's permission
#: check run unheld (they come one after another whatever the concurrency).
RECORD_QUERIES = r"^SELECT Id, .* FROM (Contact|Opportunity|OpportunityContactRole) "


def query_of(req: Request) -> str:
    return " ".join(req.query.get("q", [""]))


@pytest.mark.parametrize("bulk_query_threshold", [50_000, 10], ids=["rest", "bulk"])
def test_concurrent_pull_stores_the_same_mirror_as_one_object_after_another(
    org: SalesforceStandIn, tmp_path: Path, bulk_query_threshold: int
) -> None:
    kw = {"bulk_query_threshold": bulk_query_threshold}
    serial = pull_into(org, tmp_path / "serial.duckdb", concurrent=False, **kw)
    at_once = pull_into(org, tmp_path / "at_once.duckdb", **kw)
    assert at_once == serial
    live = [r for r in org.org.records["Contact"].values() if not r["IsDeleted"]]
    assert len(at_once["mirror_contacts"]) == len(live) > 0
    assert len(at_once["mirror_deal_contacts"]) > 0  # the roles reached the deals


def test_contacts_opportunities_and_roles_are_read_at_once_within_the_concurrency(
    org: SalesforceStandIn, tmp_path: Path
) -> None:
    # every record query runs 0.1 s inside the server, so queries that overlap are seen there
    org.hold_requests(1_000, 0.1, r"/query", soql=RECORD_QUERIES)
    pull_into(org, tmp_path / "four.duckdb", concurrency=4)
    # Contact, OpportunityContactRole and Opportunity queries were in flight together
    assert org.limits.peak_in_flight == 3


def test_the_concurrency_setting_bounds_the_requests_in_flight(
    org: SalesforceStandIn, tmp_path: Path
) -> None:
    org.hold_requests(1_000, 0.1, r"/query", soql=RECORD_QUERIES)
    two = pull_into(org, tmp_path / "two.duckdb", concurrency=2)
    assert org.limits.peak_in_flight == 2
    org.limits.peak_in_flight = 0
    one = pull_into(org, tmp_path / "one.duckdb", concurrency=1)
    assert org.limits.peak_in_flight == 1
    assert one == two


@pytest.mark.parametrize("failing", ["Opportunity", "Contact"])
def test_an_error_in_one_stream_stops_the_sync_with_exit_5_and_no_cursor_moves(
    org: SalesforceStandIn,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    failing: str,
) -> None:
    from typer.testing import CliRunner

    from sync.cli import app

    monkeypatch.setenv("SALESFORCE_CLIENT_SECRET", org.credentials.consumer_secret)
    path = tmp_path / "crmseg.toml"
    state_path = tmp_path / "state.duckdb"
    path.write_text(
        f'[crm]\ntype = "salesforce"\ninstance_url = "{org.instance_url}"\n'
        f'client_id = "{org.credentials.consumer_key}"\nca_bundle = "{org.ca_path}"\n'
        f'[state]\npath = "{state_path}"\n',
        encoding="utf-8",
    )
    runner = CliRunner()
    crmseg: Callable[..., Any] = lambda *a: runner.invoke(app, list(a), catch_exceptions=False)  # noqa: E731

    def refuse(req: Request) -> Response | None:
        words = query_of(req).split()
        if "/query" in req.path and "FROM" in words and words[words.index("FROM") + 1] == failing:
            body = [{"message": "field Foo__c does not exist", "errorCode": "INVALID_QUERY"}]
            return json_response(body, 400)
        return None

    org.faults.add_hook("refuse", refuse)
    code, summary = sync(crmseg, path)
    assert code == 5, summary
    assert summary["status"] == "failed"
    assert "INVALID_QUERY" in summary["error"]["message"] or summary["error"]["kind"] == "crm"
    with State(state_path) as state:
        assert state.pull_state("deal") is None  # the failed pull left no cursor
        if failing == "Contact":
            assert state.pull_state("contact") is None
        assert state.mirror_count("deal") == 0
    assert not [e for e in org.log.entries if e.method == "PATCH"]  # nothing was written

    org.faults.remove_hook("refuse")
    code, summary = sync(crmseg, path)
    assert code == 0, summary
    with State(state_path) as state:
        assert state.pull_state("deal") is not None
        assert state.mirror_count("deal") > 0
