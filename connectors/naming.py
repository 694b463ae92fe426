"""The names crmseg gives what it owns in a CRM: one home for the ``crmseg_`` prefix.

Every tag family becomes one field (HubSpot property, Salesforce custom field)
named ``crmseg_<family>``; the prefix is how crmseg recognises its own fields,
and what :meth:`connectors.base.Connector.write` checks before anything is
sent: crmseg never writes a field it does not own. Segment lists get a
deterministic name, so a run finds the list it kept last time again.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["PREFIX", "family_of", "field_name", "list_name", "owned", "unowned"]

#: The start of every field crmseg owns (Salesforce adds its own ``__c`` suffix).
PREFIX = "crmseg_"


def field_name(family: str) -> str:
    """The CRM field of a tag family: ``lifecycle`` -> ``crmseg_lifecycle``."""
    return PREFIX + family


def owned(name: str) -> bool:
    """Whether crmseg owns the field ``name`` (and so may write it)."""
    return name.startswith(PREFIX)


def unowned(names: Iterable[str]) -> list[str]:
    """Those of ``names`` crmseg does not own, sorted: what a write must refuse."""
    return sorted(n for n in names if not owned(n))


def family_of(name: str) -> str:
    """The tag family of a crmseg field: ``crmseg_lifecycle`` -> ``lifecycle``."""
    if not owned(name):
        raise ValueError(f"{name!r} is not a crmseg field (they start with {PREFIX!r})")
    return name[len(PREFIX) :]


def list_name(family: str, value: str) -> str:
    """The segment list of one tag value; deterministic, so a list is found again by
    its name on every run."""
    return f"crmseg · {family} = {value}"
