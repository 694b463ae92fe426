"""The sObject definitions the stand-in knows: standard fields plus custom fields added later.

Field names are case-insensitive in SOQL and in writes, so every lookup goes
through ``ObjectDef.field(name)`` with a lower-cased key, and replies always use
the canonical spelling. Read-only, create-only and derived fields are declared
here so that the write path can answer ``INVALID_FIELD_FOR_INSERT_UPDATE``
from the definition alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Conventional key prefixes (notes §0); the first three characters of every Id.
KEY_PREFIXES: dict[str, str] = {
    "Account": "001",
    "Contact": "003",
    "User": "005",
    "Opportunity": "006",
    "OpportunityContactRole": "00K",
    "CampaignMember": "00v",
    "Campaign": "701",
    "PermissionSet": "0PS",
    "PermissionSetAssignment": "0Pa",
    "FieldPermissions": "01k",
    "RecordType": "012",
}

OPPORTUNITY_STAGES: list[tuple[str, bool, bool, int]] = [
    # (StageName, IsClosed, IsWon, Probability)
    ("Prospecting", False, False, 10),
    ("Qualification", False, False, 10),
    ("Needs Analysis", False, False, 20),
    ("Value Proposition", False, False, 50),
    ("Proposal/Price Quote", False, False, 75),
    ("Negotiation/Review", False, False, 90),
    ("Closed Won", True, True, 100),
    ("Closed Lost", True, False, 0),
]


@dataclass
class FieldDef:
    """One field as describe reports it and as writes and SOQL check it."""

    name: str
    type: str  # id, string, textarea, email, phone, url, boolean, int, double, percent,
    # currency, date, datetime, picklist, multipicklist, reference
    label: str = ""
    createable: bool = True
    updateable: bool = True
    required: bool = False  # on create
    reference_to: str | None = None
    picklist: list[str] | None = None
    restricted: bool = False
    length: int = 0
    custom: bool = False
    visible_lines: int | None = None
    default: object = None
    #: picklist value -> its label, when it differs from the value (Setup lets admins choose)
    value_labels: dict[str, str] = field(default_factory=dict)

    @property
    def relationship_name(self) -> str | None:
        """``AccountId`` -> ``Account``: how SOQL names the parent (``Account.Name``)."""
        if self.type == "reference" and self.name.endswith("Id") and self.name != "Id":
            return self.name[:-2]
        return None


@dataclass
class ObjectDef:
    name: str
    key_prefix: str
    fields: dict[str, FieldDef] = field(default_factory=dict)

    def add(self, fd: FieldDef) -> FieldDef:
        if not fd.label:
            fd.label = fd.name
        self.fields[fd.name.lower()] = fd
        return fd

    def field(self, name: str) -> FieldDef | None:
        return self.fields.get(name.lower())

    def relationship(self, name: str) -> FieldDef | None:
        """The reference field behind a relationship name (``Account`` -> ``AccountId``)."""
        for fd in self.fields.values():
            rel = fd.relationship_name
            if rel is not None and rel.lower() == name.lower():
                return fd
        return None


def _system_fields(obj: ObjectDef) -> None:
    ro: dict[str, Any] = {"createable": False, "updateable": False}
    obj.add(FieldDef("Id", "id", "Record ID", length=18, **ro))
    obj.add(FieldDef("IsDeleted", "boolean", "Deleted", **ro))
    obj.add(FieldDef("CreatedDate", "datetime", "Created Date", **ro))
    obj.add(FieldDef("CreatedById", "reference", "Created By ID", reference_to="User", **ro))
    obj.add(FieldDef("LastModifiedDate", "datetime", "Last Modified Date", **ro))
    obj.add(
        FieldDef("LastModifiedById", "reference", "Last Modified By ID", reference_to="User", **ro)
    )
    obj.add(FieldDef("SystemModstamp", "datetime", "System Modstamp", **ro))


def _s(name: str, length: int = 255, **kw: object) -> FieldDef:
    return FieldDef(name, "string", length=length, **kw)  # type: ignore[arg-type]


def _ref(name: str, target: str, **kw: object) -> FieldDef:
    return FieldDef(name, "reference", reference_to=target, length=18, **kw)  # type: ignore[arg-type]


def standard_objects() -> dict[str, ObjectDef]:
    """A fresh copy of the standard schema (custom fields are added per org)."""
    objs = {name: ObjectDef(name, prefix) for name, prefix in KEY_PREFIXES.items()}
    for obj in objs.values():
        _system_fields(obj)
    ro: dict[str, Any] = {"createable": False, "updateable": False}
    create_only: dict[str, Any] = {"updateable": False}

    u = objs["User"]
    for fd in (_s("Username", **ro), _s("Name", **ro), _s("Email", **ro)):
        u.add(fd)
    u.add(FieldDef("IsActive", "boolean", **ro))

    a = objs["Account"]
    a.add(_s("Name", required=True))
    a.add(
        FieldDef(
            "Industry",
            "picklist",
            picklist=["Technology", "Retail", "Finance", "Manufacturing", "Healthcare", "Other"],
        )
    )
    a.add(FieldDef("AnnualRevenue", "currency"))
    a.add(FieldDef("NumberOfEmployees", "int"))
    a.add(_s("BillingCountry", 80))
    a.add(FieldDef("Website", "url", length=255))
    a.add(_ref("ParentId", "Account"))
    a.add(_ref("RecordTypeId", "RecordType"))

    c = objs["Contact"]
    c.add(_s("FirstName", 40))
    c.add(_s("LastName", 80, required=True))
    c.add(FieldDef("Name", "string", length=121, **ro))
    c.add(FieldDef("Email", "email", length=80))
    c.add(FieldDef("Phone", "phone", length=40))
    c.add(_s("Title", 128))
    c.add(_s("MailingCountry", 80))
    c.add(
        FieldDef(
            "LeadSource",
            "picklist",
            picklist=["Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other"],
        )
    )
    c.add(FieldDef("HasOptedOutOfEmail", "boolean", default=False))
    c.add(_ref("AccountId", "Account"))
    c.add(_ref("RecordTypeId", "RecordType"))

    o = objs["Opportunity"]
    o.add(_s("Name", 120, required=True))
    o.add(_ref("AccountId", "Account"))
    o.add(_ref("ContactId", "Contact", **create_only))
    o.add(FieldDef("Amount", "currency"))
    o.add(FieldDef("CloseDate", "date", required=True))
    o.add(
        FieldDef(
            "StageName",
            "picklist",
            required=True,
            restricted=True,
            picklist=[s[0] for s in OPPORTUNITY_STAGES],
        )
    )
    o.add(FieldDef("IsClosed", "boolean", **ro))
    o.add(FieldDef("IsWon", "boolean", **ro))
    o.add(FieldDef("Probability", "percent"))
    o.add(
        FieldDef(
            "Type",
            "picklist",
            picklist=[
                "New Customer",
                "Existing Customer - Upgrade",
                "Existing Customer - Replacement",
            ],
        )
    )
    o.add(_ref("CampaignId", "Campaign"))

    r = objs["OpportunityContactRole"]
    r.add(_ref("OpportunityId", "Opportunity", required=True, **create_only))
    r.add(_ref("ContactId", "Contact", required=True))
    r.add(FieldDef("IsPrimary", "boolean", default=False))
    r.add(
        FieldDef(
            "Role",
            "picklist",
            picklist=["Decision Maker", "Economic Buyer", "Technical Buyer", "Influencer", "Other"],
        )
    )

    cp = objs["Campaign"]
    cp.add(_s("Name", 80, required=True))
    cp.add(FieldDef("IsActive", "boolean", default=False))
    cp.add(FieldDef("Type", "picklist", picklist=["Email", "Webinar", "Advertisement", "Other"]))
    cp.add(
        FieldDef(
            "Status",
            "picklist",
            default="Planned",
            picklist=["Planned", "In Progress", "Completed", "Aborted"],
        )
    )
    cp.add(_ref("ParentId", "Campaign"))

    m = objs["CampaignMember"]
    m.add(_ref("CampaignId", "Campaign", required=True, **create_only))
    m.add(_ref("ContactId", "Contact", **create_only))
    m.add(FieldDef("Status", "picklist", default="Sent", picklist=["Sent", "Responded"]))
    m.add(FieldDef("HasResponded", "boolean", **ro))

    ps = objs["PermissionSet"]
    ps.add(_s("Name", 80, required=True))
    ps.add(_s("Label", 80, required=True))
    ps.add(FieldDef("PermissionsViewAllData", "boolean", default=False))
    ps.add(
        FieldDef("IsOwnedByProfile", "boolean", default=False, createable=False, updateable=False)
    )

    pa = objs["PermissionSetAssignment"]
    pa.add(_ref("AssigneeId", "User", required=True, **create_only))
    pa.add(_ref("PermissionSetId", "PermissionSet", required=True, **create_only))

    rt = objs["RecordType"]
    rt.add(_s("Name", 80, **ro))
    rt.add(_s("DeveloperName", 80, **ro))
    rt.add(_s("SobjectType", 40, **ro))
    rt.add(FieldDef("IsActive", "boolean", **ro))

    fp = objs["FieldPermissions"]
    fp.add(_ref("ParentId", "PermissionSet", required=True, **create_only))
    fp.add(_s("SobjectType", 40, required=True, **create_only))
    fp.add(_s("Field", 100, required=True, **create_only))
    fp.add(FieldDef("PermissionsRead", "boolean", default=False))
    fp.add(FieldDef("PermissionsEdit", "boolean", default=False))
    return objs
