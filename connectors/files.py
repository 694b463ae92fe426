"""CSV exports (for ERP users): ``contacts.csv``, ``deals.csv``, optional ``companies.csv``
in, ``tags.csv`` out, in the format of docs/SEGMENTS.md "CSV files".

Files are parsed by DuckDB (fast enough for millions of rows) and validated in
SQL; only when a value is bad is the file scanned again with Python's ``csv``
module, to name the exact line of the offending record even when quoted fields
span several lines. The loading lives in :mod:`connectors.csv_loader`, the
per-file checks in :mod:`connectors.csv_file`; here is the connector over them
and the writer of ``tags.csv``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from decimal import Decimal, localcontext
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
from connectors.csv_loader import CsvLoader
from connectors.errors import CrmsegError
from segmentation.inputs import connect

__all__ = ["CsvLoader", "FilesConnector", "write_tags"]


def write_tags(con: duckdb.DuckDBPyConnection, out: Path) -> int:
    """Write ``seg_tags`` to ``out`` atomically (temp file in the same folder, then rename).

    The rows go out in the table's own order, with no sort of their own: the
    segmentation builds ``seg_tags`` with ``ORDER BY contact_id`` (ids are unique),
    and DuckDB keeps a table's insertion order through a single-table ``SELECT`` and
    ``COPY`` while ``preserve_insertion_order`` is on, as it is by default (DuckDB's
    "Order Preservation"); with it off, the rows are sorted here. Sorting a sorted
    table again is a full sort of every tag column, the larger part of the write."""
    kept = con.execute("SELECT current_setting('preserve_insertion_order')").fetchone()
    source = "seg_tags" if kept and kept[0] else "(SELECT * FROM seg_tags ORDER BY contact_id)"
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    try:
        con.execute(
            f"COPY {source} TO '{tmp_name.replace(chr(39), chr(39) * 2)}' (HEADER, DELIMITER ',')"
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
        company_properties: Sequence[str] = (),
        currency: str | None = None,
        currency_rates: Mapping[str, Decimal] | None = None,
    ) -> None:
        self.con = connect()
        self.rates = {k.upper(): v for k, v in (currency_rates or {}).items()}
        self.report = CsvLoader(self.con, directory).load(
            contact_properties,
            deal_properties,
            company_properties,
            currency=currency,
            currency_rates=currency_rates,
        )

    def pull(
        self, object_type: ObjectType, since: Cursor | None, properties: Sequence[str] = ()
    ) -> Iterator[Page[Contact] | Page[Company] | Page[Deal]]:
        if object_type == "contact":
            rows = self.con.execute(
                "SELECT id, email, first_name, last_name, salutation, country, company_id, "
                "street, postal_code, city FROM contacts ORDER BY id"
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
                        street=street,
                        postal_code=postal_code,
                        city=city,
                    )
                    for (
                        cid,
                        email,
                        first,
                        last,
                        salutation,
                        country,
                        company,
                        street,
                        postal_code,
                        city,
                    ) in rows
                ]
            )
        elif object_type == "company":
            rows = self.con.execute("SELECT id, name FROM companies ORDER BY id").fetchall()
            company_props = self._properties("company_properties", "company_id")
            yield Page([Company(cid, name, company_props.get(cid, {})) for cid, name in rows])
        else:
            rows = self.con.execute(
                "SELECT d.id, d.amount, d.close_date, d.won, "
                "(SELECT list(contact_id ORDER BY contact_id) FROM deal_contacts c WHERE c.deal_id = d.id), "
                "(SELECT list(company_id ORDER BY company_id) FROM deal_companies c WHERE c.deal_id = d.id), "
                "(SELECT any_value(currency) FROM deal_currencies c WHERE c.deal_id = d.id) "
                "FROM deals d ORDER BY d.id"
            ).fetchall()
            props = self._properties("deal_properties", "deal_id")
            yield Page(
                [
                    Deal(
                        id=r[0],
                        amount=self._converted(r[1], r[6]),
                        close_date=r[2] if isinstance(r[2], date) else None,
                        won=bool(r[3]),
                        contact_ids=tuple(r[4] or ()),
                        company_ids=tuple(r[5] or ()),
                        properties=props.get(r[0], {}),
                    )
                    for r in rows
                ]
            )

    def _converted(self, amount: Decimal | None, currency: str | None) -> Decimal | None:
        """The amount in the reporting currency, exactly (CRMs hand over converted
        amounts; so does this connector)."""
        if amount is None:
            return None
        value = Decimal(amount)
        if currency is None:
            return value
        with localcontext() as ctx:
            ctx.prec = 100
            return (value * self.rates[currency.upper()]).normalize()

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
