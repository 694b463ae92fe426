"""The stand-in's lists and how they are evaluated: the data behind Lists v3 (notes section 5).

Why apart from the handlers in :mod:`.lists`: the shared :class:`~.state.State`
holds the registry, so the registry must not import the handlers that take the
state (that was an import circle).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from connectors.sandbox.hubspot.errors import not_found, validation_error
from connectors.sandbox.hubspot.object_types import canonical
from connectors.sandbox.hubspot.record import Record
from connectors.sandbox.hubspot.store import Store
from connectors.sandbox.hubspot.wire import iso

__all__ = ["HubList", "ListRegistry", "evaluate", "normalise_branch"]


@dataclass
class HubList:
    id: int
    name: str
    object_type_id: str
    processing_type: str
    filter_branch: dict[str, Any] | None
    created: int
    updated: int
    members: dict[int, int] = field(default_factory=dict)  # record id -> added at (ms)
    version: int = 1
    deleted_at: int | None = None
    reads: int = 0


def normalise_branch(branch: Any) -> dict[str, Any]:
    """Enforce root OR -> AND children; fill the fields the server echoes."""
    if not isinstance(branch, dict) or branch.get("filterBranchType") != "OR":
        raise validation_error("filterBranch root must be an OR branch")
    if branch.get("filters"):
        raise validation_error("The root OR branch cannot hold filters")
    children = branch.get("filterBranches") or []
    if not children or any(c.get("filterBranchType") != "AND" for c in children):
        raise validation_error("Children of the root OR branch must be AND branches")
    for c in children:
        for f in c.get("filters") or []:
            op = f.get("operation") or {}
            if f.get("filterType") != "PROPERTY" or not f.get("property") or not op:
                raise validation_error("Only PROPERTY filters with an operation are supported")
            op.setdefault("includeObjectsWithNoValueSet", False)
            if isinstance(op.get("values"), list):
                op["values"] = sorted(dict.fromkeys(str(v) for v in op["values"]))
        c["filterBranchOperator"] = "AND"
        c.setdefault("filterBranches", [])
        c.setdefault("filters", [])
    branch["filterBranchOperator"] = "OR"
    branch.setdefault("filters", [])
    return _reserialised(branch)


def _reserialised(node: Any) -> Any:
    """The tree as HubSpot stores it: same meaning, its own key order (keys
    reversed here) and sibling branches in its own order (by their text)."""
    if isinstance(node, list):
        items = [_reserialised(x) for x in node]
        if all(isinstance(x, dict) and "filterBranchType" in x for x in items):
            items.sort(key=lambda x: json.dumps(x, sort_keys=True))
        return items
    if isinstance(node, dict):
        return {k: _reserialised(node[k]) for k in sorted(node, reverse=True)}
    return node


def _matches(rec: Record, f: dict[str, Any]) -> bool:
    op = f["operation"]
    raw = rec.props.get(f["property"])
    if raw in (None, ""):
        return bool(op.get("includeObjectsWithNoValueSet")) or op.get("operator") == "IS_UNKNOWN"
    o, kind = str(op.get("operator", "")).upper(), str(op.get("operationType", "")).upper()
    have = {v.lower() for v in raw.split(";")} if kind == "ENUMERATION" else {raw.lower()}
    vals = {str(v).lower() for v in op.get("values") or []}
    if "value" in op:
        vals.add(str(op["value"]).lower())
    if o == "IS_KNOWN":
        return True
    if o == "IS_UNKNOWN":
        return False
    if kind == "NUMBER" and o in (
        "IS_GREATER_THAN",
        "IS_LESS_THAN",
        "IS_GREATER_THAN_OR_EQUAL_TO",
        "IS_LESS_THAN_OR_EQUAL_TO",
    ):
        a, b = float(raw), float(op.get("value", 0))
        return {
            "IS_GREATER_THAN": a > b,
            "IS_LESS_THAN": a < b,
            "IS_GREATER_THAN_OR_EQUAL_TO": a >= b,
            "IS_LESS_THAN_OR_EQUAL_TO": a <= b,
        }[o]
    table = {
        "IS_ANY_OF": bool(have & vals),
        "IS_NONE_OF": not have & vals,
        "IS_EXACTLY": have == vals,
        "IS_NOT_EXACTLY": have != vals,
        "CONTAINS_ALL": vals <= have,
        "DOES_NOT_CONTAIN_ALL": not vals <= have,
        "IS_EQUAL_TO": bool(have & vals),
        "IS_NOT_EQUAL_TO": not have & vals,
        "CONTAINS": any(v in raw.lower() for v in vals),
        "DOES_NOT_CONTAIN": not any(v in raw.lower() for v in vals),
        "STARTS_WITH": any(raw.lower().startswith(v) for v in vals),
        "ENDS_WITH": any(raw.lower().endswith(v) for v in vals),
    }
    if o not in table:
        raise validation_error(f"Unsupported list filter operator {o}")
    return table[o]


def evaluate(store: Store, object_type: str, branch: dict[str, Any]) -> list[int]:
    """Record ids matching an OR-of-AND filter branch, sorted."""
    recs = store.records(object_type)
    groups = [c.get("filters") or [] for c in branch.get("filterBranches") or []]
    return [
        rid
        for rid in store.ids(object_type)
        if any(all(_matches(recs[rid], f) for f in g) for g in groups)
    ]


class ListRegistry:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.lock = threading.RLock()
        self.lists: dict[int, HubList] = {}
        self.next_id = 1
        self._dyn_cache: dict[int, tuple[int, int, list[int]]] = {}

    def members(self, lst: HubList) -> list[int]:
        if lst.processing_type != "DYNAMIC":
            # a member merged away is answered as the record it was merged into;
            # archived ones are no members (FACTS.md)
            t = canonical(lst.object_type_id) or "contacts"
            live = (self.store.resolve(t, i) for i in lst.members)
            return sorted({r.id for r in live if r is not None})
        hit = self._dyn_cache.get(lst.id)
        if hit and hit[0] == self.store.version and hit[1] == lst.version:
            return hit[2]
        ids = evaluate(
            self.store, canonical(lst.object_type_id) or "contacts", lst.filter_branch or {}
        )
        self._dyn_cache[lst.id] = (self.store.version, lst.version, ids)
        return ids

    def to_json(self, lst: HubList, filters: bool) -> dict[str, Any]:
        processing = lst.processing_type == "DYNAMIC" and lst.reads == 0
        lst.reads += 1
        out: dict[str, Any] = {
            "listId": str(lst.id),
            "listVersion": lst.version,
            "name": lst.name,
            "objectTypeId": lst.object_type_id,
            "processingType": lst.processing_type,
            "processingStatus": "PROCESSING" if processing else "COMPLETE",
            "createdAt": iso(lst.created),
            "updatedAt": iso(lst.updated),
            "filtersUpdatedAt": iso(lst.updated),
            "createdById": "1",
            "updatedById": "1",
        }
        # A DYNAMIC list's members are evaluated in the background (FACTS.md, "Lists
        # v3 filters"): the answer that still says PROCESSING has no size yet, and
        # answering it costs no evaluation of every record.
        if not processing:
            out["size"] = len(self.members(lst))
        if filters and lst.filter_branch is not None:
            out["filterBranch"] = lst.filter_branch
        return out

    def get(self, key: str) -> HubList:
        lst = self.lists.get(int(key)) if key.isdigit() else None
        if lst is None or lst.deleted_at is not None:
            raise not_found(f"List {key} does not exist.")
        return lst
