"""End to end: ``crmseg`` commands as an admin runs them, against the HubSpot sandbox
through the real connector and the official client."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from connectors.sandbox.csv_export import write_csv_export
from connectors.sandbox.hubspot import HubSpotStandIn, LimitConfig
from connectors.sandbox.vocabulary import EXCHANGE_RATES, HOME_CURRENCY
from segmentation import SegmentationConfig
from sync.cli import app, run_segmentation
from tests.fakeclock import FakeClock, default_clock

AS_OF = date(2026, 6, 30)
TAG_FIELDS = {
    "abc": "crmseg_abc",
    "abc_trend": "crmseg_abc_trend",
    "rfm_score": "crmseg_rfm_score",
    "rfm_segment": "crmseg_rfm_segment",
    "lifecycle": "crmseg_lifecycle",
    "interests": "crmseg_interests",
    "data_quality": "crmseg_data_quality",
}
INTERESTS = """
[[segmentation.interests]]
tag = "security"
contact_property = "topics"
any_of = ["security"]

[[segmentation.interests]]
tag = "enterprise"
deal_property = "product_line"
any_of = ["enterprise"]
"""


@pytest.fixture(autouse=True)
def clock() -> Iterator[FakeClock]:
    """Every transport and session a command builds waits on this fake clock: backoffs,
    Retry-After and job polls are recorded in ``clock.sleeps``, none is spent."""
    with default_clock(FakeClock()) as fake:
        yield fake


@pytest.fixture
def hub() -> Iterator[HubSpotStandIn]:
    with HubSpotStandIn(seed=11, contacts=60, as_of=AS_OF, limits=LimitConfig(enabled=False)) as hs:
        yield hs


@pytest.fixture
def config_file(
    tmp_path: Path, hub: HubSpotStandIn, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Path]:
    """Writes a config for the sandbox; ``extra`` is appended TOML."""
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", hub.token)

    def make(extra: str = "", *, crm: str = "") -> Path:
        path = tmp_path / "crmseg.toml"
        path.write_text(
            f'[crm]\nbase_url = "{hub.base_url}"\nca_bundle = "{hub.ca_path}"\n{crm}\n'
            f'[state]\npath = "{tmp_path / "state.duckdb"}"\n'
            f"{INTERESTS}\n{extra}\n",
            encoding="utf-8",
        )
        return path

    return make


@pytest.fixture
def crmseg() -> Callable[..., Any]:
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        return runner.invoke(app, list(args), catch_exceptions=False)

    return invoke


def expected_tags(
    hub: HubSpotStandIn, tmp_path: Path, config: SegmentationConfig
) -> dict[str, dict[str, str | None]]:
    """What ``crmseg segment`` computes from the same data exported as CSV."""
    assert hub.dataset is not None
    folder = tmp_path / "export"
    write_csv_export(hub.dataset, folder)
    # crmseg reads amount_in_home_currency: the CSV run converts at the portal's rates
    config = config.model_copy(
        update={
            "currency": HOME_CURRENCY,
            "currency_rates": {code: Decimal(rate) for code, rate in EXCHANGE_RATES.items()},
        }
    )
    con, _ = run_segmentation(folder, config, AS_OF)
    cur = con.execute("SELECT * FROM seg_tags")
    names = [d[0] for d in cur.description]
    out = {}
    for row in cur.fetchall():
        record = dict(zip(names, row, strict=True))
        out[str(record["contact_id"])] = {
            field: record[column] or None for column, field in TAG_FIELDS.items()
        }
    return out


def crm_tags(hub: HubSpotStandIn, contact_id: str) -> dict[str, str | None]:
    props = hub.get("contacts", int(contact_id)) or {}
    out = {}
    for field in TAG_FIELDS.values():
        value = props.get(field) or None
        out[field] = ";".join(sorted(value.split(";"))) if value else None
    return out


def token_never_printed(hub: HubSpotStandIn, text: str) -> None:
    assert hub.token not in text
    assert os.environ.get("HUBSPOT_ACCESS_TOKEN", "x" * 8) not in text
