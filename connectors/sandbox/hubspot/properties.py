"""HTTP handlers for ``/crm/v3/properties/{objectType}`` and its groups (notes section 4).

Status codes are the ones the SDK maps: create answers **201** (a 200 would
make the SDK return ``None``), update 200, archive 204. An options PATCH
replaces the whole option list.
"""

from __future__ import annotations

from typing import Any

from connectors.sandbox._server import Request, Response
from connectors.sandbox.hubspot.errors import api_error, not_found, validation_error
from connectors.sandbox.hubspot.routing import OBJ, Routes, object_type, schema_scope
from connectors.sandbox.hubspot.schema import PropertyDef, check_definition
from connectors.sandbox.hubspot.state import State
from connectors.sandbox.hubspot.wire import (
    batch_envelope,
    body_object,
    now_ms,
    query_bool,
    query_list,
)

BASE = r"/crm/v3/properties/" + OBJ
NAME = r"(?P<name>[^/]+)"


def register(routes: Routes, state: State) -> None:
    schema = state.schema
    read, write = schema_scope("read"), schema_scope("write")

    def list_all(req: Request) -> Response:
        t = object_type(req)
        archived = query_bool(req, "archived")
        wanted = set(query_list(req, "properties"))
        with schema.lock:
            props = [
                p.to_json()
                for p in schema.props[t].values()
                if p.archived == archived and (not wanted or p.name in wanted)
            ]
        return Response(200, {"results": props})

    def create(req: Request) -> Response:
        t = object_type(req)
        body = body_object(req)
        check_definition(body, creating=True)
        with schema.lock:
            if body["name"] in schema.props[t] and not schema.props[t][body["name"]].archived:
                raise api_error(409, "CONFLICT", f"Property named '{body['name']}' already exists.")
            if body["groupName"] not in schema.groups[t]:
                raise validation_error(f"Property group '{body['groupName']}' does not exist.")
            now = now_ms()
            prop = PropertyDef(
                name=body["name"],
                label=body["label"],
                type=body["type"],
                field_type=body["fieldType"],
                group_name=body["groupName"],
                description=body.get("description", ""),
                options=_options(body.get("options") or [])
                if body["type"] == "enumeration"
                else [],
                has_unique_value=bool(body.get("hasUniqueValue", False)),
                hidden=bool(body.get("hidden", False)),
                form_field=bool(body.get("formField", False)),
                display_order=int(body.get("displayOrder", -1)),
                created=now,
                updated=now,
            )
            schema.add(t, prop)
        return Response(201, prop.to_json())

    def read_one(req: Request) -> Response:
        t = object_type(req)
        p = schema.props[t].get(req.params["name"])
        if p is None or p.archived != query_bool(req, "archived"):
            raise not_found(f"Unable to find property {req.params['name']} for object type {t}")
        return Response(200, p.to_json())

    def update(req: Request) -> Response:
        t = object_type(req)
        body = body_object(req)
        check_definition(body, creating=False)
        with schema.lock:
            p = schema.get(t, req.params["name"])
            if p is None:
                raise not_found(f"Unable to find property {req.params['name']}")
            if p.hubspot_defined and "options" in body and p.name not in ("dealstage",):
                raise validation_error(
                    f"Property {p.name} is HubSpot-defined; options are read only"
                )
            for key, attr in (
                ("label", "label"),
                ("description", "description"),
                ("groupName", "group_name"),
                ("fieldType", "field_type"),
                ("type", "type"),
                ("hidden", "hidden"),
                ("formField", "form_field"),
                ("displayOrder", "display_order"),
            ):
                if key in body:
                    setattr(p, attr, body[key])
            if "options" in body:
                p.options = _options(body["options"])  # full replacement
            p.updated = now_ms()
            p.refresh()
        return Response(200, p.to_json())

    def archive(req: Request) -> Response:
        t = object_type(req)
        with schema.lock:
            p = schema.get(t, req.params["name"])
            if p is None:
                raise not_found(f"Unable to find property {req.params['name']}")
            if p.hubspot_defined:
                raise validation_error(f"Property {p.name} cannot be archived")
            p.archived, p.archived_at = True, now_ms()
        return Response(204)

    def batch_read(req: Request) -> Response:
        t = object_type(req)
        body = body_object(req)
        archived = bool(body.get("archived", False))
        found, missing = [], []
        for item in body.get("inputs") or []:
            p = schema.props[t].get(item.get("name", ""))
            if p is None or p.archived != archived:
                missing.append(item.get("name"))
            else:
                found.append(p.to_json())
        return _batch(found, missing, "PROPERTY")

    def groups_list(req: Request) -> Response:
        t = object_type(req)
        return Response(200, {"results": list(schema.groups[t].values())})

    def group_create(req: Request) -> Response:
        t = object_type(req)
        body = body_object(req)
        if not body.get("name") or not body.get("label"):
            raise validation_error("Property groups need name and label")
        with schema.lock:
            if body["name"] in schema.groups[t]:
                raise api_error(409, "CONFLICT", f"Group '{body['name']}' already exists.")
            group = {
                "name": body["name"],
                "label": body["label"],
                "displayOrder": int(body.get("displayOrder", -1)),
                "archived": False,
            }
            schema.groups[t][body["name"]] = group
        return Response(201, group)

    def group_one(req: Request) -> dict[str, Any]:
        g = schema.groups[object_type(req)].get(req.params["name"])
        if g is None:
            raise not_found(f"Unable to find property group {req.params['name']}")
        return g

    def group_read(req: Request) -> Response:
        return Response(200, group_one(req))

    def group_update(req: Request) -> Response:
        g = group_one(req)
        body = body_object(req)
        for k in ("label", "displayOrder"):
            if k in body:
                g[k] = body[k]
        return Response(200, g)

    def group_delete(req: Request) -> Response:
        group_one(req)
        del schema.groups[object_type(req)][req.params["name"]]
        return Response(204)

    g = BASE + r"/groups"
    routes.add("GET", g, groups_list, "properties.groups.list", read)
    routes.add("POST", g, group_create, "properties.groups.create", write)
    routes.add("GET", g + "/" + NAME, group_read, "properties.groups.read", read)
    routes.add("PATCH", g + "/" + NAME, group_update, "properties.groups.update", write)
    routes.add("DELETE", g + "/" + NAME, group_delete, "properties.groups.delete", write)
    routes.add("POST", BASE + r"/batch/read", batch_read, "properties.batch.read", read)
    routes.add("GET", BASE + "/?", list_all, "properties.list", read)
    routes.add("POST", BASE + "/?", create, "properties.create", write)
    routes.add("GET", BASE + "/" + NAME, read_one, "properties.read", read)
    routes.add("PATCH", BASE + "/" + NAME, update, "properties.update", write)
    routes.add("DELETE", BASE + "/" + NAME, archive, "properties.archive", write)


def _options(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "label": o["label"],
            "value": o["value"],
            "hidden": bool(o.get("hidden", False)),
            "displayOrder": int(o.get("displayOrder", i)),
            "description": o.get("description", ""),
        }
        for i, o in enumerate(raw)
    ]


def _batch(results: list[Any], missing: list[Any], noun: str) -> Response:
    errors = []
    if missing:
        errors.append(
            {
                "status": "error",
                "category": "OBJECT_NOT_FOUND",
                "message": f"Could not get some {noun} objects, they may be deleted or not "
                "exist. Check that ids are valid.",
                "context": {"ids": [str(m) for m in missing]},
                "errors": [],
                "links": {},
            }
        )
    return batch_envelope(results, errors)
