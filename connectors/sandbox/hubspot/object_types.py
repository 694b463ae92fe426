"""The HubSpot stand-in's three object types and the property names the server owns.

Why a module of its own: every handler resolves ``0-1`` / ``contact`` / ``CONTACTS``
to one name and asks which last-modified stamp a type answers and which
properties a client may not write (``hs_object_id``, ``createdate``, the
last-modified stamps, notes 1.1, 11.3); keeping those tables apart from the
record store lets the schema and routing read them without the store.
"""

from __future__ import annotations

OBJECT_TYPES: dict[str, str] = {"contacts": "0-1", "companies": "0-2", "deals": "0-3"}
_ALIASES: dict[str, str] = {
    **{k: k for k in OBJECT_TYPES},
    **{v: k for k, v in OBJECT_TYPES.items()},
    "contact": "contacts",
    "company": "companies",
    "deal": "deals",
}
SINGULAR = {"contacts": "contact", "companies": "company", "deals": "deal"}
LASTMOD = {
    "contacts": "lastmodifieddate",
    "companies": "hs_lastmodifieddate",
    "deals": "hs_lastmodifieddate",
}
SERVER_PROPS = frozenset(
    {
        "hs_object_id",
        "createdate",
        "lastmodifieddate",
        "hs_lastmodifieddate",
        "hs_merged_object_ids",
        "amount_in_home_currency",
    }
)


def canonical(object_type: str) -> str | None:
    """``0-1`` / ``contact`` / ``CONTACTS`` -> ``contacts`` (None if unknown)."""
    return _ALIASES.get(object_type.lower())
