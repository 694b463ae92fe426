"""Bulk API 2.0: ingest jobs (Open -> UploadComplete -> InProgress -> JobComplete/Failed/Aborted)
and query jobs (UploadComplete -> InProgress -> JobComplete, CSV pages by locator).

Wire facts the client hard-requires (notes §0, §4.3-4.4): create answers the job
with ``state: "Open"``; ``PUT .../batches`` answers **201**; query result pages
carry ``Sforce-NumberOfRecords`` and ``Sforce-Locator`` (``null`` on the last).
CSV columns are mapped by header name (the client's column order is random).
Each status poll advances a closed job one state, so a client sees the
intermediate states a real job goes through.
"""

from __future__ import annotations

import base64
import csv
import gzip
import io
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from .._server import Request, Response, Router
from .common import API_PREFIX, State, body_json, json_response, no_content, q1
from .errors import RecordError, SfError
from .soql_eval import Result, execute, resolve, value_of
from .soql_parse import parse
from .wire import format_datetime, to_csv_cell
from .writes import delete, insert, update

OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
TERMINAL = ("JobComplete", "Failed", "Aborted")


@dataclass
class Job:
    id: str
    kind: str  # ingest | query
    operation: str
    object: str
    version: str
    created: str
    state: str
    line_ending: str = "LF"
    delimiter: str = "COMMA"
    external_id: str | None = None
    query: str = ""
    uploads: list[str] = field(default_factory=list)
    success: list[dict[str, str]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)
    columns: list[str] = field(default_factory=list)
    result: Result | None = None
    error: str = ""

    def info(self, base: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": "0055g000000crmsegAAA",
            "createdDate": self.created,
            "systemModstamp": self.created,
            "state": self.state,
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": float(self.version),
            "lineEnding": self.line_ending,
            "columnDelimiter": self.delimiter,
            "jobType": "V2Query" if self.kind == "query" else "V2Ingest",
        }
        if self.kind == "ingest":
            body["contentUrl"] = f"{base}/jobs/ingest/{self.id}/batches"
            body["numberRecordsProcessed"] = len(self.success) + len(self.failed)
            body["numberRecordsFailed"] = len(self.failed)
            if self.external_id:
                body["externalIdFieldName"] = self.external_id
        else:
            body["query"] = self.query
            body["numberRecordsProcessed"] = len(self.result.rows) if self.result else 0
        if self.error:
            body["errorMessage"] = self.error
        return body


def _csv(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL).writerows(rows)
    return out.getvalue()


def _process(state: State, job: Job) -> None:
    """Apply an ingest job's uploaded rows; per-row failures go to failedResults."""
    org = state.org
    rows: list[dict[str, str]] = []
    for text in job.uploads:
        rows.extend(csv.DictReader(io.StringIO(text)))
    od = org.objects[job.object]
    for name in rows[0].keys() if rows else []:
        fd = od.field(name)
        if fd is None or org.readable(job.object, fd.name) is None:
            job.state, job.error = "Failed", f"InvalidBatch : Field name not found : {name}"
            return
    for row in rows:
        values: dict[str, Any] = {}
        for k, v in row.items():
            if v == "#N/A":
                values[k] = None
            elif v != "" or job.operation in ("insert",):
                values[k] = v if v != "" else None
        rid = next((v for k, v in row.items() if k.lower() == "id"), "")
        created = False
        try:
            if job.operation == "insert":
                rid, created = insert(org, job.object, values), True
            elif job.operation in ("delete", "hardDelete"):
                rid = delete(org, rid)
                if job.operation == "hardDelete":
                    org.records[job.object].pop(rid, None)
            elif job.operation == "upsert" and (job.external_id or "Id").lower() != "id":
                key = od.field(job.external_id or "")
                match = [
                    r
                    for r in org.live(job.object)
                    if key is not None and str(r.get(key.name)) == row.get(key.name)
                ]
                if len(match) > 1:
                    raise RecordError(
                        "DUPLICATE_EXTERNAL_ID",
                        "more than one record found for external id field",
                        [],
                    )
                if match:
                    rid = update(org, job.object, match[0]["Id"], values)
                else:
                    rid, created = insert(org, job.object, values), True
            elif job.operation == "upsert" and not rid:
                rid, created = insert(org, job.object, values), True
            else:
                rid = update(org, job.object, rid, values)
            job.success.append({"sf__Id": rid, "sf__Created": str(created).lower(), **row})
        except RecordError as err:
            job.failed.append({"sf__Id": rid or "", "sf__Error": err.bulk_text(), **row})


def register(router: Router, state: State) -> None:
    org = state.org

    def get_job(req: Request, kind: str) -> Job:
        with state.lock:
            job = state.bulk_jobs.get(req.params["job"])
        if job is None or job.kind != kind:
            raise SfError(404, "NOT_FOUND", "The requested resource does not exist")
        return job

    def create(req: Request, kind: str) -> Response:
        spec = body_json(req) or {}
        if not isinstance(spec, dict):
            raise SfError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
        operation = str(spec.get("operation", ""))
        if state.bulk_disabled:
            raise SfError(
                403,
                "API_DISABLED_FOR_ORG",
                "Bulk API is not enabled for this Organization or Partner",
            )
        job_id = state.new_id("750")
        common: dict[str, Any] = {
            "id": job_id,
            "version": req.params["version"],
            "created": format_datetime(org.now()),
            "line_ending": str(spec.get("lineEnding", "LF")),
            "delimiter": str(spec.get("columnDelimiter", "COMMA")),
        }
        if kind == "query":
            if operation not in ("query", "queryAll"):
                raise SfError(400, "INVALIDJOB", f"Invalid operation: {operation}")
            soql = str(spec.get("query", ""))
            query = parse(soql)
            if query.count:
                raise SfError(
                    400, "INVALIDJOB", "Aggregate queries are not supported by Bulk API 2.0"
                )
            result = execute(
                org, query, include_deleted=operation == "queryAll", today=org.now().date()
            )
            state.limits.bulk_query_jobs += 1
            job = Job(
                kind="query",
                operation=operation,
                object=result.sobject,
                state="UploadComplete",
                query=soql,
                result=result,
                columns=[c.label for c in result.columns],
                **common,
            )
        else:
            od = org.object(str(spec.get("object", "")))
            if od is None:
                raise SfError(
                    400,
                    "INVALIDENTITY",
                    f"Entity '{spec.get('object')}' is not supported by the Bulk API.",
                )
            if operation not in OPERATIONS:
                raise SfError(400, "INVALIDJOB", f"Invalid operation: {operation}")
            if operation == "upsert" and not spec.get("externalIdFieldName"):
                raise SfError(400, "INVALIDJOB", "External ID was blank for upsert")
            job = Job(
                kind="ingest",
                operation=operation,
                object=od.name,
                state="Open",
                external_id=spec.get("externalIdFieldName"),
                **common,
            )
        with state.lock:
            state.bulk_jobs[job.id] = job
        return json_response(job.info(_base(req)))

    def upload(req: Request) -> Response:
        job = get_job(req, "ingest")
        if job.state != "Open":
            raise SfError(409, "INVALIDJOBSTATE", f"Job is not open for upload: {job.state}")
        state.limits.bulk_batches += 1
        job.uploads.append(req.body.decode("utf-8"))
        return Response(201, None, {}, "text/plain")

    def patch(req: Request, kind: str) -> Response:
        job = get_job(req, kind)
        target = (body_json(req) or {}).get("state")
        with state.lock:
            if target == "Aborted" and job.state not in TERMINAL:
                job.state = "Aborted"
            elif target == "UploadComplete" and kind == "ingest" and job.state == "Open":
                job.state = "UploadComplete"
                _process(state, job)
            else:
                raise SfError(
                    400, "INVALIDJOBSTATE", f"Invalid state transition from {job.state} to {target}"
                )
            return json_response(job.info(_base(req)))

    def status(req: Request, kind: str) -> Response:
        job = get_job(req, kind)
        with state.lock:
            if job.state == "UploadComplete":
                job.state = "InProgress"
            elif job.state == "InProgress":
                job.state = "JobComplete"
            return json_response(job.info(_base(req)))

    def remove(req: Request, kind: str) -> Response:
        job = get_job(req, kind)
        if job.state not in TERMINAL:
            raise SfError(400, "INVALIDJOBSTATE", "Job must be closed before it can be deleted")
        with state.lock:
            state.bulk_jobs.pop(job.id, None)
        return no_content()

    def ingest_results(req: Request) -> Response:
        job = get_job(req, "ingest")
        which = req.params["which"]
        if which == "unprocessedRecords":
            text = "".join(job.uploads) if job.state == "Aborted" else ""
            return Response(200, text, {}, "text/csv")
        if job.state not in TERMINAL:
            raise SfError(400, "INVALIDJOBSTATE", "Job is not complete")
        rows = job.success if which == "successfulResults" else job.failed
        first = ["sf__Id", "sf__Created" if which == "successfulResults" else "sf__Error"]
        cols = first + [c for c in (rows[0].keys() if rows else []) if c not in first]
        return Response(
            200, _csv([cols] + [[r.get(c, "") for c in cols] for r in rows]), {}, "text/csv"
        )

    def query_results(req: Request) -> Response:
        job = get_job(req, "query")
        if req.params["version"] != job.version:
            raise SfError(409, "INVALIDJOBSTATE", "API version of the job does not match")
        if job.state != "JobComplete" or job.result is None:
            raise SfError(412, "JOB_NOT_COMPLETE", f"Job {job.id} is not complete: {job.state}")
        size = int(q1(req, "maxRecords") or 0) or len(job.result.rows) or 1
        loc = q1(req, "locator")
        offset = int(base64.b64decode(loc).decode()) if loc else 0
        cols = [resolve(org, job.result.sobject, c.ref) for c in job.result.columns]
        with org.lock:
            # not a snapshot: the rows were chosen at create, their values are read now
            # (a real job reads its PK chunks one after another, minutes apart)
            chunk = [
                org.get(job.result.sobject, r["Id"]) or r
                for r in job.result.rows[offset : offset + size]
            ]
            table = [[to_csv_cell(value_of(org, r, c)) for c in cols] for r in chunk]
        nxt = offset + size
        headers = {
            "Sforce-NumberOfRecords": str(len(chunk)),
            "Sforce-Locator": base64.b64encode(str(nxt).encode()).decode()
            if nxt < len(job.result.rows)
            else "null",
        }
        payload = _csv([job.columns, *table]).encode()
        if "gzip" in (req.header("accept-encoding") or ""):
            payload = gzip.compress(payload)
            headers["Content-Encoding"] = "gzip"
        return Response(200, payload, headers, "text/csv")

    p = API_PREFIX + r"/jobs"
    j = r"/(?P<job>750\w{15})"
    for kind in ("ingest", "query"):
        router.add("POST", rf"{p}/{kind}/?", partial(create, kind=kind), f"bulk2 {kind} create")
        router.add("GET", rf"{p}/{kind}{j}/?", partial(status, kind=kind), f"bulk2 {kind} get")
        router.add("PATCH", rf"{p}/{kind}{j}/?", partial(patch, kind=kind), f"bulk2 {kind} state")
        router.add(
            "DELETE", rf"{p}/{kind}{j}/?", partial(remove, kind=kind), f"bulk2 {kind} delete"
        )
    router.add("PUT", rf"{p}/ingest{j}/batches/?", upload, "bulk2 ingest upload")
    router.add(
        "GET",
        rf"{p}/ingest{j}/(?P<which>successfulResults|failedResults|"
        r"unprocessedRecords)/?",
        ingest_results,
        "bulk2 ingest results",
    )
    router.add("GET", rf"{p}/query{j}/results/?", query_results, "bulk2 query results")


def _base(req: Request) -> str:
    return f"/services/data/v{req.params['version']}"
