"""Association edges of the HubSpot stand-in, packed into plain ints.

Why: a seeded portal holds millions of contact-company and deal-company edges;
one record's edges to one object type are a single int (``to_id * 2 + primary``)
or an ``array`` of them, so no dict or int object is built per edge. The
``Store`` keeps them per (from type, to type) and calls these helpers to add,
replace and drop an edge in that packed form.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Label:
    """A custom (``USER_DEFINED``) association label: a portal-local typeId that may
    collide with a ``HUBSPOT_DEFINED`` one (notes 13), and its display text."""

    type_id: int
    label: str


#: Edges where a record has at most one primary target (a contact's, a deal's company).
SINGLE_PRIMARY = frozenset({("contacts", "companies"), ("deals", "companies")})

#: One record's edges to one object type: each edge is ``to_id * 2 + primary``; a lone
#: edge is that int itself, several an array of them (no dict or int object per edge).
Edges = int | array


def _codes(held: Edges | None) -> Iterable[int]:
    if held is None:
        return ()
    return (held,) if isinstance(held, int) else held


def edge_pairs(held: Edges | None) -> list[tuple[int, bool]]:
    """(to_id, primary) of one record's edges."""
    return [(c >> 1, bool(c & 1)) for c in _codes(held)]


def put_edge(m: dict[int, Edges], fid: int, tid: int, primary: bool) -> None:
    code = tid * 2 + primary
    held = m.get(fid)
    if held is None:
        m[fid] = code
    elif isinstance(held, int):
        m[fid] = code if held >> 1 == tid else array("q", (held, code))
    else:
        for i, c in enumerate(held):
            if c >> 1 == tid:
                held[i] = code
                return
        held.append(code)


def append_edge(m: dict[int, Edges], key: int, code: int) -> bool:
    """Add an edge's code without looking for one already held (bulk seeding drops
    duplicates at the end); True when ``key``'s single int became an array."""
    held = m.get(key)
    if held is None:
        m[key] = code
    elif held.__class__ is int:
        if held != code:
            m[key] = array("q", (held, code))  # type: ignore[arg-type]
            return True
    else:
        held.append(code)  # type: ignore[union-attr]
    return False


def drop_edge(m: dict[int, Edges], fid: int, tid: int) -> None:
    held = m.get(fid)
    if held is None:
        return
    if isinstance(held, int):
        if held >> 1 == tid:
            del m[fid]
        return
    for i, c in enumerate(held):
        if c >> 1 == tid:
            del held[i]
            break
    if len(held) == 1:
        m[fid] = held[0]
    elif not held:
        del m[fid]
