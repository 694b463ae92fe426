"""A first sync whose full pulls read HubSpot exports as column batches
(``HubSpotConnector.pull_columns``) stores the mirror the row path stores, against the
stand-in's exports with edge values; files DuckDB does not take are read row by row."""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connectors.base import ColumnBatch
from connectors.errors import InputError
from connectors.hubspot import HubSpotConnector
from connectors.sandbox.hubspot import HubSpotStandIn
from sync.config import Config
from sync.engine import Engine, RunOptions
from sync.state import State
from tests.connectors.hubspot.conftest import transport_for
from tests.sandbox_hubspot.test_exports_imports import PropertyDef, _opts, add_tag_properties

TABLES = (
    "mirror_contacts",
    "mirror_companies",
    "mirror_deals",
    "mirror_deal_contacts",
    "mirror_deal_companies",
    "mirror_properties",
    "crm_values",
)


def bulk(hs: HubSpotStandIn) -> HubSpotConnector:
    c = HubSpotConnector(transport_for(hs), export_threshold=10, import_threshold=10)
    c.exporter.sleep = c.importer.sleep = lambda s: time.sleep(min(s, 0.02))
    return c


def sync(
    hs: HubSpotStandIn, path: Path, *, columns: bool, full: bool = False
) -> tuple[dict[str, Any], list[str]]:
    """A dry run (pull and plan) into the state file ``path``; its mirror and which
    object types were stored as column batches."""
    c = bulk(hs)
    if not columns:
        c.pull_columns = c.pull  # type: ignore[method-assign]
    stored: list[str] = []
    apply = State.apply_columns

    def counted(self: State, object_type: Any, batch: ColumnBatch, *, full: bool) -> bool:
        stored.append(object_type)
        return apply(self, object_type, batch, full=full)

    with pytest.MonkeyPatch.context() as mp, State(path) as state:
        mp.setattr(State, "apply_columns", counted)
        result = Engine(c, state, Config()).run(
            RunOptions("sync", date(2026, 6, 30), dry_run=True, full=full)
        )
        assert result.status == "planned"
        mirror: dict[str, Any] = {
            t: sorted(state.con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in TABLES
        }
        mirror["cursors"] = state.con.execute(
            "SELECT object_type, properties, cursor_modified_at, cursor_last_id FROM pulls "
            "ORDER BY object_type"
        ).fetchall()
    return mirror, stored


def edge_values(hs: HubSpotStandIn) -> None:
    hs.bulk.instant().export_rows_per_file = 25  # a zip of three files
    add_tag_properties(hs)
    hs.state.schema.add(
        "contacts",
        PropertyDef(
            "crmseg_data_quality",
            "Data quality",
            "enumeration",
            "checkbox",
            "crmseg",
            options=_opts("missing_email", "missing_address"),
        ),
    )
    store = hs.state.store
    # contacts with several companies: the file has no primary flag
    hs.associate("contacts", 4, "companies", 3, primary=False)
    hs.associate("contacts", 4, "companies", 1, primary=True)
    hs.associate("contacts", 5, "companies", 2, primary=False)
    store.update("contacts", 6, {"firstname": 'Zoë "Z", Jr.', "lastname": "two\nlines"})
    quality = "missing_email;missing_address;missing_email"
    store.update("contacts", 7, {"crmseg_data_quality": quality, "crmseg_abc": "B"})
    store.update("contacts", 8, {"crmseg_data_quality": " ", "email": ""})
    store.update("deals", 1, {"amount": "-12.50"})
    store.update("deals", 2, {"amount": None, "closedate": None})


def test_a_first_sync_stores_the_row_paths_mirror_from_column_batches(tmp_path: Path) -> None:
    with HubSpotStandIn(seed=7, contacts=60) as hs:
        edge_values(hs)
        by_rows, none = sync(hs, tmp_path / "rows.duckdb", columns=False)
        by_columns, stored = sync(hs, tmp_path / "columns.duckdb", columns=True)
    assert none == [] and stored == ["contact", "deal"]
    assert by_columns == by_rows
    contacts = {r[0]: r for r in by_columns["mirror_contacts"]}
    assert contacts["4"][6] == "1" and contacts["6"][2:4] == ('Zoë "Z", Jr.', "two\nlines")
    held = [r for r in by_columns["crm_values"] if r[1] in ("7", "8")]
    assert held == [
        ("contact", "7", "crmseg_abc", "B"),
        ("contact", "7", "crmseg_data_quality", "missing_address;missing_email"),
    ]
    assert len(contacts) == 60 and len(by_columns["mirror_deals"]) > 25


def test_a_full_pull_sweeps_records_the_crm_no_longer_has(tmp_path: Path) -> None:
    with HubSpotStandIn(seed=7, contacts=60) as hs:
        hs.bulk.instant()
        sync(hs, tmp_path / "s.duckdb", columns=True)
        hs.archive("contacts", 9)
        mirror, stored = sync(hs, tmp_path / "s.duckdb", columns=True, full=True)
    assert stored == ["contact", "deal"]
    ids = {r[0] for r in mirror["mirror_contacts"]}
    assert len(ids) == 59 and "9" not in ids


def test_values_duckdb_does_not_take_are_read_row_by_row(tmp_path: Path) -> None:
    with HubSpotStandIn(seed=7, contacts=40) as hs:
        hs.bulk.instant()
        # an exponent: not a plain decimal, so the deals' file goes to the row reader,
        # which reads the amount as it always has
        hs.state.store.update("deals", 1, {"amount": "1e3"})
        by_rows, _ = sync(hs, tmp_path / "rows.duckdb", columns=False)
        by_columns, stored = sync(hs, tmp_path / "columns.duckdb", columns=True)
    assert stored == ["contact"]  # the deals' file went row by row
    assert by_columns == by_rows
    assert [r[1] for r in by_columns["mirror_deals"] if r[0] == "1"] == [Decimal(1000)]


def test_an_amount_that_is_no_number_stops_the_pull_naming_the_deal(tmp_path: Path) -> None:
    with HubSpotStandIn(seed=7, contacts=40) as hs:
        hs.bulk.instant()
        hs.state.store.update("deals", 2, {"amount": "abc"})
        with pytest.raises(InputError, match="deal 2: amount 'abc'"):
            sync(hs, tmp_path / "s.duckdb", columns=True)
