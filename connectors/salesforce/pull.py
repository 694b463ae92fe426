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

import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from simple_salesforce import format_soql

from connectors.base import Cursor, ObjectType, Page, chunks
from connectors.errors import ConfigError, PermissionDenied
from connectors.readahead import ReadAhead
from connectors.salesforce.pull_support import (
    _CONVERT,
    CORE,
    IN_CHUNK,
    OCR_FIELDS,
    Position,
    Row,
    _capped,
    _Plan,
    _Tracker,
    keyset_where,
)
from connectors.salesforce.records import (
    FIELD_NAME,
    SOBJECT,
    RecordMapper,
    parse_datetime,
    to_api_name,
    validate_names,
)
from connectors.salesforce.row_reads import RowReads
from connectors.salesforce.session import CRM, SalesforceSession

__all__ = ["IN_CHUNK", "Puller", "keyset_where"]

log = logging.getLogger(__name__)


class Puller(RowReads):
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
