"""The CSV export as a connector: canonical records, and honest refusals to write."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.base import Contact, Deal, TagUpdate
from connectors.errors import CrmsegError
from connectors.files import FilesConnector


@pytest.fixture
def export(tmp_path: Path) -> Path:
    (tmp_path / "contacts.csv").write_text(
        "id,email,first_name,last_name,salutation,country,company_id,topics\n"
        "9,a@b.de,Ann,Lee,Ms,DE,c1,eco\n10,,Bo,,,,,\n",
        encoding="utf-8",
    )
    (tmp_path / "deals.csv").write_text(
        "id,amount,close_date,won,contact_ids,company_ids,line\n"
        "d1,0.10,2024-06-01,true,9; 10,c1,Solar\nd2,,,false,,,\n",
        encoding="utf-8",
    )
    return tmp_path


def test_pull_yields_canonical_records(export: Path) -> None:
    connector = FilesConnector(export, contact_properties=["topics"], deal_properties=["line"])
    [contacts] = list(connector.pull("contact", None))
    assert contacts.records == [
        Contact("10", None, "Bo", None, None, None, None, {}),
        Contact("9", "a@b.de", "Ann", "Lee", "Ms", "DE", "c1", {"topics": "eco"}),
    ]
    [deals] = list(connector.pull("deal", None))
    assert deals.records == [
        Deal(
            "d1", Decimal("0.10"), date(2024, 6, 1), True, ("10", "9"), ("c1",), {"line": "Solar"}
        ),
        Deal("d2", None, None, False, (), (), {}),
    ]
    [companies] = list(connector.pull("company", None))
    assert [c.id for c in companies.records] == ["c1"]


def test_csv_connector_refuses_writes_with_a_clear_message(export: Path) -> None:
    connector = FilesConnector(export)
    assert connector.ensure_fields("contact", []) == []
    with pytest.raises(CrmsegError, match="read-only"):
        list(connector.write([TagUpdate("contact", "9", {"crmseg_abc": "A"})]))
