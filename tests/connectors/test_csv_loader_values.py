"""Every edge value of a CSV cell through the loader: what crmseg accepts (and the exact
value it loads) and what it refuses (with the exact message naming file, line and
column). The loader may read the files any way it likes; this table is what it must
keep meaning.

The accepted forms (docs/SEGMENTS.md "CSV files"): a cell is trimmed of spaces, tabs,
CR and LF first; an amount is a plain decimal with a dot, at most 14 digits before it
and at most 12 after it; a date is YYYY-MM-DD and exists; ``won`` is true or false in
any case; a currency is three letters. Anything else is refused, never rounded or
guessed.

Each load uses a fresh catalog of one DuckDB shared by the test process
(``tests/shared_duckdb.py``). Accepted values of one column are loaded once, each in
its own deal of one file, and every case checks its own row; a refused value gets a
file of its own, as only the first problem is named.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from connectors.csv_loader import CsvLoader
from connectors.errors import InputError
from tests.shared_duckdb import fresh_connection

CONTACTS = "id,email,first_name,last_name,salutation,country,company_id\n1,a@b.de,A,B,Ms,DE,\n"
DEALS_HEAD = ["id", "amount", "close_date", "won", "contact_ids", "company_ids"]
GOOD = {"id": "d1", "amount": "10", "close_date": "2024-06-01", "won": "true"}
AMOUNT_MESSAGE = (
    "is not a number like 1234.56 (a dot for decimals, at most 12 decimal places, "
    "below 100 trillion)"
)


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


@pytest.fixture
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    with fresh_connection() as connection:
        yield connection


def _load(
    con: duckdb.DuckDBPyConnection,
    folder: Path,
    deals: list[dict[str, str]],
    *,
    currency: bool = False,
    contacts: str = CONTACTS,
) -> duckdb.DuckDBPyConnection:
    head = [*DEALS_HEAD, "currency"] if currency else DEALS_HEAD
    rows = [head] + [[d.get(c, "") for c in head] for d in deals]
    (folder / "contacts.csv").write_text(contacts, encoding="utf-8")
    (folder / "deals.csv").write_text(_csv(rows), encoding="utf-8")
    CsvLoader(con, folder).load()
    return con


def _each_deal(
    factory: pytest.TempPathFactory, column: str, raws: Sequence[str]
) -> dict[str, tuple[Decimal | None, date | None, bool]]:
    """Amount, close date and won of the deal whose ``column`` was ``raw``, for every
    ``raw``: one file, one deal per value (a value is checked and typed on its own row)."""
    ids = {raw: f"d{n}" for n, raw in enumerate(raws)}
    with fresh_connection() as con:
        _load(con, factory.mktemp(column), [{**GOOD, "id": ids[r], column: r} for r in raws])
        rows = con.execute("SELECT id, amount, close_date, won FROM deals").fetchall()
    assert len(rows) == len(raws)
    by_id = {row[0]: row[1:] for row in rows}
    return {raw: by_id[ident] for raw, ident in ids.items()}


def _refusal(folder: Path, deals: list[dict[str, str]], **kw: object) -> str:
    with fresh_connection() as con, pytest.raises(InputError) as caught:
        _load(con, folder, deals, **kw)  # type: ignore[arg-type]
    return str(caught.value)


# -- amounts ------------------------------------------------------------------------------

AMOUNTS_ACCEPTED = [
    ("12", Decimal("12")),
    ("12.5", Decimal("12.5")),
    ("12.", Decimal("12")),
    ("+12", Decimal("12")),
    ("-12.5", Decimal("-12.5")),
    (".5", Decimal("0.5")),
    ("-.5", Decimal("-0.5")),
    ("+.5", Decimal("0.5")),
    ("0", Decimal("0")),
    ("-0", Decimal("0")),
    ("00012", Decimal("12")),
    ("00000000000001", Decimal("1")),  # 14 digits, leading zeros
    ("99999999999999", Decimal("99999999999999")),
    ("-99999999999999.999999999999", Decimal("-99999999999999.999999999999")),
    ("0.000000000001", Decimal("0.000000000001")),
    ("1.123456789012", Decimal("1.123456789012")),
    ("0.100000000000", Decimal("0.1")),
    (" 12.5", Decimal("12.5")),
    ("12.5 ", Decimal("12.5")),
    ("\t12.5\t", Decimal("12.5")),
    ("\n12.5\n", Decimal("12.5")),
    (" -7 ", Decimal("-7")),
    ("", None),
    ("   ", None),
    ("\t", None),
]


@pytest.fixture(scope="module")
def accepted_amounts(tmp_path_factory: pytest.TempPathFactory):
    return _each_deal(tmp_path_factory, "amount", [raw for raw, _ in AMOUNTS_ACCEPTED])


@pytest.mark.parametrize(("raw", "expected"), AMOUNTS_ACCEPTED)
def test_accepted_amount_is_loaded_exactly(accepted_amounts, raw: str, expected: Decimal | None):
    amount, _, _ = accepted_amounts[raw]
    if expected is None:
        assert amount is None
    else:
        assert amount == expected and amount.as_tuple().exponent == -12


AMOUNTS_REFUSED = [
    "1.1234567890123",  # a 13th decimal place is refused, never rounded
    "1.0000000000000",
    "0.0000000000001",
    "100000000000000",  # 10**14
    "-100000000000000",
    "000000000000001",  # 15 digits even with leading zeros
    "99999999999999.9999999999999",
    "1e3",
    "1E3",
    "1e-3",
    "1.5e2",
    "1_000",
    "1,5",
    "12;5",
    "1 000",
    ".",
    "+",
    "-",
    "+-1",
    "--1",
    "+ 1",
    "1.2.3",
    "1.5-",
    "0x10",
    "NaN",
    "nan",
    "inf",
    "-Infinity",
    "12 €",
    "$12",
    "(12)",
    "\u0661\u0662",  # Arabic-Indic digits
    "\u00a012",  # no-break space is not trimmed
    "\v12",
    "\f12",
    "12\x00",
    "true",
]


@pytest.mark.parametrize("raw", AMOUNTS_REFUSED)
def test_refused_amount_names_line_column_and_value(tmp_path: Path, raw: str):
    message = _refusal(tmp_path, [GOOD | {"id": "d0"}, {**GOOD, "amount": raw}])
    assert message == (f"deals.csv, line 3, column 'amount': amount {raw[:80]!r} {AMOUNT_MESSAGE}")


def test_a_long_bad_amount_is_shown_cut_to_80_characters(tmp_path: Path):
    raw = "1" * 100
    message = _refusal(tmp_path, [{**GOOD, "amount": raw}])
    assert message == f"deals.csv, line 2, column 'amount': amount {'1' * 80!r} {AMOUNT_MESSAGE}"


# -- dates --------------------------------------------------------------------------------

DATES_ACCEPTED = [
    ("2026-01-03", date(2026, 1, 3)),
    (" 2026-01-03 ", date(2026, 1, 3)),
    ("\t2026-01-03\n", date(2026, 1, 3)),
    ("2024-02-29", date(2024, 2, 29)),
    ("1999-12-31", date(1999, 12, 31)),
    ("0001-01-01", date(1, 1, 1)),
    ("9999-12-31", date(9999, 12, 31)),
    ("", None),
    ("  ", None),
]


@pytest.fixture(scope="module")
def accepted_dates(tmp_path_factory: pytest.TempPathFactory):
    return _each_deal(tmp_path_factory, "close_date", [raw for raw, _ in DATES_ACCEPTED])


@pytest.mark.parametrize(("raw", "expected"), DATES_ACCEPTED)
def test_accepted_date_is_loaded(accepted_dates, raw: str, expected: date | None):
    _, close_date, _ = accepted_dates[raw]
    assert close_date == expected


DATES_REFUSED = [
    "2026-1-3",
    "2026-01-3",
    "2026-1-03",
    "26-01-03",
    "02026-01-03",
    "10000-01-01",
    "2026/01/03",
    "2026.01.03",
    "20260103",
    "2026-02-30",
    "2023-02-29",
    "2026-13-01",
    "2026-00-10",
    "2026-01-00",
    "2026-01-32",
    "-202-01-01",
    "+2026-01-03",
    "2026-01-03T00:00:00",
    "2026-01-03 00:00:00",
    "2026-01-03 (BC)",
    "2026-01-03Z",
    "01.02.2024",
    "03/01/2026",
    "today",
    "epoch",
    "infinity",
    "-infinity",
    "2026-01-0\u0663",
    "\v2026-01-03",
    "2026 -01-03",
    "true",
]


@pytest.mark.parametrize("raw", DATES_REFUSED)
def test_refused_date_names_line_column_and_value(tmp_path: Path, raw: str):
    message = _refusal(tmp_path, [{**GOOD, "close_date": raw}])
    assert message == (
        f"deals.csv, line 2, column 'close_date': close_date {raw!r} is not a date as YYYY-MM-DD"
    )


def test_year_zero_is_accepted_as_1_bc(con: duckdb.DuckDBPyConnection, tmp_path: Path):
    """What the date cast makes of year 0 (the regular expression lets it through)."""
    _load(con, tmp_path, [{**GOOD, "close_date": "0000-01-01"}])
    assert con.execute("SELECT CAST(close_date AS VARCHAR) FROM deals").fetchall() == [
        ("0001-01-01 (BC)",)
    ]


# -- won ----------------------------------------------------------------------------------

WON_ACCEPTED = [
    ("true", True),
    ("false", False),
    ("TRUE", True),
    ("False", False),
    ("tRuE", True),
    (" TRUE", True),
    ("true\t", True),
    ("\nfalse\n", False),
]


@pytest.fixture(scope="module")
def accepted_won(tmp_path_factory: pytest.TempPathFactory):
    return _each_deal(tmp_path_factory, "won", [raw for raw, _ in WON_ACCEPTED])


@pytest.mark.parametrize(("raw", "expected"), WON_ACCEPTED)
def test_accepted_won_is_loaded(accepted_won, raw: str, expected: bool):
    _, _, won = accepted_won[raw]
    assert won is expected


WON_REFUSED = [
    "",
    "  ",
    "t",
    "f",
    "T",
    "1",
    "0",
    "yes",
    "no",
    "y",
    "n",
    "on",
    "off",
    "truee",
    "true false",
    "tru",
    "\vtrue",
    "\u00a0true",
    "null",
    "NULL",
]


@pytest.mark.parametrize("raw", WON_REFUSED)
def test_refused_won_names_line_column_and_value(tmp_path: Path, raw: str):
    message = _refusal(tmp_path, [{**GOOD, "won": raw}])
    assert message == f"deals.csv, line 2, column 'won': won {raw!r} must be true or false"


def test_a_quoted_empty_won_is_refused_like_an_empty_one(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
):
    (tmp_path / "contacts.csv").write_text(CONTACTS, encoding="utf-8")
    (tmp_path / "deals.csv").write_text(
        ",".join(DEALS_HEAD) + '\nd1,1,2024-06-01,"",1,\n', encoding="utf-8"
    )
    with pytest.raises(InputError) as caught:
        CsvLoader(con, tmp_path).load()
    assert str(caught.value) == "deals.csv, line 2, column 'won': won '' must be true or false"


# -- currency -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"), [("EUR", "EUR"), ("eur", "EUR"), (" usd\t", "USD"), ("", None)]
)
def test_accepted_currency(
    con: duckdb.DuckDBPyConnection, tmp_path: Path, raw: str, expected: str | None
):
    # one load per value: two currencies in one file without rates are refused
    _load(con, tmp_path, [{**GOOD, "currency": raw}], currency=True)
    assert con.execute("SELECT count(*) FROM deals").fetchone() == (1,)
    # one currency and no rates: nothing to convert, so nothing is recorded per deal
    assert con.execute("SELECT count(*) FROM deal_currencies").fetchone() == (0,)


@pytest.mark.parametrize("raw", ["EU", "EURO", "€", "12E", "E U", "\u00a0EUR", "E-R"])
def test_refused_currency(tmp_path: Path, raw: str):
    message = _refusal(tmp_path, [{**GOOD, "currency": raw}], currency=True)
    assert message == (
        f"deals.csv, line 2, column 'currency': currency {raw!r} is not a three-letter "
        "ISO 4217 code like EUR"
    )


# -- ids ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        (["d1", ""], "deals.csv, line 3, column 'id': empty id"),
        (["d1", " \t"], "deals.csv, line 3, column 'id': empty id"),
        (["d1", "d1"], "deals.csv, line 3, column 'id': duplicate id 'd1'"),
        (["d1", "d2", " d1"], "deals.csv, line 4, column 'id': duplicate id ' d1'"),
        (["d1", "D1"], None),  # ids are case-sensitive
    ],
)
def test_deal_ids(tmp_path: Path, ids: list[str], message: str | None):
    deals = [{**GOOD, "id": i} for i in ids]
    if message is None:
        with fresh_connection() as con:
            _load(con, tmp_path, deals)
            assert con.execute("SELECT id FROM deals ORDER BY id").fetchall() == [("D1",), ("d1",)]
    else:
        assert _refusal(tmp_path, deals) == message


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("1,a,A,B,Ms,DE,\n,b,A,B,Ms,DE,\n", "contacts.csv, line 3, column 'id': empty id"),
        (
            "1,a,A,B,Ms,DE,\n1 ,b,A,B,Ms,DE,\n",
            "contacts.csv, line 3, column 'id': duplicate id '1 '",
        ),
    ],
)
def test_contact_ids(tmp_path: Path, rows: str, message: str):
    contacts = CONTACTS.splitlines(keepends=True)[0] + rows
    assert _refusal(tmp_path, [GOOD], contacts=contacts) == message


def test_contact_and_deal_ids_are_trimmed(con: duckdb.DuckDBPyConnection, tmp_path: Path):
    contacts = CONTACTS.splitlines(keepends=True)[0] + " 1\t,a,A,B,Ms,DE, k1 \n"
    _load(con, tmp_path, [{**GOOD, "id": "\td1 ", "contact_ids": "1"}], contacts=contacts)
    assert con.execute("SELECT id, company_id FROM contacts").fetchall() == [("1", "k1")]
    assert con.execute("SELECT id FROM deals").fetchall() == [("d1",)]
    assert con.execute("SELECT deal_id, contact_id FROM deal_contacts").fetchall() == [("d1", "1")]


# -- which problem is named first ---------------------------------------------------------


@pytest.mark.parametrize(
    ("deals", "message"),
    [
        # every value check after the id checks, whatever the lines
        (
            [{**GOOD, "id": "d1", "won": "yes"}, {**GOOD, "id": "d1"}],
            "deals.csv, line 3, column 'id': duplicate id 'd1'",
        ),
        (
            [{**GOOD, "id": "d1", "amount": "x"}, {**GOOD, "id": ""}],
            "deals.csv, line 3, column 'id': empty id",
        ),
        (
            [{**GOOD, "id": "", "won": "1"}, {**GOOD, "id": "d1"}, {**GOOD, "id": "d1"}],
            "deals.csv, line 2, column 'id': empty id",
        ),
        # then amount, date, won in that order: an amount on a later line comes first
        (
            [
                {**GOOD, "id": "d1", "won": "1"},
                {**GOOD, "id": "d2", "close_date": "2024-1-1"},
                {**GOOD, "id": "d3", "amount": "1e2"},
            ],
            f"deals.csv, line 4, column 'amount': amount '1e2' {AMOUNT_MESSAGE}",
        ),
        (
            [{**GOOD, "id": "d1", "won": "1"}, {**GOOD, "id": "d2", "close_date": "x"}],
            "deals.csv, line 3, column 'close_date': close_date 'x' is not a date as YYYY-MM-DD",
        ),
        # the first of several bad values in one column
        (
            [
                {**GOOD, "id": "d1"},
                {**GOOD, "id": "d2", "won": "no"},
                {**GOOD, "id": "d3", "won": "yes"},
            ],
            "deals.csv, line 3, column 'won': won 'no' must be true or false",
        ),
    ],
)
def test_the_first_problem_in_check_order_is_named(
    tmp_path: Path, deals: list[dict[str, str]], message: str
):
    assert _refusal(tmp_path, deals) == message


def test_the_line_counts_quoted_line_breaks(tmp_path: Path):
    deals = [{**GOOD, "id": "d0", "contact_ids": "1;\n2\n"}, {**GOOD, "amount": "1.5.5"}]
    assert _refusal(tmp_path, deals) == (
        f"deals.csv, line 5, column 'amount': amount '1.5.5' {AMOUNT_MESSAGE}"
    )


def test_a_currency_is_checked_after_won(tmp_path: Path):
    deals = [{**GOOD, "id": "d1", "currency": "EURO"}, {**GOOD, "id": "d2", "won": "t"}]
    assert _refusal(tmp_path, deals, currency=True) == (
        "deals.csv, line 3, column 'won': won 't' must be true or false"
    )


# -- id lists -----------------------------------------------------------------------------


ID_LISTS = [
    ("1", "", ["1"], []),
    ("1;2", "k1", ["1", "2"], ["k1"]),
    (" 1 ; 2 ", " k1 ;k2", ["1", "2"], ["k1", "k2"]),
    ("\t1\n;\n2", "k1\t", ["1", "2"], ["k1"]),
    ("1;;2;", ";k1;", ["1", "2"], ["k1"]),
    (";", ";;", [], []),
    (" ; ", " ", [], []),
    ("1;1", "k1;k1", ["1", "1"], ["k1", "k1"]),  # repeats are kept as they are
    ("1; 1", "", ["1", "1"], []),
    ("1,2", "", ["1,2"], []),  # only ';' separates
    ("a b", "", ["a b"], []),
    ("\u00a01", "", ["\u00a01"], []),
    ("", "", [], []),
]


@pytest.fixture(scope="module")
def links(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[list[tuple[str, str]]]]:
    """The deal_contacts and deal_companies rows of each case's deal (``d<case>``), all
    cases in one file."""
    deals = [
        {**GOOD, "id": f"d{n}", "contact_ids": contact_ids, "company_ids": company_ids}
        for n, (contact_ids, company_ids, _, _) in enumerate(ID_LISTS)
    ]
    with fresh_connection() as con:
        _load(con, tmp_path_factory.mktemp("links"), deals)
        out: dict[str, list[list[tuple[str, str]]]] = {d["id"]: [[], []] for d in deals}
        for k, (table, column) in enumerate(
            (("deal_contacts", "contact_id"), ("deal_companies", "company_id"))
        ):
            for deal_id, ref in con.execute(
                f"SELECT deal_id, {column} FROM {table} ORDER BY ALL"
            ).fetchall():
                out[deal_id][k].append((deal_id, ref))
    return out


@pytest.mark.parametrize(("contact_ids", "company_ids", "contacts", "companies"), ID_LISTS)
def test_id_lists_become_links(
    links, contact_ids: str, company_ids: str, contacts: list[str], companies: list[str]
):
    deal_id = f"d{ID_LISTS.index((contact_ids, company_ids, contacts, companies))}"
    linked_contacts, linked_companies = links[deal_id]
    assert linked_contacts == sorted((deal_id, c) for c in contacts)
    assert linked_companies == sorted((deal_id, c) for c in companies)


def _write_contacts_and_deals(tmp_path: Path, contacts: str, deals: list[dict[str, str]]) -> None:
    head = ",".join(DEALS_HEAD)
    (tmp_path / "contacts.csv").write_text(contacts, encoding="utf-8")
    (tmp_path / "deals.csv").write_text(
        head + "\n" + _csv([[d.get(c, "") for c in DEALS_HEAD] for d in deals]), encoding="utf-8"
    )


def test_dangling_ids_are_counted(con: duckdb.DuckDBPyConnection, tmp_path: Path):
    contacts = CONTACTS.splitlines(keepends=True)[0] + "1,a,A,B,Ms,DE,k1\n2,b,A,B,Ms,DE,k9\n"
    (tmp_path / "companies.csv").write_text("id,name\nk1,K\nk2,L\n", encoding="utf-8")
    deals = [
        {**GOOD, "id": "d1", "contact_ids": "1;3;3", "company_ids": "k1;k3"},
        {**GOOD, "id": "d2", "contact_ids": "4", "company_ids": "k2"},
    ]
    _write_contacts_and_deals(tmp_path, contacts, deals)
    report = CsvLoader(con, tmp_path).load()
    assert report == {
        "dangling_deal_contacts": 3,
        "dangling_deal_companies": 1,
        "contacts_with_unknown_company": 1,
    }


def test_dangling_ids_without_companies_file(con: duckdb.DuckDBPyConnection, tmp_path: Path):
    # The companies are made from the ids named, so none of them dangles; contacts still do.
    contacts = CONTACTS.splitlines(keepends=True)[0] + "1,a,A,B,Ms,DE,k1\n2,b,A,B,Ms,DE,\n"
    deals = [
        {**GOOD, "id": "d1", "contact_ids": "1;3;3", "company_ids": "k1;k3"},
        {**GOOD, "id": "d2", "contact_ids": "2;4", "company_ids": "k2"},
    ]
    _write_contacts_and_deals(tmp_path, contacts, deals)
    report = CsvLoader(con, tmp_path).load()
    assert report == {
        "dangling_deal_contacts": 3,
        "dangling_deal_companies": 0,
        "contacts_with_unknown_company": 0,
    }
    assert con.execute(
        "SELECT count(*) FROM deal_companies d ANTI JOIN companies k ON k.id = d.company_id"
    ).fetchone() == (0,)


def test_links_carry_the_keys_of_their_ends(con: duckdb.DuckDBPyConnection, tmp_path: Path):
    # A record's key is its place in its file (from 0); a link to an unknown id has none.
    contacts = CONTACTS.splitlines(keepends=True)[0] + "1,a,A,B,Ms,DE,k2\n2,b,A,B,Ms,DE,\n"
    (tmp_path / "companies.csv").write_text("id,name\nk1,K\nk2,L\n", encoding="utf-8")
    deals = [
        {**GOOD, "id": "d1", "contact_ids": "2;3;2", "company_ids": "k3"},
        {**GOOD, "id": "d2", "contact_ids": "1", "company_ids": "k2;k1"},
    ]
    _write_contacts_and_deals(tmp_path, contacts, deals)
    CsvLoader(con, tmp_path).load()
    assert con.execute("SELECT id, key FROM contacts ORDER BY id").fetchall() == [
        ("1", 0),
        ("2", 1),
    ]
    assert con.execute("SELECT id, key FROM deals ORDER BY id").fetchall() == [("d1", 0), ("d2", 1)]
    assert con.execute("SELECT id, key FROM companies ORDER BY id").fetchall() == [
        ("k1", 0),
        ("k2", 1),
    ]
    assert con.execute("SELECT * FROM deal_contacts ORDER BY ALL").fetchall() == [
        ("d1", "2", 0, 1),
        ("d1", "2", 0, 1),
        ("d1", "3", 0, None),
        ("d2", "1", 1, 0),
    ]
    # a company link carries its deal's key only
    assert con.execute("SELECT * FROM deal_companies ORDER BY ALL").fetchall() == [
        ("d1", "k3", 0),
        ("d2", "k1", 1),
        ("d2", "k2", 1),
    ]


def test_without_companies_file_the_named_companies_get_keys(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
):
    contacts = CONTACTS.splitlines(keepends=True)[0] + "1,a,A,B,Ms,DE,k1\n2,b,A,B,Ms,DE,k9\n"
    deals = [
        {**GOOD, "id": "d1", "contact_ids": "1", "company_ids": "k2;k1"},
        {**GOOD, "id": "d2", "contact_ids": "2", "company_ids": "k2"},
    ]
    _write_contacts_and_deals(tmp_path, contacts, deals)
    CsvLoader(con, tmp_path).load()
    keys = dict(con.execute("SELECT id, key FROM companies").fetchall())
    assert sorted(keys) == ["k1", "k2", "k9"]
    assert sorted(keys.values()) == [0, 1, 2]
    assert con.execute("SELECT * FROM deal_companies ORDER BY ALL").fetchall() == [
        ("d1", "k1", 0),
        ("d1", "k2", 0),
        ("d2", "k2", 1),
    ]


def test_without_companies_file_every_named_company_exists(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
):
    contacts = CONTACTS.splitlines(keepends=True)[0] + "1,a,A,B,Ms,DE,k1\n2,b,A,B,Ms,DE, k9\n"
    _load(con, tmp_path, [{**GOOD, "contact_ids": "1", "company_ids": "k2; k1"}], contacts=contacts)
    assert con.execute("SELECT id, name FROM companies ORDER BY id").fetchall() == [
        ("k1", None),
        ("k2", None),
        ("k9", None),
    ]


def test_other_columns_keep_their_text(con: duckdb.DuckDBPyConnection, tmp_path: Path):
    contacts = CONTACTS.splitlines(keepends=True)[0] + "1, a@b.de ,,  B\t,Ms,DE,\n"
    _load(con, tmp_path, [GOOD], contacts=contacts)
    assert con.execute(
        "SELECT email, first_name, last_name, salutation, country FROM contacts"
    ).fetchall() == [(" a@b.de ", None, "  B\t", "Ms", "DE")]


def test_properties_keep_their_text_and_skip_empty_cells(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
):
    (tmp_path / "contacts.csv").write_text(
        "id,email,first_name,last_name,salutation,country,company_id,topics\n"
        "1,a,A,B,Ms,DE,, eco \n2,a,A,B,Ms,DE,,\n",
        encoding="utf-8",
    )
    (tmp_path / "deals.csv").write_text(
        ",".join(DEALS_HEAD) + ",line\nd1,1,2024-06-01,true,1,,\tSolar\nd2,1,2024-06-01,true,1,,\n",
        encoding="utf-8",
    )
    CsvLoader(con, tmp_path).load(["topics"], ["line"])
    assert con.execute("SELECT * FROM contact_properties").fetchall() == [("1", "topics", " eco ")]
    assert con.execute("SELECT * FROM deal_properties").fetchall() == [("d1", "line", "\tSolar")]


def test_bad_utf8_in_a_column_crmseg_does_not_use_is_still_refused(
    con: duckdb.DuckDBPyConnection, tmp_path: Path
):
    """Past the first MiB (which is checked up front), in a column no rule reads."""
    (tmp_path / "contacts.csv").write_text(CONTACTS, encoding="utf-8")
    body = b"d%d,1,2024-06-01,true,1,,x\n"
    rows = b"".join(body % i for i in range(60_000))
    (tmp_path / "deals.csv").write_bytes(
        (",".join(DEALS_HEAD) + ",stage\n").encode() + rows + b"d-1,1,2024-06-01,true,1,,\xff\n"
    )
    with pytest.raises(InputError) as caught:
        CsvLoader(con, tmp_path).load()
    assert str(caught.value) == "deals.csv: not valid UTF-8"


def _tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[object, ...]]]:
    names = ["contacts", "deals", "deal_contacts", "deal_companies", "companies"]
    names += ["contact_properties", "deal_properties", "company_properties"]
    return {n: con.execute(f"SELECT * FROM {n}").fetchall() for n in names}


def test_the_text_path_loads_the_same_tables_as_the_typed_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """Should the typed read ever stop where the text checks find nothing, the files
    are loaded from the text tables, to the same result."""
    (tmp_path / "contacts.csv").write_text(
        "id,email,first_name,last_name,salutation,country,company_id,topics\n"
        " 1,a,A,B,Ms,DE,k1 ,eco\n2,b,,,,,,\n",
        encoding="utf-8",
    )
    (tmp_path / "companies.csv").write_text("id,name,size\nk1,K,big\n", encoding="utf-8")
    deals = [
        {**GOOD, "id": "d1", "amount": " 1.5", "contact_ids": "1; 2", "company_ids": "k1"},
        {**GOOD, "id": "d2", "amount": "", "close_date": "", "won": " FALSE", "contact_ids": ""},
    ]
    rows = [[*DEALS_HEAD, "line"]] + [[d.get(c, "") for c in DEALS_HEAD] + ["x"] for d in deals]
    (tmp_path / "deals.csv").write_text(_csv(rows), encoding="utf-8")
    with fresh_connection() as typed, fresh_connection() as text:
        report = CsvLoader(typed, tmp_path).load(["topics"], ["line"], ["size"])

        def stop(self: CsvLoader, has_companies: bool) -> None:
            raise duckdb.InvalidInputException("stopped")

        monkeypatch.setattr(CsvLoader, "_check_ids", stop)
        assert CsvLoader(text, tmp_path).load(["topics"], ["line"], ["size"]) == report
        assert _tables(text) == _tables(typed)
        # deal d1 is the first deal (key 0), contacts 1 and 2 the first two (keys 0, 1)
        assert _tables(typed)["deal_contacts"] == [("d1", "1", 0, 0), ("d1", "2", 0, 1)]
        left = "SELECT count(*) FROM duckdb_tables() WHERE temporary"
        assert text.execute(left).fetchone() == typed.execute(left).fetchone() == (0,)
