"""CRM exports: ``POST /crm/v3/exports/export/async``, the task status and the file download
(FACTS.md, "Exports and imports").

What is reproduced, because a client must cope with it:

* the start answers 202 with a task ``id``; the work happens later: exports are
  processed one at a time (others wait as ``PENDING``) for a time proportional
  to the rows (:class:`~connectors.sandbox.hubspot.jobs.BulkConfig`);
* the status answers ``PENDING`` / ``PROCESSING`` / ``COMPLETE`` / ``CANCELED``;
  the file is written while the export processes (from the first status answer
  that says ``PROCESSING``), and ``COMPLETE`` needs both the processing time up
  and the file written;
  a ``COMPLETE`` answer carries ``result``, a download URL that needs no token
  and expires (5 minutes) -- the next status call mints a fresh one;
* the file: one CSV, zipped when larger than 2 MB, and above 1,000,000 rows a
  zip of several CSV files of at most 1,000,000 rows each;
* columns: the requested properties in order (internal names with
  ``exportInternalValuesOptions: ["NAMES"]``, labels otherwise; internal values
  with ``"VALUES"``: datetimes as epoch milliseconds), then one
  ``Associated <Type> IDs`` column per associated object type with ``;``-joined
  ids (at most 1,000 per row unless overridden);
* 30 exports per rolling 24 h (the 31st start is refused with a 400: the
  error form is not documented).

* a ``VIEW`` export may carry ``publicCrmSearchRequest.filters`` (all must hold,
  operators as in search): only the matching records are exported, and the
  processing time follows the matching rows. Its ``query`` and ``sorts``, and
  list exports, are not modelled: such a request is refused rather than
  silently answered with the wrong rows.
"""

from __future__ import annotations

import csv
import io
import secrets
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.sandbox._server import Request, Response
from connectors.sandbox.hubspot.errors import not_found, validation_error
from connectors.sandbox.hubspot.jobs import BulkConfig, Rolling24h
from connectors.sandbox.hubspot.object_types import canonical
from connectors.sandbox.hubspot.record import Record
from connectors.sandbox.hubspot.routing import Routes, fixed_scope
from connectors.sandbox.hubspot.search import compile_groups
from connectors.sandbox.hubspot.state import State
from connectors.sandbox.hubspot.wire import body_object, iso, now_ms, to_ms

ASSOC_LABEL = {"contacts": "Contact", "companies": "Company", "deals": "Deal"}
MAX_ASSOCIATED_TYPES = 4
FORMATS = {"CSV", "XLSX", "XLS"}


#: How long a status request waits for the export's file before answering PROCESSING.
PRODUCE_WAIT_SECONDS = 5.0


@dataclass
class ExportJob:
    id: str
    object_type: str
    properties: list[str]
    associated: list[str]
    names: bool
    values: bool
    override_assoc_limit: bool
    rows: int
    requested_ms: int
    submitted: float  # monotonic
    start: float = 0.0
    end: float = 0.0
    canceled: bool = False
    files: list[Path] = field(default_factory=list)
    zipped: bool = False
    #: ``publicCrmSearchRequest.filters``: only records matching all of them
    match: Callable[[Record], bool] | None = None


class ExportRegistry:
    """Every export of one sandbox, its queue and its produced files."""

    def __init__(self, state: State, config: BulkConfig) -> None:
        self.state, self.config = state, config
        self.jobs: dict[str, ExportJob] = {}
        self.started = Rolling24h()
        self._lock = threading.Lock()
        self._dir: str | None = None  # made on the first produced file
        #: Writing files runs on a thread of its own, not under ``_lock``: the status
        #: and start of other exports are answered meanwhile.
        self._produce_lock = threading.Lock()
        self._producing: dict[str, threading.Thread] = {}
        self._urls: dict[str, tuple[str, float]] = {}  # token -> (job id, expires)
        self._next = 1000
        self._last_end = 0.0

    # -- lifecycle of one job -----------------------------------------------------
    def submit(self, body: dict[str, Any]) -> ExportJob:
        t = _object_type(body)
        fmt = str(body.get("format") or "CSV").upper()
        if fmt not in FORMATS:
            raise validation_error(f"Unsupported format {body.get('format')!r}")
        if fmt != "CSV":
            raise validation_error("The sandbox produces CSV exports only")
        if str(body.get("exportType") or "").upper() != "VIEW":
            raise validation_error("The sandbox models exportType VIEW only")
        match = _filters(self.state, t, body.get("publicCrmSearchRequest"))
        props = [str(p) for p in body.get("objectProperties") or []]
        if not props:
            raise validation_error("objectProperties must not be empty")
        schema = self.state.schema
        unknown = [p for p in props if schema.get(t, p) is None and p != "hs_object_id"]
        if unknown:
            raise validation_error(f"Unknown properties for {t}: {', '.join(unknown)}")
        raw_assoc = body.get("associatedObjectType") or []
        assoc_names = [raw_assoc] if isinstance(raw_assoc, str) else list(raw_assoc)
        associated = []
        for name in assoc_names:
            at = canonical(str(name))
            if at is None or at == t:
                raise validation_error(f"Unknown associated object type {name!r}")
            associated.append(at)
        if len(associated) > MAX_ASSOCIATED_TYPES:
            raise validation_error(
                f"At most {MAX_ASSOCIATED_TYPES} associated object types per export"
            )
        options = {str(o).upper() for o in body.get("exportInternalValuesOptions") or []}
        now = self.config.clock()
        with self._lock:
            if self.started.total(now) >= self.config.exports_per_day:
                raise validation_error(
                    f"You can complete up to {self.config.exports_per_day} exports within a "
                    "rolling 24 hour window",
                    sub_category="EXPORT_LIMIT",
                )
            self.started.add(1, now)
            store = self.state.store
            with store.lock:
                ids = store.ids(t)
                if match is not None:
                    recs = store.records(t)
                    ids = [i for i in ids if match(recs[i])]
                rows = len(ids)
            job = ExportJob(
                id=str(self._next),
                object_type=t,
                properties=props,
                associated=associated,
                names="NAMES" in options,
                values="VALUES" in options,
                override_assoc_limit=bool(
                    body.get("overrideAssociatedObjectsPerDefinitionPerRowLimit")
                ),
                rows=rows,
                requested_ms=now_ms(),
                submitted=now,
                match=match,
            )
            self._next += 1
            job.start = max(now, self._last_end)  # one export at a time
            job.end = job.start + self.config.export_seconds(rows)
            self._last_end = job.end
            self.jobs[job.id] = job
        return job

    def status(self, job: ExportJob, now: float) -> str:
        if job.canceled:
            return "CANCELED"
        if now < job.start:
            return "PENDING"
        if now < job.end:
            return "PROCESSING"
        return "COMPLETE"

    def begin(self, job: ExportJob) -> None:
        """Start writing the job's file(s) on a thread, without waiting: writing is part
        of the processing, so it starts once the export processes, not after."""
        self.ready(job, wait=0.0)

    def ready(self, job: ExportJob, wait: float | None = None) -> bool:
        """Whether the job's file(s) exist, producing them (from the data as it is now)
        on a thread, waited for at most ``wait`` (default ``PRODUCE_WAIT_SECONDS``) seconds: a big export's status stays
        ``PROCESSING`` until its file is written, as HubSpot's does, instead of the
        status request itself taking as long as writing a million rows."""
        if job.files:
            return True
        with self._lock:
            thread = self._producing.get(job.id)
            if thread is None:
                thread = threading.Thread(
                    target=self.produce, args=(job,), name=f"export-{job.id}", daemon=True
                )
                self._producing[job.id] = thread
                thread.start()
        if wait != 0.0:
            thread.join(PRODUCE_WAIT_SECONDS if wait is None else wait)
        return bool(job.files)

    def produce(self, job: ExportJob) -> None:
        """Write the job's file(s) once, from the data as it is now."""
        with self._produce_lock:
            if job.files:
                return
            t, store, schema = job.object_type, self.state.store, self.state.schema
            header = [
                p if job.names or schema.get(t, p) is None else schema.get(t, p).label  # type: ignore[union-attr]
                for p in job.properties
            ] + [f"Associated {ASSOC_LABEL[a]} IDs" for a in job.associated]
            cap = None if job.override_assoc_limit else self.config.export_associations_per_row
            per_file = max(1, self.config.export_rows_per_file)
            if self._dir is None:
                self._dir = tempfile.mkdtemp(prefix="crmseg-sandbox-exports-")
            base = Path(self._dir) / f"export-{job.id}"
            files: list[Path] = []
            out: Any = None
            writer: Any = None
            with store.lock:
                recs = store.records(t)
                ids = [i for i in store.ids(t) if job.match is None or job.match(recs[i])]
                for n, rid in enumerate(ids):
                    if n % per_file == 0:
                        if out is not None:
                            out.close()
                        path = base.with_name(f"{base.name}-{len(files) + 1}.csv")
                        files.append(path)
                        out = path.open("w", newline="", encoding="utf-8")
                        writer = csv.writer(out, lineterminator="\n")
                        writer.writerow(header)
                    rec = recs[rid]
                    row = [self._cell(t, p, rec.props.get(p), job) for p in job.properties]
                    for a in job.associated:
                        linked = [str(i) for i, _p in store.associated(t, rid, a)]
                        row.append(";".join(linked[:cap] if cap is not None else linked))
                    writer.writerow(row)
            if out is not None:
                out.close()
            if not files:  # no records: a header-only file
                path = base.with_name(f"{base.name}-1.csv")
                path.write_text(",".join(header) + "\n", encoding="utf-8")
                files.append(path)
            zipped = len(files) > 1 or files[0].stat().st_size > self.config.export_zip_above_bytes
            if zipped:
                archive = base.with_suffix(".zip")
                with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
                    for i, f in enumerate(files, 1):
                        zf.write(f, arcname=f"{t}-export-{job.id}-{i}.csv")
                        f.unlink()
                files = [archive]
            job.files, job.zipped = files, zipped

    def _cell(self, t: str, name: str, value: str | None, job: ExportJob) -> str:
        if value is None:
            return ""
        prop = self.state.schema.get(t, name)
        if prop is None:
            return value
        if prop.type == "datetime" and job.values:
            ms = to_ms(value)
            return str(ms) if ms is not None else value
        if prop.type == "enumeration" and not job.values:
            labels = {str(o["value"]): str(o["label"]) for o in prop.options}
            return ";".join(labels.get(v, v) for v in value.split(";"))
        return value

    def close(self) -> None:
        """Delete the produced files (the sandbox stops)."""
        with self._lock:
            if self._dir is not None:
                shutil.rmtree(self._dir, ignore_errors=True)
                self._dir = None
            for job in self.jobs.values():
                job.files = []

    def url_for(self, job: ExportJob, host: str) -> str:
        token = secrets.token_urlsafe(16)
        with self._lock:
            self._urls[token] = (job.id, self.config.clock() + self.config.export_url_seconds)
        suffix = "zip" if job.zipped else "csv"
        return f"https://{host}/sandbox/exports/{token}/export-{job.id}.{suffix}"

    def download(self, token: str) -> ExportJob:
        with self._lock:
            entry = self._urls.get(token)
        if entry is None or entry[1] < self.config.clock():
            raise _forbidden()
        return self.jobs[entry[0]]


def _filters(state: State, t: str, request: Any) -> Callable[[Record], bool] | None:
    """The record test of a ``publicCrmSearchRequest`` (``None``: every record)."""
    if not request:
        return None
    if not isinstance(request, dict):
        raise validation_error("publicCrmSearchRequest must be an object")
    if request.get("query") or request.get("sorts") or request.get("filterGroups"):
        raise validation_error(
            "The sandbox models publicCrmSearchRequest.filters only (no query, sorts "
            "or filterGroups)"
        )
    filters = request.get("filters") or []
    if not isinstance(filters, list):
        raise validation_error("publicCrmSearchRequest.filters must be a list")
    return compile_groups(state.schema, t, [{"filters": filters}], None)


def _object_type(body: dict[str, Any]) -> str:
    t = canonical(str(body.get("objectType") or ""))
    if t is None:
        raise validation_error(f"Unknown objectType {body.get('objectType')!r}")
    return t


def _forbidden() -> Any:
    from connectors.sandbox._server import HttpError

    return HttpError(
        Response(
            403,
            b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
            content_type="application/xml",
        )
    )


def register(routes: Routes, state: State, config: BulkConfig) -> ExportRegistry:
    registry = ExportRegistry(state, config)
    scope = fixed_scope("crm.export")

    def start(req: Request) -> Response:
        job = registry.submit(body_object(req))
        link = f"/crm/v3/exports/export/async/tasks/{job.id}/status"
        return Response(202, {"id": job.id, "links": {"status": link}})

    def status(req: Request) -> Response:
        job = registry.jobs.get(req.params["task"])
        if job is None:
            raise not_found(f"Export task {req.params['task']} not found")
        now = config.clock()
        state_name = registry.status(job, now)
        body: dict[str, Any] = {
            "status": state_name,
            "requestedAt": iso(job.requested_ms),
            "links": {},
        }
        if state_name in ("PROCESSING", "COMPLETE"):
            body["startedAt"] = iso(job.requested_ms + int((job.start - job.submitted) * 1000))
        if state_name == "PROCESSING":
            registry.begin(job)
        if state_name == "COMPLETE" and not registry.ready(job):
            state_name = "PROCESSING"  # the file is still being written
            body["status"] = state_name
        if state_name == "COMPLETE":
            body["completedAt"] = iso(job.requested_ms + int((job.end - job.submitted) * 1000))
            body["result"] = registry.url_for(job, req.header("host") or "127.0.0.1")
            body["numErrors"] = 0
            body["errors"] = []
        return Response(200, body)

    def download(req: Request) -> Response:
        job = registry.download(req.params["token"])
        path = job.files[0]
        ctype = "application/zip" if job.zipped else "text/csv;charset=utf-8"
        return Response(200, path.read_bytes(), content_type=ctype)

    routes.add("POST", r"/crm/v3/exports/export/async", start, "exports.start", scope)
    routes.add(
        "GET",
        r"/crm/v3/exports/export/async/tasks/(?P<task>[^/]+)/status",
        status,
        "exports.status",
        scope,
    )
    routes.add(
        "GET",
        r"/sandbox/exports/(?P<token>[^/]+)/[^/]+",
        download,
        "exports.download",
        lambda _r: [],
        bucket="public",
    )
    return registry


def read_rows(data: bytes) -> list[dict[str, str]]:
    """Test helper: every row of a downloaded export (CSV or zip of CSVs)."""
    if data[:2] == b"PK":
        rows: list[dict[str, str]] = []
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for name in sorted(zf.namelist()):
                rows += list(csv.DictReader(io.TextIOWrapper(zf.open(name), encoding="utf-8")))
        return rows
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))
