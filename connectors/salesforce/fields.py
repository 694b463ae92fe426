"""Make crmseg's tag fields exist on Contact / Account, and make them readable and writable.

Each :class:`~connectors.base.FieldSpec` becomes a custom field created through
the Tooling API (notes §6.1): a restricted ``Picklist`` when single-valued, a
restricted ``MultiselectPicklist`` (4 visible lines) when ``multi``. We read
first -- one Tooling query for the object's custom fields, then the metadata of
each crmseg field that exists -- and change only what differs: a missing field
is created, a field missing some options gets them appended to its value set
(a value is never removed: records may still hold it). A second call with the
same specs makes no write call.

A field created through the API is invisible to every user until field-level
security grants it (notes §6.3): reads fail with ``INVALID_FIELD`` and writes
with ``INVALID_FIELD_FOR_INSERT_UPDATE``. So :func:`ensure_fields` also keeps
crmseg's own permission set (``Name`` ``crmseg``) with Read+Edit
``FieldPermissions`` on every field it manages, assigned to the integration
user -- again read first, write only what is missing.

The integration user is the session's ``user_id``: the identity the OAuth token
answer names (never the permission set's creator, who may be an admin).

Every create (field, permission set, grants, assignment) survives a lost
answer: it is looked up by its unique name before it is sent again, and a
``DUPLICATE_*`` refusal counts as found (:mod:`connectors.salesforce.creates`).

Every call goes through ``session.call(endpoint, fn, ...)`` where ``fn`` gets the
current simple-salesforce client; the session retries, renews and maps errors.
The grants live in :mod:`connectors.salesforce.permissions`, the query and
collections plumbing in :mod:`connectors.salesforce.calls`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from simple_salesforce import format_soql

from connectors.base import FieldSpec, ObjectType
from connectors.errors import SchemaMismatch
from connectors.naming import PREFIX
from connectors.salesforce.calls import (
    COLLECTION_LIMIT,
    SalesforceSessionLike,
    collection,
    first_error,
)
from connectors.salesforce.calls import query as _query
from connectors.salesforce.creates import create_once
from connectors.salesforce.permissions import PERMISSION_SET_LABEL, PERMISSION_SET_NAME, grant
from connectors.salesforce.records import to_api_name

__all__ = [
    # the collections plumbing and the permission set, long imported from here
    "COLLECTION_LIMIT",
    "PERMISSION_SET_LABEL",
    "PERMISSION_SET_NAME",
    "SalesforceSessionLike",
    "check_field_name",
    "collection",
    "ensure_fields",
    "first_error",
    "plan_fields",
    "record_type_gaps",
    "sobject",
]

log = logging.getLogger(__name__)

#: Salesforce's own limit on a picklist value's length (notes §6.4).
MAX_VALUE_CHARS = 255

#: crmseg object type -> Salesforce sObject.
SALESFORCE_OBJECT: dict[str, str] = {"contact": "Contact", "company": "Account"}


def sobject(object_type: str) -> str:
    try:
        return SALESFORCE_OBJECT[object_type]
    except KeyError:
        raise ValueError(
            f"unknown object type {object_type!r} for Salesforce; expected one of "
            f"{sorted(SALESFORCE_OBJECT)}"
        ) from None


def check_field_name(name: str) -> None:
    """Refuse any field crmseg does not own, before a single call is made."""
    if not name.startswith(PREFIX):
        raise ValueError(
            f"refusing to manage field {name!r}: crmseg only writes fields whose name starts "
            f"with {PREFIX!r}"
        )


def ensure_fields(
    session: SalesforceSessionLike, object_type: ObjectType, fields: Sequence[FieldSpec]
) -> list[str]:
    """Create or extend the crmseg tag fields and grant them; one line per change (``[]``: none).

    Raises ``ValueError`` (before any call) for a name outside ``crmseg_``, a name
    or option given twice or an option Salesforce cannot hold, and
    :class:`SchemaMismatch` (before any write) when a field of that name exists
    with another type.
    """
    obj = sobject(object_type)
    _check_specs(fields)
    if not fields:
        return []
    existing = _existing_fields(session, obj)
    metadata = {
        spec.name: _read_metadata(session, existing[to_api_name(spec.name)])
        for spec in fields
        if to_api_name(spec.name) in existing
    }
    for spec in fields:  # every type checked before anything is written
        if spec.name in metadata:
            _check_kind(object_type, obj, spec, metadata[spec.name])

    changes: list[str] = []
    for spec in fields:
        api = to_api_name(spec.name)
        meta = metadata.get(spec.name)
        if meta is None:
            create_once(
                session,
                "tooling.customfield.create",
                lambda sf, body: str(
                    sf.toolingexecute("sobjects/CustomField", method="POST", data=body)["id"]
                ),
                lambda api=api: _existing_fields(session, obj).get(api),  # type: ignore[misc]
                {"FullName": f"{obj}.{api}", "Metadata": _new_metadata(spec)},
            )
            changes.append(
                f"created {object_type} field {api} ({_kind(spec)}, {len(spec.options)} values)"
            )
            continue
        have = _values(meta)
        missing = [v for v in spec.options if v not in have]
        if not missing:
            continue
        session.call(
            "tooling.customfield.update",
            lambda sf, fid, body: sf.toolingexecute(
                f"sobjects/CustomField/{fid}", method="PATCH", data=body
            ),
            existing[api],
            {"Metadata": _with_values(meta, [*have, *missing])},
        )
        changes.append(f"added values {', '.join(missing)} to {object_type} field {api}")
    changes += grant(session, obj, [to_api_name(s.name) for s in fields])
    _report_record_type_gaps(session, object_type, obj, fields)
    return changes


def record_type_gaps(
    session: SalesforceSessionLike, obj: str, fields: Sequence[FieldSpec]
) -> dict[str, dict[str, list[str]]]:
    """Active record type name -> tag field -> crmseg values that record type does not allow.

    Values added to a restricted picklist are not added to the object's record types
    (FACTS.md "Record types"), and a record of a record type that lacks a value is
    refused one by one. Read through the UI API's picklist-values resource (one call
    per record type and field); an object without record types costs one query."""
    types = _query(
        session,
        "recordtype.find",
        format_soql(
            "SELECT Id, Name FROM RecordType WHERE SobjectType = {} AND IsActive = true", obj
        ),
    )
    gaps: dict[str, dict[str, list[str]]] = {}
    for rt in types:
        for spec in fields:
            api = to_api_name(spec.name)
            answer = session.call(
                "recordtype.picklist.get",
                lambda sf, path: sf.restful(path),
                f"ui-api/object-info/{obj}/picklist-values/{rt['Id']}/{api}",
            )
            allowed = {str(v.get("value")) for v in (answer or {}).get("values") or []}
            missing = [v for v in spec.options if v not in allowed]
            if missing:
                gaps.setdefault(str(rt["Name"]), {})[api] = missing
    return gaps


def _report_record_type_gaps(
    session: SalesforceSessionLike, object_type: str, obj: str, fields: Sequence[FieldSpec]
) -> None:
    """One warning, before any tag is written, naming what an admin must add where.

    crmseg does not edit record types itself: that takes the Metadata API
    (``RecordType.picklistValues``), whose SOAP client in simple-salesforce ignores
    the session crmseg configures (timeouts, CA bundle), and a record type is the
    admin's page-layout and process design, not crmseg's to change."""
    gaps = record_type_gaps(session, obj, fields)
    if not gaps:
        return
    detail = "; ".join(
        f"record type {name!r}: "
        + ", ".join(f"{field} lacks {', '.join(values)}" for field, values in by_field.items())
        for name, by_field in gaps.items()
    )
    log.warning(
        "%s records of these record types will be refused for the missing values "
        "(INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST) until an admin adds them in Setup > "
        "Object Manager > %s > Record Types > (record type) > the field's picklist: %s",
        object_type,
        obj,
        detail,
    )


# ----- the fields ----------------------------------------------------------------------------


def _check_specs(fields: Sequence[FieldSpec]) -> None:
    seen: set[str] = set()
    for spec in fields:
        check_field_name(spec.name)
        if spec.name in seen:
            raise ValueError(f"field {spec.name!r} is specified twice")
        seen.add(spec.name)
        if not spec.options:
            raise ValueError(f"field {spec.name!r} needs at least one option (a picklist value)")
        if len(set(spec.options)) != len(spec.options):
            raise ValueError(f"field {spec.name!r} lists an option twice: {spec.options}")
        for v in spec.options:
            if not v or ";" in v or len(v) > MAX_VALUE_CHARS:
                raise ValueError(
                    f"option {v!r} of field {spec.name!r} cannot be a Salesforce picklist value "
                    f"(non-empty, no ';', at most {MAX_VALUE_CHARS} characters)"
                )


def _kind(spec: FieldSpec) -> str:
    return "MultiselectPicklist" if spec.multi else "Picklist"


def _existing_fields(session: SalesforceSessionLike, obj: str) -> dict[str, str]:
    """API name -> CustomField id of the object's un-namespaced crmseg fields."""
    soql = format_soql(
        "SELECT Id, DeveloperName, NamespacePrefix FROM CustomField WHERE TableEnumOrId = {}", obj
    )
    answer = session.call(
        "tooling.query", lambda sf, q: sf.toolingexecute("query/", params={"q": q}), soql
    )
    return {
        f"{r['DeveloperName']}__c": str(r["Id"])
        for r in answer.get("records") or []
        if not r.get("NamespacePrefix") and str(r["DeveloperName"]).startswith(PREFIX)
    }


def _read_metadata(session: SalesforceSessionLike, field_id: str) -> dict[str, Any]:
    answer = session.call(
        "tooling.customfield.get",
        lambda sf, fid: sf.toolingexecute(f"sobjects/CustomField/{fid}"),
        field_id,
    )
    return dict(answer.get("Metadata") or {})


def _check_kind(object_type: str, obj: str, spec: FieldSpec, meta: dict[str, Any]) -> None:
    have = meta.get("type")
    need = _kind(spec)
    if have == need:
        return
    raise SchemaMismatch(
        f"{obj} field {to_api_name(spec.name)} exists as type {have!r}, but crmseg needs a "
        f"{need} ({'multi' if spec.multi else 'single'}-valued tag). Rename or delete the "
        "existing field in Salesforce Setup (Object Manager > "
        f"{obj} > Fields & Relationships), then run again.",
        crm="salesforce",
        object_type=object_type,
    )


def _value_set(values: Iterable[str], restricted: bool = True) -> dict[str, Any]:
    return {
        "restricted": restricted,
        "valueSetDefinition": {
            "sorted": False,
            "value": [{"valueName": v, "label": v, "default": False} for v in values],
        },
    }


def _new_metadata(spec: FieldSpec) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "label": spec.label,
        "type": _kind(spec),
        "description": spec.description or None,
        "valueSet": _value_set(spec.options),
    }
    if spec.multi:
        meta["visibleLines"] = 4
    return {k: v for k, v in meta.items() if v is not None}


def _value_name(entry: dict[str, Any]) -> str:
    """A Tooling CustomValue's API name: ``valueName`` (FACTS.md); ``fullName`` is the
    Metadata API's spelling, read only as a fallback."""
    return str(entry.get("valueName") or entry.get("fullName") or "")


def _values(meta: dict[str, Any]) -> list[str]:
    definition = (meta.get("valueSet") or {}).get("valueSetDefinition") or {}
    return [_value_name(v) for v in definition.get("value") or [] if _value_name(v)]


def _with_values(meta: dict[str, Any], values: list[str]) -> dict[str, Any]:
    """The field's metadata as read, with its value set extended (existing values keep their
    labels and order; a restricted set stays restricted)."""
    value_set = dict(meta.get("valueSet") or {})
    definition = dict(value_set.get("valueSetDefinition") or {})
    old = {_value_name(v): v for v in definition.get("value") or []}
    definition["value"] = [
        _tooling_value(old[v]) if v in old else {"valueName": v, "label": v, "default": False}
        for v in values
    ]
    definition.setdefault("sorted", False)
    value_set["valueSetDefinition"] = definition
    value_set.setdefault("restricted", True)
    return {**meta, "valueSet": value_set}


def _tooling_value(entry: dict[str, Any]) -> dict[str, Any]:
    """An existing value as read, sent back in Tooling's spelling (never ``fullName``)."""
    out = {k: v for k, v in entry.items() if k != "fullName"}
    out["valueName"] = _value_name(entry)
    return out


def plan_fields(
    session: SalesforceSessionLike, object_type: ObjectType, fields: Sequence[FieldSpec]
) -> list[str]:
    """What :func:`ensure_fields` would change, read-only: one line per field or picklist
    value it would create. Raises :class:`SchemaMismatch` for a field of that name with
    another type, as ``ensure_fields`` would before its first write."""
    obj = sobject(object_type)
    _check_specs(fields)
    if not fields:
        return []
    existing = _existing_fields(session, obj)
    lines: list[str] = []
    for spec in fields:
        api = to_api_name(spec.name)
        if api not in existing:
            lines.append(
                f"create {object_type} field {api} ({_kind(spec)}, {len(spec.options)} values)"
            )
            continue
        meta = _read_metadata(session, existing[api])
        _check_kind(object_type, obj, spec, meta)
        missing = [v for v in spec.options if v not in _values(meta)]
        if missing:
            lines.append(f"add values {', '.join(missing)} to {object_type} field {api}")
    return lines
