"""Validated record writes: the rules every write path shares (REST, collections, Bulk, tests).

Per-record problems raise ``RecordError`` with Salesforce's status codes, so the
collections route can put them in its per-record results and Bulk 2.0 can put
them in ``sf__Error``. Derived fields (``IsWon``, ``IsClosed``, ``Contact.Name``,
the primary contact role) are maintained here, as the platform does.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from .errors import RecordError
from .schema import OPPORTUNITY_STAGES, FieldDef
from .store import Org, Record

_ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$")
_STAGES = {s[0]: s for s in OPPORTUNITY_STAGES}


def _not_writable(name: str) -> RecordError:
    return RecordError(
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        f"Unable to create/update fields: {name}. Please check the security settings of this "
        "field and verify that it is read/write for your profile or permission set.",
        [name],
    )


def coerce(org: Org, fd: FieldDef, raw: Any) -> Any:
    """A JSON/CSV/Python value as the stored Python type, or ``RecordError``."""
    if raw is None or raw == "":  # Salesforce stores an empty string as null
        return None
    bad = RecordError(
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        f"{fd.label}: value not of required type: {raw}",
        [fd.name],
    )
    t = fd.type
    if t == "boolean":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise bad
    if t in ("currency", "double", "percent", "int"):
        if isinstance(raw, bool):
            raise bad
        try:
            num = Decimal(str(raw))
        except InvalidOperation:
            raise bad from None
        return int(num) if t == "int" else num
    if t == "date":
        if isinstance(raw, date) and not isinstance(raw, datetime):
            return raw
        try:
            return date.fromisoformat(str(raw)[:10])
        except ValueError:
            raise bad from None
    if t == "datetime":
        if isinstance(raw, datetime):
            return raw
        try:
            return datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
        except ValueError:
            raise bad from None
    text = raw if isinstance(raw, str) else str(raw)
    if t == "reference":
        if not _ID_RE.match(text):
            raise RecordError(
                "MALFORMED_ID", f"{fd.label}: id value of incorrect type: {text}", [fd.name]
            )
        found = org.find(text)
        if found is None or found[0] != fd.reference_to or found[1]["IsDeleted"]:
            raise RecordError(
                "INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {text}", [fd.name]
            )
        return found[1]["Id"]
    if t == "picklist" and fd.restricted and text not in (fd.picklist or []):
        raise RecordError(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"{fd.label}: bad value for restricted picklist field: {text}",
            [fd.name],
        )
    if t == "multipicklist":
        parts = [p for p in text.split(";") if p]
        if fd.restricted:
            for p in parts:
                if p not in (fd.picklist or []):
                    raise RecordError(
                        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                        f"{fd.label}: bad value for restricted picklist field: {p}",
                        [fd.name],
                    )
        text = ";".join(dict.fromkeys(parts))
    if fd.length and len(text) > fd.length and t not in ("multipicklist",):
        raise RecordError(
            "STRING_TOO_LONG",
            f"{fd.label}: data value too large: {text[:30]} (max length={fd.length})",
            [fd.name],
        )
    return text


def _prepare(
    org: Org, obj: str, values: dict[str, Any], *, creating: bool, as_api_user: bool
) -> Record:
    out: Record = {}
    od = org.objects[obj]
    for key, raw in values.items():
        if key == "attributes" or (key.lower() == "id" and not creating):
            continue
        fd = od.field(key)
        if fd is None:
            raise RecordError(
                "INVALID_FIELD", f"No such column '{key}' on sobject of type {obj}", [key]
            )
        if as_api_user:
            if fd.custom and org.readable(obj, fd.name) is None:
                raise _not_writable(fd.name)
            allowed = fd.createable if creating else fd.updateable
            if not allowed or not org.editable(obj, fd):
                raise _not_writable(fd.name)
        out[fd.name] = coerce(org, fd, raw)
    return out


def _derive(org: Org, obj: str, rec: Record, changes: Record) -> None:
    """Platform-maintained fields that follow from the ones just written."""
    if obj == "Opportunity" and "StageName" in changes:
        _, closed, won, prob = _STAGES[changes["StageName"]]
        changes.setdefault("IsClosed", closed)
        changes.setdefault("IsWon", won)
        if "Probability" not in changes:
            changes["Probability"] = Decimal(prob)
    if obj == "Contact" and ("FirstName" in changes or "LastName" in changes):
        first = changes.get("FirstName", rec.get("FirstName"))
        last = changes.get("LastName", rec.get("LastName"))
        changes["Name"] = " ".join(p for p in (first, last) if p)
    if obj == "CampaignMember" and "Status" in changes:
        changes["HasResponded"] = changes["Status"] == "Responded"


def _check_record_type(org: Org, obj: str, merged: Record, changes: Record) -> None:
    """A restricted picklist value must be one the record's record type allows."""
    rt = merged.get("RecordTypeId")
    if not rt:
        return
    od = org.objects[obj]
    for name, value in changes.items():
        fd = od.field(name)
        if fd is None or not fd.restricted or fd.type not in ("picklist", "multipicklist"):
            continue
        if value is None:
            continue
        allowed = org.allowed_values(rt, fd)
        for part in str(value).split(";") if fd.type == "multipicklist" else [str(value)]:
            if part not in allowed:
                raise RecordError(
                    "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                    f"{fd.label}: bad value for restricted picklist field: {part}",
                    [fd.name],
                )


def _check_unique(org: Org, obj: str, merged: Record, rid: str | None) -> None:
    if obj == "CampaignMember" and merged.get("ContactId"):
        for other in org.live("CampaignMember"):
            if (
                other["Id"] != rid
                and other["CampaignId"] == merged.get("CampaignId")
                and other["ContactId"] == merged.get("ContactId")
            ):
                raise RecordError("DUPLICATE_VALUE", "Already a campaign member.", [])
    if obj == "PermissionSetAssignment":
        for other in org.live("PermissionSetAssignment"):
            if (
                other["Id"] != rid
                and other["AssigneeId"] == merged.get("AssigneeId")
                and other["PermissionSetId"] == merged.get("PermissionSetId")
            ):
                raise RecordError(
                    "DUPLICATE_VALUE",
                    f"Duplicate PermissionSetAssignment. Assignee: {merged.get('AssigneeId')}",
                    [],
                )
    if obj == "PermissionSet":
        for other in org.live("PermissionSet"):
            if other["Id"] != rid and str(other["Name"]).lower() == str(merged.get("Name")).lower():
                raise RecordError(
                    "DUPLICATE_DEVELOPER_NAME",
                    f"The API name {merged.get('Name')} is already in use",
                    ["Name"],
                )
    if obj == "FieldPermissions":
        for other in org.live("FieldPermissions"):
            if (
                other["Id"] != rid
                and other["ParentId"] == merged.get("ParentId")
                and str(other["Field"]).lower() == str(merged.get("Field")).lower()
            ):
                raise RecordError(
                    "DUPLICATE_VALUE",
                    f"duplicate value found: Field duplicates value on record with id: "
                    f"{other['Id']}",
                    ["Field"],
                )
        if merged.get("PermissionsEdit") and not merged.get("PermissionsRead"):
            raise RecordError(
                "FIELD_INTEGRITY_EXCEPTION",
                "Permission Edit depends on permission(s): Read",
                ["PermissionsRead"],
            )
        sobj, _, fname = str(merged.get("Field", "")).partition(".")
        od = org.object(sobj)
        if od is None or od.name != merged.get("SobjectType") or od.field(fname) is None:
            raise RecordError(
                "FIELD_INTEGRITY_EXCEPTION",
                f"Field Name: bad value for restricted picklist field: {merged.get('Field')}",
                ["Field"],
            )


def insert(org: Org, obj: str, values: dict[str, Any], *, as_api_user: bool = True) -> str:
    """Create one record; returns its Id or raises ``RecordError``."""
    with org.lock:
        org.check_lock(None)
        od = org.objects[obj]
        changes = _prepare(org, obj, values, creating=True, as_api_user=as_api_user)
        for fd in od.fields.values():
            if fd.name not in changes and fd.default is not None:
                changes[fd.name] = fd.default
        missing = [
            fd.name
            for fd in od.fields.values()
            if fd.required and changes.get(fd.name) in (None, "")
        ]
        if missing:
            raise RecordError(
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(missing)}]",
                missing,
            )
        _derive(org, obj, {}, changes)
        _check_record_type(org, obj, changes, changes)
        _check_unique(org, obj, changes, None)
        rid = org.put_new(obj, changes)
        if obj == "Opportunity" and changes.get("ContactId"):
            insert(
                org,
                "OpportunityContactRole",
                {"OpportunityId": rid, "ContactId": changes["ContactId"], "IsPrimary": True},
                as_api_user=False,
            )
        if obj == "OpportunityContactRole" and changes.get("IsPrimary"):
            _make_primary(org, org.records[obj][rid])
        return rid


def update(
    org: Org, obj: str | None, rid: str, values: dict[str, Any], *, as_api_user: bool = True
) -> str:
    """Change one record by Id; ``obj`` (if given) must match the Id's type."""
    with org.lock:
        found = org.find(rid) if isinstance(rid, str) else None
        if found is None or (obj is not None and found[0] != obj):
            code = (
                "MALFORMED_ID"
                if not (isinstance(rid, str) and _ID_RE.match(rid))
                else "INVALID_CROSS_REFERENCE_KEY"
            )
            raise RecordError(
                code,
                f"invalid cross reference id: {rid}"
                if code != "MALFORMED_ID"
                else f"Id: malformed id {rid}",
                ["Id"],
            )
        sobj, rec = found
        if rec["IsDeleted"]:
            raise RecordError("ENTITY_IS_DELETED", "entity is deleted", [])
        org.check_lock(rec["Id"])
        changes = _prepare(org, sobj, values, creating=False, as_api_user=as_api_user)
        _derive(org, sobj, rec, changes)
        _check_record_type(org, sobj, rec | changes, changes)
        _check_unique(org, sobj, rec | changes, rec["Id"])
        org.put_changes(sobj, rec["Id"], changes)
        if sobj == "OpportunityContactRole" and changes.get("IsPrimary"):
            _make_primary(org, rec)
        return rec["Id"]


def delete(org: Org, rid: str) -> str:
    with org.lock:
        found = org.find(rid)
        if found is None:
            raise RecordError(
                "INVALID_CROSS_REFERENCE_KEY", f"invalid cross reference id: {rid}", []
            )
        sobj, rec = found
        if rec["IsDeleted"]:
            raise RecordError("ENTITY_IS_DELETED", "entity is deleted", [])
        org.check_lock(rec["Id"])
        org.soft_delete(sobj, rec["Id"])
        return rec["Id"]


def _make_primary(org: Org, role: Record) -> None:
    """One primary role per opportunity; the opportunity's ContactId follows it."""
    for other in org.live("OpportunityContactRole"):
        if (
            other["OpportunityId"] == role["OpportunityId"]
            and other["Id"] != role["Id"]
            and other["IsPrimary"]
        ):
            org.put_changes("OpportunityContactRole", other["Id"], {"IsPrimary": False})
    opp = org.records["Opportunity"].get(role["OpportunityId"])
    if opp is not None and opp.get("ContactId") != role["ContactId"]:
        opp["ContactId"] = role["ContactId"]
