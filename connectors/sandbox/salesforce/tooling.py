"""Tooling API ``CustomField``: create, read, update, delete and query custom fields.

A created field is added to the org schema at once but, as on a real org, no
permission set grants it, so the API user gets ``INVALID_FIELD`` on read and
``INVALID_FIELD_FOR_INSERT_UPDATE`` on write until ``FieldPermissions`` on an
assigned ``PermissionSet`` say otherwise (see ``Org.readable``).
"""

from __future__ import annotations

import re
from typing import Any

from .._server import Request, Response, Router
from .common import API_PREFIX, State, body_json, json_response, no_content, q1
from .errors import SfError, not_found
from .schema import FieldDef, ObjectDef
from .soql_eval import execute, rest_record
from .store import Org, Record

MAX_PICKLIST_VALUES = 1000
MAX_VALUE_CHARS = 255
_TYPES = {
    "Text": "string",
    "LongTextArea": "textarea",
    "Picklist": "picklist",
    "MultiselectPicklist": "multipicklist",
    "Checkbox": "boolean",
    "Number": "double",
}
_NAME = re.compile(r"^(?P<obj>[A-Za-z]\w*)\.(?P<field>[A-Za-z](?:[A-Za-z0-9]|_(?!_))*__c)$")


def _bad(message: str, fields: list[str] | None = None) -> SfError:
    return SfError(400, "FIELD_INTEGRITY_EXCEPTION", message, fields or [])


def field_from_metadata(name: str, meta: dict[str, Any]) -> FieldDef:
    """Validate Metadata-API-shaped input and build the field definition."""
    kind = str(meta.get("type", ""))
    if kind not in _TYPES:
        raise _bad(f"Invalid field type: {kind or '(none)'}", ["type"])
    label = str(meta.get("label") or "")
    if not label:
        raise SfError(400, "REQUIRED_FIELD_MISSING", "Required field missing: label", ["label"])
    fd = FieldDef(name, _TYPES[kind], label=label)
    if kind == "Text":
        length = meta.get("length")
        if not isinstance(length, int) or not 1 <= length <= 255:
            raise _bad("Length must be between 1 and 255 for Text fields", ["length"])
        fd.length = length
    elif kind == "LongTextArea":
        length = meta.get("length")
        if (
            not isinstance(length, int)
            or not 256 <= length <= 131072
            or not meta.get("visibleLines")
        ):
            raise _bad(
                "LongTextArea needs length 256..131072 and visibleLines", ["length", "visibleLines"]
            )
        fd.length, fd.visible_lines = length, int(meta["visibleLines"])
    elif kind == "Checkbox":
        fd.default = str(meta.get("defaultValue", "false")).lower() == "true"
    elif kind == "Number":
        fd.length = 0
    else:
        _apply_value_set(fd, meta)
        if kind == "MultiselectPicklist":
            if not meta.get("visibleLines"):
                raise _bad("visibleLines is required for multi-select picklists", ["visibleLines"])
            fd.visible_lines = int(meta["visibleLines"])
        fd.length = 4099 if kind == "MultiselectPicklist" else 255
    return fd


#: Tooling's CustomValue properties (FACTS.md "Tooling picklist values"). ``fullName`` is the
#: Metadata API's spelling; Tooling does not know it.
CUSTOM_VALUE_KEYS = frozenset(
    {"valueName", "label", "default", "color", "description", "isActive", "urls"}
)


def _apply_value_set(fd: FieldDef, meta: dict[str, Any]) -> None:
    vs = meta.get("valueSet") or {}
    values = (vs.get("valueSetDefinition") or {}).get("value") or []
    for v in values:
        unknown = sorted(set(v) - CUSTOM_VALUE_KEYS) if isinstance(v, dict) else ["(not an object)"]
        if unknown:
            raise SfError(
                400,
                "JSON_PARSER_ERROR",
                f"Unrecognized field(s) {', '.join(unknown)} in CustomValue: Tooling picklist "
                "values are named by valueName",
            )
    names = [str(v.get("valueName") or "") for v in values]
    if not names:
        raise _bad("A picklist needs at least one value", ["valueSet"])
    if len(names) > MAX_PICKLIST_VALUES:
        raise _bad(f"Picklists can have at most {MAX_PICKLIST_VALUES} values", ["valueSet"])
    for n in names:
        if not n or len(n) > MAX_VALUE_CHARS or ";" in n:
            raise _bad(
                f"Picklist value invalid or longer than {MAX_VALUE_CHARS} characters: {n[:40]}",
                ["valueSet"],
            )
    if len(set(names)) != len(names):
        raise SfError(400, "DUPLICATE_VALUE", "Duplicate picklist value", ["valueSet"])
    fd.picklist = names
    fd.value_labels = {
        n: str(v["label"])
        for n, v in zip(names, values, strict=True)
        if v.get("label") not in (None, "", n)
    }
    fd.restricted = bool(vs.get("restricted", False))


def metadata_of(fd: FieldDef) -> dict[str, Any]:
    kind = {v: k for k, v in _TYPES.items()}[fd.type]
    meta: dict[str, Any] = {"label": fd.label, "type": kind}
    if kind in ("Text", "LongTextArea"):
        meta["length"] = fd.length
    if fd.visible_lines:
        meta["visibleLines"] = fd.visible_lines
    if fd.picklist is not None:
        meta["valueSet"] = {
            "restricted": fd.restricted,
            "valueSetDefinition": {
                "sorted": False,
                "value": [
                    {
                        "color": None,
                        "default": False,
                        "description": None,
                        "isActive": None,
                        "label": fd.value_labels.get(v, v),
                        "urls": None,
                        "valueName": v,
                    }
                    for v in fd.picklist
                ],
            },
        }
    return meta


class ToolingCatalog:
    """The Tooling ``CustomField`` table as a SOQL catalog (Id, DeveloperName, TableEnumOrId)."""

    def __init__(self, org: Org) -> None:
        self.org = org
        self.od = ObjectDef("CustomField", "00N")
        for name, kind in (
            ("Id", "id"),
            ("DeveloperName", "string"),
            ("TableEnumOrId", "string"),
            ("NamespacePrefix", "string"),
            ("IsDeleted", "boolean"),
        ):
            self.od.add(FieldDef(name, kind))

    def object(self, name: str) -> ObjectDef | None:
        return self.od if name.lower() == "customfield" else None

    def readable(self, obj: str, name: str) -> FieldDef | None:
        return self.od.field(name)

    def rows(self, obj: str, include_deleted: bool) -> list[Record]:
        with self.org.lock:
            return [
                {
                    "Id": fid,
                    "DeveloperName": fd.name[:-3],
                    "TableEnumOrId": sobj,
                    "NamespacePrefix": None,
                    "IsDeleted": False,
                }
                for fid, (sobj, fd) in self.org.custom_fields.items()
            ]

    def get(self, obj: str, rid: str) -> Record | None:
        return next((r for r in self.rows(obj, False) if r["Id"] == rid), None)


def register(router: Router, state: State) -> None:
    org = state.org
    catalog = ToolingCatalog(org)

    def lookup(fid: str) -> tuple[str, FieldDef]:
        with org.lock:
            found = org.custom_fields.get(fid)
        if found is None:
            raise not_found()
        return found

    def create(req: Request) -> Response:
        body = body_json(req) or {}
        m = _NAME.match(str(body.get("FullName", "")))
        if not isinstance(body, dict) or m is None:
            raise _bad("FullName must look like Object.Field__c", ["FullName"])
        od = org.object(m["obj"])
        if od is None:
            raise _bad(f"Invalid object: {m['obj']}", ["FullName"])
        fd = field_from_metadata(m["field"], body.get("Metadata") or {})
        with org.lock:
            if od.field(fd.name) is not None:
                raise SfError(
                    400,
                    "DUPLICATE_DEVELOPER_NAME",
                    f"There is already a field named {fd.name} on {od.name}.",
                )
            fid = org.add_custom_field(od.name, fd)
        return json_response(
            {"id": fid, "success": True, "errors": [], "warnings": [], "infos": []}, 201
        )

    def read(req: Request) -> Response:
        sobj, fd = lookup(req.params["id"])
        return json_response(
            {
                "attributes": {"type": "CustomField", "url": req.path},
                "Id": req.params["id"],
                "DeveloperName": fd.name[:-3],
                "TableEnumOrId": sobj,
                "FullName": f"{sobj}.{fd.name}",
                "Metadata": metadata_of(fd),
            }
        )

    def patch(req: Request) -> Response:
        _, fd = lookup(req.params["id"])
        meta = (body_json(req) or {}).get("Metadata") or {}
        new = field_from_metadata(fd.name, {**metadata_of(fd), **meta})
        if new.type != fd.type:
            raise _bad("Changing the field type is not supported here", ["type"])
        with org.lock:
            fd.label, fd.length, fd.picklist = new.label, new.length, new.picklist
            fd.restricted, fd.visible_lines = new.restricted, new.visible_lines
            fd.value_labels = new.value_labels
        return no_content()

    def remove(req: Request) -> Response:
        sobj, fd = lookup(req.params["id"])
        with org.lock:
            org.custom_fields.pop(req.params["id"], None)
            org.objects[sobj].fields.pop(fd.name.lower(), None)
            for rec in org.records[sobj].values():
                rec.pop(fd.name, None)
        return no_content()

    def query(req: Request) -> Response:
        soql = q1(req, "q") or ""
        result = execute(catalog, soql, include_deleted=False)
        base = f"/services/data/v{req.params['version']}/tooling"
        return json_response(
            {
                "size": len(result.rows),
                "totalSize": len(result.rows),
                "done": True,
                "queryLocator": None,
                "entityTypeName": "CustomField",
                "records": [rest_record(catalog, result, r, base) for r in result.rows],
            }
        )

    p = API_PREFIX + "/tooling"
    router.add("POST", p + r"/sobjects/CustomField/?", create, "tooling create field")
    fid = r"/(?P<id>00N\w{15})"
    router.add("GET", p + r"/sobjects/CustomField" + fid, read, "tooling read field")
    router.add("PATCH", p + r"/sobjects/CustomField" + fid, patch, "tooling update field")
    router.add("DELETE", p + r"/sobjects/CustomField" + fid, remove, "tooling delete field")
    router.add("GET", p + r"/query/?", query, "tooling query")
