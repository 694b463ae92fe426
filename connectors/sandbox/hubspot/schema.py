"""Property definitions, groups and value validation (notes section 4).

Why separate from the HTTP handlers: every write path (single create, batch
update / upsert / create, and the sandbox's Python API) must enforce the same
rules -- unknown or read-only properties rejected, enumeration values must be
existing options (400 ``INVALID_OPTION``), multi-checkbox values are
``;``-separated -- so validation is one function here.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.sandbox.hubspot.errors import validation_error
from connectors.sandbox.hubspot.object_types import OBJECT_TYPES, SERVER_PROPS
from connectors.sandbox.hubspot.wire import iso, now_ms, to_ms

TYPES = frozenset({"bool", "date", "datetime", "enumeration", "number", "phone_number", "string"})
FIELD_TYPES = frozenset(
    {
        "booleancheckbox",
        "calculation_equation",
        "checkbox",
        "date",
        "file",
        "html",
        "number",
        "phonenumber",
        "radio",
        "select",
        "text",
        "textarea",
    }
)
_ALLOWED_FIELDS = {
    "bool": {"booleancheckbox", "calculation_equation"},
    "enumeration": {"booleancheckbox", "checkbox", "radio", "select", "calculation_equation"},
    "string": {"text", "textarea", "html", "phonenumber", "file", "calculation_equation"},
    "phone_number": {"phonenumber", "text"},
    "number": {"number", "calculation_equation"},
    "date": {"date", "calculation_equation"},
    "datetime": {"date", "calculation_equation"},
}


@dataclass
class PropertyDef:
    name: str
    label: str
    type: str
    field_type: str
    group_name: str
    description: str = ""
    options: list[dict[str, Any]] = field(default_factory=list)
    has_unique_value: bool = False
    hidden: bool = False
    form_field: bool = False
    display_order: int = -1
    hubspot_defined: bool = False
    read_only_value: bool = False
    created: int = 0
    updated: int = 0
    archived: bool = False
    archived_at: int | None = None
    _values: frozenset[str] = frozenset()

    def refresh(self) -> None:
        self._values = frozenset(str(o["value"]) for o in self.options)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "fieldType": self.field_type,
            "description": self.description,
            "groupName": self.group_name,
            "options": self.options,
            "displayOrder": self.display_order,
            "calculated": False,
            "externalOptions": False,
            "hasUniqueValue": self.has_unique_value,
            "hidden": self.hidden,
            "formField": self.form_field,
            "hubspotDefined": self.hubspot_defined,
            "createdAt": iso(self.created),
            "updatedAt": iso(self.updated),
            "archived": self.archived,
            "modificationMetadata": {
                "archivable": not self.hubspot_defined,
                "readOnlyDefinition": self.hubspot_defined,
                "readOnlyValue": self.read_only_value,
            },
        }
        if self.archived_at is not None:
            out["archivedAt"] = iso(self.archived_at)
        return out


def _opts(*values: str) -> list[dict[str, Any]]:
    return [
        {"label": v, "value": v, "hidden": False, "displayOrder": i, "description": ""}
        for i, v in enumerate(values)
    ]


_STD: dict[str, list[tuple[str, str, str, list[dict[str, Any]]]]] = {
    # name, type, fieldType, options
    "contacts": [
        ("email", "string", "text", []),
        ("firstname", "string", "text", []),
        ("lastname", "string", "text", []),
        ("salutation", "string", "text", []),
        ("country", "string", "text", []),
        ("address", "string", "text", []),
        ("zip", "string", "text", []),
        ("city", "string", "text", []),
        (
            "hs_analytics_source",
            "enumeration",
            "select",
            _opts(
                "ORGANIC_SEARCH",
                "PAID_SEARCH",
                "EMAIL_MARKETING",
                "SOCIAL_MEDIA",
                "REFERRALS",
                "OTHER_CAMPAIGNS",
                "DIRECT_TRAFFIC",
                "OFFLINE",
                "PAID_SOCIAL",
            ),
        ),
        (
            "origin_channel",
            "enumeration",
            "select",
            _opts(
                "web_form", "trade_fair", "referral", "newsletter", "cold_call", "partner", "import"
            ),
        ),
        (
            "topics",
            "enumeration",
            "checkbox",
            _opts("automation", "analytics", "security", "cloud", "training", "support", "pricing"),
        ),
        ("lastmodifieddate", "datetime", "date", []),
    ],
    "companies": [
        ("name", "string", "text", []),
        ("domain", "string", "text", []),
        ("industry", "string", "text", []),
        ("country", "string", "text", []),
        (
            "company_size",
            "enumeration",
            "select",
            _opts("1-10", "11-50", "51-200", "201-1000", "1000+"),
        ),
        ("hs_lastmodifieddate", "datetime", "date", []),
    ],
    "deals": [
        ("dealname", "string", "text", []),
        ("amount", "number", "number", []),
        ("amount_in_home_currency", "number", "number", []),
        ("closedate", "datetime", "date", []),
        ("pipeline", "enumeration", "select", _opts("default")),
        (
            "dealstage",
            "enumeration",
            "select",
            _opts(
                "appointmentscheduled",
                "qualifiedtobuy",
                "presentationscheduled",
                "decisionmakerboughtin",
                "contractsent",
                "closedwon",
                "closedlost",
            ),
        ),
        ("deal_currency_code", "enumeration", "select", _opts("EUR", "USD", "GBP", "CHF")),
        (
            "product_line",
            "enumeration",
            "select",
            _opts("Core", "Pro", "Enterprise", "Services", "Training"),
        ),
        ("hs_lastmodifieddate", "datetime", "date", []),
    ],
}
_COMMON = [
    ("hs_object_id", "number", "number"),
    ("createdate", "datetime", "date"),
    ("hs_merged_object_ids", "enumeration", "checkbox"),
]
GROUP_OF = {
    "contacts": "contactinformation",
    "companies": "companyinformation",
    "deals": "dealinformation",
}


class Schema:
    """Property groups and definitions per object type (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.props: dict[str, dict[str, PropertyDef]] = {t: {} for t in OBJECT_TYPES}
        self.groups: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in OBJECT_TYPES}
        t0 = now_ms()
        for ot, specs in _STD.items():
            g = GROUP_OF[ot]
            self.groups[ot][g] = {
                "name": g,
                "label": g.title(),
                "displayOrder": 0,
                "archived": False,
            }
            for name, typ, ft, options in specs:
                self.add(
                    ot,
                    PropertyDef(
                        name,
                        name.title(),
                        typ,
                        ft,
                        g,
                        options=list(options),
                        hubspot_defined=not name.startswith(
                            ("origin", "topics", "company_size", "product_line")
                        ),
                        read_only_value=name in SERVER_PROPS,
                        created=t0,
                        updated=t0,
                    ),
                )
            for name, typ, ft in _COMMON:
                self.add(
                    ot,
                    PropertyDef(
                        name,
                        name,
                        typ,
                        ft,
                        g,
                        hubspot_defined=True,
                        read_only_value=True,
                        created=t0,
                        updated=t0,
                    ),
                )

    def add(self, object_type: str, prop: PropertyDef) -> None:
        prop.refresh()
        with self.lock:
            self.props[object_type][prop.name] = prop

    def get(self, object_type: str, name: str) -> PropertyDef | None:
        p = self.props[object_type].get(name)
        return p if p is not None and not p.archived else None

    def validate(
        self, object_type: str, values: dict[str, Any], *, allow_read_only: bool = False
    ) -> dict[str, str | None]:
        """Check a write; returns string-normalised values or raises a 400 like HubSpot's."""
        problems: list[dict[str, Any]] = []
        out: dict[str, str | None] = {}
        for name, raw in values.items():
            prop = self.get(object_type, name)
            value = (
                None
                if raw is None
                else (("true" if raw else "false") if isinstance(raw, bool) else str(raw))
            )
            if prop is None:
                problems.append(
                    _problem(
                        name, value, "PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist'
                    )
                )
                continue
            if prop.read_only_value and not allow_read_only:
                problems.append(
                    _problem(
                        name,
                        value,
                        "READ_ONLY_VALUE",
                        f'"{name}" is a read only property; its value cannot be set.',
                    )
                )
                continue
            err = _check_value(prop, value)
            if err is not None:
                problems.append(_problem(name, value, *err))
                continue
            out[name] = value
        if problems:
            raise validation_error(
                "Property values were not valid: " + json.dumps(problems, separators=(",", ":")),
                errors=[
                    {
                        "message": p["message"],
                        "code": p["error"],
                        "context": {"propertyName": [p["name"]]},
                    }
                    for p in problems
                ],
            )
        return out


def _problem(name: str, value: str | None, code: str, message: str) -> dict[str, Any]:
    return {
        "isValid": False,
        "message": message,
        "error": code,
        "name": name,
        "localizedErrorMessage": message,
    }


def _check_value(prop: PropertyDef, value: str | None) -> tuple[str, str] | None:
    if value is None or value == "":
        return None
    if prop.type == "enumeration":
        parts = value.split(";") if prop.field_type == "checkbox" else [value]
        for part in parts:
            if part not in prop._values:
                allowed = ", ".join(sorted(prop._values))
                return ("INVALID_OPTION", f"{part} was not one of the allowed options: [{allowed}]")
    elif prop.type == "number":
        try:
            Decimal(value)
        except InvalidOperation:
            return "INVALID_DECIMAL", f"{value} is not a valid decimal"
    elif prop.type == "bool":
        if value.lower() not in ("true", "false"):
            return "INVALID_BOOLEAN", f"{value} is not a valid boolean"
    elif prop.type in ("date", "datetime") and to_ms(value) is None:
        return "INVALID_DATE", f"{value} is not a valid date"
    elif len(value) > 65536:
        return "INVALID_LENGTH", "value longer than 65536 characters"
    return None


def check_definition(body: dict[str, Any], *, creating: bool) -> None:
    """Shape rules for property create/update bodies (notes section 4)."""
    missing = [
        k
        for k in ("name", "label", "type", "fieldType", "groupName")
        if creating and not body.get(k)
    ]
    if missing:
        raise validation_error(f"Missing required fields: {missing}")
    typ, ft = body.get("type"), body.get("fieldType")
    if typ is not None and typ not in TYPES:
        raise validation_error(f"Unknown property type '{typ}'")
    if ft is not None and ft not in FIELD_TYPES:
        raise validation_error(f"Unknown fieldType '{ft}'")
    if typ and ft and ft not in _ALLOWED_FIELDS[typ]:
        raise validation_error(f"fieldType '{ft}' is not valid for type '{typ}'")
    name = body.get("name")
    if creating and not (
        isinstance(name, str)
        and name[:1].isalpha()
        and name[:1].islower()
        and all(c.islower() or c.isdigit() or c == "_" for c in name)
        and len(name) <= 100
    ):
        raise validation_error(
            f"Invalid property name '{name}': lowercase letters, digits and "
            "underscores, starting with a letter"
        )
    opts = body.get("options")
    if opts is not None:
        if len(opts) > 5000:
            raise validation_error("Enumeration properties hold at most 5000 options")
        for o in opts:
            if not {"label", "value"} <= set(o) or "hidden" not in o:
                raise validation_error("Each option needs label, value and hidden")
            if (
                len(str(o["label"])) + len(str(o["value"])) + len(str(o.get("description", "")))
                > 3000
            ):
                raise validation_error("Option text exceeds 3000 characters")
