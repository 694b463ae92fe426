"""Write tag values with ``POST /crm/v3/objects/{type}/batch/update`` (notes 1.4, 1.6).

One call per batch of at most 100 updates; the answer is turned into exactly
one :class:`~connectors.base.WriteResult` per update, in input order:

* 200: every record written; each result carries the ``updatedAt`` HubSpot
  answered (``WriteResult.modified_at``), so the next pull can tell crmseg's own
  write from anyone else's.
* 207: the ``errors`` name the failed inputs -- by ``objectWriteTraceId`` (we set
  it to the record id) or ``context.ids`` -- as :class:`RecordRejected`; the
  rest are written. With ``objectWriteTraceId`` on every input HubSpot reports
  invalid values per input in a 207 rather than failing the batch; a property
  that does not exist or is read-only is then a schema error there too
  (:class:`SchemaMismatch`, fatal), never a rejected record.
* A record missing from ``results`` with no error was not updated either: HubSpot
  silently drops ids merged into another record. Such ids are read back one by
  one (rare): since merges create a new record whose id every old id resolves
  to, an answer under another id means "merged into it" and the result carries
  ``merged_into`` (the engine re-plans for the new record); no answer means
  deleted, a :class:`RecordRejected`.
* 400 ``VALIDATION_ERROR`` (an ``INVALID_OPTION``, say) rejects the *whole*
  batch although usually one record is at fault. One bad value must not block
  99 good ones, so the batch is split in halves, down to single records, until
  the bad ones are isolated and reported as :class:`RecordRejected`. That costs
  about ``2·k·log2(n/k)`` extra calls for ``k`` bad records in ``n``. A 400 that
  no split can cure -- a property that does not exist or is read-only -- raises
  :class:`SchemaMismatch` instead of being retried record by record.

Every other error propagates: the transport has already retried transient ones.
Values are absolute (``None`` is sent as ``""``, which clears), so a retried
write is harmless.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from connectors.base import TagUpdate, WriteResult
from connectors.errors import CrmError, RecordRejected, SchemaMismatch
from connectors.hubspot.fields import HubSpotTransport, cached_api, hubspot_object
from connectors.hubspot.pull_json import errors as batch_errors
from connectors.hubspot.pull_json import results, timestamp
from connectors.naming import PREFIX

MAX_BATCH = 100
NOT_UPDATED = "not updated: the record may have been merged or deleted"
#: Per-property codes in a 400 that mean the schema, not a record, is wrong.
SCHEMA_CODES = frozenset({"PROPERTY_DOESNT_EXIST", "READ_ONLY_VALUE"})


def write_batch(transport: HubSpotTransport, updates: Sequence[TagUpdate]) -> list[WriteResult]:
    """Write one batch (same object type, at most 100 updates); one result per update."""
    if not updates:
        return []
    _check(updates)
    object_type = updates[0].object_type
    api = cached_api(transport, f"crm.{hubspot_object(object_type)}.batch_api")
    return _write(transport, api, object_type, list(updates))


def _check(updates: Sequence[TagUpdate]) -> None:
    if len(updates) > MAX_BATCH:
        raise ValueError(f"a batch holds at most {MAX_BATCH} updates; got {len(updates)}")
    types = {u.object_type for u in updates}
    if len(types) > 1:
        raise ValueError(f"a batch must hold one object type; got {sorted(types)}")
    ids = [u.record_id for u in updates]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise ValueError(f"a batch must not update a record twice; repeated ids: {dup}")
    for u in updates:
        bad = sorted(k for k in u.values if not k.startswith(PREFIX))
        if bad:
            raise ValueError(
                f"refusing to write {bad} on {u.object_type} {u.record_id}: crmseg only "
                f"writes properties whose name starts with {PREFIX!r}"
            )


def _write(
    transport: HubSpotTransport, api: Any, object_type: str, updates: list[TagUpdate]
) -> list[WriteResult]:
    # The body and the answer as plain JSON: the client's generated input and answer
    # models cost more CPU than the rest of a write (connectors.hubspot.pull_json).
    body = {
        "inputs": [
            {
                "id": u.record_id,
                "objectWriteTraceId": u.record_id,
                "properties": {k: "" if v is None else v for k, v in u.values.items()},
            }
            for u in updates
        ]
    }
    try:
        response = transport.call_json("objects.batch.update", api.update, body)
    except CrmError as err:
        if err.status != 400 or err.code != "VALIDATION_ERROR":
            raise
        problems = _problems(err.message)
        schema = [p for p in problems if p.get("error") in SCHEMA_CODES]
        if schema:
            raise SchemaMismatch(
                f"{_describe(schema)}; run ensure_fields for the crmseg tag properties first",
                crm="hubspot",
                object_type=object_type,
                status=err.status,
                request_id=err.request_id,
                code=str(schema[0].get("error")),
            ) from err
        if len(updates) > 1:
            mid = len(updates) // 2
            return _write(transport, api, object_type, updates[:mid]) + _write(
                transport, api, object_type, updates[mid:]
            )
        rejected = RecordRejected(
            _describe(problems) if problems else err.message,
            crm="hubspot",
            object_type=object_type,
            record_id=updates[0].record_id,
            status=err.status,
            request_id=err.request_id,
            code=err.code,
        )
        return [WriteResult(updates[0].record_id, ok=False, error=rejected)]
    results = _results(object_type, updates, response)
    return [_merged(transport, object_type, r) for r in results]


def _merged(transport: HubSpotTransport, object_type: str, result: WriteResult) -> WriteResult:
    """``result`` with ``merged_into`` when its record id now answers another record."""
    if result.ok or result.error is None or result.error.code is not None:
        return result
    api = cached_api(transport, f"crm.{hubspot_object(object_type)}.basic_api")
    try:
        found = transport.call(
            "objects.get", api.get_by_id, result.record_id, properties=["hs_object_id"]
        )
    except CrmError as err:
        if err.status == 404:
            return result
        raise
    new_id = str(getattr(found, "id", "") or "")
    if not new_id or new_id == result.record_id:
        return result
    error = RecordRejected(
        f"merged into {object_type} {new_id} before the write",
        crm="hubspot",
        object_type=object_type,
        record_id=result.record_id,
    )
    return WriteResult(result.record_id, ok=False, error=error, merged_into=new_id)


def _schema_problems(error: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-property problems of one 207 error that mean the schema is wrong."""
    problems = _problems(str(error.get("message") or ""))
    for detail in error.get("errors") or []:
        code = detail.get("code")
        names = (detail.get("context") or {}).get("propertyName") or ["?"]
        if code and not any(p.get("error") == code for p in problems):
            problems.append(
                {"error": code, "name": names[0], "message": detail.get("message") or ""}
            )
    return [p for p in problems if p.get("error") in SCHEMA_CODES]


def _results(object_type: str, updates: list[TagUpdate], response: Any) -> list[WriteResult]:
    stamps = {str(r["id"]): _stamp(r.get("updatedAt")) for r in results(response)}
    written = set(stamps)
    wanted = {u.record_id for u in updates}
    failed: dict[str, RecordRejected] = {}
    unattributed: list[dict[str, Any]] = []
    errors = batch_errors(response)
    schema = [p for e in errors for p in _schema_problems(e)]
    if schema:
        raise SchemaMismatch(
            f"{_describe(schema)}; run ensure_fields for the crmseg tag properties first",
            crm="hubspot",
            object_type=object_type,
            status=207,
            code=str(schema[0].get("error")),
        )
    for e in errors:
        context = e.get("context") or {}
        named = context.get("objectWriteTraceId") or context.get("ids") or []
        ids = [str(i) for i in named if str(i) in wanted]
        if not ids:
            unattributed.append(e)
        for rid in ids:
            failed.setdefault(
                rid,
                RecordRejected(
                    _describe(_problems(e.get("message") or "")) or e.get("message") or "rejected",
                    crm="hubspot",
                    object_type=object_type,
                    record_id=rid,
                    code=e.get("category"),
                ),
            )
    out = []
    for u in updates:
        rid = u.record_id
        if rid in failed:
            out.append(WriteResult(rid, ok=False, error=failed[rid]))
        elif rid in written:
            out.append(WriteResult(rid, ok=True, modified_at=stamps[rid]))
        else:
            cause = unattributed[0] if unattributed else None
            error = RecordRejected(
                f"not updated: {cause.get('message')}" if cause else NOT_UPDATED,
                crm="hubspot",
                object_type=object_type,
                record_id=rid,
                code=cause.get("category") if cause else None,
            )
            out.append(WriteResult(rid, ok=False, error=error))
    return out


def _stamp(value: Any) -> datetime | None:
    """A result's ``updatedAt`` (``None`` when missing or unreadable)."""
    try:
        return timestamp(value)
    except ValueError:
        return None


def _problems(message: str) -> list[dict[str, Any]]:
    """The per-property items HubSpot embeds as JSON in a 400 message
    ("Property values were not valid: [{...}]"); ``[]`` when there are none."""
    start = message.find("[")
    if start < 0:
        return []
    try:
        items = json.loads(message[start:])
    except ValueError:
        return []
    if not isinstance(items, list):
        return []
    return [i for i in items if isinstance(i, dict)]


def _describe(problems: list[dict[str, Any]]) -> str:
    return "; ".join(
        f"{p.get('error', 'INVALID')} on {p.get('name', '?')}: {p.get('message', '')}".rstrip(": ")
        for p in problems
    )
