"""Make crmseg's tag properties exist in HubSpot, with the options the engine needs.

Each :class:`~connectors.base.FieldSpec` becomes an ``enumeration`` property in
the ``crmseg`` property group: ``select`` when single-valued, ``checkbox`` when
``multi`` (values ``;``-joined). We read every property of the object type once,
then create what is missing and PATCH options only where they differ, so a
second call with the same specs writes nothing.

HubSpot treats a PATCHed ``options`` array as a full replacement: an option left
out disappears while records may still hold it. So we always send the union --
the wanted options first, in order, then any option that exists only in HubSpot.

Also home of :func:`cached_api`, shared by ``writes`` and ``lists``: every access
to an SDK discovery attribute (``client.crm.properties.core_api``) builds a new
ApiClient and connection pool, so each api object is built once per transport.
The code needs only ``transport.client``, ``transport.call`` and
``transport.call_json`` (see :class:`HubSpotTransport`).
"""

from __future__ import annotations

import operator
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

from hubspot.crm.properties import (
    Configuration,
    OptionInput,
    PropertyCreate,
    PropertyGroupCreate,
    PropertyUpdate,
)

from connectors.base import FieldSpec, ObjectType
from connectors.errors import CrmError, SchemaMismatch
from connectors.hubspot.records import PLURAL
from connectors.naming import PREFIX

GROUP_NAME = "crmseg"
GROUP_LABEL = "crmseg segments"


#: crmseg object type -> HubSpot's plural name used in URLs.
class HubSpotTransport(Protocol):
    """What this package needs from ``connectors.hubspot.transport.Transport``."""

    @property
    def client(self) -> Any: ...

    def call(self, endpoint: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` paced, retried, with SDK errors mapped to CrmError."""
        ...

    def call_json(self, endpoint: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``call`` for a generated api method, answering the response's JSON."""
        ...


#: The configuration every request body below is built with. A generated model given
#: none deep-copies a fresh ``Configuration`` per object (two logger level changes,
#: each clearing every logger's cache): for a property of 150 options that was a tenth
#: of a CPU second per run. The models only read its ``client_side_validation`` (off
#: by default, as in a fresh copy), so one shared instance answers the same.
MODELS = Configuration()

_api_lock = threading.Lock()
_apis: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()


def cached_api(transport: HubSpotTransport, path: str) -> Any:
    """``transport.client.<path>`` (e.g. ``"crm.lists.lists_api"``), built once per transport.

    Uses the transport's own cache (``Transport.api``) when it has one, so the
    connector holds one pool per api object; any other transport gets ours.
    """
    own = getattr(transport, "api", None)
    if callable(own):
        return own(path)
    with _api_lock:
        apis = _apis.setdefault(transport, {})
        if path not in apis:
            apis[path] = operator.attrgetter(path)(transport.client)
        return apis[path]


@dataclass(frozen=True)
class Option:
    """One option of an enumeration property, as crmseg compares and keeps it."""

    value: str
    label: str
    display_order: int | None
    hidden: bool
    description: str | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Option:
        return cls(
            value=str(data.get("value")),
            label=str(data.get("label")),
            display_order=data.get("displayOrder"),
            hidden=bool(data.get("hidden")),
            description=data.get("description"),
        )


@dataclass(frozen=True)
class Property:
    """What crmseg reads of a HubSpot property (the fields of the client's ``Property``
    it uses, under the same names), from the answer's JSON.

    Why not the client's models: a property list turned into models (every timestamp
    parsed by ``dateutil``) cost about 50 ms of CPU per read for the stand-in's two
    dozen properties, and a real portal has hundreds."""

    name: str
    type: str | None
    field_type: str | None
    group_name: str | None
    options: tuple[Option, ...]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Property:
        return cls(
            name=str(data.get("name")),
            type=data.get("type"),
            field_type=data.get("fieldType"),
            group_name=data.get("groupName"),
            options=tuple(Option.from_json(o) for o in data.get("options") or []),
        )


def hubspot_object(object_type: str) -> str:
    try:
        return PLURAL[cast(ObjectType, object_type)]
    except KeyError:
        raise ValueError(
            f"unknown object type {object_type!r}; expected one of {sorted(PLURAL)}"
        ) from None


def ensure_fields(
    transport: HubSpotTransport,
    object_type: ObjectType,
    fields: Sequence[FieldSpec],
    *,
    seen: dict[str, Property] | None = None,
) -> list[str]:
    """Create or extend the crmseg tag properties; one line per change made (``[]``: none).

    ``seen``: the property list this run read a moment ago (the preflight's). When it
    shows every field as wanted, nothing is read and nothing written; anything else
    (a field to create or extend, another type) is decided on a list read now, so no
    write, and no refusal, rests on an older answer.

    Raises ``ValueError`` (before any call) for a name outside ``crmseg_``, a
    name or an option given twice, and :class:`SchemaMismatch` (before any write) when a
    property of that name exists with another type.
    """
    hs_type = hubspot_object(object_type)
    _check_specs(fields)
    if not fields:
        return []
    if seen is not None and settled(object_type, fields, seen):
        return []
    core = cached_api(transport, "crm.properties.core_api")
    existing = read_properties(transport, object_type)
    for spec in fields:  # checked before anything is written
        if spec.name in existing:
            _check_kind(object_type, spec, existing[spec.name])

    changes: list[str] = []
    if any(spec.name not in existing for spec in fields):
        changes += _ensure_group(transport, hs_type, object_type)
    for spec in fields:
        prop = existing.get(spec.name)
        if prop is None:
            body = PropertyCreate(
                name=spec.name,
                label=spec.label,
                type="enumeration",
                field_type=_field_type(spec),
                group_name=GROUP_NAME,
                description=spec.description,
                options=_option_inputs(_options(spec.options, [])),
                form_field=False,
                hidden=False,
                local_vars_configuration=MODELS,
            )
            try:
                transport.call_json("properties.create", core.create, hs_type, body)
            except CrmError as err:
                if err.status != 409:
                    raise
                # "already exists": our own create whose answer was lost and that was
                # retried, or a concurrent run. Read it back; carry on only if it is ours.
                prop = _read_back(transport, core, hs_type, object_type, spec, err)
            else:
                changes.append(
                    f"created {object_type} property {spec.name} "
                    f"({_field_type(spec)}, {len(spec.options)} options)"
                )
                continue
        have = [_option_key(o) for o in prop.options or []]
        want = _options(spec.options, prop.options or [])
        if have == [_key(o) for o in want]:
            continue
        transport.call_json(
            "properties.update",
            core.update,
            hs_type,
            spec.name,
            PropertyUpdate(options=_option_inputs(want), local_vars_configuration=MODELS),
        )
        have_values = {v for v, *_ in have}
        added = [v for v in spec.options if v not in have_values]
        changes.append(
            f"updated options of {object_type} property {spec.name}: "
            + (f"added {', '.join(added)}" if added else "reordered / relabelled")
        )
    return changes


def _read_back(
    transport: HubSpotTransport,
    core: Any,
    hs_type: str,
    object_type: str,
    spec: FieldSpec,
    err: CrmError,
) -> Any:
    """The property a create was told "already exists" about, if it is crmseg's own
    (our name, in our group, with our type and field type); otherwise SchemaMismatch."""
    prop = Property.from_json(
        transport.call_json("properties.get", core.get_by_name, hs_type, spec.name, archived=False)
    )
    _check_kind(object_type, spec, prop)
    if prop.group_name != GROUP_NAME:
        raise SchemaMismatch(
            f"{object_type} property {spec.name} already exists in property group "
            f"{prop.group_name!r}, not in crmseg's group {GROUP_NAME!r}: "
            "it was not created by crmseg. Rename or delete it in HubSpot, then run again.",
            crm="hubspot",
            object_type=object_type,
            status=err.status,
            request_id=err.request_id,
        ) from err
    return prop


def _check_specs(fields: Sequence[FieldSpec]) -> None:
    seen: set[str] = set()
    for spec in fields:
        if not spec.name.startswith(PREFIX):
            raise ValueError(
                f"refusing to manage property {spec.name!r}: crmseg only writes properties "
                f"whose name starts with {PREFIX!r}"
            )
        if spec.name in seen:
            raise ValueError(f"property {spec.name!r} is specified twice")
        if len(set(spec.options)) != len(spec.options):
            raise ValueError(f"property {spec.name!r} lists an option twice: {spec.options}")
        seen.add(spec.name)


def _field_type(spec: FieldSpec) -> str:
    return "checkbox" if spec.multi else "select"


def _check_kind(object_type: str, spec: FieldSpec, prop: Any) -> None:
    need = _field_type(spec)
    if prop.type == "enumeration" and prop.field_type == need:
        return
    kind = "multi-select checkbox" if spec.multi else "single-select dropdown"
    raise SchemaMismatch(
        f"{object_type} property {spec.name} exists as type {prop.type!r} / fieldType "
        f"{prop.field_type!r}, but crmseg needs an enumeration with fieldType {need!r} "
        f"({kind}). Rename or delete the existing property in HubSpot, then run again.",
        crm="hubspot",
        object_type=object_type,
    )


def _options(wanted: Sequence[str], existing: Sequence[Any]) -> list[dict[str, Any]]:
    """Wanted options first (label = value), then every option only HubSpot has, as
    ``OptionInput`` arguments (built only for a request: comparing needs none)."""
    out: list[dict[str, Any]] = [
        {"label": v, "value": v, "display_order": i, "hidden": False} for i, v in enumerate(wanted)
    ]
    keep = set(wanted)
    for o in existing:
        if o.value not in keep:
            keep.add(o.value)
            out.append(
                {
                    "label": o.label,
                    "value": o.value,
                    "display_order": len(out),
                    "hidden": bool(o.hidden),
                    "description": o.description,
                }
            )
    return out


def _option_inputs(options: Sequence[dict[str, Any]]) -> list[OptionInput]:
    return [OptionInput(**o, local_vars_configuration=MODELS) for o in options]


def _key(o: dict[str, Any]) -> tuple[str, str, int, bool]:
    return (o["value"], o["label"], o["display_order"], o["hidden"])


def _option_key(o: Any) -> tuple[str, str, int, bool]:
    return (o.value, o.label, o.display_order, bool(o.hidden))


def settled(
    object_type: ObjectType, fields: Sequence[FieldSpec], existing: dict[str, Property]
) -> bool:
    """Whether ``existing`` (name -> property) already holds every field as
    :func:`ensure_fields` would leave it: the right type, the options in order."""
    for spec in fields:
        prop = existing.get(spec.name)
        if prop is None or prop.type != "enumeration" or prop.field_type != _field_type(spec):
            return False
        have = [_option_key(o) for o in prop.options or []]
        if have != [_key(o) for o in _options(spec.options, prop.options or [])]:
            return False
    return True


def _ensure_group(transport: HubSpotTransport, hs_type: str, object_type: str) -> list[str]:
    groups = cached_api(transport, "crm.properties.groups_api")
    answer = transport.call_json("properties.groups.list", groups.get_all, hs_type)
    names = {g.get("name") for g in answer.get("results") or []}
    if GROUP_NAME in names:
        return []
    body = PropertyGroupCreate(
        name=GROUP_NAME, label=GROUP_LABEL, display_order=-1, local_vars_configuration=MODELS
    )
    try:
        transport.call_json("properties.groups.create", groups.create, hs_type, body)
    except CrmError as err:
        # 409: our own create whose answer was lost and that was retried, or a
        # concurrent run. A group only holds properties; its name is all that
        # marks it, and crmseg checks each property it uses on its own.
        if err.status != 409:
            raise
        return []
    return [f"created property group {GROUP_NAME} on {object_type}"]


def plan_fields(
    transport: HubSpotTransport,
    object_type: ObjectType,
    fields: Sequence[FieldSpec],
    existing: dict[str, Property] | None = None,
) -> list[str]:
    """What :func:`ensure_fields` would change, read-only: one line per property or
    option it would create or change. Raises :class:`SchemaMismatch` for a property of
    that name with another type, as ``ensure_fields`` would before its first write.
    ``existing``: the property list already read (read here when ``None``)."""
    _check_specs(fields)
    if not fields:
        return []
    if existing is None:
        existing = read_properties(transport, object_type)
    lines: list[str] = []
    for spec in fields:
        prop = existing.get(spec.name)
        if prop is None:
            lines.append(
                f"create {object_type} property {spec.name} "
                f"({_field_type(spec)}, {len(spec.options)} options)"
            )
            continue
        _check_kind(object_type, spec, prop)
        have = {o.value for o in prop.options or []}
        added = [v for v in spec.options if v not in have]
        if added:
            lines.append(f"add options {', '.join(added)} to {object_type} property {spec.name}")
    return lines


def property_names(transport: HubSpotTransport, object_type: ObjectType) -> frozenset[str]:
    """The names of the properties ``object_type`` has (read-only)."""
    return frozenset(read_properties(transport, object_type))


def read_properties(transport: HubSpotTransport, object_type: ObjectType) -> dict[str, Property]:
    """Name -> property (unarchived) of ``object_type``, read now."""
    core = cached_api(transport, "crm.properties.core_api")
    answer = transport.call_json(
        "properties.list", core.get_all, hubspot_object(object_type), archived=False
    )
    props = (Property.from_json(p) for p in answer.get("results") or [])
    return {p.name: p for p in props}
