"""Pulling Accounts, Contacts and Opportunities as pages of canonical records.

Fields
    One describe per object and pull decides what is selected: the core fields
    (Salutation and the country field only when the org has them), the amount
    (``Amount``, or ``convertCurrency(Amount)`` when Opportunity has
    ``CurrencyIsoCode``; its value is read from the ``Amount`` key of the row
    [unverified against a live multi-currency org]) and the requested extra properties (tag fields by their
    API name, ``crmseg_abc`` -> ``crmseg_abc__c``). A requested field the org does
    not have (yet: tag fields are created after the first pull) comes back as
    ``None``. Names only reach SOQL from the fixed set or after matching
    ``^[A-Za-z][A-Za-z0-9_]*(__c)?$`` (else ConfigError naming them); every value
    goes through ``simple_salesforce.format_soql``.

Key-set order
    Every REST query is ``ORDER BY SystemModstamp, Id``. A position (T, id) reads
    on with ``SystemModstamp > T OR (SystemModstamp = T AND Id > id)``, so rows
    sharing one timestamp across any boundary are neither lost nor repeated.
    SOQL datetime literals carry whole seconds (format_soql drops the fraction),
    so T is floored in SOQL -- a superset -- and rows at or before the exact
    position are dropped client-side. ``Cursor(T, None)`` (the engine's cursor
    less its overlap) means "modified at or after T".

Paging
    REST pages of up to ``settings.query_page_size`` rows (``Sforce-Query-Options``)
    follow ``nextRecordsUrl``, one :meth:`SalesforceSession.call` per page, so an
    expired session costs one page, not the pull. An expired query locator
    (``INVALID_QUERY_LOCATOR``) restarts the query from the last row yielded.

Full pull (``since is None``)
    The first REST page's ``totalSize`` is the row count (the stand-in has no
    ``COUNT()``; this costs no extra call on the REST path). Above
    ``settings.bulk_query_threshold`` the REST query is dropped and the rows come
    from one Bulk API 2.0 query job (CSV pages by ``Sforce-Locator``, no ORDER BY).
    ``deleted_ids`` is empty: the engine replaces its mirror with a full pull.
    Deals: all OpportunityContactRole rows are read first (same REST/Bulk rule)
    into opportunity -> contacts.

Incremental pull
    ``queryAll`` from the cursor: live rows become records, ``IsDeleted`` rows
    (deleted, merged away) go to ``deleted_ids`` of the same page -- one query for
    changes and deletions, no separate getDeleted call. Rows purged from the
    recycle bin are invisible to queryAll (as to getDeleted after 30 days); the
    engine's periodic full pull sweeps those. Deals: the
    contacts of each page's opportunities come from OpportunityContactRole
    (``OpportunityId IN (...)``, 100 ids per query); then every role changed or
    deleted since the cursor re-yields its opportunity (not yet yielded in this
    pull) with its full contact list, because the engine replaces a deal's links
    when it sees the deal. A role changed while this pull was already past its
    opportunity is caught by the next pull's overlap.

Cursors
    ``Page.cursor`` is the largest (SystemModstamp, Id) seen so far (``None``
    until a row was seen); role changes advance it as ``(T, None)``.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from simple_salesforce import format_soql
from simple_salesforce.bulk2 import Operation

from connectors.base import Cursor, ObjectType, Page, chunks
from connectors.errors import ConfigError, CrmError
from connectors.salesforce.records import (
    FIELD_NAME,
    SOBJECT,
    RecordMapper,
    parse_datetime,
    to_api_name,
    validate_names,
)
from connectors.salesforce.session import CRM, SalesforceSession

__all__ = ["IN_CHUNK", "Puller", "keyset_where"]

#: Opportunity ids per ``OpportunityId IN (...)`` query (keeps the URI near 3,000 chars).
IN_CHUNK = 100
MAX_RESTARTS = 1_000
BULK_TERMINAL_FAILURES = ("Failed", "Aborted")
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


class Puller:
    """Full and incremental pulls through one :class:`SalesforceSession`."""

    def __init__(self, session: SalesforceSession) -> None:
        self.session = session
        self.settings = session.settings
        #: Per object type: requested properties the org has no field for (last pull).
        self.missing: dict[str, list[str]] = {}
        #: How the last full pull of each sObject was read: "rest" or "bulk".
        self.paths: dict[str, str] = {}

    # -- entry point -----------------------------------------------------------------
    def pull(
        self, object_type: ObjectType, since: Cursor | None, properties: Sequence[str] = ()
    ) -> Iterator[Page[Any]]:
        plan = self.plan(object_type, properties)  # validates before the first request
        return self._pull(plan, since)

    def _pull(self, plan: _Plan, since: Cursor | None) -> Iterator[Page[Any]]:
        if plan.object_type == "deal":
            if since is None:
                yield from self._full_deals(plan)
            else:
                yield from self._incremental_deals(plan, since)
        elif since is None:
            yield from self._full(plan)
        else:
            yield from self._incremental(plan, since)

    # -- what to select ------------------------------------------------------------------
    def describe_fields(self, sobject: str) -> dict[str, str]:
        """lower-case name -> API name of every field the integration user can see."""
        body = self.session.call("describe", lambda sf: sf.restful(f"sobjects/{sobject}/describe"))
        fields = (body or {}).get("fields") or []
        return {str(f["name"]).lower(): str(f["name"]) for f in fields if f.get("name")}

    def plan(self, object_type: ObjectType, properties: Sequence[str]) -> _Plan:
        requested = validate_names(dict.fromkeys(properties))
        s = self.settings
        amount_expr = s.amount_field
        if amount_expr is not None and not (
            FIELD_NAME.fullmatch(amount_expr) or _CONVERT.fullmatch(amount_expr)
        ):
            raise ConfigError(
                f"[crm] amount_property {amount_expr!r} is neither a field name nor "
                "convertCurrency(<field>)"
            )
        validate_names([s.country_field], "country field")
        sobject = SOBJECT[object_type]
        have = self.describe_fields(sobject)
        selected: dict[str, str] = {}

        def select(name: str) -> None:
            selected.setdefault(name.lower(), name)

        for name in CORE[object_type]:
            select(have.get(name.lower(), name))
        if object_type == "contact":
            for optional in (
                "Salutation",
                s.country_field,
                "MailingStreet",
                "MailingPostalCode",
                "MailingCity",
            ):
                if optional.lower() in have:
                    select(have[optional.lower()])
        amount_key = "Amount"
        if object_type == "deal":
            if amount_expr is None:
                amount_expr = "convertCurrency(Amount)" if "currencyisocode" in have else "Amount"
            m = _CONVERT.fullmatch(amount_expr)
            amount_key = m.group(1) if m else amount_expr
            select(amount_expr)
        props: dict[str, str | None] = {}
        missing = []
        for name in requested:
            api = have.get(to_api_name(name).lower())
            props[name] = api
            if api is None:
                missing.append(name)
            elif api.lower() != amount_key.lower():
                select(api)
        self.missing[object_type] = missing
        mapper = RecordMapper(props, amount_key=amount_key, country_field=s.country_field)
        return _Plan(object_type, sobject, list(selected.values()), mapper)

    # -- SOQL streams --------------------------------------------------------------------
    def _soql(
        self,
        sobject: str,
        fields: Sequence[str],
        conditions: Sequence[str],
        *,
        ordered: bool = True,
    ) -> str:
        soql = f"SELECT {', '.join(fields)} FROM {sobject}"
        if conditions:
            soql += " WHERE " + " AND ".join(
                c if len(conditions) == 1 else f"({c})" for c in conditions
            )
        if ordered:
            soql += " ORDER BY SystemModstamp, Id"
        return soql

    def _headers(self) -> dict[str, str]:
        return {"Sforce-Query-Options": f"batchSize={self.settings.query_page_size}"}

    def rest_rows(
        self,
        sobject: str,
        fields: Sequence[str],
        *,
        where: str | None = None,
        after: Position | None = None,
        include_deleted: bool = False,
        probe: _Probe | None = None,
    ) -> Generator[list[Row], None, None]:
        """Pages of rows in (SystemModstamp, Id) order after ``after`` (module doc)."""
        probe = probe if probe is not None else _Probe()
        headers = self._headers()
        endpoint = "queryAll" if include_deleted else "query"

        def run(position: Position | None) -> Any:
            conditions = [c for c in (where, keyset_where(position) if position else None) if c]
            soql = self._soql(sobject, fields, conditions)
            probe.queries.append(soql)
            return self.session.call(
                endpoint,
                lambda sf: sf.query(soql, include_deleted=include_deleted, headers=headers),
            )

        position, query_position = after, after
        resp = run(query_position)
        probe.total = int(resp.get("totalSize") or 0)
        while True:
            rows = [
                {k: v for k, v in r.items() if k != "attributes"}
                for r in resp.get("records") or []
                if _after(r, query_position)
            ]
            if rows:
                last = rows[-1]
                stamp = parse_datetime(last.get("SystemModstamp"))
                if stamp is not None:
                    position = (stamp, str(last["Id"]))
                yield rows
            if resp.get("done", True) or not resp.get("nextRecordsUrl"):
                return
            next_url = str(resp["nextRecordsUrl"])
            try:
                resp = self.session.call(
                    "query_more",
                    lambda sf, url: sf.query_more(url, identifier_is_url=True, headers=headers),
                    next_url,
                )
            except CrmError as exc:
                if exc.code != "INVALID_QUERY_LOCATOR":
                    raise
                probe.restarts += 1
                if probe.restarts > MAX_RESTARTS:
                    raise
                query_position = position
                resp = run(query_position)

    def bulk_rows(
        self, sobject: str, fields: Sequence[str], conditions: Sequence[str] = ()
    ) -> Iterator[list[Row]]:
        """Pages of rows (CSV, unordered) from one Bulk API 2.0 query job."""
        soql = self._soql(sobject, fields, conditions, ordered=False)

        def client(sf: Any) -> Any:
            # the library's own Bulk 2.0 steps, taken from the *current* client each call
            return getattr(sf.bulk2, sobject)._client

        job = self.session.call(
            "bulk2.query.create", lambda sf: client(sf).create_job(Operation.query, soql)
        )
        job_id = str(job["id"])
        wait = 0.5
        while True:
            info = self.session.call("bulk2.query.job", lambda sf: client(sf).get_job(job_id, True))
            state = str(info.get("state"))
            if state == "JobComplete":
                break
            if state in BULK_TERMINAL_FAILURES:
                raise CrmError(
                    f"Bulk 2.0 query job {job_id} on {sobject} ended {state}: "
                    f"{info.get('errorMessage') or 'no reason given'}",
                    crm=CRM,
                    object_type=sobject,
                    code="BULK_JOB_FAILED",
                )
            self.session.sleep(wait)
            wait = min(wait * 2, 10.0)
        locator = ""
        page = self.settings.bulk_page_size
        while True:
            loc = locator
            result = self.session.call(
                "bulk2.query.results",
                lambda sf, at: client(sf).get_query_results(job_id, at, max_records=page),
                loc,
            )
            text = str(result.get("records") or "")
            rows = [
                {k: (v if v != "" else None) for k, v in r.items()}
                for r in csv.DictReader(io.StringIO(text))
            ]
            if rows:
                yield rows
            locator = str(result.get("locator") or "")
            if not locator or locator == "null":
                return

    def full_rows(self, sobject: str, fields: Sequence[str]) -> Iterator[list[Row]]:
        """Every live row: REST pages, or Bulk 2.0 above ``bulk_query_threshold`` rows."""
        probe = _Probe()
        rest = self.rest_rows(sobject, fields, probe=probe)
        first = next(rest, None)
        if probe.total is not None and probe.total > self.settings.bulk_query_threshold:
            rest.close()
            self.paths[sobject] = "bulk"
            yield from self.bulk_rows(sobject, fields)
            return
        self.paths[sobject] = "rest"
        if first is not None:
            yield first
        yield from rest

    # -- full pulls ------------------------------------------------------------------------
    def _full(self, plan: _Plan) -> Iterator[Page[Any]]:
        tracker = _Tracker()
        for rows in self.full_rows(plan.sobject, plan.fields):
            records = []
            for row in rows:
                records.append(plan.mapper.record(plan.object_type, row))
                tracker.see_row(row)
            yield Page(records=records, cursor=tracker.cursor)

    def _full_deals(self, plan: _Plan) -> Iterator[Page[Any]]:
        contacts: dict[str, set[str]] = {}
        for rows in self.full_rows("OpportunityContactRole", OCR_FIELDS):
            for row in rows:
                if row.get("OpportunityId") and row.get("ContactId"):
                    contacts.setdefault(str(row["OpportunityId"]), set()).add(str(row["ContactId"]))
        tracker = _Tracker()
        for rows in self.full_rows(plan.sobject, plan.fields):
            records = []
            for row in rows:
                records.append(plan.mapper.deal(row, contacts.get(str(row["Id"]), ())))
                tracker.see_row(row)
            yield Page(records=records, cursor=tracker.cursor)

    # -- incremental pulls -----------------------------------------------------------------
    def _changed(
        self, plan: _Plan, since: Cursor, tracker: _Tracker
    ) -> Iterator[tuple[list[Row], list[str]]]:
        """(live rows, deleted ids) per page of rows changed after ``since``."""
        fields = [*plan.fields, "IsDeleted"]
        after: Position = (since.modified_at, since.last_id)
        for rows in self.rest_rows(plan.sobject, fields, after=after, include_deleted=True):
            live, deleted = [], []
            for row in rows:
                tracker.see_row(row)
                if row.get("IsDeleted") in (True, "true"):
                    deleted.append(str(row["Id"]))
                else:
                    live.append(row)
            yield live, deleted

    def _incremental(self, plan: _Plan, since: Cursor) -> Iterator[Page[Any]]:
        tracker = _Tracker()
        for live, deleted in self._changed(plan, since, tracker):
            records = [plan.mapper.record(plan.object_type, row) for row in live]
            yield Page(records=records, deleted_ids=tuple(deleted), cursor=tracker.cursor)

    def contacts_of(self, opportunity_ids: Iterable[str]) -> dict[str, set[str]]:
        """Opportunity id -> contact ids of all its roles (every id present, maybe empty)."""
        ids = list(dict.fromkeys(opportunity_ids))
        out: dict[str, set[str]] = {i: set() for i in ids}
        for chunk in chunks(ids, IN_CHUNK):
            where = format_soql("OpportunityId IN {}", chunk)
            for rows in self.rest_rows("OpportunityContactRole", OCR_FIELDS, where=where):
                for row in rows:
                    if row.get("ContactId"):
                        out.setdefault(str(row["OpportunityId"]), set()).add(str(row["ContactId"]))
        return out

    def _deals(self, plan: _Plan, rows: list[Row]) -> list[Any]:
        contacts = self.contacts_of(str(r["Id"]) for r in rows)
        return [plan.mapper.deal(r, contacts.get(str(r["Id"]), ())) for r in rows]

    def _incremental_deals(self, plan: _Plan, since: Cursor) -> Iterator[Page[Any]]:
        tracker = _Tracker()
        seen: set[str] = set()
        for live, deleted in self._changed(plan, since, tracker):
            seen.update(str(r["Id"]) for r in live)
            seen.update(deleted)
            records = self._deals(plan, live) if live else []
            if records or deleted:
                yield Page(records=records, deleted_ids=tuple(deleted), cursor=tracker.cursor)
        # roles changed or deleted since the cursor: re-yield their opportunities
        affected: dict[str, None] = {}
        for rows in self.rest_rows(
            "OpportunityContactRole",
            ("Id", "OpportunityId", "SystemModstamp"),
            after=(since.modified_at, None),
            include_deleted=True,
        ):
            for row in rows:
                tracker.see(parse_datetime(row.get("SystemModstamp")), None)
                opp = str(row.get("OpportunityId") or "")
                if opp and opp not in seen:
                    affected.setdefault(opp)
        for chunk in chunks(list(affected), IN_CHUNK):
            where = format_soql("Id IN {}", chunk)
            for rows in self.rest_rows(plan.sobject, plan.fields, where=where):
                yield Page(records=self._deals(plan, rows), cursor=tracker.cursor)
