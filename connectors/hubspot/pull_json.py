"""HubSpot's JSON answers -> crmseg's wire records, without the client's generated models.

Why: building the generated model objects of a list page (and parsing every
``createdAt``, ``updatedAt`` and ``archivedAt`` in it with ``dateutil``) cost
crmseg more CPU per request than anything else in a batch-path sync, and the pull
reads a handful of fields per record. :meth:`Transport.call_json
<connectors.hubspot.transport.Transport.call_json>` hands over the JSON; this module
reads exactly what the pull needs from it, the way the generated models would have:

* property values are strings or ``None`` (``null``); anything else is turned into
  its string, as the models' ``dict(str, str)`` does;
* ``updatedAt`` / ``archivedAt`` are ISO 8601 with or without milliseconds, ``Z`` or
  an offset (``datetime.fromisoformat``), returned as aware UTC datetimes; a stamp
  that is no ISO datetime falls back to :func:`~connectors.hubspot.records.parse_timestamp`
  (epoch milliseconds, ISO date), and a record whose ``updatedAt`` cannot be read
  at all takes its stamp from its last-modified property, as before;
* ``paging.next.after`` is the cursor of the next page (absent, ``null`` or ``""``:
  the last page);
* v3 inline associations (``associations.<plural>.results[].id`` / ``type``, with
  their own ``paging``) and v4 batch-read results (``from.id``, ``to[].toObjectId``,
  a JSON number, and ``to[].associationTypes[].category`` / ``typeId``) become
  :class:`~connectors.hubspot.records.Assoc` lists with the primary flag of
  :mod:`connectors.hubspot.records`.

Shapes: HubSpot's CRM v3 objects API (list, search, batch read, batch update) and
v4 associations batch read, as documented and as the stand-in serves them.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from connectors.base import ObjectType
from connectors.hubspot.records import (
    LASTMOD,
    PRIMARY_TYPES,
    PRIMARY_V3_NAMES,
    Assoc,
    WireRecord,
    parse_timestamp,
)

__all__ = [
    "errors",
    "inline_associations",
    "next_after",
    "results",
    "timestamp",
    "v4_associations",
    "v4_results",
    "wire",
]


def timestamp(value: Any) -> datetime | None:
    """An ISO 8601 stamp (``2026-06-30T12:00:00.123Z``, with or without millis, ``Z``
    or an offset) -> aware UTC datetime; ``None``/``""`` -> ``None``. Epoch
    milliseconds and ISO dates are read too; anything else raises ``ValueError``."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValueError(f"not a timestamp: {value!r}")
    try:
        d = datetime.fromisoformat(value)
    except ValueError:
        return parse_timestamp(value)
    if d.tzinfo is None:
        return d.replace(tzinfo=UTC)
    return d if d.tzinfo is UTC else d.astimezone(UTC)


def _get(data: Any, key: str) -> Any:
    return data.get(key) if isinstance(data, dict) else None


def results(page: Any) -> list[Any]:
    """A page's ``results`` (``[]`` when absent or ``null``)."""
    found = _get(page, "results")
    return found if isinstance(found, list) else []


def errors(page: Any) -> list[dict[str, Any]]:
    """A batch answer's ``errors`` (``[]`` when absent)."""
    found = _get(page, "errors")
    return [e for e in found if isinstance(e, dict)] if isinstance(found, list) else []


def next_after(page: Any) -> str | None:
    """``paging.next.after``, or ``None`` on the last page."""
    after = _get(_get(_get(page, "paging"), "next"), "after")
    return None if after is None or after == "" else str(after)


def _properties(obj: dict[str, Any]) -> dict[str, str | None]:
    props = obj.get("properties")
    if not props:
        return {}
    return {k: v if v is None or type(v) is str else str(v) for k, v in props.items()}


def wire(obj: dict[str, Any], object_type: ObjectType) -> WireRecord:
    """One v3 object (list, search or batch-read result) -> :class:`WireRecord`, without
    associations; the stamp falls back to the type's last-modified property."""
    props = _properties(obj)
    try:
        updated = timestamp(obj.get("updatedAt"))
    except ValueError:
        updated = None
    if updated is None:
        try:
            updated = parse_timestamp(props.get(LASTMOD[object_type]))
        except ValueError:
            updated = None
    return WireRecord(id=str(obj["id"]), properties=props, updated_at=updated)


def inline_associations(obj: dict[str, Any], to_plural: str) -> tuple[list[Assoc], bool] | None:
    """A v3 object's inline associations to ``to_plural``: the list and whether HubSpot
    capped it (its own ``paging.next``); ``None`` when the object has no such block."""
    block = _get(obj.get("associations"), to_plural)
    if not isinstance(block, dict):
        return None
    out = [
        Assoc(str(item["id"]), primary=item.get("type") in PRIMARY_V3_NAMES)
        for item in results(block)
    ]
    return out, next_after(block) is not None


def v4_associations(to: Any) -> list[Assoc]:
    """A v4 result's ``to`` entries -> Assoc list (duplicates kept)."""
    out = []
    for item in to if isinstance(to, list) else ():
        types = item.get("associationTypes") or ()
        primary = any((t.get("category"), t.get("typeId")) in PRIMARY_TYPES for t in types)
        out.append(Assoc(str(item["toObjectId"]), primary=primary))
    return out


def v4_results(page: Any) -> Iterator[tuple[str, list[Assoc], str | None]]:
    """A v4 batch read's results: (from id, its associations on this page, the cursor of
    its next page or ``None``)."""
    for res in results(page):
        yield str(res["from"]["id"]), v4_associations(res.get("to")), next_after(res)
