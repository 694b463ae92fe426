"""Lists v3 (``/crm/v3/lists``, notes section 5).

Why modelled closely: crmseg keeps one list per segment. MANUAL lists take
idempotent membership edits (answer spelled ``recordsIdsAdded``; unknown ids
go to ``recordIdsMissing``); DYNAMIC lists are evaluated from their
``filterBranch`` (root OR of AND branches, enforced) against current values.
The lists themselves and their evaluation live in :mod:`.list_registry`.
"""

from __future__ import annotations

from typing import Any

from connectors.sandbox._server import Request, Response
from connectors.sandbox.hubspot.errors import api_error, not_found, validation_error
from connectors.sandbox.hubspot.list_registry import (
    HubList,
    ListRegistry,
    evaluate,
    normalise_branch,
)
from connectors.sandbox.hubspot.object_types import canonical
from connectors.sandbox.hubspot.routing import Routes, fixed_scope
from connectors.sandbox.hubspot.state import State
from connectors.sandbox.hubspot.wire import (
    body_object,
    iso,
    now_ms,
    query_bool,
    query_int,
    query_list,
    query_str,
)

__all__ = ["HubList", "ListRegistry", "evaluate", "normalise_branch", "register"]

READ, WRITE = fixed_scope("crm.lists.read"), fixed_scope("crm.lists.write")


def register(routes: Routes, state: State) -> ListRegistry:
    reg = ListRegistry(state.store)
    store = state.store

    def create(req: Request) -> Response:
        body = body_object(req)
        name, otid, ptype = body.get("name"), body.get("objectTypeId"), body.get("processingType")
        if not name or not otid or ptype not in ("MANUAL", "DYNAMIC", "SNAPSHOT"):
            raise validation_error(
                "name, objectTypeId and processingType (MANUAL|DYNAMIC|SNAPSHOT) are required"
            )
        if canonical(otid) is None:
            raise validation_error(f"Unknown objectTypeId {otid}")
        branch = body.get("filterBranch")
        if ptype == "DYNAMIC" and branch is None:
            raise validation_error("DYNAMIC lists need a filterBranch")
        with reg.lock:
            if any(
                x.name.lower() == name.lower() and x.deleted_at is None for x in reg.lists.values()
            ):
                raise api_error(409, "CONFLICT", f"A list named '{name}' already exists.")
            now = now_ms()
            lst = HubList(
                reg.next_id,
                name,
                otid,
                ptype,
                normalise_branch(branch) if branch is not None else None,
                now,
                now,
            )
            if ptype == "SNAPSHOT" and lst.filter_branch:
                lst.members = {
                    i: now for i in evaluate(store, canonical(otid) or "", lst.filter_branch)
                }
            reg.lists[lst.id] = lst
            reg.next_id += 1
            return Response(200, {"list": reg.to_json(lst, True)})

    def get_many(req: Request) -> Response:
        wanted = query_list(req, "listIds")
        filters = query_bool(req, "includeFilters")
        with reg.lock:
            lists = [
                reg.lists[int(i)]
                for i in wanted
                if i.isdigit() and int(i) in reg.lists and reg.lists[int(i)].deleted_at is None
            ]
            return Response(200, {"lists": [reg.to_json(x, filters) for x in lists]})

    def get_one(req: Request) -> Response:
        with reg.lock:
            lst = reg.get(req.params["id"])
            return Response(200, {"list": reg.to_json(lst, query_bool(req, "includeFilters"))})

    def by_name(req: Request) -> Response:
        name, otid = req.params["name"].lower(), req.params["otid"]
        with reg.lock:
            for lst in reg.lists.values():
                if (
                    lst.deleted_at is None
                    and lst.name.lower() == name
                    and (canonical(lst.object_type_id) == canonical(otid))
                ):
                    return Response(
                        200, {"list": reg.to_json(lst, query_bool(req, "includeFilters"))}
                    )
        raise not_found(f"List '{req.params['name']}' does not exist.")

    def search(req: Request) -> Response:
        body = body_object(req)
        q = str(body.get("query") or "").lower()
        offset, count = int(body.get("offset") or 0), int(body.get("count") or 20)
        if not 1 <= count <= 500:
            raise validation_error("count must be between 1 and 500")
        types = set(body.get("processingTypes") or [])
        ids = {str(i) for i in body.get("listIds") or []}
        with reg.lock:
            hits = [
                x
                for x in sorted(reg.lists.values(), key=lambda x: x.id)
                if x.deleted_at is None
                and q in x.name.lower()
                and (not types or x.processing_type in types)
                and (not ids or str(x.id) in ids)
            ]
            page = hits[offset : offset + count]
            out = []
            for x in page:
                item = reg.to_json(x, False)
                item["additionalProperties"] = {
                    "hs_list_size": str(item.get("size", 0)),
                    "hs_last_record_added_at": None,
                    "hs_last_record_removed_at": None,
                    "hs_folder_name": None,
                    "hs_list_reference_count": "0",
                }
                out.append(item)
        return Response(
            200,
            {
                "lists": out,
                "total": len(hits),
                "offset": offset + len(page),
                "hasMore": offset + len(page) < len(hits),
            },
        )

    def update_filters(req: Request) -> Response:
        body = body_object(req)
        with reg.lock:
            lst = reg.get(req.params["id"])
            if lst.processing_type != "DYNAMIC":
                raise validation_error("Filters can only be updated on DYNAMIC lists")
            lst.filter_branch = normalise_branch(body.get("filterBranch"))
            lst.version += 1
            lst.updated = now_ms()
            return Response(200, {"updatedList": reg.to_json(lst, True)})

    def rename(req: Request) -> Response:
        with reg.lock:
            lst = reg.get(req.params["id"])
            lst.name = query_str(req, "listName") or lst.name
            lst.updated = now_ms()
            return Response(200, {"updatedList": reg.to_json(lst, False)})

    def delete(req: Request) -> Response:
        with reg.lock:
            reg.get(req.params["id"]).deleted_at = now_ms()
        return Response(204)

    def change(lst: HubList, add: list[Any], remove: list[Any]) -> dict[str, list[str]]:
        if lst.processing_type not in ("MANUAL", "SNAPSHOT"):
            raise validation_error(
                f"List {lst.id} is {lst.processing_type}; memberships can "
                "only be changed on MANUAL or SNAPSHOT lists"
            )
        t = canonical(lst.object_type_id) or "contacts"
        added, removed, missing = [], [], []
        now = now_ms()
        for raw in add:
            key = str(raw)
            if not key.isdigit() or store.get(t, int(key)) is None:
                missing.append(key)
            elif int(key) not in lst.members:
                lst.members[int(key)] = now
                added.append(key)
        for raw in remove:
            key = str(raw)
            if not key.isdigit() or store.get(t, int(key)) is None:
                missing.append(key)
            elif lst.members.pop(int(key), None) is not None:
                removed.append(key)
        lst.updated = now
        return {"recordsIdsAdded": added, "recordIdsRemoved": removed, "recordIdsMissing": missing}

    def id_array(req: Request) -> list[Any]:
        data = req.json()
        if not isinstance(data, list):
            raise validation_error("Body must be a JSON array of record ids")
        return data

    def m_add(req: Request) -> Response:
        with reg.lock:
            return Response(200, change(reg.get(req.params["id"]), id_array(req), []))

    def m_remove(req: Request) -> Response:
        with reg.lock:
            return Response(200, change(reg.get(req.params["id"]), [], id_array(req)))

    def m_both(req: Request) -> Response:
        body = body_object(req)
        with reg.lock:
            return Response(
                200,
                change(
                    reg.get(req.params["id"]),
                    body.get("recordIdsToAdd") or [],
                    body.get("recordIdsToRemove") or [],
                ),
            )

    def m_read(req: Request) -> Response:
        limit = query_int(req, "limit", 100)
        if not 1 <= limit <= 250:
            raise validation_error("limit must be between 1 and 250")
        after = query_str(req, "after")
        with reg.lock:
            lst = reg.get(req.params["id"])
            ids = reg.members(lst)
            start = 0
            if after:
                import bisect

                start = bisect.bisect_right(ids, int(after)) if after.isdigit() else 0
            page = ids[start : start + limit]
            added = lst.members
            body: dict[str, Any] = {
                "results": [
                    {"recordId": str(i), "membershipTimestamp": iso(added.get(i, lst.updated))}
                    for i in page
                ],
                "total": len(ids),
            }
        if start + limit < len(ids):
            body["paging"] = {"next": {"after": str(page[-1]), "link": None}}
        return Response(200, body)

    def m_clear(req: Request) -> Response:
        with reg.lock:
            lst = reg.get(req.params["id"])
            change(lst, [], [])
            lst.members.clear()
        return Response(204)

    L = r"/crm/v3/lists"
    LID = L + r"/(?P<id>[^/]+)"
    routes.add("POST", L + "/search", search, "lists.search", READ)
    routes.add(
        "GET",
        L + r"/object-type-id/(?P<otid>[^/]+)/name/(?P<name>[^/]+)",
        by_name,
        "lists.by_name",
        READ,
    )
    routes.add("POST", L + "/?", create, "lists.create", WRITE)
    routes.add("GET", L + "/?", get_many, "lists.get_many", READ)
    routes.add("PUT", LID + "/update-list-filters", update_filters, "lists.update_filters", WRITE)
    routes.add("PUT", LID + "/update-list-name", rename, "lists.rename", WRITE)
    routes.add("PUT", LID + "/memberships/add", m_add, "lists.memberships.add", WRITE)
    routes.add("PUT", LID + "/memberships/remove", m_remove, "lists.memberships.remove", WRITE)
    routes.add("PUT", LID + "/memberships/add-and-remove", m_both, "lists.memberships.both", WRITE)
    routes.add("GET", LID + "/memberships", m_read, "lists.memberships.read", READ)
    routes.add("DELETE", LID + "/memberships", m_clear, "lists.memberships.clear", WRITE)
    routes.add("GET", LID + "/?", get_one, "lists.get", READ)
    routes.add("DELETE", LID + "/?", delete, "lists.delete", WRITE)
    return reg
