"""End to end against the Salesforce stand-in: ``crmseg`` as an admin runs it, through
the Salesforce connector and simple-salesforce."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from connectors.sandbox.csv_export import write_csv_export
from connectors.sandbox.generator import generate
from connectors.sandbox.salesforce import SalesforceStandIn
from connectors.sandbox.vocabulary import EXCHANGE_RATES
from segmentation import SegmentationConfig
from sync.cli import app, run_segmentation
from tests.e2e_hubspot.conftest import TAG_FIELDS
from tests.fakeclock import FakeClock, default_clock

AS_OF = date(2026, 6, 30)
SEED, CONTACTS = 11, 60


@pytest.fixture(autouse=True)
def clock() -> Iterator[FakeClock]:
    """Every transport and session a command builds waits on this fake clock: backoffs,
    Retry-After and job polls are recorded in ``clock.sleeps``, none is spent."""
    with default_clock(FakeClock()) as fake:
        yield fake


@pytest.fixture
def org() -> Iterator[SalesforceStandIn]:
    with SalesforceStandIn(seed=SEED, contacts=CONTACTS, as_of=AS_OF) as sf:
        yield sf


@pytest.fixture
def config_file(
    tmp_path: Path, org: SalesforceStandIn, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Path]:
    monkeypatch.setenv("SALESFORCE_CLIENT_SECRET", org.credentials.consumer_secret)

    def make(extra: str = "", *, crm: str = "") -> Path:
        path = tmp_path / "crmseg.toml"
        path.write_text(
            f'[crm]\ntype = "salesforce"\ninstance_url = "{org.instance_url}"\n'
            f'client_id = "{org.credentials.consumer_key}"\nca_bundle = "{org.ca_path}"\n{crm}\n'
            f'[state]\npath = "{tmp_path / "state.duckdb"}"\n{extra}\n',
            encoding="utf-8",
        )
        return path

    return make


@pytest.fixture
def crmseg() -> Callable[..., Any]:
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args), catch_exceptions=False)


def expected_tags(
    org: SalesforceStandIn, tmp_path: Path, config: SegmentationConfig
) -> dict[str, dict[str, str | None]]:
    """``crmseg segment`` on the same generated data, keyed by Salesforce Contact Id."""
    folder = tmp_path / "export"
    write_csv_export(generate(seed=SEED, contacts=CONTACTS, as_of=AS_OF), folder)
    # the stand-in's org is single-currency: it loads every amount as it is
    config = config.model_copy(
        update={"currency": "EUR", "currency_rates": {c: Decimal(1) for c in EXCHANGE_RATES}}
    )
    con, _ = run_segmentation(folder, config, AS_OF)
    cur = con.execute("SELECT * FROM seg_tags")
    names = [d[0] for d in cur.description]
    out = {}
    for row in cur.fetchall():
        record = dict(zip(names, row, strict=True))
        sf_id = org.ids["contact"][int(record["contact_id"])]
        out[sf_id] = {field: record[column] or None for column, field in TAG_FIELDS.items()}
    return out


def crm_tags(org: SalesforceStandIn, contact_id: str) -> dict[str, str | None]:
    rec = org.org.records["Contact"][contact_id]
    out = {}
    for field in TAG_FIELDS.values():
        value = rec.get(f"{field}__c") or None
        out[field] = ";".join(sorted(str(value).split(";"))) if value else None
    return out


def contact_ids(org: SalesforceStandIn) -> list[str]:
    return sorted(org.ids["contact"].values())
