"""Rows of a downloaded HubSpot export file, as the pull's wire records.

Why a module: reading the file (one CSV, or a zip of CSVs above 1M rows) and
turning each row into a :class:`WireRecord` is one job, run for every one of a
million rows; starting, polling and downloading the export is
:mod:`connectors.hubspot.exports`'. Which columns hold associated ids
(``Associated Company IDs``...) is decided once per header, not per row: at 1M
rows the per-row matching was a large part of the pull's CPU time.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterator, Sequence

from connectors.base import ObjectType
from connectors.errors import CrmError
from connectors.hubspot.records import (
    ASSOCIATED_TYPES,
    LASTMOD,
    PLURAL,
    Assoc,
    WireRecord,
    parse_timestamp,
)

__all__ = ["ASSOC_LABEL", "RowReader", "rows"]

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
            self._assoc = []
            for column in header:
                m = _ASSOC_COLUMN.match(column or "")
                if not m:
                    continue
                to = next(
                    (t for t, label in ASSOC_LABEL.items() if label.lower() == m[1].lower()),
                    None,
                )
                if to in ASSOCIATED_TYPES[self.object_type]:
                    self._assoc.append((column, to))
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
