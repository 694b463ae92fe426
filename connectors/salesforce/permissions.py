"""Field-level security for crmseg's tag fields: its own permission set with Read+Edit
``FieldPermissions`` on every field it manages, assigned to the integration user.

A field created through the API is invisible to every user until granted (notes
§6.3). Read first, write only what is missing; every create survives a lost
answer (looked up by its unique name before it is sent again, ``DUPLICATE_*``
counts as found). The integration user is the session's ``user_id`` -- the
identity the OAuth token answer names, never the permission set's creator.
"""

from __future__ import annotations

import time
from typing import Any

from simple_salesforce import format_soql

from connectors.base import chunks
from connectors.errors import CrmError, PermissionDenied, Retriable
from connectors.salesforce.calls import (
    COLLECTION_LIMIT,
    SalesforceSessionLike,
    collection,
    first_error,
)
from connectors.salesforce.calls import query as _query
from connectors.salesforce.creates import create_record_once

PERMISSION_SET_NAME = "crmseg"
PERMISSION_SET_LABEL = "crmseg segments"


def grant(session: SalesforceSessionLike, obj: str, api_names: list[str]) -> list[str]:
    changes: list[str] = []

    def find_set() -> str | None:
        rows = _query(
            session,
            "permissionset.find",
            format_soql("SELECT Id FROM PermissionSet WHERE Name = {}", PERMISSION_SET_NAME),
        )
        return str(rows[0]["Id"]) if rows else None

    existing = find_set()
    if existing is not None:
        ps_id = existing
    else:
        ps_id, _ = create_record_once(
            session,
            "permissionset.create",
            "PermissionSet",
            find_set,
            {"Name": PERMISSION_SET_NAME, "Label": PERMISSION_SET_LABEL},
        )
        changes.append(f"created permission set {PERMISSION_SET_NAME}")
    changes += _field_permissions(session, ps_id, obj, api_names)
    user = _integration_user(session)

    def find_assignment() -> str | None:
        rows = _query(
            session,
            "permissionset.assignment.find",
            format_soql(
                "SELECT Id FROM PermissionSetAssignment WHERE PermissionSetId = {} "
                "AND AssigneeId = {}",
                ps_id,
                user,
            ),
        )
        return str(rows[0]["Id"]) if rows else None

    if find_assignment() is None:
        create_record_once(
            session,
            "permissionset.assignment.create",
            "PermissionSetAssignment",
            find_assignment,
            {"AssigneeId": user, "PermissionSetId": ps_id},
        )
        changes.append(f"assigned permission set {PERMISSION_SET_NAME} to user {user}")
    return changes


#: Grant rounds: a round re-reads the grants and sends what is still missing, so a lost
#: answer or a locked row costs one more round, never a duplicate row.
GRANT_ROUNDS = 4
LOCKED = "UNABLE_TO_LOCK_ROW"
#: Per-record codes that say the integration user may not manage permission sets.
ACCESS_CODES = frozenset(
    {
        "INSUFFICIENT_ACCESS",
        "INSUFFICIENT_ACCESS_OR_READONLY",
        "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
    }
)


def _field_permissions(
    session: SalesforceSessionLike, ps_id: str, obj: str, api_names: list[str]
) -> list[str]:
    """Read+Edit FieldPermissions on every field, in rounds (read, diff, write).

    A round whose answer is lost (Retriable) or whose rows are locked
    (``UNABLE_TO_LOCK_ROW``) is followed by another round after a short backoff;
    ``DUPLICATE_VALUE`` (the row exists: an earlier lost answer) counts as done."""
    sleep = getattr(session, "sleep", None) or time.sleep
    changes: list[str] = []
    pending: CrmError | None = None
    for round_no in range(GRANT_ROUNDS):
        if round_no:
            sleep(float(2 ** (round_no - 1)))
        pending = None
        try:
            done, retry = _grant_round(session, ps_id, obj, api_names)
        except Retriable as exc:
            pending = exc
            continue
        changes += done
        if not retry:
            return changes
        pending = retry
    assert pending is not None
    raise pending


def _grant_round(
    session: SalesforceSessionLike, ps_id: str, obj: str, api_names: list[str]
) -> tuple[list[str], CrmError | None]:
    rows = _query(
        session,
        "fieldpermissions.find",
        format_soql(
            "SELECT Id, Field, PermissionsRead, PermissionsEdit FROM FieldPermissions "
            "WHERE ParentId = {} AND SobjectType = {}",
            ps_id,
            obj,
        ),
    )
    have = {str(r["Field"]).lower(): r for r in rows}
    create: list[dict[str, Any]] = []
    fix: list[dict[str, Any]] = []
    for api in api_names:
        full = f"{obj}.{api}"
        row = have.get(full.lower())
        if row is None:
            create.append(
                {
                    "attributes": {"type": "FieldPermissions"},
                    "ParentId": ps_id,
                    "SobjectType": obj,
                    "Field": full,
                    "PermissionsRead": True,
                    "PermissionsEdit": True,
                }
            )
        elif not (row.get("PermissionsRead") and row.get("PermissionsEdit")):
            fix.append(
                {
                    "attributes": {"type": "FieldPermissions"},
                    "id": row["Id"],
                    "PermissionsRead": True,
                    "PermissionsEdit": True,
                }
            )
    changes: list[str] = []
    retry: CrmError | None = None
    for method, records in (("POST", create), ("PATCH", fix)):
        for chunk in chunks(records, COLLECTION_LIMIT):
            results = collection(
                session, f"fieldpermissions.{method.lower()}", method, chunk, once=method == "POST"
            )
            for rec, res in zip(chunk, results, strict=False):
                field = rec.get("Field") or next(
                    (str(r["Field"]) for r in rows if r["Id"] == rec.get("id")), "?"
                )
                if res.get("success"):
                    changes.append(
                        f"granted read/edit on {field} to permission set {PERMISSION_SET_NAME}"
                    )
                    continue
                code, message = first_error(res)
                if code == "DUPLICATE_VALUE":
                    continue  # made by an attempt whose answer was lost
                if code == LOCKED:
                    retry = CrmError(
                        f"could not grant read/edit on {field} to permission set "
                        f"{PERMISSION_SET_NAME}: the row stayed locked by another transaction "
                        f"({message}); run again",
                        crm="salesforce",
                        object_type=obj,
                        code=code,
                    )
                    continue
                if code in ACCESS_CODES:
                    raise PermissionDenied(
                        f"could not grant read/edit on {field} to permission set "
                        f"{PERMISSION_SET_NAME}: {message}. The integration user needs "
                        "'Manage Profiles and Permission Sets' (or an admin can grant it).",
                        crm="salesforce",
                        object_type=obj,
                        code=code,
                    )
                raise CrmError(
                    f"could not grant read/edit on {field} to permission set "
                    f"{PERMISSION_SET_NAME}: {message}",
                    crm="salesforce",
                    object_type=obj,
                    code=code,
                )
    return changes, retry


def _integration_user(session: SalesforceSessionLike) -> str:
    """The user the session runs as: the identity the token answer names (both flows).

    Never the creator of the permission set: an admin may have made it by hand, and
    the integration user would then never see the tag fields (FACTS.md "Run-as user")."""
    user_id = getattr(session, "user_id", None)
    if user_id:
        return str(user_id)
    raise PermissionDenied(
        f"cannot tell which user to assign permission set {PERMISSION_SET_NAME} to: the "
        "session names no user",
        crm="salesforce",
    )
