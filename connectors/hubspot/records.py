"""HubSpot wire records -> crmseg's canonical :class:`Contact` / :class:`Company` / :class:`Deal`.

Two steps keep this testable without HTTP: the pull turns whatever the client
returned (v3 list/search/batch-read objects, v3 inline associations, v4
association batches) into a plain :class:`WireRecord`; :class:`RecordMapper`
turns a ``WireRecord`` into a canonical record.

Rules (notes sections 1, 3):

* ids are strings; timestamps UTC; money ``Decimal``.
* a contact's ``company_id`` is its primary company (v3 type
  ``contact_to_company`` / v4 ``HUBSPOT_DEFINED`` typeId 1), else the associated
  company with the lowest id. Association types are keyed by (category,
  typeId), never typeId alone: custom ``USER_DEFINED`` labels get small typeIds
  that collide with HubSpot's own (notes 13); in v3 only the exact primary
  type name counts, never a custom label's name.
* a deal's ``contact_ids`` / ``company_ids`` are de-duplicated (the primary
  edge appears a second time as ``..._unlabeled``) and sorted numerically.
* ``amount`` comes from a configurable property; empty -> ``None``; anything
  that is not a finite number -> :class:`~connectors.errors.InputError`
  naming the deal and the value. ``close_date`` is the UTC date of
  ``closedate`` (ISO datetime, ISO date or epoch ms).
* ``won`` means ``dealstage`` is one of the configured won stage ids.
* ``properties`` holds every other *requested* property as its raw string or ``None``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from connectors.base import Company, Contact, Deal, ObjectType
from connectors.errors import InputError

__all__ = [
    "ASSOCIATED_TYPES",
    "CORE_PROPERTIES",
    "LASTMOD",
    "PLURAL",
    "Assoc",
    "RecordMapper",
    "WireRecord",
    "assocs_from_v3",
    "assocs_from_v4",
    "parse_timestamp",
]

PLURAL: dict[ObjectType, str] = {"contact": "contacts", "company": "companies", "deal": "deals"}
LASTMOD: dict[ObjectType, str] = {
    "contact": "lastmodifieddate",
    "company": "hs_lastmodifieddate",
    "deal": "hs_lastmodifieddate",
}
#: What each object type needs associated (plural HubSpot names).
ASSOCIATED_TYPES: dict[ObjectType, tuple[str, ...]] = {
    "contact": ("companies",),
    "company": (),
    "deal": ("contacts", "companies"),
}
#: The HUBSPOT_DEFINED primary association types, as (category, typeId) (notes 3.2, 13).
PRIMARY_TYPES = frozenset(
    {("HUBSPOT_DEFINED", 1), ("HUBSPOT_DEFINED", 2), ("HUBSPOT_DEFINED", 5), ("HUBSPOT_DEFINED", 6)}
)
#: v3 type names of the primary types (``<from>_to_<to>``; labels have other names).
PRIMARY_V3_NAMES = frozenset(
    {"contact_to_company", "company_to_contact", "deal_to_company", "company_to_deal"}
)
_CONTACT_FIELDS = {
    "email": "email",
    "firstname": "first_name",
    "lastname": "last_name",
    "salutation": "salutation",
    "country": "country",
    "address": "street",
    "zip": "postal_code",
    "city": "city",
}
CORE_PROPERTIES: dict[ObjectType, tuple[str, ...]] = {
    "contact": tuple(_CONTACT_FIELDS),
    "company": ("name",),
    "deal": ("closedate", "dealstage"),  # + the configured amount property
}


@dataclass(frozen=True, slots=True)
class Assoc:
    """One associated record: its id and whether the edge is the primary one."""

    id: str
    primary: bool = False


@dataclass(slots=True)
class WireRecord:
    """A HubSpot object as pulled: id, raw property strings, updatedAt and
    associations keyed by plural object type (``"companies"``)."""

    id: str
    properties: Mapping[str, str | None]
    updated_at: datetime | None = None
    associations: dict[str, list[Assoc]] = field(default_factory=dict)


def _attr(obj: Any, name: str, key: str | None = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key or name)
    return getattr(obj, name, None)


def assocs_from_v3(results: Iterable[Any]) -> list[Assoc]:
    """Inline v3 ``associations.<type>.results`` -> Assoc list (duplicates kept)."""
    out = []
    for item in results or ():
        kind = str(_attr(item, "type") or "")
        out.append(Assoc(str(_attr(item, "id")), primary=kind in PRIMARY_V3_NAMES))
    return out


def assocs_from_v4(to: Iterable[Any]) -> list[Assoc]:
    """v4 ``to`` entries (``toObjectId`` + ``associationTypes``) -> Assoc list."""
    out = []
    for item in to or ():
        types = _attr(item, "association_types", "associationTypes") or []
        keys = {(_attr(t, "category"), _attr(t, "type_id", "typeId")) for t in types}
        out.append(
            Assoc(
                str(_attr(item, "to_object_id", "toObjectId")),
                primary=bool(keys & PRIMARY_TYPES),
            )
        )
    return out


def _id_key(value: str) -> tuple[int, int | str]:
    return (0, int(value)) if value.isdigit() else (1, value)


def _unique_ids(assocs: Sequence[Assoc]) -> tuple[str, ...]:
    return tuple(sorted({a.id for a in assocs}, key=_id_key))


def parse_timestamp(value: str | None) -> datetime | None:
    """ISO datetime / ISO date / epoch-ms string -> aware UTC datetime (``None`` if empty).

    Raises ``ValueError`` for anything else.
    """
    if value is None:
        return None
    v = value.strip()
    if not v:
        return None
    if v.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(v) / 1000, tz=UTC)
    d = datetime.fromisoformat(v.replace("Z", "+00:00"))
    return d.replace(tzinfo=UTC) if d.tzinfo is None else d.astimezone(UTC)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class RecordMapper:
    """Turns :class:`WireRecord` into canonical records for one connector's settings."""

    def __init__(
        self,
        *,
        won_stages: Iterable[str] = frozenset({"closedwon"}),
        amount_property: str = "amount",
    ) -> None:
        self.won_stages = frozenset(won_stages)
        self.amount_property = amount_property

    def core_properties(self, object_type: ObjectType) -> tuple[str, ...]:
        core = CORE_PROPERTIES[object_type]
        return (self.amount_property, *core) if object_type == "deal" else core

    def wire_properties(self, object_type: ObjectType, requested: Sequence[str]) -> list[str]:
        """Properties to ask HubSpot for: core fields, requested ones, last-modified
        and ``hs_merged_object_ids`` (for deletions), without duplicates."""
        names = [
            *self.core_properties(object_type),
            *requested,
            LASTMOD[object_type],
            "hs_merged_object_ids",
        ]
        return list(dict.fromkeys(names))

    def export_properties(self, object_type: ObjectType, requested: Sequence[str]) -> list[str]:
        """:meth:`wire_properties` with ``hs_object_id`` first: an export's rows carry
        the record id only as that column."""
        return list(dict.fromkeys(["hs_object_id", *self.wire_properties(object_type, requested)]))

    def _extra(
        self, object_type: ObjectType, w: WireRecord, requested: Sequence[str]
    ) -> dict[str, str | None]:
        core = set(self.core_properties(object_type))
        return {p: w.properties.get(p) for p in requested if p not in core}

    def _updated(self, object_type: ObjectType, w: WireRecord) -> datetime | None:
        if w.updated_at is not None:
            return _utc(w.updated_at)
        try:
            return parse_timestamp(w.properties.get(LASTMOD[object_type]))
        except ValueError:
            return None

    def contact(self, w: WireRecord, requested: Sequence[str] = ()) -> Contact:
        p = w.properties
        companies = w.associations.get("companies", [])
        primary = sorted((a.id for a in companies if a.primary), key=_id_key)
        company_id = primary[0] if primary else (_unique_ids(companies) or (None,))[0]
        return Contact(
            id=w.id,
            email=p.get("email"),
            first_name=p.get("firstname"),
            last_name=p.get("lastname"),
            salutation=p.get("salutation"),
            country=p.get("country"),
            company_id=company_id,
            properties=self._extra("contact", w, requested),
            updated_at=self._updated("contact", w),
            street=p.get("address"),
            postal_code=p.get("zip"),
            city=p.get("city"),
        )

    def company(self, w: WireRecord, requested: Sequence[str] = ()) -> Company:
        return Company(
            id=w.id,
            name=w.properties.get("name"),
            properties=self._extra("company", w, requested),
            updated_at=self._updated("company", w),
        )

    def deal(self, w: WireRecord, requested: Sequence[str] = ()) -> Deal:
        p = w.properties
        return Deal(
            id=w.id,
            amount=self._amount(w.id, p.get(self.amount_property)),
            close_date=self._close_date(w.id, p.get("closedate")),
            won=p.get("dealstage") in self.won_stages,
            contact_ids=_unique_ids(w.associations.get("contacts", [])),
            company_ids=_unique_ids(w.associations.get("companies", [])),
            properties=self._extra("deal", w, requested),
            updated_at=self._updated("deal", w),
        )

    def record(
        self, object_type: ObjectType, w: WireRecord, requested: Sequence[str] = ()
    ) -> Contact | Company | Deal:
        if object_type == "contact":
            return self.contact(w, requested)
        if object_type == "company":
            return self.company(w, requested)
        return self.deal(w, requested)

    def _amount(self, deal_id: str, raw: str | None) -> Decimal | None:
        if raw is None or not raw.strip():
            return None
        try:
            value = Decimal(raw.strip())
        except InvalidOperation:
            value = None
        if value is None or not value.is_finite():
            raise InputError(
                f"HubSpot deal {deal_id}: {self.amount_property} {raw!r} is not a number"
            )
        return value

    def _close_date(self, deal_id: str, raw: str | None) -> date | None:
        try:
            ts = parse_timestamp(raw)
        except ValueError:
            raise InputError(
                f"HubSpot deal {deal_id}: closedate {raw!r} is not a date or datetime"
            ) from None
        return ts.date() if ts is not None else None
