"""Full pulls through HubSpot's CRM exports API, for object types with many records.

Why: the list endpoint gives 100 records per request, so 1M contacts cost 10,000
requests -- about nine minutes of a Professional portal's whole budget, per
object type. One export returns every record of a type with the chosen
properties and associated ids as CSV, for a handful of requests (start, a few
status polls), bounded by HubSpot's processing time instead.

How (FACTS.md of the HubSpot stand-in, "Exports and imports"):

1. Count: one search request with ``limit`` 1 answers ``total``. At or below
   ``threshold`` the caller pages the list endpoint as before.
2. ``POST /crm/v3/exports/export/async`` (``VIEW``, CSV, internal names and
   values, the associated object types, association cap lifted), then poll the
   task status (0.5 s doubling to 2 s) until ``COMPLETE``.
3. The download URL (no token, valid 5 minutes: an expired one is replaced by
   polling the status again) is streamed to a temporary file, never held in
   memory; the file is a CSV or a zip of CSVs (above 1M rows) and is read row
   by row into pages of :data:`PAGE_ROWS` canonical records. Properties that do
   not exist in the portal (tag fields before their first provisioning) are left
   out of the request (one properties read) and read as empty.
   A full pull asked for column batches (``HubSpotConnector.pull_columns``, what
   the engine's pull uses) hands the file over instead as one
   :class:`~connectors.hubspot.export_rows.ExportColumns` batch, which DuckDB reads
   straight into the mirror: about ten times less CPU per row than building a
   record per row. A file holding a value DuckDB would not read exactly as the row
   reader does (an ISO stamp, a padded id, an amount such as ``1e3``) is read row
   by row as before.
4. The file lists associated ids but not which association is the primary one:
   contacts with more than one company get their association list from the v4
   batch read (as list pages with capped inline associations do).

An incremental pull whose changed records (one search with the cursor as filter)
exceed ``threshold`` -- the run after a large import, where every written record
counts as changed -- reads an export of all records the same way, with merged ids
from ``hs_merged_object_ids`` and archived ids from the archived listing.

An incremental pull that must verify many of crmseg's own writes reads one export
filtered (``publicCrmSearchRequest.filters``) to the records modified since the
cursor (:meth:`Exporter.filtered`, :mod:`connectors.hubspot.own_writes`).

A start whose answer is lost (a timeout, a dropped connection) is retried like any
read, and HubSpot then runs two exports: the task id comes only in the start answer,
and HubSpot offers no way to find an export without it (no listing of exports, no
idempotency key; the status and export-details reads both need the id). The twin
only reads, so what it costs is one of the 30 exports a day and, since HubSpot runs
one export at a time, its processing time before the next export of the run.

The export path is skipped -- one warning, then list or search pages -- when the
token lacks ``crm.export`` or HubSpot refuses the export (30 a day). Every call goes
through the transport, so the rate limiter and the daily allowance check see
them; the download is not an API call.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import urllib3

from connectors.base import Cursor, ObjectType, Page
from connectors.errors import CrmError, PermissionDenied, Timeout
from connectors.hubspot.export_rows import ExportColumns, RowReader, csv_files, rows
from connectors.hubspot.job_polls import poll_wait
from connectors.hubspot.pull import Puller
from connectors.hubspot.pull_core import _CursorTracker
from connectors.hubspot.records import (
    ASSOCIATED_TYPES,
    LASTMOD,
    PLURAL,
    WireRecord,
)
from connectors.hubspot.transport import Transport
from connectors.scratch import ScratchDir

__all__ = ["Exporter", "poll_wait"]

log = logging.getLogger(__name__)

PAGE_ROWS = 1_000
EXPORT_TYPE = {"contact": "CONTACT", "company": "COMPANY", "deal": "DEAL"}
DOWNLOAD_ATTEMPTS = 3
CHUNK = 1 << 20


class Exporter:
    """Decides per full pull whether to export, and runs the export."""

    def __init__(
        self,
        transport: Transport,
        puller: Puller,
        threshold: int,
        *,
        sleep: Callable[[float], None] | None = None,
        timeout_seconds: float = 4 * 3600,
    ) -> None:
        self.transport, self.puller, self.mapper = transport, puller, puller.mapper
        self.threshold = threshold
        self.sleep = sleep or transport.clock.sleep
        self.clock = transport.clock
        self.timeout_seconds = timeout_seconds
        #: Set once HubSpot refused an export this run: further pulls use list pages.
        self.refused: str | None = None
        #: How each object type's last full pull was read: "export" or "list".
        self.paths: dict[str, str] = {}

    # -- decision ------------------------------------------------------------------
    def count(self, object_type: ObjectType, since: Cursor | None = None) -> int | None:
        """Live records of a type (changed since ``since``) from one search request
        (``None``: unknown)."""
        api = self.transport.api(f"crm.{PLURAL[object_type]}.search_api")
        groups: list[dict[str, Any]] = []
        if since is not None:
            ms = str(int(since.modified_at.timestamp() * 1000))
            lastmod = {"propertyName": LASTMOD[object_type], "operator": "GTE", "value": ms}
            groups = [{"filters": [lastmod]}]
        body = {
            "filterGroups": groups,
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "properties": ["hs_object_id"],
            "limit": 1,
            "after": "0",
        }
        resp = self.transport.call(
            "objects.search.count",
            api.do_search,
            public_object_search_request=body,
            bucket="search",
        )
        total = getattr(resp, "total", None)
        return int(total) if total is not None else None

    def pull(
        self, object_type: ObjectType, requested: Sequence[str], *, columns: bool = False
    ) -> Iterator[Any] | None:
        """Pages of a full pull read from an export, or ``None`` to page the list
        endpoint (switched off, small enough, or refused). With ``columns`` the
        export's rows come as one :class:`~connectors.base.ColumnBatch` where the
        file allows it (:class:`~connectors.hubspot.export_rows.ExportColumns`)."""
        if self.threshold <= 0 or self.refused is not None:
            return None
        total = self.count(object_type)
        if total is None or total <= self.threshold:
            self.paths[object_type] = "list"
            return None
        props = self.mapper.export_properties(object_type, requested)
        task = self._start(object_type, self._existing(object_type, props))
        if task is None:
            self.paths[object_type] = "list"
            return None
        self.paths[object_type] = "export"
        if columns:
            return self._column_pages(object_type, task, props, list(requested))
        return self._pages(object_type, task, props, list(requested))

    def filtered(
        self, object_type: ObjectType, props: list[str], filters: list[dict[str, str]], why: str
    ) -> Iterator[list[WireRecord]] | None:
        """Chunks of :data:`PAGE_ROWS` wire records (no associations) of one export of
        the records matching ``filters`` (search filters, all must hold), or ``None``
        when HubSpot refuses exports this run (warned once: ``why`` names what the
        export was for and what is done instead)."""
        if self.refused is not None:
            return None
        kept = self._existing(object_type, props)
        task = self._start(object_type, kept, filters=filters, instead=why, assoc=False)
        return None if task is None else self._wire_pages(object_type, task, props)

    def pull_changed(
        self, object_type: ObjectType, since: Cursor, requested: Sequence[str]
    ) -> Iterator[Page[Any]] | None:
        """An incremental pull that found more changed records than ``threshold`` (after
        a large import, say: every record it wrote is "changed") reads one export of all
        records instead of 200-record search pages; merged ids come from
        ``hs_merged_object_ids`` and archived ids from the archived listing, as in a
        search pull. ``None``: search as usual."""
        if self.threshold <= 0 or self.refused is not None:
            return None
        changed = self.count(object_type, since)
        # crmseg's own writes that the search pull verifies without reading them all
        # (one filtered export or one counting search) are not changes to export
        if (
            changed is None
            or changed - self.puller.verifiable(object_type, since) <= self.threshold
        ):
            return None
        props = self.mapper.export_properties(object_type, requested)
        task = self._start(object_type, self._existing(object_type, props))
        if task is None:
            return None
        self.paths[object_type] = "export"
        return self._pages(object_type, task, props, list(requested), since)

    def _existing(self, object_type: ObjectType, props: list[str]) -> list[str]:
        """``props`` less those the portal does not have. A property that does not
        exist (yet: tags before their first provisioning) is null on every record;
        asking an export for it would fail the export."""
        api = self.transport.api("crm.properties.core_api")
        answer = self.transport.call(
            "properties.list", api.get_all, PLURAL[object_type], archived=False
        )
        existing = {"hs_object_id", *(p.name for p in getattr(answer, "results", None) or [])}
        return [p for p in props if p in existing]

    # -- the job ---------------------------------------------------------------------
    def _start(
        self,
        object_type: ObjectType,
        props: list[str],
        *,
        filters: list[dict[str, str]] | None = None,
        instead: str = "full pulls read list pages instead (100 records per request)",
        assoc: bool = True,
    ) -> str | None:
        api = self.transport.api("crm.exports.public_exports_api")
        body: dict[str, Any] = {
            "exportType": "VIEW",
            "format": "CSV",
            "exportName": f"crmseg {PLURAL[object_type]} full pull",
            "language": "EN",
            "objectType": EXPORT_TYPE[object_type],
            "objectProperties": props,
            "exportInternalValuesOptions": ["NAMES", "VALUES"],
            "includePrimaryDisplayPropertyForAssociatedObjects": False,
            "overrideAssociatedObjectsPerDefinitionPerRowLimit": True,
        }
        linked = [EXPORT_TYPE[_singular(t)] for t in ASSOCIATED_TYPES[object_type]]
        if linked and assoc:
            body["associatedObjectType"] = linked
        if filters:
            body["publicCrmSearchRequest"] = {"filters": filters}
            body["exportName"] = f"crmseg {PLURAL[object_type]} changed"
        try:
            located = self.transport.call("exports.start", api.start, body)
        except PermissionDenied as err:
            self._refuse(f"the private app lacks the crm.export scope ({err.message})", instead)
            return None
        except CrmError as err:
            if err.status is None or not 400 <= err.status < 500:
                raise
            self._refuse(f"HubSpot refused the export: {err.message}", instead)
            return None
        task = getattr(located, "id", None)
        if not task:
            raise CrmError("exports.start: no task id in the answer", crm="hubspot")
        return str(task)

    def _refuse(self, why: str, instead: str) -> None:
        self.refused = why
        log.warning("%s; %s for the rest of this run", why, instead)

    def _result_url(self, task: str) -> str:
        """Poll until the export is complete; its (fresh) download URL."""
        api = self.transport.api("crm.exports.public_exports_api")
        deadline = self.clock.monotonic() + self.timeout_seconds
        attempt = 0
        while True:
            status = self.transport.call("exports.status", api.get_status, task)
            state = str(getattr(status, "status", "") or "").upper()
            result = getattr(status, "result", None)
            if state == "COMPLETE" and result:
                return str(result)
            if state == "CANCELED":
                raise CrmError(f"export {task} was canceled in HubSpot", crm="hubspot")
            if self.clock.monotonic() >= deadline:
                raise Timeout(
                    f"export {task} still {state or 'unknown'} after {self.timeout_seconds:.0f} s",
                    crm="hubspot",
                )
            self.sleep(poll_wait(attempt))
            attempt += 1

    def _download(self, task: str, into: Any) -> None:
        s = self.transport.settings
        pool = urllib3.PoolManager(
            ca_certs=s.ssl_ca_cert or None,
            timeout=urllib3.Timeout(connect=s.timeout_seconds, read=s.timeout_seconds),
            retries=False,
        )
        for attempt in range(DOWNLOAD_ATTEMPTS):
            url = self._result_url(task)
            try:
                resp = pool.request("GET", url, preload_content=False)
            except urllib3.exceptions.HTTPError as exc:
                if attempt + 1 == DOWNLOAD_ATTEMPTS:
                    raise Timeout(f"export {task}: download failed ({exc})", crm="hubspot") from exc
                continue
            try:
                if resp.status in (403, 404):  # expired URL: the next status mints a new one
                    continue
                if resp.status != 200:
                    raise CrmError(
                        f"export {task}: download answered HTTP {resp.status}",
                        crm="hubspot",
                        status=resp.status,
                    )
                into.seek(0)
                into.truncate()
                for chunk in resp.stream(CHUNK):
                    into.write(chunk)
                into.flush()
                return
            except urllib3.exceptions.HTTPError as exc:
                if attempt + 1 == DOWNLOAD_ATTEMPTS:
                    raise Timeout(
                        f"export {task}: download broke off ({exc})", crm="hubspot"
                    ) from exc
            finally:
                resp.release_conn()
        raise CrmError(f"export {task}: the download URL kept expiring", crm="hubspot")

    # -- reading ---------------------------------------------------------------------
    def _pages(
        self,
        object_type: ObjectType,
        task: str,
        props: list[str],
        requested: list[str],
        since: Cursor | None = None,
    ) -> Iterator[Page[Any]]:
        tracker = _CursorTracker(since)
        for wires in self._wire_pages(object_type, task, props):
            yield self._page(object_type, wires, requested, tracker, since is not None)
        if since is not None:
            yield from self.puller._archived(object_type, since, tracker)

    def _wire_pages(
        self, object_type: ObjectType, task: str, props: list[str]
    ) -> Iterator[list[WireRecord]]:
        with ScratchDir("export") as workdir:
            name = os.path.join(workdir, "download.bin")
            with open(name, "w+b") as fh:
                self._download(task, fh)
            yield from self._read_wires(object_type, name, props)

    @staticmethod
    def _read_wires(
        object_type: ObjectType, name: str, props: list[str]
    ) -> Iterator[list[WireRecord]]:
        wires: list[WireRecord] = []
        reader = RowReader(object_type, props)
        for row in rows(name):
            wires.append(reader.wire(row))
            if len(wires) >= PAGE_ROWS:
                yield wires
                wires = []
        if wires:
            yield wires

    def _column_pages(
        self, object_type: ObjectType, task: str, props: list[str], requested: list[str]
    ) -> Iterator[Any]:
        """A full pull's export as one :class:`ExportColumns` batch, or, for a file
        holding values only the row reader reads (or a refusal of DuckDB to read
        it), as pages of records. The batch owns the downloaded file(s) from the
        moment it is handed over: the consumer may store it after this generator
        has ended (a prefetch thread reads ahead)."""
        scratch = ScratchDir("export")
        workdir = scratch.path
        handed = False
        try:
            name = os.path.join(workdir, "download.bin")
            with open(name, "w+b") as fh:
                self._download(task, fh)
            files = csv_files(name, workdir)
            if files != [name]:
                os.unlink(name)

            def fetch(ids: list[str]) -> dict[str, list[Any]]:
                return self.puller.fetch_associations(PLURAL[object_type], "companies", ids)

            batch = ExportColumns.prepare(object_type, files, props, requested, self.mapper, fetch)
            if batch is None:
                log.info(
                    "export of %s: a value needs the row reader; reading it row by row",
                    PLURAL[object_type],
                )
                tracker = _CursorTracker(None)
                for path in files:
                    for wires in self._read_wires(object_type, path, props):
                        yield self._page(object_type, wires, requested, tracker)
                return
            if batch.count:
                batch.attach(scratch)
                handed = True
                yield batch
        finally:
            if not handed:
                scratch.remove()

    def _page(
        self,
        object_type: ObjectType,
        wires: list[WireRecord],
        requested: list[str],
        tracker: _CursorTracker,
        deletions: bool = False,
    ) -> Page[Any]:
        # The file has no primary flag: several companies need the v4 answer.
        ambiguous = {
            to: [w.id for w in wires if len(w.associations.get(to, [])) > 1]
            for to in ASSOCIATED_TYPES[object_type]
            if to == "companies" and object_type == "contact"
        }
        self.puller._fill_associations(object_type, wires, ambiguous)
        records = []
        for w in wires:
            records.append(self.mapper.record(object_type, w, requested))
            tracker.see(w.id, w.updated_at)
        deleted: list[str] = []
        if deletions:  # ids merged into a record of this page leave the mirror
            for w in wires:
                merged = w.properties.get("hs_merged_object_ids") or ""
                deleted.extend(x for x in merged.split(";") if x)
        return Page(records=records, deleted_ids=tuple(deleted), cursor=tracker.cursor)


def _singular(plural: str) -> ObjectType:
    return {v: k for k, v in PLURAL.items()}[plural]
