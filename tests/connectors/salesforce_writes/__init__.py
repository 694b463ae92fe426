"""Tests for the Salesforce write side: tag fields and FLS, batch and bulk writes, campaigns.

The tag fields and helpers most tests share live here so test modules can import them.
"""

from __future__ import annotations

from typing import Any

from connectors.base import FieldSpec
from connectors.sandbox.salesforce import SalesforceStandIn

LIFECYCLE = FieldSpec("crmseg_lifecycle", "Lifecycle", ("new", "active", "at_risk"))
INTERESTS = FieldSpec("crmseg_interests", "Interests", ("a", "b", "c"), multi=True)
WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")


def writes(server: SalesforceStandIn) -> int:
    """Write requests (POST/PATCH/PUT/DELETE) the server has seen since its log was cleared."""
    return sum(1 for e in server.log.entries if e.method in WRITE_METHODS)


def stored(server: SalesforceStandIn, record_id: str, field: str) -> Any:
    """A field as stored in the org (bypasses field-level security)."""
    found = server.org.find(record_id)
    assert found is not None
    return found[1].get(field)


def add_open_fields(server: SalesforceStandIn, sobject: str, *specs: FieldSpec) -> None:
    """Create tag fields directly in the stand-in, already readable and writable by the API
    user -- for tests about writes, which need not pay for ``ensure_fields``'s calls."""
    for spec in specs:
        meta: dict[str, Any] = {
            "label": spec.label,
            "type": "MultiselectPicklist" if spec.multi else "Picklist",
            "valueSet": {
                "restricted": True,
                "valueSetDefinition": {"value": [{"valueName": v} for v in spec.options]},
            },
        }
        if spec.multi:
            meta["visibleLines"] = 4
        server.add_custom_field(sobject, f"{spec.name}__c", meta, open_to_api_user=True)


def crmseg_assignments(org: Any) -> list[dict[str, Any]]:
    """Permission set assignments other than the profiles' own (every user has one)."""
    owned = {p["Id"] for p in org.live("PermissionSet") if p["IsOwnedByProfile"]}
    return [a for a in org.live("PermissionSetAssignment") if a["PermissionSetId"] not in owned]
