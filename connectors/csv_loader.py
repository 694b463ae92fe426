"""Loading a directory of CSV exports into the segmentation's input tables.

The files are parsed by DuckDB (fast enough for millions of rows) and typed in the
same pass: each value is first tried in its plain form (an amount matching the pattern
as it stands, a date that prints back as itself, ``true``/``false``), which needs no
trimming; only a value that is not plain meets the full check (trimmed, then the
pattern). A value the full check refuses stops the read; then the files are read
again as text and checked record by record in file order, only to word the message
for the first bad one and name its line (:mod:`.csv_file`).
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


def _trimmed(column: str) -> str:
    """``column`` trimmed of WHITESPACE; the trim (slow on every value) runs only on a
    value that starts or ends with one of those characters."""
    edges = " OR ".join(
        f"{f}({column}, chr({ord(c)}))" for f in ("prefix", "suffix") for c in WHITESPACE
    )
    return f"CASE WHEN {edges} THEN trim({column}, {_WS}) ELSE {column} END"


def _stop(check: Check) -> str:
    """Stops the typed read; the text path then names the record."""
    return f"error('bad {check.column}')"


def split_ids(column: str) -> str:
    """The ``;``-separated ids of ``column`` as a list, each trimmed (only when the cell
    has whitespace at all); empty elements are left for the caller to drop."""
    blank = " OR ".join(f"contains({column}, chr({ord(c)}))" for c in WHITESPACE)
    return (
        f"CASE WHEN {blank} THEN list_transform(string_split({column}, ';'), "
        f"lambda e: trim(e, {_WS})) ELSE string_split({column}, ';') END"
    )


def _links(column: str) -> str:
    """The deals' links named in ``column`` (``deal_id``, ``deal_key``, ``ref``), one row
    per non-empty element, repeats kept, as a subquery of ``stage_deals``."""
    return (
        f"(SELECT deal_id, deal_key, ref FROM (SELECT id AS deal_id, rowid AS deal_key, "
        f"unnest({split_ids(column)}) AS ref FROM stage_deals WHERE {column} IS NOT NULL) "
        "WHERE ref <> '')"
    )


AMOUNT, CLOSE_DATE, WON = DEAL_CHECKS
#: The typed value of each deal column: the plain form first, then the full check.
DEAL_VALUES = {
    "amount": (
        f"CASE WHEN amount IS NULL THEN NULL "
        f"WHEN regexp_full_match(amount, '{AMOUNT_PATTERN}') THEN CAST(amount AS {AMOUNT_TYPE}) "
        f"WHEN {AMOUNT.condition} THEN {_stop(AMOUNT)} "
        f"ELSE CAST(nullif(trim(amount, {_WS}), '') AS {AMOUNT_TYPE}) END"
    ),
    # A date from year 1 to 9999 prints as YYYY-MM-DD: ten characters that print back as
    # themselves match DATE_PATTERN and are a real date.
    "close_date": (
        "CASE WHEN close_date IS NULL THEN NULL "
        "WHEN strlen(close_date) = 10 AND CAST(_date AS VARCHAR) = close_date THEN _date "
        f"WHEN {CLOSE_DATE.condition} THEN {_stop(CLOSE_DATE)} "
        f"ELSE CAST(nullif(trim(close_date, {_WS}), '') AS DATE) END"
    ),
    "won": (
        "CASE won WHEN 'true' THEN true WHEN 'false' THEN false "
        f"ELSE CASE lower(trim(COALESCE(won, ''), {_WS})) WHEN 'true' THEN true "
        f"WHEN 'false' THEN false ELSE {_stop(WON)} END END"
    ),
    "currency": f"CASE WHEN {CURRENCY_CHECK.condition} THEN {_stop(CURRENCY_CHECK)} "
    "ELSE currency END",
}


STAGED = ("stage_contacts", "stage_deals", "stage_companies")
READ_CSV = (
    "read_csv($path, header = true, all_varchar = true, delim = $delim, quote = '\"', "
    "escape = '\"', auto_detect = false, columns = $columns, encoding = 'utf-8', "
    "max_line_size = $max_line)"
)


def _read_parameters(csv_file: CsvFile) -> dict[str, object]:
    return {
        "path": str(csv_file.path),
        "delim": csv_file.delimiter,
        "columns": {name: "VARCHAR" for name in csv_file.header},
        "max_line": MAX_RECORD_BYTES,
    }


@dataclass(frozen=True)
class _Properties:
    """The property columns the rules read, per file, each once, in first-named order."""

    contact: tuple[str, ...]
    deal: tuple[str, ...]
    company: tuple[str, ...]


def _property_columns(names: Sequence[str]) -> dict[str, str]:
    """Property ``i`` staged as ``_p{i}`` (its text as it stands): a property may share
    its name with a column crmseg trims or types."""
    return {f"_p{i}": quote_identifier(name) for i, name in enumerate(names)}


class _NotPlain(Exception):
    """The typed read stopped, or an id check failed: the text path words the problem."""


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
                f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT * FROM {READ_CSV}",
                _read_parameters(csv_file),
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
            f"SELECT row_number() OVER () - 1 AS _row, id AS deal_id, {code} AS code "
            "FROM stage_deals",
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
        for kind, rule, names, csv_file in (
            ("contact", "an interest rule", contact_properties, contacts),
            ("deal", "an interest rule", deal_properties, deals),
            ("company", "a property family", company_properties, companies),
        ):
            for prop in names:
                if csv_file is None:
                    raise InputError(
                        f"{rule} names {kind} property {prop!r}, but there is no companies.csv",
                        file=str(companies_path),
                    )
                if prop not in csv_file.header:
                    raise InputError(
                        f"{rule} names {kind} property {prop!r}, which is not a column",
                        file=csv_file.name,
                        line=1,
                    )

        props = _Properties(
            tuple(dict.fromkeys(contact_properties)),
            tuple(dict.fromkeys(deal_properties)),
            tuple(dict.fromkeys(company_properties)),
        )
        try:
            self._stage(contacts, deals, companies, props, text=False)
            self._check_ids(companies is not None)
        except (duckdb.Error, _NotPlain):
            for table in STAGED:
                self.con.execute(f"DROP TABLE IF EXISTS {table}")
            self._word_problem(contacts, deals, companies)
            # The text checks passed: stage from the text tables instead.
            self._stage(contacts, deals, companies, props, text=True)
            for table in ("raw_contacts", "raw_deals", "raw_companies"):
                self.con.execute(f"DROP TABLE IF EXISTS {table}")
        convert = self._currencies(deals, currency, currency_rates)
        return self._fill(props, companies is not None, convert)

    # -- typed read -------------------------------------------------------------------------

    def _stage(
        self,
        contacts: CsvFile,
        deals: CsvFile,
        companies: CsvFile | None,
        props: _Properties,
        *,
        text: bool,
    ) -> None:
        """Each file into its staging table: ids trimmed, deal values typed, the id lists
        and property columns as text. ``text``: from the text tables the checks read."""
        address = {
            c: quote_identifier(c) if c in contacts.header else "NULL" for c in ADDRESS_COLUMNS
        }
        contact_columns = {
            "id": _trimmed("id"),
            **{c: c for c in ("email", "first_name", "last_name", "salutation", "country")},
            "company_id": f"nullif({_trimmed('company_id')}, '')",
            **address,
            **_property_columns(props.contact),
        }
        self._stage_one(contacts, "stage_contacts", "raw_contacts", contact_columns, text)
        deal_columns = {
            "id": _trimmed("id"),
            "amount": DEAL_VALUES["amount"],
            "close_date": DEAL_VALUES["close_date"],
            "won": DEAL_VALUES["won"],
            "contact_ids": "contact_ids",
            "company_ids": "company_ids",
            **({"currency": DEAL_VALUES["currency"]} if "currency" in deals.header else {}),
            **_property_columns(props.deal),
        }
        self._stage_one(
            deals,
            "stage_deals",
            "raw_deals",
            deal_columns,
            text,
            extra="try_cast(close_date AS DATE) AS _date",
        )
        if companies is not None:
            company_columns = {
                "id": _trimmed("id"),
                "name": "name",
                **_property_columns(props.company),
            }
            self._stage_one(companies, "stage_companies", "raw_companies", company_columns, text)

    def _stage_one(
        self,
        csv_file: CsvFile,
        table: str,
        raw: str,
        columns: Mapping[str, str],
        text: bool,
        extra: str = "",
    ) -> None:
        select = ", ".join(f"{expr} AS {quote_identifier(name)}" for name, expr in columns.items())
        inner = f"*, {extra}" if extra else "*"
        if text:
            self.con.execute(
                f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {select} "
                f"FROM (SELECT {inner} FROM {raw})"
            )
            return
        # Naming every column in the filter makes the reader decode (and check as UTF-8)
        # the columns no rule reads, too, as the text read does.
        every = " AND ".join(
            f"({quote_identifier(c)} IS NULL OR strlen({quote_identifier(c)}) >= 0)"
            for c in csv_file.header
        )
        self.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT {select} FROM (SELECT {inner} "
            f"FROM {READ_CSV} WHERE {every})",
            _read_parameters(csv_file),
        )

    def _check_ids(self, has_companies: bool) -> None:
        """No empty and no repeated id in any staged file, and at least one contact."""
        for table in STAGED if has_companies else STAGED[:2]:
            bad = self.con.execute(
                "SELECT count(*) FILTER (WHERE id IS NULL OR id = '') > 0 "
                f"OR count(DISTINCT id) < count(*) FROM {table}"
            ).fetchone()
            if bad is None or bad[0]:
                raise _NotPlain(table)
        row = self.con.execute("SELECT count(*) FROM stage_contacts").fetchone()
        if row == (0,):
            raise _NotPlain("stage_contacts")

    def _word_problem(self, contacts: CsvFile, deals: CsvFile, companies: CsvFile | None) -> None:
        """Read the files as text and check them in the order crmseg always has, raising
        the InputError for the first problem (the typed read stopped on one)."""
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
        for table in ("raw_contacts_numbered", "raw_deals_numbered", "raw_companies_numbered"):
            self.con.execute(f"DROP TABLE IF EXISTS {table}")

    # -- the input tables -------------------------------------------------------------------

    def _fill(self, props: _Properties, has_companies: bool, convert: bool) -> dict[str, int]:
        """The input tables from the staged ones, each staging table dropped when used.

        A record's key is its row in the staging table (unique, free to read); a contact
        link gets its contact's key from the join that also finds the dangling ids."""
        con = self.con
        create_input_tables(con)
        con.execute(
            "INSERT INTO contacts SELECT id, email, first_name, last_name, salutation, country, "
            "company_id, street, postal_code, city, rowid FROM stage_contacts"
        )
        self._properties("contact_properties", "stage_contacts", props.contact)
        con.execute("DROP TABLE stage_contacts")
        if convert:
            con.execute("INSERT INTO deal_currencies SELECT deal_id, code FROM raw_deal_currencies")
        con.execute("DROP TABLE IF EXISTS raw_deal_currencies")
        con.execute("INSERT INTO deals SELECT id, amount, close_date, won, rowid FROM stage_deals")
        con.execute(
            "INSERT INTO deal_contacts SELECT l.deal_id, l.ref, l.deal_key, c.key FROM "
            f"{_links('contact_ids')} l LEFT JOIN contacts c ON c.id = l.ref"
        )
        con.execute(
            "INSERT INTO deal_companies SELECT deal_id, ref, deal_key FROM "
            f"{_links('company_ids')} l"
        )
        self._properties("deal_properties", "stage_deals", props.deal)
        con.execute("DROP TABLE stage_deals")
        if has_companies:
            con.execute("INSERT INTO companies SELECT id, name, rowid FROM stage_companies")
            self._properties("company_properties", "stage_companies", props.company)
            con.execute("DROP TABLE stage_companies")
        else:
            con.execute(
                "INSERT INTO companies SELECT id, NULL, row_number() OVER () - 1 FROM "
                "(SELECT company_id AS id FROM contacts WHERE company_id IS NOT NULL "
                "UNION SELECT company_id FROM deal_companies)"
            )
        # A contact link's key is NULL where its id is unknown. Without companies.csv every
        # company named is one of the companies just made from the names, so nothing can
        # dangle there and the companies are not looked up.
        company_checks = (
            "(SELECT count(*) FROM deal_companies d ANTI JOIN companies k ON k.id = d.company_id), "
            "(SELECT count(*) FROM contacts c ANTI JOIN companies k ON k.id = c.company_id "
            "WHERE c.company_id IS NOT NULL)"
            if has_companies
            else "0, 0"
        )
        dangling = con.execute(
            "SELECT (SELECT count(*) FILTER (WHERE contact_key IS NULL) FROM deal_contacts), "
            f"{company_checks}"
        ).fetchone()
        assert dangling is not None
        return {
            "dangling_deal_contacts": int(dangling[0]),
            "dangling_deal_companies": int(dangling[1]),
            "contacts_with_unknown_company": int(dangling[2]),
        }

    def _properties(self, target: str, table: str, names: Sequence[str]) -> None:
        for i, prop in enumerate(names):
            self.con.execute(
                f"INSERT INTO {target} SELECT id, $name, _p{i} FROM {table} WHERE _p{i} IS NOT NULL",
                {"name": prop},
            )
