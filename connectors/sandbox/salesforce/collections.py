"""sObject Collections: ``POST``/``PATCH``/``DELETE .../composite/sobjects`` (<= 200 records).

The HTTP status is 200 whenever the request itself is well formed; each record
gets ``{id?, success, errors:[{statusCode, message, fields}]}`` in input order.
With ``allOrNone`` a single failure rolls everything back and the records that
would have succeeded report ``ALL_OR_NONE_OPERATION_ROLLED_BACK``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._server import Request, Response, Router
from .common import API_PREFIX, State, body_json, json_response, q1
from .errors import RecordError, SfError
from .writes import delete, insert, update

MAX_RECORDS = 200
ROLLED_BACK = RecordError(
    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "Record rolled back because not all records were valid and the request was using AllOrNone "
    "header",
)


def _too_many() -> SfError:
    return SfError(
        400,
        "EXCEEDED_ID_LIMIT",
        f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call",
    )


def _run(
    state: State, items: list[Any], all_or_none: bool, one: Callable[[Any], str]
) -> list[dict[str, Any]]:
    org = state.org
    results: list[dict[str, Any]] = []
    with org.transaction() as journal:
        for item in items:
            try:
                rid = one(item)
                results.append({"id": rid, "success": True, "errors": []})
            except RecordError as err:
                failed: dict[str, Any] = {"success": False, "errors": [err.as_dict()]}
                known = item.get("id") if isinstance(item, dict) else item
                if isinstance(known, str):
                    failed = {"id": known, **failed}
                results.append(failed)
        if all_or_none and any(not r["success"] for r in results):
            org.rollback(journal)
            for r in results:
                if r["success"]:
                    r["success"], r["errors"] = False, [ROLLED_BACK.as_dict()]
                    r.pop("id", None)
    return results


def register(router: Router, state: State) -> None:
    org = state.org

    def parse(req: Request) -> tuple[list[dict[str, Any]], bool]:
        payload = body_json(req)
        if not isinstance(payload, dict) or not isinstance(payload.get("records"), list):
            raise SfError(400, "JSON_PARSER_ERROR", 'Expected {"allOrNone": ..., "records": [...]}')
        records = payload["records"]
        if len(records) > MAX_RECORDS:
            raise _too_many()
        for rec in records:
            if (
                not isinstance(rec, dict)
                or not isinstance(rec.get("attributes"), dict)
                or not rec["attributes"].get("type")
            ):
                raise SfError(400, "INVALID_TYPE", "Must specify a type in attributes")
            if org.object(str(rec["attributes"]["type"])) is None:
                raise SfError(
                    400,
                    "INVALID_TYPE",
                    f"sObject type '{rec['attributes']['type']}' is not supported.",
                )
        return records, bool(payload.get("allOrNone", False))

    def create_many(req: Request) -> Response:
        records, aon = parse(req)

        def one(rec: dict[str, Any]) -> str:
            if "id" in rec or "Id" in rec:
                raise RecordError(
                    "INVALID_FIELD_FOR_INSERT_UPDATE", "cannot specify Id in an insert call", ["Id"]
                )
            obj = org.object(rec["attributes"]["type"])
            assert obj is not None
            return insert(org, obj.name, rec)

        return json_response(_run(state, records, aon, one))

    def update_many(req: Request) -> Response:
        records, aon = parse(req)

        def one(rec: dict[str, Any]) -> str:
            rid = rec.get("id") or rec.get("Id")
            if not rid:
                raise RecordError("MISSING_ARGUMENT", "Id not specified in an update call", [])
            obj = org.object(rec["attributes"]["type"])
            assert obj is not None
            return update(org, obj.name, str(rid), rec)

        return json_response(_run(state, records, aon, one))

    def delete_many(req: Request) -> Response:
        ids = [i for i in (q1(req, "ids") or "").split(",") if i]
        if not ids:
            raise SfError(400, "MISSING_ARGUMENT", "ids parameter is required")
        if len(ids) > MAX_RECORDS:
            raise _too_many()
        aon = (q1(req, "allOrNone") or "false").lower() == "true"
        return json_response(_run(state, ids, aon, lambda rid: delete(org, rid)))

    p = API_PREFIX + r"/composite/sobjects"
    router.add("POST", p, create_many, "collections create")
    router.add("PATCH", p, update_many, "collections update")
    router.add("DELETE", p, delete_many, "collections delete")
