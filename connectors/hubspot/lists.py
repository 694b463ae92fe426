"""Segment lists in HubSpot (Lists v3, notes section 5).

:func:`ensure_lists` keeps one DYNAMIC list per :class:`~connectors.base.ListSpec`:
HubSpot itself re-evaluates membership from the list's filter ("``field`` is
any of [``value``]", which works for single-select and multi-checkbox tags), so
crmseg never edits memberships of segment lists. Lists are found by their exact
name (``get_by_name``, one GET per spec, authoritative unlike the search
index); a list is created only when missing -- a second run writes nothing.

Ownership: crmseg changes only lists it created. ``ListSpec.list_id`` is the id
crmseg recorded when it created the list; a list of that name under another id
is someone else's and is refused (:class:`ListNotOwned`, exit 5). Without a
record (an older state file, a lost one) a list is adopted only when its filter
already is crmseg's, since adopting it changes nothing. A list crmseg owns is
updated only when its filter differs *semantically* (:func:`same_filter`):
HubSpot re-serialises filters (adds defaults, reorders), and comparing JSON text
would rewrite every list every night.

Creates survive lost answers: a create whose answer was lost is retried and
then meets 409 "already exists"; the list is read back and, when it is the one
crmseg just created (same name, type and filter; for a snapshot: a MANUAL list
created after crmseg sent its create), the run carries on.

:func:`snapshot_list` freezes an audience for a campaign in a MANUAL list that
holds exactly the given ids; it never touches an existing list.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from hubspot.crm.lists import ListCreateRequest, ListFilterUpdateRequest

from connectors.base import ListSpec, ListState, ObjectType, chunks
from connectors.errors import CrmError, ListNotOwned, SchemaMismatch
from connectors.hubspot.fields import HubSpotTransport, cached_api

log = logging.getLogger(__name__)

OBJECT_TYPE_IDS = {"contact": "0-1", "company": "0-2", "deal": "0-3"}
#: Ids per memberships/add call; HubSpot states no limit, so we stay conservative.
MEMBERSHIP_CHUNK = 1000
#: Clock skew allowed between crmseg and HubSpot when recognising a list just created.
CLOCK_SKEW = timedelta(minutes=5)


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
            again = _by_name(transport, api, spec.name, spec.object_type, include_filters=True)
            if (
                again is not None
                and again.processing_type == "DYNAMIC"
                and same_filter(again.filter_branch, wanted)
            ):
                return ListState(spec, str(again.list_id), created=True)  # our lost create
            raise ListNotOwned(
                f"cannot create list {spec.name!r}: HubSpot already has a list of that name "
                "that crmseg did not create (names are unique across all object types). "
                "Rename or delete that list, then run again.",
                crm="hubspot",
                status=err.status,
                request_id=err.request_id,
                code=err.code,
            ) from err
        return ListState(spec, str(created.list.list_id), created=True)
    list_id = str(found.list_id)
    if spec.list_id is not None and list_id != spec.list_id:
        raise _not_owned(
            spec,
            list_id,
            f"crmseg created its list of that name as id {spec.list_id}, which is gone",
        )
    if found.processing_type != "DYNAMIC":
        raise _not_owned(
            spec, list_id, f"it is a {found.processing_type} list; crmseg keeps DYNAMIC lists"
        )
    same = same_filter(found.filter_branch, wanted)
    if same:
        return ListState(spec, list_id)
    if spec.list_id is None:
        raise _not_owned(
            spec, list_id, "crmseg has no record of creating it and its filter is not crmseg's"
        )
    transport.call(
        "lists.update_filters",
        api.update_list_filters,
        list_id,
        ListFilterUpdateRequest(filter_branch=wanted),
        enroll_objects_in_workflows=False,
    )
    return ListState(spec, list_id, updated=True)


def _not_owned(spec: ListSpec, list_id: str, why: str) -> ListNotOwned:
    return ListNotOwned(
        f"list {spec.name!r} (id {list_id}) was not created by crmseg: {why}. crmseg "
        "does not change lists it did not create; rename that list (or delete it) in "
        "HubSpot, then run again.",
        crm="hubspot",
    )


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
    sent = datetime.now(UTC)
    try:
        list_id = str(transport.call("lists.create", api.create, body).list.list_id)
    except CrmError as err:
        if err.status != 409:
            raise
        again = _by_name(transport, api, name, object_type, include_filters=False)
        if again is None or not _just_created(again, sent):
            raise _exists(name, object_type, "for another object type") from err
        list_id = str(again.list_id)  # our own create, whose answer was lost
    # adding members is idempotent: already-members are ignored
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


def _just_created(found: Any, sent: datetime) -> bool:
    """Whether ``found`` is the MANUAL list a create sent at ``sent`` made."""
    created = getattr(found, "created_at", None)
    if found.processing_type != "MANUAL" or not isinstance(created, datetime):
        return False
    created = created.replace(tzinfo=UTC) if created.tzinfo is None else created
    return bool(created >= sent - CLOCK_SKEW)


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


def _upper(value: Any) -> str | None:
    return None if value is None else str(value).upper()


def _norm(branch: Any) -> str:
    """A filter branch as canonical text: what decides membership, with HubSpot's
    defaults and echoes left out, and order ignored where it means nothing
    (filters of a branch, sibling branches, the values of IS_ANY_OF & co)."""
    if branch is None:
        return "null"
    filters = []
    for f in _get(branch, "filters", "filters") or []:
        op = _get(f, "operation", "operation")
        values = None if op is None else _get(op, "values", "values")
        value = None if op is None else _get(op, "value", "value")
        filters.append(
            json.dumps(
                [
                    _upper(_get(f, "filterType", "filter_type")),
                    _get(f, "property", "_property"),
                    None if op is None else _upper(_get(op, "operationType", "operation_type")),
                    None if op is None else _upper(_get(op, "operator", "operator")),
                    sorted({str(v) for v in values}) if values else [],
                    None if value is None else str(value),
                    None
                    if op is None
                    else bool(
                        _get(
                            op, "includeObjectsWithNoValueSet", "include_objects_with_no_value_set"
                        )
                    ),
                ]
            )
        )
    children = sorted(_norm(c) for c in _get(branch, "filterBranches", "filter_branches") or [])
    kind = _upper(_get(branch, "filterBranchType", "filter_branch_type"))
    return json.dumps([kind, sorted(filters), children])


def same_filter(have: Any, want: Any) -> bool:
    """Whether two filter branches (SDK models or dicts) select the same records."""
    return _norm(have) == _norm(want)


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
        if not same_filter(found.filter_branch, filter_branch(spec.field, spec.value)):
            lines.append(f"correct the filter of list {spec.name!r}")
    return lines
