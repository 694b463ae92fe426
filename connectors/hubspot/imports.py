"""Tag writes through HubSpot's CRM imports API, for runs that change many records.

Why: batch updates carry 100 records per request, so 1M changed contacts cost
10,000 requests. One import updates up to ~1M existing records from a CSV file
in a single request plus status polls, bounded by HubSpot's processing time.

How (FACTS.md of the HubSpot stand-in, "Exports and imports"):

* Above ``threshold`` updates of one object type, one import job for the type
  (``importOperations {"0-1": "UPDATE"}``), the record id in a column mapped as
  ``HUBSPOT_OBJECT_ID``. Records whose updates touch the same fields share one
  CSV file (an import may hold several files), so no row carries a blank cell
  for a field it does not change: whether a blank clears is undocumented.
* Above ``PART_ROWS`` rows per import the updates are split over up to three
  imports started at once (HubSpot processes three at a time), each named by
  its own content; a part HubSpot refuses to start after others started is
  written with batch updates.
* Values are absolute. Multi-checkbox cells are written without a leading
  ``;``, which replaces the record's values (a leading ``;`` would append).
* Clearing a tag (``None``) cannot go through an import (a blank cell is not
  known to clear), so updates that clear anything are sent as batch updates.
* Per-row errors (``GET /crm/v3/imports/{id}/errors`` with the row data) become
  :class:`RecordRejected` for the record in the row's first cell; they count as
  rejected and are retried next run.
* A missing ``crm.import`` scope, or HubSpot refusing the import (its daily or
  concurrent limits), falls back to batch updates with one warning per run.

Surviving a lost answer or a killed run (values are absolute, so the worst a
repeat does is write the same values again -- but it must not even do that):

* the import's name carries a digest of its content; before starting one, and
  again when the start's answer was lost, the connector looks for an import of
  that name that is running or done, and follows it instead of starting a twin;
* :func:`settle` waits for any crmseg import still processing before a pull
  reads records, so a run after one that was killed mid-import plans from the
  values that import wrote, and neither writes them twice nor loses one.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from connectors.base import ObjectType, TagUpdate, WriteResult, chunks
from connectors.errors import CrmError, PermissionDenied, RecordRejected, ServerError, Timeout
from connectors.hubspot.error_map import map_exception
from connectors.hubspot.import_files import OBJECT_TYPE_ID, split, write_files
from connectors.hubspot.job_polls import poll_wait
from connectors.hubspot.records import PLURAL
from connectors.hubspot.transport import Transport
from connectors.scratch import ScratchDir

__all__ = ["Importer"]

log = logging.getLogger(__name__)

NAME_PREFIX = "crmseg "
RUNNING = frozenset({"STARTED", "PROCESSING", "DEFERRED"})
ENDED_BADLY = frozenset({"FAILED", "CANCELED", "REVERTED"})
ERRORS_PAGE = 500
LIST_PAGES = 5
CREATE_ATTEMPTS = 3
#: HubSpot processes at most three imports at once (FACTS.md); crmseg uses them all.
PARALLEL_IMPORTS = 3
#: Below this many rows per import, one more import saves less than its fixed overhead.
PART_ROWS = 100_000


class _Unsure(CrmError):
    """The start of an import got no answer: it may or may not exist now."""


class Importer:
    """Writes large tag changes as imports; remembers refusals for the run."""

    def __init__(
        self,
        transport: Transport,
        threshold: int,
        write_batch: Callable[[Sequence[TagUpdate]], list[WriteResult]],
        *,
        sleep: Callable[[float], None] | None = None,
        timeout_seconds: float = 4 * 3600,
    ) -> None:
        self.transport = transport
        self.threshold = threshold
        self.write_batch = write_batch
        self.sleep = sleep or transport.clock.sleep
        self.clock = transport.clock
        self.timeout_seconds = timeout_seconds
        #: Why imports are off for the rest of this run (``None``: they are on).
        self.refused: str | None = None
        self._scope_missing = False
        self._settled = False
        self._settle_lock = threading.Lock()
        #: Imports started at once for one object type (HubSpot processes three).
        self.parallel = PARALLEL_IMPORTS
        #: Rows an import holds at least before the write is split into more.
        self.part_rows = PART_ROWS

    # -- before pulling ----------------------------------------------------------------
    def settle(self) -> list[str]:
        """Wait (once per run) for crmseg imports still processing in HubSpot; their ids."""
        with self._settle_lock:  # pulls of several object types may start at once
            if self._settled or self.threshold <= 0:
                return []
            self._settled = True
            return self._settle()

    def _settle(self) -> list[str]:
        try:
            running = [j for j in self._list() if str(j.state) in RUNNING]
        except PermissionDenied:
            self._scope_missing = True
            return []
        waited = []
        for job in running:
            log.info(
                "waiting for import %s (%s) started by an earlier run", job.id, job.import_name
            )
            self._wait(str(job.id))
            waited.append(str(job.id))
        return waited

    # -- writing -------------------------------------------------------------------------
    def write_bulk(self, updates: Sequence[TagUpdate]) -> list[WriteResult] | None:
        """One import for more than ``threshold`` updates of one object type; ``None``
        (batch updates) for fewer, when switched off, or when HubSpot refuses."""
        if self.threshold <= 0 or len(updates) <= self.threshold:
            return None
        if self.refused is not None:
            return None
        if self._scope_missing:
            self._refuse("the private app lacks the crm.import scope")
            return None
        types = {u.object_type for u in updates}
        if len(types) != 1:
            raise ValueError(f"one object type per bulk write; got {sorted(types)}")
        object_type = types.pop()
        clearing = [u for u in updates if any(v is None for v in u.values.values())]
        setting = [u for u in updates if all(v is not None for v in u.values.values())]
        outcome: dict[str, WriteResult] = {}
        rest: list[TagUpdate] = list(clearing)
        if setting:
            imported, refused = self._import_parts(object_type, setting)
            if imported is None:
                return None
            if not clearing and not refused:
                return imported  # in the order of ``updates``: nothing else to merge
            outcome.update((r.record_id, r) for r in imported)
            rest += refused
        for batch in chunks(rest, 100):
            outcome.update((r.record_id, r) for r in self.write_batch(batch))
        return [outcome[u.record_id] for u in updates]

    def _refuse(self, why: str) -> None:
        if self.refused is None:
            log.warning(
                "%s; tags are written with batch updates (100 records per request) for the "
                "rest of this run",
                why,
            )
        self.refused = why

    def _import_parts(
        self, object_type: ObjectType, updates: list[TagUpdate]
    ) -> tuple[list[WriteResult] | None, list[TagUpdate]]:
        """Up to ``parallel`` imports at once, each of at least ``part_rows`` rows;
        returns (their results, the updates of parts HubSpot refused to start).

        Why several: HubSpot processes up to three imports at once (FACTS.md), and an
        import's time grows with its rows. A part refused after others started (another
        application's imports hold the slots, a daily cap) is written with batch
        updates; ``None`` when the first part is refused (the whole write then goes in
        batches)."""
        parts = split(updates, max(1, min(self.parallel, len(updates) // max(self.part_rows, 1))))
        started: list[tuple[str, list[TagUpdate]]] = []
        refused: list[TagUpdate] = []
        for n, part in enumerate(parts):
            if self.refused is not None:
                refused += part
                continue
            import_id = self._start_part(object_type, part, n, len(parts))
            if import_id is None:
                if not started:
                    return None, []
                refused += part
                continue
            started.append((import_id, part))
        out: list[WriteResult] = []
        for import_id, part in started:
            state = self._wait(import_id)
            if state != "DONE":
                self._refuse(f"import {import_id} ended {state}")
                refused += part
                continue
            out += self._results(object_type, import_id, part)
        return out, refused

    def _start_part(
        self, object_type: ObjectType, updates: list[TagUpdate], n: int, of: int
    ) -> str | None:
        """Write one part's CSV files to disk and start its import; its id, or ``None``
        when HubSpot refused (the reason is logged once)."""
        paths: list[str] = []
        with ScratchDir("import") as tmp:
            files, digest = write_files(tmp, object_type, updates, paths)
            label = "" if of == 1 else f" part {n + 1} of {of}"
            name = f"{NAME_PREFIX}{PLURAL[object_type]} {digest[:16]}{label}"
            request = {
                "name": name,
                "importOperations": {OBJECT_TYPE_ID[object_type]: "UPDATE"},
                "dateFormat": "YEAR_MONTH_DAY",
                "files": files,
            }
            try:
                return self._start(name, request, paths)
            except PermissionDenied:
                self._scope_missing = True
                self._refuse("the private app lacks the crm.import scope")
                return None
            except CrmError as err:
                if isinstance(err, _Unsure) or err.status is None or not 400 <= err.status < 500:
                    raise
                self._refuse(f"HubSpot refused the import: {err.message}")
                return None

    # -- the job ---------------------------------------------------------------------------
    def _api(self) -> Any:
        return self.transport.api("crm.imports.core_api")

    def _list(self) -> list[Any]:
        api, out, after = self._api(), [], None
        for _ in range(LIST_PAGES):
            kw: dict[str, Any] = {"limit": 100}
            if after:
                kw["after"] = after
            page = self.transport.call("imports.list", api.get_page, **kw)
            out += [
                j for j in page.results or [] if str(j.import_name or "").startswith(NAME_PREFIX)
            ]
            nxt = getattr(getattr(page, "paging", None), "next", None)
            after = getattr(nxt, "after", None)
            if not after:
                break
        return out

    def _find(self, name: str) -> str | None:
        for job in self._list():
            if job.import_name == name and str(job.state) not in ENDED_BADLY:
                return str(job.id)
        return None

    def _start(self, name: str, request: dict[str, Any], paths: list[str]) -> str:
        existing = self._find(name)
        if existing is not None:
            log.info("import %s with the same content exists already; following it", existing)
            return existing
        api = self._api()
        timeout = self.transport.settings.timeout_seconds

        def create_once() -> Any:
            try:
                return api.create(
                    files=paths, import_request=json.dumps(request), _request_timeout=timeout
                )
            except Exception as exc:
                mapped = map_exception(exc, "imports.start")
                if isinstance(mapped, Timeout | ServerError):
                    # Not retried blindly: the import may exist without us knowing its id.
                    raise _Unsure(f"imports.start: {mapped.message}", crm="hubspot") from exc
                raise

        for attempt in range(CREATE_ATTEMPTS):
            try:
                job = self.transport.call("imports.start", create_once)
                return str(job.id)
            except _Unsure:
                found = self._find(name)
                if found is not None:
                    return found
                if attempt + 1 == CREATE_ATTEMPTS:
                    raise
                self.sleep(poll_wait(attempt))
        raise AssertionError("unreachable")

    def _wait(self, import_id: str) -> str:
        api = self._api()
        deadline = self.clock.monotonic() + self.timeout_seconds
        attempt = 0
        while True:
            job = self.transport.call("imports.get", api.get_by_id, int(import_id))
            state = str(getattr(job, "state", "") or "")
            if state and state not in RUNNING:
                return state
            if self.clock.monotonic() >= deadline:
                raise Timeout(
                    f"import {import_id} still {state} after {self.timeout_seconds:.0f} s; it "
                    "keeps running in HubSpot and the next run waits for it",
                    crm="hubspot",
                )
            self.sleep(poll_wait(attempt))
            attempt += 1

    def _results(
        self, object_type: ObjectType, import_id: str, updates: list[TagUpdate]
    ) -> list[WriteResult]:
        wanted = {u.record_id for u in updates}
        failed: dict[str, RecordRejected] = {}
        api = self.transport.api("crm.imports.public_imports_api")
        after: str | None = None
        while True:
            kw: dict[str, Any] = {
                "limit": ERRORS_PAGE,
                "include_row_data": True,
                "include_error_message": True,
            }
            if after:
                kw["after"] = after
            page = self.transport.call("imports.errors", api.get_errors, int(import_id), **kw)
            for e in page.results or []:
                row = list(getattr(getattr(e, "source_data", None), "row_data", None) or [])
                rid = str(row[0]).strip() if row else ""
                if rid not in wanted:
                    continue
                message = e.error_message or e.error_type or "rejected by the import"
                if e.invalid_value:
                    message = f"{message} (value {e.invalid_value!r})"
                failed.setdefault(
                    rid,
                    RecordRejected(
                        f"import {import_id}: {message}",
                        crm="hubspot",
                        object_type=object_type,
                        record_id=rid,
                        code=e.error_type,
                    ),
                )
            nxt = getattr(getattr(page, "paging", None), "next", None)
            after = getattr(nxt, "after", None)
            if not after:
                break
        return [
            WriteResult(u.record_id, ok=False, error=failed[u.record_id])
            if u.record_id in failed
            else WriteResult(u.record_id, ok=True)
            for u in updates
        ]
