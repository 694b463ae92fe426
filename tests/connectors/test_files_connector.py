"""The CSV export as a connector: canonical records, amounts and properties read from
the files (its refusals to write are pinned by the contract suite, tests/contract)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from connectors.base import Contact, Deal
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


def _files(tmp_path: Path, contacts: str, deals: str, companies: str | None = None) -> Path:
    head = "id,email,first_name,last_name,salutation,country,company_id"
    (tmp_path / "contacts.csv").write_text(head + contacts, encoding="utf-8")
    (tmp_path / "deals.csv").write_text(
        "id,amount,close_date,won,contact_ids,company_ids,currency\n" + deals, encoding="utf-8"
    )
    if companies is not None:
        (tmp_path / "companies.csv").write_text(companies, encoding="utf-8")
    return tmp_path


def test_unknown_company_counts_only_contacts_with_a_company_id(tmp_path: Path) -> None:
    # no companies.csv and no company id anywhere: v1 counted both contacts
    folder = _files(tmp_path, "\n1,a@b.de,A,B,Ms,DE,\n2,c@d.de,C,D,Mr,DE,\n", "")
    assert FilesConnector(folder).report["contacts_with_unknown_company"] == 0
    other = tmp_path / "with_companies"
    other.mkdir()
    _files(
        other,
        "\n1,a@b.de,A,B,Ms,DE,k1\n2,c@d.de,C,D,Mr,DE,k9\n3,e@f.de,E,F,Mr,DE,\n",
        "",
        "id,name\nk1,K\n",
    )
    assert FilesConnector(other).report["contacts_with_unknown_company"] == 1


def test_address_columns_and_company_properties_are_pulled(tmp_path: Path) -> None:
    (tmp_path / "contacts.csv").write_text(
        "id,email,first_name,last_name,salutation,country,company_id,street,postal_code,city\n"
        "1,a@b.de,A,B,Ms,DE,k1,Hauptstraße 1,10115,Berlin\n",
        encoding="utf-8",
    )
    (tmp_path / "deals.csv").write_text(
        "id,amount,close_date,won,contact_ids,company_ids\n", encoding="utf-8"
    )
    (tmp_path / "companies.csv").write_text("id,name,industry\nk1,K,Steel\n", encoding="utf-8")
    connector = FilesConnector(tmp_path, company_properties=["industry"])
    [contacts] = list(connector.pull("contact", None))
    c = contacts.records[0]
    assert (c.street, c.postal_code, c.city) == ("Hauptstraße 1", "10115", "Berlin")
    [companies] = list(connector.pull("company", None))
    assert companies.records[0].properties == {"industry": "Steel"}


def test_pulled_deal_amounts_are_in_the_reporting_currency_exactly(tmp_path: Path) -> None:
    folder = _files(
        tmp_path,
        "\n1,a@b.de,A,B,Ms,DE,\n",
        "d1,100.10,2024-06-01,true,1,,usd\nd2,5,2024-06-01,true,1,,\nd3,,2024-06-01,true,1,,EUR\n",
    )
    connector = FilesConnector(
        folder,
        currency="EUR",
        currency_rates={"EUR": Decimal("1"), "USD": Decimal("0.8612345678901")},
    )
    [deals] = list(connector.pull("deal", None))
    amounts = {d.id: d.amount for d in deals.records}
    assert amounts == {
        "d1": Decimal("100.10") * Decimal("0.8612345678901"),
        "d2": Decimal("5"),
        "d3": None,
    }
