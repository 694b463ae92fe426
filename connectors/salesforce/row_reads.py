"""The row streams of the Salesforce pull: REST queries in key-set order, Bulk API
2.0 query jobs, counts, and full reads narrowed into ``SystemModstamp`` windows when
a query times out (see :mod:`connectors.salesforce.pull` for the rules)."""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from simple_salesforce.bulk2 import Operation

from connectors.errors import CrmError
from connectors.salesforce.pull_support import (
    BULK_DISABLED,
    BULK_TERMINAL_FAILURES,
    MAX_RESTARTS,
    QUERY_TIMEOUT,
    Position,
    Row,
    _after,
    _before,
    _csv_rows,
    _Probe,
    _utc,
    keyset_where,
)
from connectors.salesforce.records import parse_datetime
from connectors.salesforce.session import CRM, SalesforceSession


class RowReads:
    """Row streams through one :class:`SalesforceSession`, each request holding one of
    the pull's slots (the state lives in :class:`connectors.salesforce.pull.Puller`)."""

    session: SalesforceSession
    settings: Any
    paths: dict[str, str]
    narrowings: int
    _slots: threading.BoundedSemaphore

    def _call(self, endpoint: str, fn: Any, *args: Any) -> Any:
        """One request through the session, holding one of the pull's slots."""
        with self._slots:
            return self.session.call(endpoint, fn, *args)

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
