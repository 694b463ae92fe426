"""REST routes: query/queryAll with cursor paging, describe, single-record CRUD, updated/deleted.

Paths follow notes §0 exactly as simple-salesforce builds them (``query/`` with a
slash before ``?``, ``sobjects`` without one for describe global, ``limits/``).
Query cursors are snapshots taken when the query ran, paged by
``nextRecordsUrl`` = ``/services/data/vXX.X/query/<0r8 locator>-<offset>``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from .._server import Request, Response, Router
from .common import API_PREFIX, State, base_path, body_object, json_response, no_content, q1
from .errors import RecordError, SfError, not_found
from .schema import FieldDef, ObjectDef
from .soql_eval import Result, execute, rest_record
from .soql_parse import parse
from .wire import format_datetime, to_wire
from .writes import delete, insert, update

DEFAULT_BATCH = 2000
MIN_BATCH = 200
MAX_IDS = 600_000
_ID = r"(?P<id>[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?)"
_OBJ = r"(?P<obj>[A-Za-z][A-Za-z0-9_]*)"


def batch_size(req: Request) -> int:
    """``Sforce-Query-Options: batchSize=N`` is a hint between 200 and 2,000."""
    opts = req.header("sforce-query-options") or ""
    m = re.search(r"batchSize\s*=\s*(\d+)", opts)
    if not m:
        return DEFAULT_BATCH
    return max(MIN_BATCH, min(DEFAULT_BATCH, int(m.group(1))))


def sobject(state: State, name: str) -> ObjectDef:
    od = state.org.object(name)
    if od is None:
        raise not_found()
    return od


def _page(
    state: State, req: Request, locator: str, result: Result, offset: int, size: int
) -> Response:
    base = base_path(req)
    chunk = result.rows[offset : offset + size]
    total = len(result.rows)
    body: dict[str, Any] = {"totalSize": total, "done": offset + size >= total}
    if not body["done"]:
        body["nextRecordsUrl"] = f"{base}/query/{locator}-{offset + size}"
    with state.org.lock:
        body["records"] = [rest_record(state.org, result, r, base) for r in chunk]
    return json_response(body)


def register(router: Router, state: State) -> None:
    org = state.org

    def query(req: Request, include_deleted: bool) -> Response:
        soql = q1(req, "q")
        if not soql:
            raise SfError(400, "MALFORMED_QUERY", "A query string has to be specified")
        parsed = parse(soql)
        result = execute(org, parsed, include_deleted=include_deleted, today=org.now().date())
        if parsed.count:
            return json_response({"totalSize": len(result.rows), "done": True, "records": []})
        limit = state.query_timeout_rows
        if limit is not None and parsed.order_by and len(result.rows) > limit:
            raise SfError(
                400,
                "QUERY_TIMEOUT",
                "Your query request was running for too long.",
            )
        locator = state.new_id("0r8")
        with state.lock:
            state.cursors[locator] = result
        return _page(state, req, locator, result, 0, batch_size(req))

    def query_more(req: Request) -> Response:
        with state.lock:
            result = state.cursors.get(req.params["locator"])
        if result is None:
            raise SfError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return _page(
            state, req, req.params["locator"], result, int(req.params["offset"]), batch_size(req)
        )

    def describe_global(req: Request) -> Response:
        base = base_path(req)
        return json_response(
            {
                "encoding": "UTF-8",
                "maxBatchSize": 200,
                "sobjects": [_object_summary(od, base) for od in org.objects.values()],
            }
        )

    def describe(req: Request) -> Response:
        od = sobject(state, req.params["obj"])
        body = _object_summary(od, base_path(req))
        body["fields"] = [_describe_field(state, od, fd) for fd in org.visible_fields(od.name)]
        body["childRelationships"] = []
        return json_response(body)

    def basic_info(req: Request) -> Response:
        od = sobject(state, req.params["obj"])
        return json_response(
            {"objectDescribe": _object_summary(od, base_path(req)), "recentItems": []}
        )

    def get_record(req: Request) -> Response:
        od = sobject(state, req.params["obj"])
        found = org.find(req.params["id"])
        if found is None or found[0] != od.name or found[1]["IsDeleted"]:
            raise not_found()
        wanted = q1(req, "fields")
        names = (
            [n.strip() for n in wanted.split(",")]
            if wanted
            else [fd.name for fd in org.visible_fields(od.name)]
        )
        body: dict[str, Any] = {
            "attributes": {
                "type": od.name,
                "url": f"{base_path(req)}/sobjects/{od.name}/{found[1]['Id']}",
            }
        }
        for name in names:
            fd = org.readable(od.name, name)
            if fd is None:
                raise SfError(
                    400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {od.name}"
                )
            body[fd.name] = to_wire(found[1].get(fd.name))
        return json_response(body)

    def create(req: Request) -> Response:
        od = sobject(state, req.params["obj"])
        payload = body_object(req)
        try:
            rid = insert(org, od.name, payload)
        except RecordError as err:
            raise SfError(400, err.status_code, err.message, err.fields) from None
        return json_response({"id": rid, "success": True, "errors": []}, 201)

    def patch_record(req: Request) -> Response:
        od = sobject(state, req.params["obj"])
        payload = body_object(req)
        try:
            update(org, od.name, req.params["id"], payload)
        except RecordError as err:
            if err.status_code in ("INVALID_CROSS_REFERENCE_KEY", "ENTITY_IS_DELETED"):
                raise not_found() from None
            raise SfError(400, err.status_code, err.message, err.fields) from None
        return no_content()

    def delete_record(req: Request) -> Response:
        od = sobject(state, req.params["obj"])
        found = org.find(req.params["id"])
        if found is None or found[0] != od.name:
            raise not_found()
        try:
            delete(org, req.params["id"])
        except RecordError as err:
            if err.status_code == "ENTITY_IS_DELETED":
                raise SfError(404, "ENTITY_IS_DELETED", err.message) from None
            raise SfError(400, err.status_code, err.message, err.fields) from None
        return no_content()

    def changed(req: Request, deleted: bool) -> Response:
        od = sobject(state, req.params["obj"])
        start, end = _window(req, org.now())
        with org.lock:
            hits = [
                r
                for r in org.records[od.name].values()
                if r["IsDeleted"] == deleted and start <= r["SystemModstamp"] < end
            ]
        if len(hits) > MAX_IDS:
            raise SfError(400, "EXCEEDED_ID_LIMIT", f"too many ids: more than {MAX_IDS}")
        covered = format_datetime(end)
        if deleted:
            return json_response(
                {
                    "deletedRecords": [
                        {"id": r["Id"], "deletedDate": format_datetime(r["SystemModstamp"])}
                        for r in hits
                    ],
                    "earliestDateAvailable": format_datetime(org.now() - timedelta(days=30)),
                    "latestDateCovered": covered,
                }
            )
        return json_response({"ids": [r["Id"] for r in hits], "latestDateCovered": covered})

    def limits(req: Request) -> Response:
        return json_response(state.limits.body())

    def picklist_values(req: Request) -> Response:
        """UI API: the values of one picklist a record type allows."""
        od = sobject(state, req.params["obj"])
        fd = org.readable(od.name, req.params["field"])
        rt = req.params["rt"]
        found = org.find(rt)
        if fd is None or fd.picklist is None or found is None or found[0] != "RecordType":
            raise not_found()
        values = org.allowed_values(found[1]["Id"], fd)
        return json_response(
            {
                "controllerValues": {},
                "defaultValue": None,
                "eTag": f"{len(values)}",
                "url": req.path,
                "values": [
                    {
                        "attributes": None,
                        "label": fd.value_labels.get(v, v),
                        "validFor": [],
                        "value": v,
                    }
                    for v in values
                ],
            }
        )

    p = API_PREFIX
    router.add("GET", p + r"/query/?", lambda r: query(r, False), "query")
    router.add("GET", p + r"/queryAll/?", lambda r: query(r, True), "queryAll")
    router.add(
        "GET",
        p + r"/query(?:All)?/(?P<locator>0r8\w{15})-(?P<offset>\d+)",
        query_more,
        "query more",
    )
    router.add("GET", p + r"/limits/?", limits, "limits")
    router.add(
        "GET",
        p + rf"/ui-api/object-info/{_OBJ}/picklist-values/(?P<rt>012\w{{12,15}})/(?P<field>\w+)",
        picklist_values,
        "ui-api picklist values",
    )
    router.add("GET", p + r"/sobjects/?", describe_global, "describe global")
    router.add("GET", p + rf"/sobjects/{_OBJ}/describe/?", describe, "describe")
    router.add("GET", p + rf"/sobjects/{_OBJ}/updated/?", lambda r: changed(r, False), "updated")
    router.add("GET", p + rf"/sobjects/{_OBJ}/deleted/?", lambda r: changed(r, True), "deleted")
    router.add("GET", p + rf"/sobjects/{_OBJ}/?", basic_info, "sobject info")
    router.add("POST", p + rf"/sobjects/{_OBJ}/?", create, "create")
    router.add("GET", p + rf"/sobjects/{_OBJ}/{_ID}", get_record, "get")
    router.add("PATCH", p + rf"/sobjects/{_OBJ}/{_ID}", patch_record, "update")
    router.add("DELETE", p + rf"/sobjects/{_OBJ}/{_ID}", delete_record, "delete")


def _window(req: Request, now: datetime) -> tuple[datetime, datetime]:
    """``start``/``end`` for updated/deleted: tz-aware, seconds truncated, last 30 days."""
    parsed = []
    for name in ("start", "end"):
        raw = q1(req, name)
        try:
            value = datetime.fromisoformat((raw or "").replace("Z", "+00:00"))
        except ValueError:
            raise SfError(
                400,
                "INVALID_DATETIME" if raw else "MISSING_ARGUMENT",
                f"{name}: bad date/time value '{raw}'",
            ) from None
        if value.tzinfo is None:
            raise SfError(400, "INVALID_DATETIME", f"{name}: a time zone offset is required")
        parsed.append(value.replace(second=0, microsecond=0))
    start, end = parsed
    if start < now - timedelta(days=30):
        raise SfError(400, "INVALID_REPLICATION_DATE", "startDate cannot be more than 30 days ago")
    if end <= start:
        raise SfError(400, "INVALID_REPLICATION_DATE", "EndDate must be after StartDate")
    return start, end


def _object_summary(od: ObjectDef, base: str) -> dict[str, Any]:
    setup = od.name in ("User",)
    return {
        "name": od.name,
        "label": od.name,
        "labelPlural": od.name + "s",
        "keyPrefix": od.key_prefix,
        "custom": False,
        "queryable": True,
        "retrieveable": True,
        "searchable": True,
        "createable": not setup,
        "updateable": not setup,
        "deletable": not setup,
        "replicateable": True,
        "urls": {
            "sobject": f"{base}/sobjects/{od.name}",
            "describe": f"{base}/sobjects/{od.name}/describe",
            "rowTemplate": f"{base}/sobjects/{od.name}/{{ID}}",
        },
    }


_SOAP = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "currency": "xsd:double",
    "double": "xsd:double",
    "percent": "xsd:double",
    "int": "xsd:int",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
}


def _describe_field(state: State, od: ObjectDef, fd: FieldDef) -> dict[str, Any]:
    editable = state.org.editable(od.name, fd)
    values = fd.picklist or []
    return {
        "name": fd.name,
        "label": fd.label,
        "type": fd.type,
        "soapType": _SOAP.get(fd.type, "xsd:string"),
        "length": fd.length,
        "custom": fd.custom,
        "calculated": False,
        "createable": fd.createable and editable,
        "updateable": fd.updateable and editable,
        "nillable": not fd.required and fd.type != "boolean" and fd.name != "Id",
        "defaultedOnCreate": fd.default is not None or fd.name in ("Id", "CreatedDate"),
        "filterable": True,
        "sortable": fd.type not in ("multipicklist", "textarea"),
        "externalId": False,
        "unique": False,
        "idLookup": fd.name == "Id",
        "referenceTo": [fd.reference_to] if fd.reference_to else [],
        "relationshipName": fd.relationship_name,
        "restrictedPicklist": fd.restricted,
        "picklistValues": [
            {"active": True, "defaultValue": False, "label": v, "value": v, "validFor": None}
            for v in values
        ],
        "visibleLines": fd.visible_lines,
        "defaultValue": fd.default,
    }
