"""Rows of a downloaded HubSpot export file, as the pull's wire records.

Why a module: reading the file (one CSV, or a zip of CSVs above 1M rows) and
turning each row into a :class:`WireRecord` is one job, run for every one of a
million rows; starting, polling and downloading the export is
:mod:`connectors.hubspot.exports`'. Which columns hold associated ids
(``Associated Company IDs``...) is decided once per header, not per row: at 1M
rows the per-row matching was a large part of the pull's CPU time.

:class:`ExportColumns` reads the same file(s) with DuckDB into canonical columns
(a :class:`~connectors.base.ColumnBatch`) for a full pull, mapping each column as
:class:`RowReader` and :class:`~connectors.hubspot.records.RecordMapper` map a row:
ids as they are, empty cells as ``None``, epoch milliseconds as UTC timestamps and
dates, the won stages, a contact's company (its only one, or for several the v4
read's primary, else the lowest id) and a deal's distinct associated ids. It only
takes a file whose every value has one of the plain shapes HubSpot writes with
internal values; anything else is the row reader's.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import weakref
import zipfile
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import duckdb

from connectors.base import COLUMN_BATCH_COLUMNS, ColumnBatch, Cursor, ObjectType
from connectors.csv_file import quote_identifier
from connectors.errors import CrmError
from connectors.hubspot.records import (
    ASSOCIATED_TYPES,
    LASTMOD,
    PLURAL,
    Assoc,
    RecordMapper,
    WireRecord,
    parse_timestamp,
)
from connectors.scratch import ScratchDir

__all__ = ["ASSOC_LABEL", "ExportColumns", "RowReader", "assoc_columns", "csv_files", "rows"]

ASSOC_LABEL = {"contacts": "Contact", "companies": "Company", "deals": "Deal"}
_ASSOC_COLUMN = re.compile(r"^Associated (\w+) IDs$", re.IGNORECASE)


def rows(path: str) -> Iterator[dict[str, str]]:
    """Rows of a downloaded export: one CSV, or every CSV of a zip in name order."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            for member in sorted(n for n in zf.namelist() if n.lower().endswith(".csv")):
                with (
                    zf.open(member) as raw,
                    io.TextIOWrapper(raw, encoding="utf-8-sig", newline="") as text,
                ):
                    yield from csv.DictReader(text)
        return
    with open(path, encoding="utf-8-sig", newline="") as text:
        yield from csv.DictReader(text)


class RowReader:
    """Turns export rows of one object type into wire records."""

    def __init__(self, object_type: ObjectType, props: Sequence[str]) -> None:
        self.object_type = object_type
        self.props = list(props)
        self._header: tuple[str, ...] | None = None
        self._assoc: list[tuple[str, str]] = []

    def _columns(self, row: dict[str, str]) -> list[tuple[str, str]]:
        """(column, associated type) of the header's association columns, cached."""
        header = tuple(row)
        if header != self._header:
            self._header = header
            self._assoc = assoc_columns(self.object_type, header)
        return self._assoc

    def wire(self, row: dict[str, str]) -> WireRecord:
        rid = (row.get("hs_object_id") or "").strip()
        if not rid:
            raise CrmError(
                f"export of {PLURAL[self.object_type]}: a row without hs_object_id", crm="hubspot"
            )
        values = {p: (row.get(p) or None) for p in self.props}
        try:
            updated = parse_timestamp(values.get(LASTMOD[self.object_type]))
        except ValueError:
            updated = None
        w = WireRecord(id=rid, properties=values, updated_at=updated)
        for column, to in self._columns(row):
            w.associations[to] = [
                Assoc(i.strip()) for i in (row.get(column) or "").split(";") if i.strip()
            ]
        return w


# -- the columnar path ----------------------------------------------------------------
#: Export values read by DuckDB directly: the shapes HubSpot writes with internal
#: values (ids and epoch milliseconds as digits, ``;``-joined associated ids, plain
#: decimals). A file holding anything else is read row by row (:class:`RowReader`),
#: which gives every other value its exact meaning -- or its error.
_ID = r"[0-9]{1,30}"
#: Epoch milliseconds below 2**32 s: there Python's ``fromtimestamp(ms / 1000)`` is
#: exact to the millisecond, as DuckDB's integer arithmetic is.
_MS_MAX = 4_294_967_296_000
_DATE = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_DECIMAL = r"-?[0-9]{1,30}(\.[0-9]{1,30})?"
_IDS = r"[0-9]{1,30}(;[0-9]{1,30})*"
#: Ambiguous contacts (several companies) resolved per v4 read of this many ids.
AMBIGUOUS_CHUNK = 10_000


def _lit(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def assoc_columns(object_type: ObjectType, header: Sequence[str]) -> list[tuple[str, str]]:
    """(column, associated plural type) of a header's association columns."""
    found = []
    for column in header:
        m = _ASSOC_COLUMN.match(column or "")
        if not m:
            continue
        to = next(
            (t for t, label in ASSOC_LABEL.items() if label.lower() == m[1].lower()),
            None,
        )
        if to in ASSOCIATED_TYPES[object_type]:
            found.append((column, to))
    return found


def csv_files(path: str, workdir: str) -> list[str]:
    """The CSV file(s) of a downloaded export on disk: the file itself, or every CSV
    of a zip extracted (streamed, in name order) into ``workdir``."""
    if not zipfile.is_zipfile(path):
        return [path]
    out = []
    with zipfile.ZipFile(path) as zf:
        members = sorted(n for n in zf.namelist() if n.lower().endswith(".csv"))
        for i, member in enumerate(members):
            target = os.path.join(workdir, f"part-{i:04d}.csv")
            with zf.open(member) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            out.append(target)
    return out


def _header(path: str) -> list[str] | None:
    with open(path, encoding="utf-8-sig", newline="") as text:
        return next(csv.reader(text), None)


class ExportColumns(ColumnBatch):
    """A downloaded export's rows as one :class:`~connectors.base.ColumnBatch`.

    :meth:`prepare` checks, with DuckDB on a connection of its own (the pull may
    run on a prefetch thread), that every value has one of the shapes above, reads
    the complete association lists of contacts with several companies (the file has
    no primary flag) and finds the cursor; ``None`` sends the file to the row
    reader. :meth:`stage` then reads the file(s) once more on the mirror's
    connection into canonical columns, as :class:`RowReader` and
    :class:`~connectors.hubspot.records.RecordMapper` would map each row.
    """

    def __init__(
        self,
        object_type: ObjectType,
        files: list[str],
        header: list[str],
        select: dict[str, str],
        extra: list[str],
        assoc: dict[str, str],
        mapper: RecordMapper,
    ) -> None:
        self.object_type = object_type
        self.files = files
        self.header = header
        self.select = select
        self.extra = extra
        self.assoc = assoc
        self.mapper = mapper
        self.count = 0
        self.cursor: Cursor | None = None
        self.companies: dict[str, str | None] = {}
        self._cleanup: weakref.finalize[Any, Any] | None = None

    # -- building ------------------------------------------------------------------
    @classmethod
    def prepare(
        cls,
        object_type: ObjectType,
        files: list[str],
        props: Sequence[str],
        requested: Sequence[str],
        mapper: RecordMapper,
        fetch: Callable[[list[str]], dict[str, list[Assoc]]],
    ) -> ExportColumns | None:
        """The batch of ``files`` (``None``: read them row by row). ``fetch`` answers
        complete company lists for contact ids (the v4 read)."""
        headers = [_header(f) for f in files]
        header = headers[0] if headers else None
        if not header or any(h != header for h in headers) or len(set(header)) != len(header):
            return None
        assoc_list = assoc_columns(object_type, header)
        assoc = dict((to, column) for column, to in assoc_list)
        if len(assoc) != len(assoc_list) or "hs_object_id" not in header:
            return None
        present = set(header)
        kept = set(props)

        def col(prop: str) -> str:
            return (
                f"NULLIF({quote_identifier(prop)}, '')"
                if prop in kept and prop in present
                else "NULL"
            )

        core = set(mapper.core_properties(object_type))
        extra = [p for p in dict.fromkeys(requested) if p not in core and col(p) != "NULL"]
        select = {p: col(p) for p in {*props, *requested}}
        batch = cls(object_type, files, header, select, extra, assoc, mapper)
        try:
            with duckdb.connect(":memory:") as con:
                if not batch._check(con):
                    return None
                if object_type == "contact" and "companies" in assoc:
                    batch._resolve(con, fetch)
        except duckdb.Error:
            return None
        return batch

    def _source(self) -> str:
        files = ", ".join(_lit(f) for f in self.files)
        columns = ", ".join(f"{_lit(c)}: 'VARCHAR'" for c in self.header)
        return (
            f"read_csv([{files}], header = true, auto_detect = false, columns = {{{columns}}}, "
            "delim = ',', quote = '\"', escape = '\"', strict_mode = true, "
            "max_line_size = 67108864, null_padding = false)"
        )

    def _check(self, con: duckdb.DuckDBPyConnection) -> bool:
        """Whether every value has a shape DuckDB reads as the row reader would;
        sets the count and the cursor."""
        lastmod = self.select.get(LASTMOD[self.object_type], "NULL")
        conds = [
            f"bool_and(regexp_full_match(coalesce({quote_identifier('hs_object_id')}, ''), '{_ID}'))",
            f"count(DISTINCT {quote_identifier('hs_object_id')}) = count(*)",
            f"bool_and({lastmod} IS NULL OR (regexp_full_match({lastmod}, '[0-9]{{1,13}}') "
            f"AND TRY_CAST({lastmod} AS BIGINT) < {_MS_MAX}))",
        ]
        for column in self.assoc.values():
            v = f"NULLIF({quote_identifier(column)}, '')"
            conds.append(f"bool_and({v} IS NULL OR regexp_full_match({v}, '{_IDS}'))")
        if self.object_type == "deal":
            amount = self.select.get(self.mapper.amount_property, "NULL")
            close = self.select.get("closedate", "NULL")
            conds.append(f"bool_and({amount} IS NULL OR regexp_full_match({amount}, '{_DECIMAL}'))")
            conds.append(
                f"bool_and({close} IS NULL OR (regexp_full_match({close}, '[0-9]{{1,13}}') "
                f"AND TRY_CAST({close} AS BIGINT) < {_MS_MAX}) OR (regexp_full_match({close}, '{_DATE}') "
                f"AND TRY_CAST({close} AS DATE) IS NOT NULL))"
            )
        row = con.execute(
            f"SELECT count(*), {', '.join(f'coalesce({c}, true)' for c in conds)} "
            f"FROM {self._source()}"
        ).fetchone()
        if row is None or not all(row[1:]):
            return False
        self.count = int(row[0])
        if self.count and lastmod != "NULL":
            newest = con.execute(
                f"SELECT {quote_identifier('hs_object_id')}, {lastmod} FROM {self._source()} "
                f"WHERE {lastmod} IS NOT NULL ORDER BY {lastmod}::BIGINT DESC, "
                f"{quote_identifier('hs_object_id')}::HUGEINT DESC LIMIT 1"
            ).fetchone()
            if newest is not None:
                stamp = parse_timestamp(str(newest[1]))
                self.cursor = Cursor(stamp, str(newest[0])) if stamp is not None else None
        return True

    def _resolve(
        self,
        con: duckdb.DuckDBPyConnection,
        fetch: Callable[[list[str]], dict[str, list[Assoc]]],
    ) -> None:
        """Contacts with several companies: their company from the complete v4 list
        (primary first), as the row path's mapper decides it."""
        column = quote_identifier(self.assoc["companies"])
        found = con.execute(
            f"SELECT {quote_identifier('hs_object_id')} FROM {self._source()} WHERE strpos({column}, ';') > 0"
        )
        while chunk := [str(r[0]) for r in found.fetchmany(AMBIGUOUS_CHUNK)]:
            lists = fetch(chunk)
            for rid in chunk:
                wire = WireRecord(
                    id=rid, properties={}, associations={"companies": lists.get(rid, [])}
                )
                self.companies[rid] = self.mapper.contact(wire).company_id

    # -- staging on the mirror's connection ----------------------------------------
    def stage(self, con: duckdb.DuckDBPyConnection) -> None:
        t = self.object_type
        s = self.select
        src = "hubspot_export_rows"
        wanted = {"hs_object_id", *(c for c in self.header if c in {*s, *self.assoc.values()})}
        try:
            con.execute(
                f"CREATE OR REPLACE TEMP TABLE {src} AS SELECT "
                f"{', '.join(quote_identifier(c) for c in self.header if c in wanted)} FROM {self._source()}"
            )
            stamp = self._stamp(s.get(LASTMOD[t], "NULL"))
            rid = quote_identifier("hs_object_id")
            if t == "contact":
                company = "NULL"
                if "companies" in self.assoc:
                    c = f"NULLIF({quote_identifier(self.assoc['companies'])}, '')"
                    company = f"CASE WHEN strpos({c}, ';') > 0 THEN o.__crmseg_company ELSE {c} END"
                    con.execute(
                        "CREATE OR REPLACE TEMP TABLE hubspot_export_companies AS SELECT "
                        "unnest($1::VARCHAR[]) AS __crmseg_rid, "
                        "unnest($2::VARCHAR[]) AS __crmseg_company",
                        [list(self.companies), list(self.companies.values())],
                    )
                    joined = (
                        f"{src} LEFT JOIN hubspot_export_companies o "
                        f"ON o.__crmseg_rid = {src}.{rid}"
                    )
                else:
                    joined = src
                fields = [
                    s["email"],
                    s["firstname"],
                    s["lastname"],
                    s["salutation"],
                    s["country"],
                    company,
                    stamp,
                    s["address"],
                    s["zip"],
                    s["city"],
                ]
                body = f"{src}.{rid}, " + ", ".join(fields)
                sql = f"SELECT {body} FROM {joined}"
            elif t == "company":
                sql = f"SELECT {rid}, {s['name']}, {stamp} FROM {src}"
            else:
                close = s["closedate"]
                close_date = (
                    f"CASE WHEN strpos({close}, '-') > 0 THEN TRY_CAST({close} AS DATE) "
                    f"ELSE make_timestamp(TRY_CAST({close} AS BIGINT) * 1000)::DATE END"
                )
                stages = ", ".join(_lit(x) for x in sorted(self.mapper.won_stages))
                won = f"coalesce({s['dealstage']} IN ({stages}), false)" if stages else "false"
                sql = (
                    f"SELECT {rid}, {s[self.mapper.amount_property]}, {close_date}, {won}, "
                    f"{stamp} FROM {src}"
                )
            names = ", ".join(COLUMN_BATCH_COLUMNS[t])
            con.execute(f"CREATE OR REPLACE TEMP VIEW staged_records ({names}) AS {sql}")
            if self.extra:
                on = ", ".join(quote_identifier(p) for p in self.extra)
                inner = ", ".join(f"{s[p]} AS {quote_identifier(p)}" for p in self.extra)
                props = (
                    f"SELECT record_id, name, value FROM (UNPIVOT (SELECT {rid} AS record_id, "
                    f"{inner} FROM {src}) ON {on} INTO NAME name VALUE value)"
                )
            else:
                props = "SELECT NULL::VARCHAR AS record_id, NULL::VARCHAR AS name, NULL::VARCHAR AS value WHERE false"
            con.execute(f"CREATE OR REPLACE TEMP VIEW staged_properties AS {props}")
            if t == "deal":
                for to, other in (("contacts", "contact_id"), ("companies", "company_id")):
                    if to in self.assoc:
                        c = f"NULLIF({quote_identifier(self.assoc[to])}, '')"
                        pairs = (
                            f"SELECT DISTINCT deal_id, {other} FROM (SELECT {rid} AS deal_id, "
                            f"unnest(string_split({c}, ';')) AS {other} FROM {src} "
                            f"WHERE {c} IS NOT NULL)"
                        )
                    else:
                        pairs = (
                            f"SELECT NULL::VARCHAR AS deal_id, NULL::VARCHAR AS {other} WHERE false"
                        )
                    con.execute(f"CREATE OR REPLACE TEMP VIEW staged_deal_{to} AS {pairs}")
        except duckdb.Error as exc:
            raise CrmError(
                f"export of {PLURAL[t]}: the file could not be read ({exc})", crm="hubspot"
            ) from exc

    @staticmethod
    def _stamp(value: str) -> str:
        if value == "NULL":
            return "NULL::TIMESTAMP"
        return f"make_timestamp(TRY_CAST({value} AS BIGINT) * 1000)"

    def unstage(self, con: duckdb.DuckDBPyConnection) -> None:
        super().unstage(con)
        con.execute("DROP TABLE IF EXISTS hubspot_export_rows")
        con.execute("DROP TABLE IF EXISTS hubspot_export_companies")

    def attach(self, workdir: ScratchDir) -> None:
        """Make ``workdir`` (the downloaded files) the batch's: removed by :meth:`close`,
        or when the batch is dropped unstored."""
        self._cleanup = weakref.finalize(self, workdir.remove)

    def close(self) -> None:
        if self._cleanup is not None:
            self._cleanup()
            self._cleanup = None
