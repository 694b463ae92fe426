"""Salesforce rows -> crmseg's canonical :class:`Contact` / :class:`Company` / :class:`Deal`.

A row is a dict as REST query returns it (``parse_float=Decimal``, datetimes as
``2013-05-20T20:49:32.000+0000``) or as a Bulk 2.0 CSV row (every value a string,
empty = null, ``true``/``false``, ``...000Z``); the parsers below take both.

* Contact: Id, Email, FirstName, LastName, Salutation (when the org has it), the
  country field (``MailingCountry``), AccountId -> ``company_id``,
  SystemModstamp -> ``updated_at``.
* Account: Id, Name.
* Opportunity -> Deal: Id, the amount field (``Decimal``), CloseDate, IsWon,
  AccountId -> ``company_ids``; ``contact_ids`` come from OpportunityContactRole
  rows (all roles, de-duplicated, sorted) and are passed in by the pull.
* ``properties``: every requested extra field as a string (``None`` when null or
  when the org has no such field). Tag fields live in Salesforce as
  ``crmseg_abc__c`` and are exposed under their crmseg name ``crmseg_abc``:
  :func:`to_api_name` / :func:`from_api_name` convert between the two.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.base import Company, Contact, Deal, ObjectType
from connectors.errors import ConfigError, InputError
from connectors.naming import PREFIX

__all__ = [
    "FIELD_NAME",
    "SOBJECT",
    "TAG_PREFIX",
    "RecordMapper",
    "from_api_name",
    "object_type_of",
    "parse_bool",
    "parse_date",
    "parse_datetime",
    "parse_decimal",
    "property_value",
    "to_api_name",
    "validate_names",
]

#: crmseg object type -> sObject name.
SOBJECT: dict[ObjectType, str] = {"contact": "Contact", "company": "Account", "deal": "Opportunity"}
_OBJECT_TYPE = {v.lower(): k for k, v in SOBJECT.items()}
TAG_PREFIX = PREFIX
#: What a field name may look like before it goes into SOQL (no relationship paths).
FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(__c)?$")


def object_type_of(sobject: str) -> ObjectType:
    """``Contact`` -> ``contact``, ``Account`` -> ``company``, ``Opportunity`` -> ``deal``."""
    try:
        return _OBJECT_TYPE[sobject.lower()]
    except KeyError:
        raise ValueError(f"no crmseg object type for sObject {sobject!r}") from None


def to_api_name(name: str) -> str:
    """crmseg name -> Salesforce API name: ``crmseg_abc`` -> ``crmseg_abc__c``.

    Names outside the ``crmseg_`` prefix (``LeadSource``, ``Industry__c``) and names
    already ending in ``__c`` are returned unchanged."""
    if name.lower().startswith(TAG_PREFIX) and not name.lower().endswith("__c"):
        return f"{name}__c"
    return name


def from_api_name(api_name: str) -> str:
    """Salesforce API name -> crmseg name: ``crmseg_abc__c`` -> ``crmseg_abc``."""
    if api_name.lower().startswith(TAG_PREFIX) and api_name.lower().endswith("__c"):
        return api_name[:-3]
    return api_name


def validate_names(names: Iterable[str], what: str = "property") -> list[str]:
    """The names, or ConfigError listing every one that may not go into SOQL."""
    names = list(names)
    bad = [n for n in names if not isinstance(n, str) or not FIELD_NAME.fullmatch(n)]
    if bad:
        problems = [
            f"{what} name {n!r} is not a Salesforce field name (letters, digits and "
            "underscores, starting with a letter, optionally ending in __c)"
            for n in bad
        ]
        raise ConfigError("; ".join(problems), problems)
    return names


# -- value parsers (REST JSON and Bulk CSV) ----------------------------------------------
def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_datetime(value: Any) -> datetime | None:
    """``2013-05-20T20:49:32.000+0000`` / ``...Z`` -> aware UTC datetime."""
    if _blank(value):
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_date(value: Any) -> date | None:
    if _blank(value):
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value).strip()[:10])


def parse_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() == "true"


def parse_decimal(value: Any) -> Decimal | None:
    if _blank(value):
        return None
    if isinstance(value, bool):
        raise InvalidOperation
    result = Decimal(value) if isinstance(value, Decimal | int | str) else Decimal(str(value))
    if not result.is_finite():
        raise InvalidOperation
    return result


def property_value(value: Any) -> str | None:
    """A field value as the string crmseg stores (multi-select stays ``A;B``)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, str):
        return value if value != "" else None
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


class RecordMapper:
    """Row -> canonical record for one pull.

    ``properties`` maps each requested crmseg name to the API field selected for it,
    or ``None`` when the org has no such field (the value is then ``None``).
    """

    def __init__(
        self,
        properties: Mapping[str, str | None],
        *,
        amount_key: str = "Amount",
        country_field: str = "MailingCountry",
    ) -> None:
        self.properties = dict(properties)
        self.amount_key = amount_key
        self.country_field = country_field

    def _props(self, row: Mapping[str, Any]) -> dict[str, str | None]:
        return {
            name: (property_value(_get(row, api)) if api is not None else None)
            for name, api in self.properties.items()
        }

    def contact(self, row: Mapping[str, Any]) -> Contact:
        return Contact(
            id=str(row["Id"]),
            email=property_value(_get(row, "Email")),
            first_name=property_value(_get(row, "FirstName")),
            last_name=property_value(_get(row, "LastName")),
            salutation=property_value(_get(row, "Salutation")),
            country=property_value(_get(row, self.country_field)),
            company_id=property_value(_get(row, "AccountId")),
            properties=self._props(row),
            updated_at=parse_datetime(_get(row, "SystemModstamp")),
            street=property_value(_get(row, "MailingStreet")),
            postal_code=property_value(_get(row, "MailingPostalCode")),
            city=property_value(_get(row, "MailingCity")),
        )

    def company(self, row: Mapping[str, Any]) -> Company:
        return Company(
            id=str(row["Id"]),
            name=property_value(_get(row, "Name")),
            properties=self._props(row),
            updated_at=parse_datetime(_get(row, "SystemModstamp")),
        )

    def deal(self, row: Mapping[str, Any], contact_ids: Iterable[str] = ()) -> Deal:
        rid = str(row["Id"])
        raw = _get(row, self.amount_key)
        try:
            amount = parse_decimal(raw)
        except (InvalidOperation, ValueError, TypeError):
            raise InputError(
                f"Opportunity {rid}: {self.amount_key} {raw!r} is not a number"
            ) from None
        account = property_value(_get(row, "AccountId"))
        return Deal(
            id=rid,
            amount=amount,
            close_date=parse_date(_get(row, "CloseDate")),
            won=parse_bool(_get(row, "IsWon")),
            contact_ids=tuple(sorted({str(c) for c in contact_ids if c})),
            company_ids=(account,) if account else (),
            properties=self._props(row),
            updated_at=parse_datetime(_get(row, "SystemModstamp")),
        )

    def record(
        self, object_type: ObjectType, row: Mapping[str, Any], contact_ids: Sequence[str] = ()
    ) -> Contact | Company | Deal:
        if object_type == "contact":
            return self.contact(row)
        if object_type == "company":
            return self.company(row)
        return self.deal(row, contact_ids)


def _get(row: Mapping[str, Any], name: str) -> Any:
    """A field by API name; Salesforce names are case-insensitive."""
    if name in row:
        return row[name]
    lowered = name.lower()
    for key, value in row.items():
        if key.lower() == lowered:
            return value
    return None
