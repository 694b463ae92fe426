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
    The row count comes from ``SELECT COUNT() FROM <object>`` -- never from an
    unfiltered ``ORDER BY`` query, the classic ``QUERY_TIMEOUT`` on big objects (a
    COUNT that itself times out counts as big). Above
    ``settings.bulk_query_threshold`` the rows come from one Bulk API 2.0 query job
    (CSV pages by ``Sforce-Locator``, no ORDER BY); an org without the Bulk API
    (``API_DISABLED_FOR_ORG``) is read through REST instead. A REST query that
    answers ``QUERY_TIMEOUT`` is not retried unchanged: it is split into two
    SystemModstamp windows, read one after the other (recursively, down to one
    second). ``deleted_ids`` is empty: the engine replaces its mirror with a full
    pull. Deals: all OpportunityContactRole rows are read first (same rules) into
    opportunity -> contacts.

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
    until a row was seen); role changes advance it as ``(T, None)``. A full pull's
    cursor is capped at the time the pull started, ``(start, None)``: a long pull
    reads its rows minutes apart (Bulk jobs read PK chunks one after another), so a
    row read late may carry a stamp later than an edit to a row read early, and a
    cursor past that edit would make the next incremental pull skip it. From the
    capped cursor the next pull (less the engine's overlap) re-reads everything
    changed since the full pull began.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import threading
from collections.abc import Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from simple_salesforce import format_soql
from simple_salesforce.bulk2 import Operation

from connectors.base import Cursor, ObjectType, Page, chunks
from connectors.errors import ConfigError, CrmError, PermissionDenied
from connectors.readahead import ReadAhead
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

log = logging.getLogger(__name__)

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


class Puller:
    """Full and incremental pulls through one :class:`SalesforceSession`."""

    def __init__(self, session: SalesforceSession) -> None:
        self.session = session
        self.settings = session.settings
        #: Per object type: requested properties the org has no field for (last pull).
        self.missing: dict[str, list[str]] = {}
        #: How the last full pull of each sObject was read: "rest" or "bulk".
        self.paths: dict[str, str] = {}
        #: How often a timed-out query was split into two SystemModstamp windows.
        self.narrowings = 0
        #: None until checked; then whether the integration user sees every record.
        self.sees_everything: bool | None = None
        #: Requests of the pulls in flight at once: at most ``[crm] concurrency``, however
        #: many object types are pulled at the same time (``concurrent_pulls``).
        self._slots = threading.BoundedSemaphore(max(1, self.settings.concurrency))
        self._visibility = threading.Lock()

    def _call(self, endpoint: str, fn: Any, *args: Any) -> Any:
        """One request through the session, holding one of the pull's slots."""
        with self._slots:
            return self.session.call(endpoint, fn, *args)

    # -- entry point -----------------------------------------------------------------
    def pull(
        self, object_type: ObjectType, since: Cursor | None, properties: Sequence[str] = ()
    ) -> Iterator[Page[Any]]:
        plan = self.plan(object_type, properties)  # validates before the first request
        self.check_visibility()
        return self._pull(plan, since)

    def check_visibility(self) -> None:
        """Once per run: refuse to pull for a user without "View All Data" (FACTS.md
        "Sharing"), unless ``settings.partial_visibility_ok``.

        Such a user sees only the records shared with it, and queries return that subset
        without a word, so every segment (ABC classes, RFM quantiles) would be computed
        on part of the org. The permission is read from the user's permission set
        assignments, which include the one its profile owns."""
        with self._visibility:  # pulls of several object types start at once
            self._check_visibility()

    def _check_visibility(self) -> None:
        if self.sees_everything is not None:
            return
        user = self.session.user_id
        soql = format_soql(
            "SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = {} "
            "AND PermissionSet.PermissionsViewAllData = true LIMIT 1",
            user,
        )
        answer = self._call("viewalldata.find", lambda sf: sf.query(soql))
        self.sees_everything = bool(answer.get("records"))
        if self.sees_everything:
            return
        if self.settings.partial_visibility_ok:
            log.warning(
                "the Salesforce integration user %s lacks 'View All Data': crmseg sees only "
                "the records shared with it, and segments cover only those "
                "([crm] partial_visibility_ok = true)",
                user,
            )
            return
        raise PermissionDenied(
            f"the integration user {user} lacks 'View All Data', so Salesforce returns only "
            "the records shared with it and every segment would be computed on that subset "
            "without a warning. Grant 'View All Data' to the integration user (in a "
            "permission set), or set [crm] partial_visibility_ok = true to segment what it "
            "can see.",
            crm=CRM,
            code="PARTIAL_VISIBILITY",
        )

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
        body = self._call("describe", lambda sf: sf.restful(f"sobjects/{sobject}/describe"))
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
            return self._call(
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
                resp = self._call(
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

        job = self._call(
            "bulk2.query.create", lambda sf: client(sf).create_job(Operation.query, soql)
        )
        job_id = str(job["id"])
        wait = 0.5
        while True:
            info = self._call("bulk2.query.job", lambda sf: client(sf).get_job(job_id, True))
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
            result = self._call(
                "bulk2.query.results",
                lambda sf, at: client(sf).get_query_results(job_id, at, max_records=page),
                loc,
            )
            rows = _csv_rows(str(result.get("records") or ""), fields)
            if rows:
                yield rows
            locator = str(result.get("locator") or "")
            if not locator or locator == "null":
                return

    def count(self, sobject: str) -> int | None:
        """``SELECT COUNT() FROM sobject`` (one cheap call; ``None`` if even that timed out)."""
        try:
            answer = self._call(
                "query.count", lambda sf: sf.query(f"SELECT COUNT() FROM {sobject}")
            )
        except CrmError as exc:
            if exc.code != QUERY_TIMEOUT:
                raise
            return None
        return int(answer.get("totalSize") or 0)

    def full_rows(self, sobject: str, fields: Sequence[str]) -> Iterator[list[Row]]:
        """Every live row: REST pages, or Bulk 2.0 above ``bulk_query_threshold`` rows.

        The size comes from ``SELECT COUNT()``, never from an unfiltered ``ORDER BY``
        query (the classic ``QUERY_TIMEOUT`` on big objects; a COUNT that itself times
        out means "big"). An org without the Bulk API (``API_DISABLED_FOR_ORG``) is read
        through REST, narrowed by SystemModstamp windows where a query times out."""
        total = self.count(sobject)
        if total is None or total > self.settings.bulk_query_threshold:
            try:
                pages = self.bulk_rows(sobject, fields)
                first = next(pages, None)
            except CrmError as exc:
                if exc.code not in BULK_DISABLED:
                    raise
            else:
                self.paths[sobject] = "bulk"
                if first is not None:
                    yield first
                yield from pages
                return
        self.paths[sobject] = "rest"
        yield from self.narrowed_rows(sobject, fields)

    def narrowed_rows(
        self,
        sobject: str,
        fields: Sequence[str],
        *,
        where: str | None = None,
        after: Position | None = None,
        include_deleted: bool = False,
    ) -> Iterator[list[Row]]:
        """:meth:`rest_rows`, split into SystemModstamp windows when a query answers
        ``QUERY_TIMEOUT`` (FACTS.md "Big objects"): the failing window [from, to) is
        halved (whole seconds) and its halves are read in order, so the key-set order
        holds across windows. A window of one second that still times out raises."""
        windows: list[tuple[Position | None, datetime | None]] = [(after, None)]
        while windows:
            start, end = windows.pop()
            last = start
            conditions = [c for c in (where, _before(end)) if c]
            try:
                for rows in self.rest_rows(
                    sobject,
                    fields,
                    where=" AND ".join(f"({c})" for c in conditions) if conditions else None,
                    after=start,
                    include_deleted=include_deleted,
                ):
                    yield rows
                    stamp = parse_datetime(rows[-1].get("SystemModstamp"))
                    if stamp is not None:
                        last = (stamp, str(rows[-1]["Id"]))
            except CrmError as exc:
                if exc.code != QUERY_TIMEOUT:
                    raise
                lo = last[0] if last else self._oldest(sobject, where, include_deleted)
                if lo is None:
                    return
                hi = end or datetime.now(UTC) + timedelta(seconds=1)
                mid = (_utc(lo) + (_utc(hi) - _utc(lo)) / 2).replace(microsecond=0)
                if mid <= _utc(lo).replace(microsecond=0) or mid >= _utc(hi):
                    raise
                self.narrowings += 1
                windows.append(((mid, None), end))  # read second
                windows.append((last, mid))  # read first

    def _oldest(self, sobject: str, where: str | None, include_deleted: bool) -> datetime | None:
        soql = f"SELECT SystemModstamp FROM {sobject}"
        if where:
            soql += f" WHERE {where}"
        soql += " ORDER BY SystemModstamp LIMIT 1"
        answer = self._call(
            "query.oldest", lambda sf: sf.query(soql, include_deleted=include_deleted)
        )
        rows = answer.get("records") or []
        return parse_datetime(rows[0].get("SystemModstamp")) if rows else None

    # -- full pulls ------------------------------------------------------------------------
    def _full(self, plan: _Plan) -> Iterator[Page[Any]]:
        started = datetime.now(UTC)
        tracker = _Tracker()
        for rows in self.full_rows(plan.sobject, plan.fields):
            records = []
            for row in rows:
                records.append(plan.mapper.record(plan.object_type, row))
                tracker.see_row(row)
            yield Page(records=records, cursor=_capped(tracker.cursor, started))

    def _full_deals(self, plan: _Plan) -> Iterator[Page[Any]]:
        started = datetime.now(UTC)
        contacts: dict[str, set[str]] = {}
        # Opportunities are read at the same time as the roles (connectors.readahead).
        opportunities = ReadAhead(
            self.full_rows(plan.sobject, plan.fields), name="crmseg-pull-Opportunity"
        )
        try:
            for rows in self.full_rows("OpportunityContactRole", OCR_FIELDS):
                opportunities.raise_if_failed()
                for row in rows:
                    if row.get("OpportunityId") and row.get("ContactId"):
                        contacts.setdefault(str(row["OpportunityId"]), set()).add(
                            str(row["ContactId"])
                        )
            tracker = _Tracker()
            for rows in opportunities:
                records = []
                for row in rows:
                    records.append(plan.mapper.deal(row, contacts.get(str(row["Id"]), ())))
                    tracker.see_row(row)
                yield Page(records=records, cursor=_capped(tracker.cursor, started))
        finally:
            opportunities.close()

    # -- incremental pulls -----------------------------------------------------------------
    def _changed(
        self, plan: _Plan, since: Cursor, tracker: _Tracker
    ) -> Iterator[tuple[list[Row], list[str]]]:
        """(live rows, deleted ids) per page of rows changed after ``since``."""
        fields = [*plan.fields, "IsDeleted"]
        after: Position = (since.modified_at, since.last_id)
        for rows in self.narrowed_rows(plan.sobject, fields, after=after, include_deleted=True):
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
