"""CRM imports: ``POST /crm/v3/imports`` (multipart ``files`` + ``importRequest``), the import's
state, its per-row errors, the list of imports and cancel (FACTS.md, "Exports and imports").

Reproduced because a client must cope with it:

* the start answers at once (200, state ``STARTED``); rows are applied only when
  processing ends (after a time proportional to the rows,
  :class:`~connectors.sandbox.hubspot.jobs.BulkConfig`, on its ``clock``), whether
  or not anybody polls -- a client killed mid-import still gets its rows written;
* ``importOperations {"0-1": "UPDATE"}`` updates existing records matched
  through the column mapped with ``columnType`` (or ``idColumnType``)
  ``HUBSPOT_OBJECT_ID``; an id that matches no record is a row error;
* multi-checkbox cells: ``;``-separated; a leading ``;`` adds to the values the
  record has, otherwise the cell replaces them;
* a blank cell leaves the value as it is (whether HubSpot clears it is not
  documented; this is the case a client cannot rely on to clear);
* a row with an invalid value is rejected whole and listed by
  ``GET /crm/v3/imports/{id}/errors`` (``includeRowData`` adds the row's cells);
* limits: 1,048,576 rows and 512 MB per file; per rolling 24 h 500 imports and
  80M rows; 3 processing at once, sharing one throughput unless configured
  otherwise (not documented: the slower case). A start beyond a limit is refused with a
  400 (the documented limits name no error form; a refusal is the harder case).
"""

from __future__ import annotations

import csv
import io
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from connectors.sandbox._server import HttpError, Request, Response
from connectors.sandbox.hubspot.errors import not_found, validation_error
from connectors.sandbox.hubspot.jobs import BulkConfig, Rolling24h
from connectors.sandbox.hubspot.multipart import form_data
from connectors.sandbox.hubspot.object_types import OBJECT_TYPES, canonical
from connectors.sandbox.hubspot.routing import Routes, fixed_scope
from connectors.sandbox.hubspot.state import State
from connectors.sandbox.hubspot.wire import iso, now_ms, query_bool, query_int, query_str

ID_COLUMN = "HUBSPOT_OBJECT_ID"
NOUN = {"contacts": "CONTACT", "companies": "COMPANY", "deals": "DEAL"}
ERRORS_PAGE_MAX = 500
#: Real seconds the processing thread sleeps at most before reading the clock again:
#: a fake clock may jump at any moment, and rows are applied once it passes an end.
CLOCK_TICK_SECONDS = 0.02


@dataclass
class ImportFile:
    name: str
    object_type: str
    id_column: int
    columns: dict[int, str]  # column index -> property name
    rows: list[list[str]]
    file_id: int


@dataclass
class RowError:
    id: str
    object_type: str
    error_type: str
    message: str
    invalid_value: str | None
    column: int | None
    row: list[str]
    line: int
    file_id: int
    created: int


@dataclass
class ImportJob:
    id: str
    name: str
    request: dict[str, Any]
    files: list[ImportFile]
    created_ms: int
    submitted: float
    start: float
    end: float
    state: str = "STARTED"
    updated_ms: int = 0
    errors: list[RowError] = field(default_factory=list)
    updated_rows: int = 0
    #: The rows are being (or have been) applied: only one thread applies them.
    applying: bool = False

    @property
    def rows(self) -> int:
        return sum(len(f.rows) for f in self.files)

    @property
    def waiting(self) -> bool:
        """Still to be applied: running as HubSpot shows it, its rows not yet taken up."""
        return self.state in ("STARTED", "PROCESSING") and not self.applying


class ImportRegistry:
    """Every import of one sandbox: accepts, schedules and applies them."""

    def __init__(self, state: State, config: BulkConfig) -> None:
        self.state, self.config = state, config
        self.jobs: dict[str, ImportJob] = {}
        self.started = Rolling24h()
        self.rows_day = Rolling24h()
        self._lock = threading.Lock()
        #: Held while a job's rows are applied, so a status request that finds the job
        #: due waits for the rows instead of answering before they are written.
        self._apply_lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._stopped = False
        self._worker: threading.Thread | None = None
        self._next = 5000
        self._file_id = 900

    # -- start ---------------------------------------------------------------------
    def submit(self, req: Request) -> ImportJob:
        fields, uploads = form_data(req.header("content-type") or "", req.body)
        raw = fields.get("importRequest")
        if raw is None:
            raise validation_error("importRequest is required")
        try:
            spec = json.loads(raw)
        except ValueError:
            raise validation_error("importRequest is not valid JSON") from None
        if not isinstance(spec, dict):
            raise validation_error("importRequest must be an object")
        operations = {
            str(k): str(v).upper() for k, v in (spec.get("importOperations") or {}).items()
        }
        file_specs = spec.get("files") or []
        if not file_specs:
            raise validation_error("importRequest.files must name at least one file")
        files = [self._file(fs, uploads, operations) for fs in file_specs]
        rows = sum(len(f.rows) for f in files)
        now = self.config.clock()
        with self._lock:
            active = [j for j in self.jobs.values() if j.state in ("STARTED", "PROCESSING")]
            if len(active) >= self.config.imports_concurrent:
                raise validation_error(
                    f"At most {self.config.imports_concurrent} imports can be processed at once",
                    sub_category="IMPORT_CONCURRENCY_LIMIT",
                )
            if self.started.total(now) >= self.config.imports_per_day:
                raise validation_error(
                    f"At most {self.config.imports_per_day} imports in a rolling 24 hours",
                    sub_category="IMPORT_DAILY_LIMIT",
                )
            if self.rows_day.total(now) + rows > self.config.import_rows_per_day:
                raise validation_error(
                    f"At most {self.config.import_rows_per_day} rows can be imported through "
                    "the API in a rolling 24 hours",
                    sub_category="IMPORT_ROW_LIMIT",
                )
            self.started.add(1, now)
            self.rows_day.add(rows, now)
            end = now + self.config.import_seconds(rows)
            if self.config.imports_share_throughput and active:
                # one throughput for all: these rows follow the rows already queued
                queued_until = max(j.end for j in active)
                rate = max(self.config.import_rows_per_second, 1e-9)
                end = max(end, queued_until + rows / rate)
            job = ImportJob(
                id=str(self._next),
                name=str(spec.get("name") or f"Import {self._next}"),
                request=spec,
                files=files,
                created_ms=now_ms(),
                submitted=now,
                start=now + self.config.import_delay_seconds,
                end=end,
            )
            job.updated_ms = job.created_ms
            self._next += 1
            self.jobs[job.id] = job
            self._start_worker()
            self._wake.notify_all()
        return job

    def _file(
        self, fs: dict[str, Any], uploads: dict[str, bytes], operations: dict[str, str]
    ) -> ImportFile:
        name = str(fs.get("fileName") or "")
        if name not in uploads:
            raise validation_error(f"No uploaded file named {name!r} (multipart part 'files')")
        data = uploads[name]
        if len(data) > self.config.import_bytes_per_file:
            raise validation_error(f"{name}: larger than {self.config.import_bytes_per_file} bytes")
        if str(fs.get("fileFormat") or "CSV").upper() != "CSV":
            raise validation_error("The sandbox imports CSV files only")
        page = fs.get("fileImportPage") or {}
        table = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
        if not page.get("hasHeader", True) or not table:
            raise validation_error(f"{name}: a header row is required")
        header, rows = table[0], [r for r in table[1:] if any(c.strip() for c in r)]
        if len(rows) > self.config.import_rows_per_file:
            raise validation_error(
                f"{name}: {len(rows)} rows; at most {self.config.import_rows_per_file} per file"
            )
        columns: dict[int, str] = {}
        id_column: int | None = None
        types: set[str] = set()
        for m in page.get("columnMappings") or []:
            col = str(m.get("columnName") or "")
            if col not in header:
                raise validation_error(f"{name}: no column {col!r} in the header")
            idx = header.index(col)
            t = canonical(str(m.get("columnObjectTypeId") or ""))
            if t is None:
                raise validation_error(f"{name}: unknown columnObjectTypeId for {col!r}")
            types.add(t)
            kind = str(m.get("columnType") or m.get("idColumnType") or "")
            if kind == ID_COLUMN:
                id_column = idx
                continue
            prop = str(m.get("propertyName") or "")
            p = self.state.schema.get(t, prop)
            if p is None:
                raise validation_error(f"{name}: property {prop!r} does not exist on {t}")
            if p.read_only_value:
                raise validation_error(f"{name}: property {prop!r} is read only")
            columns[idx] = prop
        if len(types) != 1:
            raise validation_error(f"{name}: the sandbox models one object type per file")
        t = types.pop()
        op = operations.get(OBJECT_TYPES[t]) or operations.get(t)
        if op != "UPDATE":
            raise validation_error(
                f"The sandbox models importOperations UPDATE only (got {op!r} for {OBJECT_TYPES[t]})"
            )
        if id_column is None:
            raise validation_error(f"{name}: UPDATE needs a column of type {ID_COLUMN}")
        with self._lock:
            self._file_id += 1
            fid = self._file_id
        return ImportFile(name, t, id_column, columns, rows, fid)

    # -- processing ------------------------------------------------------------------
    def refresh(self, job: ImportJob, now: float) -> None:
        if job.state == "STARTED" and now >= job.start:
            job.state, job.updated_ms = "PROCESSING", now_ms()

    def settle(self, now: float | None = None) -> None:
        """Apply the rows of every import whose processing time is up at ``now``
        (default: the clock's time). Called by the processing thread and before any
        import is answered, so an answer never shows a due import as still running."""
        if self._stopped:
            return
        now = self.config.clock() if now is None else now
        for job in self._due(now):
            self._finish(job)

    def _due(self, now: float) -> list[ImportJob]:
        with self._lock:
            return [j for j in self.jobs.values() if j.waiting and j.end <= now]

    def _start_worker(self) -> None:
        """Under ``_lock``: the thread that applies imports when nobody polls."""
        if self._worker is None and not self._stopped:
            self._worker = threading.Thread(
                target=self._process, name="sandbox-imports", daemon=True
            )
            self._worker.start()

    def _process(self) -> None:
        while True:
            with self._lock:
                if self._stopped:
                    return
                pending = [j.end for j in self.jobs.values() if j.waiting]
                if not pending:
                    self._wake.wait()
                    continue
                left = min(pending) - self.config.clock()
                if left > 0:
                    self._wake.wait(min(left, CLOCK_TICK_SECONDS))
                    continue
            self.settle()

    def _finish(self, job: ImportJob) -> None:
        with self._apply_lock:
            with self._lock:
                if not job.waiting:
                    return
                job.state, job.applying = "PROCESSING", True
            store, schema = self.state.store, self.state.schema
            for f in job.files:
                for line, row in enumerate(f.rows, start=2):
                    self._apply_row(job, f, line, row, store, schema)
            with self._lock:
                job.state, job.updated_ms = "DONE", now_ms()

    def _apply_row(
        self, job: ImportJob, f: ImportFile, line: int, row: list[str], store: Any, schema: Any
    ) -> None:
        t = f.object_type

        def fail(kind: str, message: str, value: str | None, column: int | None) -> None:
            job.errors.append(
                RowError(
                    str(len(job.errors) + 1),
                    t,
                    kind,
                    message,
                    value,
                    column,
                    row,
                    line,
                    f.file_id,
                    now_ms(),
                )
            )

        key = row[f.id_column].strip() if f.id_column < len(row) else ""
        rec = store.get(t, int(key)) if key.isdigit() else None
        if rec is None:
            fail(
                "UNKNOWN_OBJECT_ID",
                f"No {NOUN[t].lower()} with record ID {key!r}",
                key,
                f.id_column,
            )
            return
        values: dict[str, str] = {}
        for idx, prop in f.columns.items():
            cell = row[idx] if idx < len(row) else ""
            if cell == "":
                continue  # blank: unchanged
            p = schema.get(t, prop)
            if p is not None and p.field_type == "checkbox" and cell.startswith(";"):
                have = [v for v in (rec.props.get(prop) or "").split(";") if v]
                add = [v for v in cell.split(";") if v and v not in have]
                cell = ";".join(have + add)
            values[prop] = cell
        try:
            checked = schema.validate(t, values)
        except HttpError as err:
            body = err.response.body if isinstance(err.response.body, dict) else {}
            problem = (body.get("errors") or [{}])[0]
            prop = ((problem.get("context") or {}).get("propertyName") or [None])[0]
            col = next((i for i, p in f.columns.items() if p == prop), None)
            fail(
                str(problem.get("code") or "INVALID_PROPERTY_VALUE"),
                str(problem.get("message") or "invalid value"),
                values.get(prop) if prop else None,
                col,
            )
            return
        with store.lock:
            store.update(t, rec.id, checked)
        job.updated_rows += 1

    def cancel(self, job: ImportJob) -> None:
        with self._lock:
            if job.waiting:
                job.state, job.updated_ms = "CANCELED", now_ms()

    def stop(self) -> None:
        """No import is processed any more (the sandbox stops)."""
        with self._lock:
            self._stopped = True
            self._wake.notify_all()
            worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(5)

    # -- rendering -------------------------------------------------------------------
    def to_json(self, job: ImportJob) -> dict[str, Any]:
        self.refresh(job, self.config.clock())
        types = sorted({OBJECT_TYPES[f.object_type] for f in job.files})
        counters = {"TOTAL_ROWS": job.rows}
        if job.state == "DONE":
            counters.update(UPDATED_OBJECTS=job.updated_rows, ERRORS=len(job.errors))
        return {
            "id": job.id,
            "importName": job.name,
            "state": job.state,
            "importSource": "API",
            "createdAt": iso(job.created_ms),
            "updatedAt": iso(job.updated_ms),
            "optOutImport": False,
            "mappedObjectTypeIds": types,
            "importRequestJson": job.request,
            "metadata": {
                "counters": counters,
                "fileIds": [str(f.file_id) for f in job.files],
                "objectLists": [],
            },
        }


def register(routes: Routes, state: State, config: BulkConfig) -> ImportRegistry:
    registry = ImportRegistry(state, config)
    scope = fixed_scope("crm.import")

    def job_of(req: Request) -> ImportJob:
        registry.settle()
        job = registry.jobs.get(req.params["id"])
        if job is None:
            raise not_found(f"Import {req.params['id']} not found")
        return job

    def start(req: Request) -> Response:
        registry.settle()  # an import whose time is up no longer counts as running
        return Response(200, registry.to_json(registry.submit(req)))

    def get_one(req: Request) -> Response:
        return Response(200, registry.to_json(job_of(req)))

    def get_page(req: Request) -> Response:
        registry.settle()
        limit = query_int(req, "limit", 10)
        after = int(query_str(req, "after") or 0)
        ordered = sorted(registry.jobs.values(), key=lambda j: int(j.id), reverse=True)
        page = ordered[after : after + limit]
        body: dict[str, Any] = {"results": [registry.to_json(j) for j in page]}
        if after + limit < len(ordered):
            body["paging"] = {"next": {"after": str(after + limit)}}
        return Response(200, body)

    def errors(req: Request) -> Response:
        job = job_of(req)
        limit = min(query_int(req, "limit", 100), ERRORS_PAGE_MAX)
        after = int(query_str(req, "after") or 0)
        with_row = query_bool(req, "includeRowData")
        with_message = query_bool(req, "includeErrorMessage")
        page = job.errors[after : after + limit]
        results = []
        for e in page:
            item: dict[str, Any] = {
                "id": e.id,
                "createdAt": e.created,
                "objectType": NOUN[e.object_type],
                "objectTypeId": OBJECT_TYPES[e.object_type],
                "errorType": e.error_type,
                "invalidValue": e.invalid_value,
                "knownColumnNumber": e.column,
            }
            if with_message:
                item["errorMessage"] = e.message
            if with_row:
                item["sourceData"] = {
                    "rowData": e.row,
                    "lineNumber": e.line,
                    "fileId": e.file_id,
                    "pageName": None,
                    "containsEncryptedProperties": False,
                }
            results.append(item)
        body: dict[str, Any] = {"results": results}
        if after + limit < len(job.errors):
            body["paging"] = {"next": {"after": str(after + limit)}}
        return Response(200, body)

    def cancel(req: Request) -> Response:
        job = job_of(req)
        started = iso(now_ms())
        registry.cancel(job)
        return Response(
            200, {"status": "COMPLETE", "startedAt": started, "completedAt": iso(now_ms())}
        )

    routes.add("POST", r"/crm/v3/imports/?", start, "imports.start", scope)
    routes.add("GET", r"/crm/v3/imports/?", get_page, "imports.list", scope)
    routes.add("GET", r"/crm/v3/imports/(?P<id>\d+)", get_one, "imports.get", scope)
    routes.add("GET", r"/crm/v3/imports/(?P<id>\d+)/errors", errors, "imports.errors", scope)
    routes.add("POST", r"/crm/v3/imports/(?P<id>\d+)/cancel", cancel, "imports.cancel", scope)
    return registry
