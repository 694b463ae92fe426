"""Segment lists in HubSpot (Lists v3, notes section 5).

:func:`ensure_lists` keeps one DYNAMIC list per :class:`~connectors.base.ListSpec`:
HubSpot itself re-evaluates membership from the list's filter ("``field`` is
any of [``value``]", which works for single-select and multi-checkbox tags), so
crmseg never edits memberships of segment lists. Lists are found by their exact
name (``get_by_name``, one GET per spec, authoritative unlike the search
index); the filter is compared and replaced only when it differs, and a list is
created only when missing -- a second run writes nothing.

:func:`snapshot_list` freezes an audience for a campaign in a MANUAL list that
holds exactly the given ids; it never touches an existing list.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from hubspot.crm.lists import ListCreateRequest, ListFilterUpdateRequest

from connectors.base import ListSpec, ListState, ObjectType, chunks
from connectors.errors import CrmError, SchemaMismatch
from connectors.hubspot.fields import HubSpotTransport, cached_api

log = logging.getLogger(__name__)

OBJECT_TYPE_IDS = {"contact": "0-1", "company": "0-2", "deal": "0-3"}
#: Ids per memberships/add call; HubSpot states no limit, so we stay conservative.
MEMBERSHIP_CHUNK = 1000


def ensure_lists(transport: HubSpotTransport, specs: Sequence[ListSpec]) -> list[ListState]:
    """Create or correct one DYNAMIC list per spec; one :class:`ListState` per spec, in order."""
    names = [s.name.casefold() for s in specs]
    if len(set(names)) != len(names):
        raise ValueError("list names must be unique (HubSpot compares them case-insensitively)")
    for spec in specs:
        _object_type_id(spec.object_type)
    api = cached_api(transport, "crm.lists.lists_api")
    return [_ensure_one(transport, api, spec) for spec in specs]


def filter_branch(field: str, value: str) -> dict[str, Any]:
    """Root OR branch -> one AND branch -> ``field`` ENUMERATION IS_ANY_OF [``value``]."""
    return {
        "filterBranchType": "OR",
        "filterBranchOperator": "OR",
        "filters": [],
        "filterBranches": [
            {
                "filterBranchType": "AND",
                "filterBranchOperator": "AND",
                "filterBranches": [],
                "filters": [
                    {
                        "filterType": "PROPERTY",
                        "property": field,
                        "operation": {
                            "operationType": "ENUMERATION",
                            "operator": "IS_ANY_OF",
                            "values": [value],
                            "includeObjectsWithNoValueSet": False,
                        },
                    }
                ],
            }
        ],
    }


def _ensure_one(transport: HubSpotTransport, api: Any, spec: ListSpec) -> ListState:
    wanted = filter_branch(spec.field, spec.value)
    found = _by_name(transport, api, spec.name, spec.object_type, include_filters=True)
    if found is None:
        body = ListCreateRequest(
            name=spec.name,
            object_type_id=_object_type_id(spec.object_type),
            processing_type="DYNAMIC",
            filter_branch=wanted,
        )
        try:
            created = transport.call("lists.create", api.create, body)
        except CrmError as err:
            if err.status != 409:
                raise
            raise SchemaMismatch(
                f"cannot create list {spec.name!r}: HubSpot already has a list of that name "
                "(names are unique across all object types). Rename or delete that list.",
                crm="hubspot",
                object_type=spec.object_type,
                status=err.status,
                request_id=err.request_id,
                code=err.code,
            ) from err
        return ListState(spec, str(created.list.list_id), created=True)
    list_id = str(found.list_id)
    if found.processing_type != "DYNAMIC":
        raise SchemaMismatch(
            f"list {spec.name!r} (id {list_id}) is {found.processing_type}, but crmseg keeps "
            "segment lists as DYNAMIC lists. Rename or delete that list, then run again.",
            crm="hubspot",
            object_type=spec.object_type,
        )
    if _shape(found.filter_branch) == _shape(wanted):
        return ListState(spec, list_id)
    transport.call(
        "lists.update_filters",
        api.update_list_filters,
        list_id,
        ListFilterUpdateRequest(filter_branch=wanted),
        enroll_objects_in_workflows=False,
    )
    return ListState(spec, list_id, updated=True)


def snapshot_list(
    transport: HubSpotTransport, name: str, object_type: ObjectType, record_ids: Sequence[str]
) -> str:
    """Create MANUAL list ``name`` holding exactly ``record_ids``; return its id.

    A snapshot is never overwritten: when a list of that name exists, raises
    :class:`CrmError`. Ids HubSpot does not know (deleted, merged) cannot be
    members; they are logged as a warning.
    """
    api = cached_api(transport, "crm.lists.lists_api")
    existing = _by_name(transport, api, name, object_type, include_filters=False)
    if existing is not None:
        raise _exists(name, object_type, f"id {existing.list_id}")
    body = ListCreateRequest(
        name=name, object_type_id=_object_type_id(object_type), processing_type="MANUAL"
    )
    try:
        created = transport.call("lists.create", api.create, body)
    except CrmError as err:
        if err.status == 409:
            raise _exists(name, object_type, "for another object type") from err
        raise
    list_id = str(created.list.list_id)
    members = cached_api(transport, "crm.lists.memberships_api")
    missing: list[str] = []
    ids = list(dict.fromkeys(record_ids))
    for chunk in chunks(ids, MEMBERSHIP_CHUNK):
        answer = transport.call("lists.memberships.add", members.add, list_id, chunk)
        missing += answer.record_ids_missing or []
    if missing:
        log.warning(
            "snapshot list %r (id %s): %d record id(s) unknown to HubSpot were left out: %s",
            name,
            list_id,
            len(missing),
            ", ".join(missing[:20]) + (" ..." if len(missing) > 20 else ""),
        )
    return list_id


def _exists(name: str, object_type: str, where: str) -> CrmError:
    return CrmError(
        f"a list named {name!r} already exists ({where}); a snapshot is never overwritten. "
        "Choose another name or delete the old list.",
        crm="hubspot",
        object_type=object_type,
    )


def _object_type_id(object_type: str) -> str:
    try:
        return OBJECT_TYPE_IDS[object_type]
    except KeyError:
        raise ValueError(
            f"unknown object type {object_type!r}; expected one of {sorted(OBJECT_TYPE_IDS)}"
        ) from None


def _by_name(
    transport: HubSpotTransport, api: Any, name: str, object_type: str, *, include_filters: bool
) -> Any:
    """The list named ``name`` (``PublicObjectList``), or ``None`` when HubSpot has none."""
    try:
        answer = transport.call(
            "lists.by_name",
            api.get_by_name,
            name,  # SDK order: list name first, then object type id
            _object_type_id(object_type),
            include_filters=include_filters,
        )
    except CrmError as err:
        if err.status == 404:
            return None
        raise
    return answer.list


def _get(obj: Any, camel: str, snake: str) -> Any:
    """A field of a filter node, whether a plain dict (what we send) or an SDK model."""
    return obj.get(camel) if isinstance(obj, dict) else getattr(obj, snake, None)


def _shape(branch: Any) -> tuple[Any, ...] | None:
    """What decides membership in a filter branch, with SDK defaults and echoes left out."""
    if branch is None:
        return None
    filters = []
    for f in _get(branch, "filters", "filters") or []:
        op = _get(f, "operation", "operation")
        filters.append(
            (
                _get(f, "filterType", "filter_type"),
                _get(f, "property", "_property"),
                None if op is None else _get(op, "operationType", "operation_type"),
                None if op is None else _get(op, "operator", "operator"),
                None if op is None else tuple(_get(op, "values", "values") or ()),
                None if op is None else _get(op, "value", "value"),
                None
                if op is None
                else bool(
                    _get(op, "includeObjectsWithNoValueSet", "include_objects_with_no_value_set")
                ),
            )
        )
    children = tuple(_shape(c) for c in _get(branch, "filterBranches", "filter_branches") or [])
    return (_get(branch, "filterBranchType", "filter_branch_type"), tuple(filters), children)


def plan_lists(transport: HubSpotTransport, specs: Sequence[ListSpec]) -> list[str]:
    """What :func:`ensure_lists` would create or correct, read-only: one line per list."""
    api = cached_api(transport, "crm.lists.lists_api")
    lines = []
    for spec in specs:
        found = _by_name(transport, api, spec.name, spec.object_type, include_filters=True)
        if found is None:
            lines.append(f"create active list {spec.name!r}")
            continue
        if found.processing_type != "DYNAMIC":
            raise SchemaMismatch(
                f"list {spec.name!r} (id {found.list_id}) is {found.processing_type}, but "
                "crmseg keeps segment lists as DYNAMIC lists. Rename or delete that list, "
                "then run again.",
                crm="hubspot",
                object_type=spec.object_type,
            )
        if _shape(found.filter_branch) != _shape(filter_branch(spec.field, spec.value)):
            lines.append(f"correct the filter of list {spec.name!r}")
    return lines
