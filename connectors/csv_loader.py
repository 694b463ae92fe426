"""Loading a directory of CSV exports into the segmentation's input tables.

The files are parsed by DuckDB (fast enough for millions of rows) and validated
in SQL; only when a value is bad is the file scanned again (:mod:`.csv_file`)
to name the line of the offending record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb

from connectors.csv_file import (
    MAX_RECORD_BYTES,
    CsvFile,
    find_malformed_record,
    inspect_csv,
    mixed_line_endings,
    quote_identifier,
    record_line,
)
from connectors.errors import InputError
from segmentation.inputs import AMOUNT_TYPE, create_input_tables

CONTACT_COLUMNS = ("id", "email", "first_name", "last_name", "salutation", "country", "company_id")
#: Optional contact columns (a postcard needs all three; ``missing_address`` checks them).
ADDRESS_COLUMNS = ("street", "postal_code", "city")
DEAL_COLUMNS = ("id", "amount", "close_date", "won", "contact_ids", "company_ids")
COMPANY_COLUMNS = ("id", "name")

#: Plain decimals, at most 12 places, below 10**14 in magnitude (what DECIMAL(38, 12)
#: can sum exactly after splitting).
AMOUNT_PATTERN = r"^[+-]?([0-9]{1,14}(\.[0-9]{0,12})?|\.[0-9]{1,12})$"
DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
WHITESPACE = " \t\n\r"
_WS = f"'{WHITESPACE}'"


@dataclass(frozen=True)
class Check:
    """A record is bad where ``condition`` (SQL over the raw text columns) holds."""

    column: str
    condition: str
    message: str


EMPTY_ID = Check("id", f"trim(COALESCE(id, ''), {_WS}) = ''", "empty id")
DEAL_CHECKS = [
    Check(
        "amount",
        f"trim(COALESCE(amount, ''), {_WS}) <> '' AND NOT regexp_full_match("
        f"trim(amount, {_WS}), '{AMOUNT_PATTERN}')",
        "amount {value!r} is not a number like 1234.56 (a dot for decimals, at most 12 "
        "decimal places, below 100 trillion)",
    ),
    Check(
        "close_date",
        f"trim(COALESCE(close_date, ''), {_WS}) <> '' AND (NOT regexp_full_match("
        f"trim(close_date, {_WS}), '{DATE_PATTERN}') OR "
        f"try_cast(trim(close_date, {_WS}) AS DATE) IS NULL)",
        "close_date {value!r} is not a date as YYYY-MM-DD",
    ),
    Check(
        "won",
        f"lower(trim(COALESCE(won, ''), {_WS})) NOT IN ('true', 'false')",
        "won {value!r} must be true or false",
    ),
]


CURRENCY_CHECK = Check(
    "currency",
    f"trim(COALESCE(currency, ''), {_WS}) <> '' AND NOT regexp_full_match("
    f"trim(currency, {_WS}), '[A-Za-z]{{3}}')",
    "currency {value!r} is not a three-letter ISO 4217 code like EUR",
)


class CsvLoader:
    """Loads one directory of CSV files into the segmentation's input tables."""

    def __init__(self, con: duckdb.DuckDBPyConnection, directory: Path) -> None:
        self.con = con
        self.directory = directory

    # -- raw tables -------------------------------------------------------------------------

    def _read_raw(self, csv_file: CsvFile, table: str) -> None:
        """Read a whole file as text columns named by its header, in one parallel pass."""
        try:
            self.con.execute(
                f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM read_csv($path, "
                "header = true, all_varchar = true, delim = $delim, quote = '\"', escape = '\"', "
                "auto_detect = false, columns = $columns, encoding = 'utf-8', "
                "max_line_size = $max_line)",
                {
                    "path": str(csv_file.path),
                    "delim": csv_file.delimiter,
                    "columns": {name: "VARCHAR" for name in csv_file.header},
                    "max_line": MAX_RECORD_BYTES,
                },
            )
        except duckdb.Error as exc:
            problem = mixed_line_endings(csv_file) or find_malformed_record(csv_file)
            if problem is not None:
                raise problem from None
            first = (str(exc).strip().splitlines() or ["unknown problem"])[0]
            first = first.removeprefix("Invalid Input Error: ").removeprefix("Conversion Error: ")
            raise InputError(
                f"could not be read as CSV ({first[:200]})", file=csv_file.name
            ) from None

    def _validate(self, csv_file: CsvFile, table: str, checks: Sequence[Check] = ()) -> None:
        """Check ids (none empty, none repeated) and ``checks`` in one scan; only when one
        fails, number the records (file order) to name the first offending one."""
        checks = [EMPTY_ID, *checks]
        hits = self.con.execute(
            "SELECT "
            + ", ".join(f"count(*) FILTER (WHERE {c.condition})" for c in checks)
            + f", count(DISTINCT trim(id, {_WS})) < count(*) FROM {table}"
        ).fetchone()
        assert hits is not None
        if not any(hits):
            return
        numbered = f"{table}_numbered"
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {numbered} AS "
            f"SELECT row_number() OVER () - 1 AS _row, * FROM {table}"
        )
        duplicate = Check(
            "id",
            f"_row IN (SELECT _row FROM (SELECT _row, row_number() OVER "
            f"(PARTITION BY trim(id, {_WS}) ORDER BY _row) AS n FROM {numbered}) "
            "WHERE n > 1)",
            "duplicate id {value!r}",
        )
        # Ids first (empty, then repeated), then the value checks in their order.
        for check in (EMPTY_ID, duplicate, *checks[1:]):
            self._first_bad(csv_file, numbered, check)

    def _first_bad(self, csv_file: CsvFile, table: str, check: Check) -> None:
        """Raise an InputError naming the first record of ``table`` failing ``check``."""
        row = self.con.execute(
            f"SELECT _row, {quote_identifier(check.column)} FROM {table} "
            f"WHERE {check.condition} ORDER BY _row LIMIT 1"
        ).fetchone()
        if row is not None:
            value = "" if row[1] is None else str(row[1])
            raise InputError(
                check.message.format(value=value[:80]),
                file=csv_file.name,
                line=record_line(csv_file, int(row[0])),
                column=check.column,
            )

    # -- public -----------------------------------------------------------------------------

    def _currencies(
        self,
        deals: CsvFile,
        currency: str | None,
        rates: Mapping[str, Decimal] | None,
    ) -> bool:
        """Check the deals' currencies against the rates (docs/SEGMENTS.md "One currency");
        returns whether amounts must be converted (then ``deal_currencies`` is filled)."""
        has_column = "currency" in deals.header
        if not has_column and not rates:
            return False
        code = (
            f"COALESCE(nullif(upper(trim(currency, {_WS})), ''), $default)"
            if has_column
            else "CAST($default AS VARCHAR)"
        )
        self.con.execute(
            "CREATE OR REPLACE TEMP TABLE raw_deal_currencies AS "
            f"SELECT row_number() OVER () - 1 AS _row, trim(id, {_WS}) AS deal_id, {code} AS code "
            "FROM raw_deals",
            {"default": currency},
        )
        firsts = self.con.execute(
            "SELECT code, min(_row) FROM raw_deal_currencies GROUP BY code ORDER BY code NULLS FIRST"
        ).fetchall()
        if rates:
            problems = [(c, row) for c, row in firsts if c is None or c not in rates]
            problem = "have no rate in [segmentation] currency_rates"
        else:
            problems = firsts if len(firsts) > 1 else []
            problem = "are more than one currency and [segmentation] currency_rates gives no rates"
        if problems:
            named = ", ".join(
                f"{c or '(empty cell)'} (first on line {record_line(deals, int(row))})"
                for c, row in problems
            )
            hint = (
                "; set [segmentation] currency for the currency of empty cells"
                if any(c is None for c, _ in problems)
                else ""
            )
            raise InputError(
                f"the deals' currencies {named} {problem}{hint}", file=deals.name, column="currency"
            )
        return bool(rates)

    def load(
        self,
        contact_properties: Sequence[str] = (),
        deal_properties: Sequence[str] = (),
        company_properties: Sequence[str] = (),
        *,
        currency: str | None = None,
        currency_rates: Mapping[str, Decimal] | None = None,
    ) -> dict[str, int]:
        """Validate and load every file; returns counts of what was loaded and dropped.

        ``currency`` is the currency of an empty ``currency`` cell; with
        ``currency_rates`` the deals' amounts are converted (exactly, by the
        segmentation) into the reporting currency.
        """
        contacts = inspect_csv(self.directory / "contacts.csv", CONTACT_COLUMNS)
        deals = inspect_csv(self.directory / "deals.csv", DEAL_COLUMNS)
        companies_path = self.directory / "companies.csv"
        companies = (
            inspect_csv(companies_path, COMPANY_COLUMNS) if companies_path.exists() else None
        )
        for prop in contact_properties:
            if prop not in contacts.header:
                raise InputError(
                    f"an interest rule names contact property {prop!r}, which is not a column",
                    file=contacts.name,
                    line=1,
                )
        for prop in deal_properties:
            if prop not in deals.header:
                raise InputError(
                    f"an interest rule names deal property {prop!r}, which is not a column",
                    file=deals.name,
                    line=1,
                )
        for prop in company_properties:
            if companies is None:
                raise InputError(
                    f"a property family names company property {prop!r}, but there is no "
                    "companies.csv",
                    file=str(companies_path),
                )
            if prop not in companies.header:
                raise InputError(
                    f"a property family names company property {prop!r}, which is not a column",
                    file=companies.name,
                    line=1,
                )

        self._read_raw(contacts, "raw_contacts")
        self._read_raw(deals, "raw_deals")
        if companies is not None:
            self._read_raw(companies, "raw_companies")
        if self.con.execute("SELECT count(*) FROM raw_contacts").fetchone() == (0,):
            raise InputError("no contacts (the file has only a header)", file=contacts.name)

        self._validate(contacts, "raw_contacts")
        deal_checks = [*DEAL_CHECKS, CURRENCY_CHECK] if "currency" in deals.header else DEAL_CHECKS
        self._validate(deals, "raw_deals", deal_checks)
        if companies is not None:
            self._validate(companies, "raw_companies")
        convert = self._currencies(deals, currency, currency_rates)

        create_input_tables(self.con)
        con = self.con
        address = ", ".join(
            quote_identifier(c) if c in contacts.header else "NULL" for c in ADDRESS_COLUMNS
        )
        con.execute(
            f"INSERT INTO contacts SELECT trim(id, {_WS}), email, first_name, last_name, salutation, "
            f"country, nullif(trim(company_id, {_WS}), ''), {address} FROM raw_contacts"
        )
        if convert:
            con.execute("INSERT INTO deal_currencies SELECT deal_id, code FROM raw_deal_currencies")
        con.execute(
            f"INSERT INTO deals SELECT trim(id, {_WS}), "
            f"CAST(nullif(trim(amount, {_WS}), '') AS {AMOUNT_TYPE}), "
            f"CAST(nullif(trim(close_date, {_WS}), '') AS DATE), "
            f"lower(trim(won, {_WS})) = 'true' FROM raw_deals"
        )
        for column, table, target in (
            ("contact_ids", "deal_contacts", "contact_id"),
            ("company_ids", "deal_companies", "company_id"),
        ):
            con.execute(
                f"INSERT INTO {table} (deal_id, {target}) "
                f"SELECT deal_id, ref FROM (SELECT trim(id, {_WS}) AS deal_id, "
                f"trim(unnest(string_split({column}, ';')), {_WS}) AS ref FROM raw_deals "
                f"WHERE {column} IS NOT NULL) WHERE ref <> ''"
            )
        if companies is not None:
            con.execute(f"INSERT INTO companies SELECT trim(id, {_WS}), name FROM raw_companies")
        else:
            con.execute(
                "INSERT INTO companies SELECT id, NULL FROM (SELECT company_id AS id FROM contacts "
                "WHERE company_id IS NOT NULL UNION SELECT company_id FROM deal_companies)"
            )
        for prop in dict.fromkeys(company_properties):
            con.execute(
                f"INSERT INTO company_properties SELECT trim(id, {_WS}), $name, "
                f"{quote_identifier(prop)} FROM raw_companies "
                f"WHERE {quote_identifier(prop)} IS NOT NULL",
                {"name": prop},
            )
        for prop in dict.fromkeys(contact_properties):
            con.execute(
                f"INSERT INTO contact_properties SELECT trim(id, {_WS}), $name, "
                f"{quote_identifier(prop)} FROM raw_contacts WHERE {quote_identifier(prop)} IS NOT NULL",
                {"name": prop},
            )
        for prop in dict.fromkeys(deal_properties):
            con.execute(
                f"INSERT INTO deal_properties SELECT trim(id, {_WS}), $name, "
                f"{quote_identifier(prop)} FROM raw_deals WHERE {quote_identifier(prop)} IS NOT NULL",
                {"name": prop},
            )
        dangling = con.execute(
            "SELECT (SELECT count(*) FROM deal_contacts WHERE contact_id NOT IN "
            "(SELECT id FROM contacts)), (SELECT count(*) FROM deal_companies WHERE company_id NOT "
            "IN (SELECT id FROM companies)), (SELECT count(*) FROM contacts c WHERE c.company_id IS NOT "
            "NULL AND NOT EXISTS (SELECT 1 FROM companies k WHERE k.id = c.company_id))"
        ).fetchone()
        assert dangling is not None
        for table in (
            "raw_contacts",
            "raw_deals",
            "raw_companies",
            "raw_contacts_numbered",
            "raw_deals_numbered",
            "raw_companies_numbered",
            "raw_deal_currencies",
        ):
            con.execute(f"DROP TABLE IF EXISTS {table}")
        return {
            "dangling_deal_contacts": int(dangling[0]),
            "dangling_deal_companies": int(dangling[1]),
            "contacts_with_unknown_company": int(dangling[2]),
        }
