"""What the Salesforce pull shares between its parts: the fixed fields, key-set
positions and their SOQL, CSV rows of Bulk results, the cursor tracker and the
plan of one pull (see :mod:`connectors.salesforce.pull` for the rules)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from simple_salesforce import format_soql

from connectors.base import Cursor, ObjectType
from connectors.errors import CrmError
from connectors.salesforce.records import RecordMapper, parse_datetime
from connectors.salesforce.session import CRM

#: Opportunity ids per ``OpportunityId IN (...)`` query (keeps the URI near 3,000 chars).
IN_CHUNK = 100
MAX_RESTARTS = 1_000
BULK_TERMINAL_FAILURES = ("Failed", "Aborted")
QUERY_TIMEOUT = "QUERY_TIMEOUT"
#: Refusals of a Bulk job create that mean "this org has no Bulk API": read via REST.
BULK_DISABLED = frozenset(
    {"API_DISABLED_FOR_ORG", "FeatureNotEnabled", "FEATURE_NOT_ENABLED", "NOT_FOUND"}
)
_CONVERT = re.compile(r"^convertCurrency\(([A-Za-z][A-Za-z0-9_]*(?:__c)?)\)$")

CORE: dict[ObjectType, tuple[str, ...]] = {
    "contact": ("Id", "Email", "FirstName", "LastName", "AccountId", "SystemModstamp"),
    "company": ("Id", "Name", "SystemModstamp"),
    "deal": ("Id", "CloseDate", "IsWon", "AccountId", "SystemModstamp"),
}
OCR_FIELDS = ("Id", "OpportunityId", "ContactId", "SystemModstamp")

Position = tuple[datetime, str | None]
Row = dict[str, Any]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def keyset_where(position: Position) -> str:
    """SOQL condition for rows after ``position`` (whole seconds: a superset, see module doc)."""
    ts, last_id = _utc(position[0]), position[1]
    floor = ts.replace(microsecond=0)
    if last_id is None:
        return format_soql("SystemModstamp >= {}", floor)
    return format_soql(
        "(SystemModstamp > {} OR (SystemModstamp = {} AND Id > {}))", floor, floor, last_id
    )


def _csv_rows(text: str, fields: Sequence[str]) -> list[Row]:
    """Bulk CSV rows keyed by what was selected, read *by position*: the header Bulk
    writes for ``convertCurrency(Amount)`` is not documented (REST names it ``Amount``),
    so each column takes the REST key of its SELECT item, in SELECT order."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None:
        return []
    keys = [_rest_key(f) for f in fields]
    if len(header) != len(keys):
        raise CrmError(
            f"a Bulk 2.0 result page has {len(header)} columns ({', '.join(header)}) for "
            f"{len(keys)} selected fields",
            crm=CRM,
            code="BULK_COLUMNS",
        )
    return [
        {k: (v if v != "" else None) for k, v in zip(keys, row, strict=True)}
        for row in reader
        if row
    ]


def _rest_key(item: str) -> str:
    """``convertCurrency(Amount)`` -> ``Amount`` (REST's key); field names unchanged."""
    m = _CONVERT.fullmatch(item)
    return m.group(1) if m else item


def _before(end: datetime | None) -> str | None:
    """``SystemModstamp < end`` (``end`` is whole seconds) or nothing."""
    return None if end is None else format_soql("SystemModstamp < {}", _utc(end))


def _after(row: Row, position: Position | None) -> bool:
    """Exact client-side check that ``row`` lies after ``position``."""
    if position is None:
        return True
    stamp = parse_datetime(row.get("SystemModstamp"))
    if stamp is None:
        return True
    ts, last_id = _utc(position[0]), position[1]
    if stamp != ts:
        return stamp > ts
    if last_id is None or ts.microsecond == 0:
        return True  # ">= T", or the server already applied "Id > last_id" exactly
    return str(row.get("Id")) > last_id


def _capped(cursor: Cursor | None, started: datetime) -> Cursor | None:
    """A full pull's cursor, never later than the pull's start (module doc, "Cursors")."""
    if cursor is not None and _utc(cursor.modified_at) > started:
        return Cursor(modified_at=started, last_id=None)
    return cursor


class _Tracker:
    """Largest (SystemModstamp, Id) seen in this pull."""

    def __init__(self) -> None:
        self._key: tuple[datetime, str] | None = None
        self.cursor: Cursor | None = None

    def see(self, stamp: datetime | None, record_id: str | None) -> None:
        if stamp is None:
            return
        key = (stamp, record_id or "")
        if self._key is None or key > self._key:
            self._key = key
            self.cursor = Cursor(modified_at=stamp, last_id=record_id)

    def see_row(self, row: Row) -> None:
        self.see(parse_datetime(row.get("SystemModstamp")), str(row.get("Id") or "") or None)


@dataclass
class _Plan:
    object_type: ObjectType
    sobject: str
    fields: list[str]
    mapper: RecordMapper


@dataclass
class _Probe:
    """What the first page of a REST query said about the whole result."""

    total: int | None = None
    restarts: int = 0
    queries: list[str] = field(default_factory=list)
