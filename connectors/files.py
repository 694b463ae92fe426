"""CSV exports (for ERP users): ``contacts.csv``, ``deals.csv``, optional ``companies.csv``
in, ``tags.csv`` out, in the format of SEGMENTS.md "CSV files".

Files are parsed by DuckDB (fast enough for millions of rows) and validated in
SQL; only when a value is bad is the file scanned again with Python's ``csv``
module, to name the exact line of the offending record even when quoted fields
span several lines.
"""

from __future__ import annotations

import codecs
import csv
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from connectors.base import (
    Company,
    Connector,
    Contact,
    Cursor,
    Deal,
    FieldSpec,
    ListSpec,
    ListState,
    ObjectType,
    Page,
    TagUpdate,
    WriteResult,
)
from connectors.errors import CrmsegError, InputError
from segmentation.inputs import AMOUNT_TYPE, connect, create_input_tables

CONTACT_COLUMNS = ("id", "email", "first_name", "last_name", "salutation", "country", "company_id")
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


def quote_identifier(name: str) -> str:
    """Quote a column name taken from a file header for use in SQL."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class CsvFile:
    path: Path
    delimiter: str
    header: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.path.name


def inspect_csv(path: Path, required: Sequence[str]) -> CsvFile:
    """Check encoding, find the delimiter and check the header has the required columns."""
    try:
        with path.open("rb") as fh:
            head = fh.read(1 << 20)
    except FileNotFoundError:
        raise InputError("file not found", file=str(path)) from None
    if head.startswith(codecs.BOM_UTF8):
        head = head[len(codecs.BOM_UTF8) :]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 4:  # not just a character cut at the 1 MiB boundary
            line = head[: exc.start].count(b"\n") + 1
            raise InputError("not valid UTF-8", file=path.name, line=line) from None
        text = head[: exc.start].decode("utf-8")
    if not text.strip():
        raise InputError("the file is empty (no header line)", file=path.name)
    first_line = text.splitlines()[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    header = tuple(h.strip() for h in next(csv.reader([first_line], delimiter=delimiter)))
    for column in required:
        if column not in header:
            raise InputError(
                f"missing column {column!r} (the header has: {', '.join(header)})",
                file=path.name,
                line=1,
            )
    duplicates = sorted({h for h in header if header.count(h) > 1})
    if duplicates:
        raise InputError(
            f"column {duplicates[0]!r} appears twice in the header", file=path.name, line=1
        )
    return CsvFile(path=path, delimiter=delimiter, header=header)


def record_line(csv_file: CsvFile, index: int) -> int:
    """The line on which data record ``index`` (0-based) starts."""
    with csv_file.path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=csv_file.delimiter)
        next(reader, None)
        start = reader.line_num + 1
        for i, _ in enumerate(reader):
            if i == index:
                return start
            start = reader.line_num + 1
    return start


#: The longest record (one CSV line, quoted line breaks included) crmseg reads: 64 MB.
MAX_RECORD_BYTES = 64 * 1024 * 1024


def mixed_line_endings(csv_file: CsvFile) -> InputError | None:
    """A file whose lines end in both CRLF and LF (or CR) confuses CSV readers; name the
    first line that ends differently from the first one. Quoted line breaks count too:
    they are rare enough that naming them is more help than harm."""
    first: bytes | None = None
    line = 1
    with csv_file.path.open("rb") as fh:
        data = fh.read()
    i = 0
    while True:
        j = min((k for k in (data.find(b"\r", i), data.find(b"\n", i)) if k >= 0), default=-1)
        if j < 0:
            return None
        end = b"\r\n" if data[j : j + 2] == b"\r\n" else data[j : j + 1]
        if first is None:
            first = end
        elif end != first:
            names = {b"\r\n": "CRLF (Windows)", b"\n": "LF (Unix)", b"\r": "CR (old Mac)"}
            return InputError(
                f"mixed line endings: this line ends in {names[end]}, the first line in "
                f"{names[first]}; save the file with one kind of line ending",
                file=csv_file.name,
                line=line,
            )
        line += 1
        i = j + len(end)


def find_malformed_record(csv_file: CsvFile) -> InputError | None:
    """Scan with Python's csv module for a record with the wrong number of fields."""
    csv.field_size_limit(max(csv.field_size_limit(), MAX_RECORD_BYTES))
    try:
        with csv_file.path.open(encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh, delimiter=csv_file.delimiter, strict=True)
            next(reader, None)
            start = reader.line_num + 1
            for row in reader:
                if row and len(row) != len(csv_file.header):
                    return InputError(
                        f"expected {len(csv_file.header)} fields, found {len(row)}",
                        file=csv_file.name,
                        line=start,
                    )
                start = reader.line_num + 1
    except csv.Error as exc:
        reason = str(exc)
        if "field larger than field limit" in reason:
            reason = f"a field is longer than the {MAX_RECORD_BYTES // 2**20} MB crmseg reads"
        return InputError(f"malformed CSV: {reason}", file=csv_file.name, line=start)
    except UnicodeDecodeError:
        return InputError("not valid UTF-8", file=csv_file.name)
    return None


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

    def load(
        self, contact_properties: Sequence[str] = (), deal_properties: Sequence[str] = ()
    ) -> dict[str, int]:
        """Validate and load every file; returns counts of what was loaded and dropped."""
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

        self._read_raw(contacts, "raw_contacts")
        self._read_raw(deals, "raw_deals")
        if companies is not None:
            self._read_raw(companies, "raw_companies")
        if self.con.execute("SELECT count(*) FROM raw_contacts").fetchone() == (0,):
            raise InputError("no contacts (the file has only a header)", file=contacts.name)

        self._validate(contacts, "raw_contacts")
        self._validate(deals, "raw_deals", DEAL_CHECKS)
        if companies is not None:
            self._validate(companies, "raw_companies")

        create_input_tables(self.con)
        con = self.con
        con.execute(
            f"INSERT INTO contacts SELECT trim(id, {_WS}), email, first_name, last_name, salutation, "
            f"country, nullif(trim(company_id, {_WS}), '') FROM raw_contacts"
        )
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
            "IN (SELECT id FROM companies)), (SELECT count(*) FROM contacts WHERE company_id NOT IN "
            "(SELECT id FROM companies))"
        ).fetchone()
        assert dangling is not None
        for table in (
            "raw_contacts",
            "raw_deals",
            "raw_companies",
            "raw_contacts_numbered",
            "raw_deals_numbered",
            "raw_companies_numbered",
        ):
            con.execute(f"DROP TABLE IF EXISTS {table}")
        return {
            "dangling_deal_contacts": int(dangling[0]),
            "dangling_deal_companies": int(dangling[1]),
            "contacts_with_unknown_company": int(dangling[2]),
        }


def write_tags(con: duckdb.DuckDBPyConnection, out: Path) -> int:
    """Write ``seg_tags`` to ``out`` atomically (temp file in the same folder, then rename)."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        con.execute(
            "COPY (SELECT * FROM seg_tags ORDER BY contact_id) TO "
            f"'{tmp_name.replace(chr(39), chr(39) * 2)}' (HEADER, DELIMITER ',')"
        )
        os.replace(tmp_name, out)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    row = con.execute("SELECT count(*) FROM seg_tags").fetchone()
    return int(row[0]) if row else 0


class FilesConnector(Connector):
    """The CSV export as a (read-only) connector: a full pull every time.

    CSV exports have no modification times, so ``since`` is ignored and every
    pull returns everything; there are no fields to provision and no lists.
    Tags go out as ``tags.csv`` (``write_tags``), not through ``write_batch``.
    """

    name = "files"
    max_batch_size = 10_000

    def __init__(
        self,
        directory: Path,
        *,
        contact_properties: Sequence[str] = (),
        deal_properties: Sequence[str] = (),
    ) -> None:
        self.con = connect()
        self.report = CsvLoader(self.con, directory).load(contact_properties, deal_properties)

    def pull(
        self, object_type: ObjectType, since: Cursor | None, properties: Sequence[str] = ()
    ) -> Iterator[Page[Contact] | Page[Company] | Page[Deal]]:
        if object_type == "contact":
            rows = self.con.execute(
                "SELECT id, email, first_name, last_name, salutation, country, company_id "
                "FROM contacts ORDER BY id"
            ).fetchall()
            props = self._properties("contact_properties", "contact_id")
            yield Page(
                [
                    Contact(
                        id=cid,
                        email=email,
                        first_name=first,
                        last_name=last,
                        salutation=salutation,
                        country=country,
                        company_id=company,
                        properties=props.get(cid, {}),
                    )
                    for cid, email, first, last, salutation, country, company in rows
                ]
            )
        elif object_type == "company":
            rows = self.con.execute("SELECT id, name FROM companies ORDER BY id").fetchall()
            yield Page([Company(*row) for row in rows])
        else:
            rows = self.con.execute(
                "SELECT d.id, d.amount, d.close_date, d.won, "
                "(SELECT list(contact_id ORDER BY contact_id) FROM deal_contacts c WHERE c.deal_id = d.id), "
                "(SELECT list(company_id ORDER BY company_id) FROM deal_companies c WHERE c.deal_id = d.id) "
                "FROM deals d ORDER BY d.id"
            ).fetchall()
            props = self._properties("deal_properties", "deal_id")
            yield Page(
                [
                    Deal(
                        id=r[0],
                        amount=None if r[1] is None else Decimal(r[1]),
                        close_date=r[2] if isinstance(r[2], date) else None,
                        won=bool(r[3]),
                        contact_ids=tuple(r[4] or ()),
                        company_ids=tuple(r[5] or ()),
                        properties=props.get(r[0], {}),
                    )
                    for r in rows
                ]
            )

    def _properties(self, table: str, key: str) -> dict[str, dict[str, str | None]]:
        out: dict[str, dict[str, str | None]] = {}
        for record_id, name, value in self.con.execute(
            f"SELECT {key}, name, value FROM {table}"
        ).fetchall():
            out.setdefault(record_id, {})[name] = value
        return out

    def ensure_fields(self, object_type: ObjectType, fields: Sequence[FieldSpec]) -> list[str]:
        return []  # a CSV file has no schema: tags.csv carries every tag column

    def write_batch(self, updates: Sequence[TagUpdate]) -> list[WriteResult]:
        raise CrmsegError("CSV exports are read-only: write tags with `crmseg segment --out`")

    def ensure_lists(self, specs: Sequence[ListSpec]) -> list[ListState]:
        raise CrmsegError("CSV exports have no lists: filter tags.csv by its columns instead")
