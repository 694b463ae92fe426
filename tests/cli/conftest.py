from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

CONTACTS = (
    "id,email,first_name,last_name,salutation,country,company_id,topics\n"
    "1,ann@example.com,Ann,Lee,Ms,DE,c1,eco;tech\n"
    "2,bob@example.com,Bob,Ray,Mr,AT,,\n"
    "10,,Cy,,,,c1,\n"
)
DEALS = (
    "id,amount,close_date,won,contact_ids,company_ids\n"
    "d1,100.00,2024-06-01,true,1,c1\n"
    "d2,50,2024-07-01,true,2;10,\n"
    "d3,,2024-08-01,false,1,\n"
)


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def export(tmp_path: Path) -> Path:
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "contacts.csv").write_text(CONTACTS, encoding="utf-8")
    (folder / "deals.csv").write_text(DEALS, encoding="utf-8")
    return folder
