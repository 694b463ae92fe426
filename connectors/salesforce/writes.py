"""Write tag values to Salesforce: sObject Collections for batches, Bulk API 2.0 for big runs.

:func:`write_batch` sends one ``PATCH composite/sobjects`` (notes §4.2) with
``allOrNone: false`` for at most 200 updates of one object type. Salesforce
answers 200 with one result per record, in input order, so each update gets
exactly one :class:`~connectors.base.WriteResult`; a refused record becomes a
:class:`RecordRejected` carrying Salesforce's ``statusCode`` (say
``INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST`` or ``UNABLE_TO_LOCK_ROW``).

:func:`write_bulk` takes over above ``session.settings.bulk_ingest_threshold``
updates (10,000 unless configured; up to it, or when the org has no Bulk API, it
returns ``None`` and the engine sends batches): one Bulk 2.0 ``update`` ingest job per object type (notes §4.3)
-- CSV with ``Id`` and the tag columns, ``#N/A`` to clear a value and an empty
cell to leave one alone -- closed, polled with backoff until it ends, then
``successfulResults``, ``failedResults`` and ``unprocessedRecords`` are mapped
back to one result per update.

Two per-record codes are not about the record: ``INVALID_FIELD`` (the field does
not exist) raises :class:`SchemaMismatch` and ``INVALID_FIELD_FOR_INSERT_UPDATE``
(field-level security does not let the integration user write it) raises
:class:`PermissionDenied` -- retrying record by record cannot help; run
``ensure_fields`` first. Values are absolute, so a retried write is harmless.
"""

from __future__ import annotations

import contextlib
import csv
import io
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from simple_salesforce.util import call_salesforce

from connectors import clock as clocks
from connectors.base import TagUpdate, WriteResult
from connectors.errors import CrmError, PermissionDenied, RecordRejected, SchemaMismatch, Timeout
from connectors.salesforce.creates import call_once
from connectors.salesforce.fields import (
    COLLECTION_LIMIT,
    SalesforceSessionLike,
    check_field_name,
    collection,
    first_error,
    sobject,
)
from connectors.salesforce.records import to_api_name

MAX_BATCH = COLLECTION_LIMIT
DEFAULT_BULK_THRESHOLD = 10_000
#: Bulk 2.0 takes up to 100 MB of CSV per upload; we start a new job well before.
MAX_UPLOAD_BYTES = 90 * 1024 * 1024
#: How long a Bulk 2.0 job may run before we abort it and give up.
DEFAULT_BULK_TIMEOUT = 3600.0
CLEAR = "#N/A"
TERMINAL = ("JobComplete", "Failed", "Aborted")
NO_RESULT = "Salesforce reported no result for this record"
FIELD_MISSING = "INVALID_FIELD"
FIELD_NOT_WRITABLE = "INVALID_FIELD_FOR_INSERT_UPDATE"
#: A job create refused with one of these: the org has no Bulk API (FACTS.md).
BULK_DISABLED = frozenset(
    {"API_DISABLED_FOR_ORG", "FeatureNotEnabled", "FEATURE_NOT_ENABLED", "NOT_FOUND"}
)


# ----- sObject Collections -------------------------------------------------------------------


#: Per-record row locks (another transaction holds the record or its account) clear
#: within seconds: the locked records of a batch are sent again this often.
LOCK_RETRIES = 3
LOCKED = "UNABLE_TO_LOCK_ROW"


def write_batch(
    session: SalesforceSessionLike,
    updates: Sequence[TagUpdate],
    *,
    sleep: Callable[[float], None] | None = None,
) -> list[WriteResult]:
    """Write one batch (one object type, at most 200 updates); one result per update.

    Records refused with ``UNABLE_TO_LOCK_ROW`` are sent again, alone, after a
    short backoff (1, 2, 4 s) before they count as failed: the lock is someone
    else's transaction, not a problem with the value. The backoff waits with
    ``sleep`` (default: the session's, as every other wait of the session).
    """
    if sleep is None:
        sleep = getattr(session, "sleep", None) or time.sleep
    results = _write_once(session, updates)
    for attempt in range(LOCK_RETRIES):
        locked = [
            i
            for i, r in enumerate(results)
            if not r.ok and r.error is not None and r.error.code == LOCKED
        ]
        if not locked:
            break
        sleep(float(2**attempt))
        again = _write_once(session, [updates[i] for i in locked])
        for i, result in zip(locked, again, strict=True):
            results[i] = result
    return results


def _write_once(session: SalesforceSessionLike, updates: Sequence[TagUpdate]) -> list[WriteResult]:
    if not updates:
        return []
    _check(updates, limit=MAX_BATCH)
    object_type = updates[0].object_type
    obj = sobject(object_type)
    records = [
        {"attributes": {"type": obj}, "id": u.record_id, **_values(u, clear=None)} for u in updates
    ]
    results = collection(session, "composite.sobjects.update", "PATCH", records)
    out: list[WriteResult] = []
    for i, u in enumerate(updates):
        res = results[i] if i < len(results) else None
        if res is None:
            out.append(_failed(object_type, u.record_id, "NO_RESULT", NO_RESULT))
        elif res.get("success"):
            out.append(WriteResult(u.record_id, ok=True))
        else:
            code, message = first_error(res)
            out.append(_failed(object_type, u.record_id, code, message))
    _raise_if_schema(object_type, out)
    return out


def _check(updates: Sequence[TagUpdate], *, limit: int | None) -> None:
    if limit is not None and len(updates) > limit:
        raise ValueError(f"a batch holds at most {limit} updates; got {len(updates)}")
    if limit is not None:
        types = {u.object_type for u in updates}
        if len(types) > 1:
            raise ValueError(f"a batch must hold one object type; got {sorted(types)}")
    seen: set[tuple[str, str]] = set()
    for u in updates:
        sobject(u.object_type)
        key = (u.object_type, u.record_id)
        if key in seen:
            raise ValueError(
                f"updates must not touch a record twice; repeated {u.object_type} {u.record_id}"
            )
        seen.add(key)
        for name in u.values:
            try:
                check_field_name(name)
            except ValueError:
                raise ValueError(
                    f"refusing to write {name!r} on {u.object_type} {u.record_id}: crmseg only "
                    "writes fields whose name starts with 'crmseg_'"
                ) from None


def _values(u: TagUpdate, *, clear: str | None) -> dict[str, str | None]:
    """API names -> value; ``None`` or ``""`` clears (sent as ``clear``)."""
    return {to_api_name(k): (v if v else clear) for k, v in u.values.items()}


def _failed(object_type: str, record_id: str, code: str, message: str) -> WriteResult:
    error = RecordRejected(
        message, crm="salesforce", object_type=object_type, record_id=record_id, code=code
    )
    return WriteResult(record_id, ok=False, error=error)


def _raise_if_schema(object_type: str, results: list[WriteResult]) -> None:
    for r in results:
        err = r.error
        if err is None or err.code not in (FIELD_MISSING, FIELD_NOT_WRITABLE):
            continue
        cls = SchemaMismatch if err.code == FIELD_MISSING else PermissionDenied
        raise cls(
            f"{err.message} -- run ensure_fields for the crmseg tag fields first (it creates "
            "them and grants read/edit through the 'crmseg' permission set)",
            crm="salesforce",
            object_type=object_type,
            record_id=r.record_id,
            code=err.code,
        )


# ----- Bulk API 2.0 --------------------------------------------------------------------------


def bulk_threshold(session: object) -> int:
    value = getattr(getattr(session, "settings", None), "bulk_ingest_threshold", None)
    return DEFAULT_BULK_THRESHOLD if value is None else int(value)


def poll_wait(attempt: int) -> float:
    """Seconds to wait before status poll number ``attempt`` (0-based): 0.5, 1, 2, ... 30
    (the exponent is capped: a job polled for hours never overflows the float)."""
    return min(0.5 * 2 ** min(attempt, 6), 30.0)


def write_bulk(
    session: SalesforceSessionLike,
    updates: Sequence[TagUpdate],
    *,
    sleep: Callable[[float], None] | None = None,
    timeout: float = DEFAULT_BULK_TIMEOUT,
) -> list[WriteResult] | None:
    """One Bulk 2.0 ingest job per object type for more than ``bulk_ingest_threshold``
    updates; ``None`` (send batches instead) for that many or fewer.

    One result per update, in input order. Status polls wait with ``sleep``
    (default: the session's ``sleep``, else ``time.sleep``) and give up after
    ``timeout`` seconds per job.
    """
    if len(updates) <= bulk_threshold(session) or not updates:
        return None
    if sleep is None:
        sleep = getattr(session, "sleep", None) or time.sleep
    _check(updates, limit=None)
    by_type: dict[str, list[int]] = {}
    for i, u in enumerate(updates):
        by_type.setdefault(u.object_type, []).append(i)
    out: list[WriteResult | None] = [None] * len(updates)
    for n, (object_type, positions) in enumerate(by_type.items()):
        group = [updates[i] for i in positions]
        try:
            results = _bulk_object(session, object_type, group, sleep=sleep, timeout=timeout)
        except CrmError as exc:
            if exc.code not in BULK_DISABLED or n:
                raise
            return None  # the org has no Bulk API: nothing was written, send batches
        for i, res in zip(positions, results, strict=True):
            out[i] = res
    done = [r for r in out if r is not None]
    assert len(done) == len(updates)
    return done


def _bulk_object(
    session: SalesforceSessionLike,
    object_type: str,
    updates: list[TagUpdate],
    *,
    sleep: Callable[[float], None],
    timeout: float,
) -> list[WriteResult]:
    obj = sobject(object_type)
    columns = list(dict.fromkeys(to_api_name(k) for u in updates for k in u.values))
    outcome: dict[str, WriteResult] = {}
    for payload in _csv_uploads(updates, columns):
        outcome.update(_run_job(session, object_type, obj, payload, sleep=sleep, timeout=timeout))
    results = [
        outcome.get(u.record_id) or _failed(object_type, u.record_id, "NO_RESULT", NO_RESULT)
        for u in updates
    ]
    _raise_if_schema(object_type, results)
    return results


def _csv_uploads(updates: list[TagUpdate], columns: list[str]) -> Iterator[str]:
    """CSV texts (header + rows) of at most MAX_UPLOAD_BYTES each."""

    def line(cells: list[str]) -> str:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(cells)
        return buf.getvalue()

    header = line(["Id", *columns])
    parts, size = [header], len(header.encode())
    for u in updates:
        values = _values(u, clear=CLEAR)
        row = line([u.record_id, *(values.get(c) or "" for c in columns)])
        if size + len(row.encode()) > MAX_UPLOAD_BYTES and len(parts) > 1:
            yield "".join(parts)
            parts, size = [header], len(header.encode())
        parts.append(row)
        size += len(row.encode())
    if len(parts) > 1:
        yield "".join(parts)


def _raw(sf: Any, method: str, path: str, **kw: Any) -> Any:
    """A Bulk 2.0 request on the client's session; errors raise simple-salesforce exceptions."""
    headers = {"Authorization": f"Bearer {sf.session_id}", **kw.pop("headers", {})}
    return call_salesforce(
        url=sf.base_url + path, method=method, session=sf.session, headers=headers, **kw
    )


def _run_job(
    session: SalesforceSessionLike,
    object_type: str,
    obj: str,
    payload: str,
    *,
    sleep: Callable[[float], None],
    timeout: float,
) -> dict[str, WriteResult]:
    job = session.call(
        "bulk2.ingest.create",
        lambda sf, body: sf.restful("jobs/ingest", method="POST", json=body),
        {
            "object": obj,
            "operation": "update",
            "contentType": "CSV",
            "columnDelimiter": "COMMA",
            "lineEnding": "LF",
        },
    )
    job_id = str(job["id"])
    # never repeated: a second upload into the same job would hold every row twice
    try:
        call_once(
            session,
            "bulk2.ingest.upload",
            lambda sf, data: _raw(
                sf,
                "PUT",
                f"jobs/ingest/{job_id}/batches",
                data=data,
                headers={"Content-Type": "text/csv; charset=UTF-8", "Accept": "application/json"},
            ),
            payload.encode("utf-8"),
        )
    except CrmError:
        with contextlib.suppress(CrmError):  # nothing runs until UploadComplete: drop the job
            _set_state(session, job_id, "Aborted")
        raise
    _close(session, job_id)
    info = _wait(session, job_id, sleep=sleep, timeout=timeout)
    if info.get("state") == "Failed" and "Field name not found" in str(info.get("errorMessage")):
        raise SchemaMismatch(
            f"Bulk job {job_id} failed: {info.get('errorMessage')} -- run ensure_fields for the "
            "crmseg tag fields first (it creates them and grants read/edit)",
            crm="salesforce",
            object_type=object_type,
        )
    outcome: dict[str, WriteResult] = {}
    for row in _results(session, job_id, "successfulResults"):
        rid = row.get("Id") or row.get("sf__Id") or ""
        outcome[rid] = WriteResult(rid, ok=True)
    for row in _results(session, job_id, "failedResults"):
        rid = row.get("Id") or row.get("sf__Id") or ""
        code, message = _bulk_error(row.get("sf__Error") or "")
        outcome[rid] = _failed(object_type, rid, code, message)
    why = info.get("errorMessage") or f"job ended {info.get('state')}"
    for row in _results(session, job_id, "unprocessedRecords"):
        rid = row.get("Id") or ""
        outcome.setdefault(
            rid, _failed(object_type, rid, "UNPROCESSED", f"not processed by Bulk job: {why}")
        )
    return outcome


def _close(session: SalesforceSessionLike, job_id: str) -> None:
    """``UploadComplete``; when a retried close meets ``INVALIDJOBSTATE`` the first one
    (whose answer was lost) went through, which the job's state confirms."""
    try:
        _set_state(session, job_id, "UploadComplete")
    except CrmError as exc:
        if exc.code != "INVALIDJOBSTATE":
            raise
        info = session.call("bulk2.ingest.get", lambda sf: sf.restful(f"jobs/ingest/{job_id}"))
        if dict(info or {}).get("state") in ("Open", None):
            raise


def _set_state(session: SalesforceSessionLike, job_id: str, state: str) -> Any:
    return session.call(
        "bulk2.ingest.state",
        lambda sf, body: sf.restful(f"jobs/ingest/{job_id}", method="PATCH", json=body),
        {"state": state},
    )


def _wait(
    session: SalesforceSessionLike,
    job_id: str,
    *,
    sleep: Callable[[float], None],
    timeout: float,
) -> dict[str, Any]:
    clock = getattr(session, "clock", None) or clocks.DEFAULT
    deadline = clock.monotonic() + timeout
    attempt = 0
    while True:
        info = dict(
            session.call("bulk2.ingest.get", lambda sf: sf.restful(f"jobs/ingest/{job_id}"))
        )
        if info.get("state") in TERMINAL:
            return info
        if clock.monotonic() >= deadline:
            with contextlib.suppress(CrmError):  # it may have finished meanwhile
                _set_state(session, job_id, "Aborted")
            raise Timeout(
                f"Bulk job {job_id} still {info.get('state')} after {timeout:.0f} s; aborted it. "
                "Values are absolute, so running again is safe.",
                crm="salesforce",
            )
        sleep(poll_wait(attempt))
        attempt += 1


def _results(session: SalesforceSessionLike, job_id: str, which: str) -> list[dict[str, str]]:
    response = session.call(
        f"bulk2.ingest.{which}",
        lambda sf: _raw(sf, "GET", f"jobs/ingest/{job_id}/{which}", headers={"Accept": "text/csv"}),
    )
    return list(csv.DictReader(io.StringIO(response.text)))


def _bulk_error(text: str) -> tuple[str, str]:
    """``sf__Error`` is ``CODE:message:fields --``; returns (code, message)."""
    code, sep, rest = text.partition(":")
    if not sep:
        return "UNKNOWN", text or "rejected"
    rest = rest.removesuffix(" --").removesuffix("--")
    message, _, _fields = rest.rpartition(":")
    return code.strip(), (message or rest).strip()
