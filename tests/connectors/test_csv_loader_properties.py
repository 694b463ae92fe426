"""A rule that names a property the CSV files lack is refused before anything loads,
naming the rule's kind, the property and the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectors.csv_loader import CsvLoader
from connectors.errors import InputError
from segmentation.inputs import connect


def _files(folder: Path, *, companies: bool) -> Path:
    (folder / "contacts.csv").write_text(
        "id,email,first_name,last_name,salutation,country,company_id,tier\n"
        "c1,a@x.test,A,B,,DE,k1,gold\n",
        encoding="utf-8",
    )
    (folder / "deals.csv").write_text(
        "id,amount,close_date,won,contact_ids,company_ids,product\n"
        "d1,10.00,2026-01-05,true,c1,k1,shoes\n",
        encoding="utf-8",
    )
    if companies:
        (folder / "companies.csv").write_text("id,name,industry\nk1,Acme,retail\n", "utf-8")
    return folder


@pytest.mark.parametrize(
    ("kwargs", "message", "file"),
    [
        (
            {"contact_properties": ["tier", "plan"]},
            "an interest rule names contact property 'plan', which is not a column",
            "contacts.csv",
        ),
        (
            {"deal_properties": ["colour"]},
            "an interest rule names deal property 'colour', which is not a column",
            "deals.csv",
        ),
        (
            {"company_properties": ["size"]},
            "a property family names company property 'size', which is not a column",
            "companies.csv",
        ),
    ],
)
def test_a_property_that_is_not_a_column_is_named(
    tmp_path: Path, kwargs: dict[str, list[str]], message: str, file: str
) -> None:
    loader = CsvLoader(connect(), _files(tmp_path, companies=True))
    with pytest.raises(InputError) as err:
        loader.load(**kwargs)  # type: ignore[arg-type]
    assert message in str(err.value) and file in str(err.value)


def test_a_company_property_without_companies_csv_is_named(tmp_path: Path) -> None:
    loader = CsvLoader(connect(), _files(tmp_path, companies=False))
    with pytest.raises(InputError) as err:
        loader.load(company_properties=["industry"])
    assert "a property family names company property 'industry', but there is no " in str(err.value)
    assert "companies.csv" in str(err.value)


def test_properties_that_are_columns_load(tmp_path: Path) -> None:
    con = connect()
    CsvLoader(con, _files(tmp_path, companies=True)).load(["tier"], ["product"], ["industry"])
    assert con.execute("SELECT name, value FROM contact_properties").fetchall() == [
        ("tier", "gold")
    ]
    assert con.execute("SELECT name, value FROM company_properties").fetchall() == [
        ("industry", "retail")
    ]
