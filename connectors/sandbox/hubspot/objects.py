"""HTTP handlers for ``/crm/v3/objects/{type}``: list, get, create, archive, merge and
the batch read / update / upsert / create / archive family (notes section 1).

Why these details matter: connectors page until ``paging`` is absent, treat
207 as partial success with per-id errors, and rely on the server-maintained
``hs_object_id`` / ``createdate`` / last-modified stamps -- the stand-in must
reproduce each of these exactly, including limits (100 per page / batch, 50
with property history) and silent omission of merged-away ids in updates.
"""

from __future__ import annotations

from typing import Any

from connectors.sandbox._server import HttpError, Request, Response
from connectors.sandbox.hubspot import associations
from connectors.sandbox.hubspot.errors import api_error, not_found, validation_error
from connectors.sandbox.hubspot.object_types import LASTMOD
from connectors.sandbox.hubspot.record import Record, iso_ms
from connectors.sandbox.hubspot.routing import ID, OBJ, Routes, object_scope, object_type
from connectors.sandbox.hubspot.state import State
from connectors.sandbox.hubspot.wire import (
    batch_envelope,
    body_object,
    decode_cursor,
    encode_cursor,
    iso,
    now_ms,
    query_bool,
    query_int,
    query_list,
    query_str,
)

BASE = r"/crm/v3/objects/" + OBJ
DEFAULT_PROPS = {
    "contacts": ("firstname", "lastname", "email"),
    "companies": ("name", "domain"),
    "deals": ("dealname", "amount", "closedate", "pipeline", "dealstage"),
}


def shown_props(object_type: str, requested: list[str]) -> list[str]:
    """Requested (or default) properties plus the always-present server stamps."""
    base = list(requested) if requested else list(DEFAULT_PROPS[object_type])
    return base + [p for p in ("createdate", LASTMOD[object_type], "hs_object_id") if p not in base]


def record_json(
    object_type: str, rec: Record, props: list[str], history: list[str] | None = None
) -> dict[str, Any]:
    values = rec.props
    out: dict[str, Any] = {
        "id": str(rec.id),
        "properties": {p: values.get(p) for p in props},
        "createdAt": iso_ms(rec.created),
        "updatedAt": iso_ms(rec.updated),
        "archived": rec.archived,
    }
    if rec.archived_at is not None:
        out["archivedAt"] = iso(rec.archived_at)
    if history:
        out["propertiesWithHistory"] = {
            p: (
                [{"value": rec.props[p], "timestamp": iso(rec.updated), "sourceType": "API"}]
                if rec.props.get(p) is not None
                else []
            )
            for p in history
        }
    return out


def not_found_error(object_type: str, ids: list[str], **context: list[str]) -> dict[str, Any]:
    noun = {"contacts": "CONTACT", "companies": "COMPANY", "deals": "DEAL"}[object_type]
    return {
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "message": f"Could not get some {noun} objects, they may be deleted or not exist. "
        "Check that ids are valid.",
        "context": {"ids": ids, **context},
        "errors": [],
        "links": {},
    }


def register(routes: Routes, state: State) -> None:
    store, schema = state.store, state.schema
    read, write = object_scope("read"), object_scope("write")

    def resolve(t: str, key: str, id_property: str | None, archived: bool = False) -> Record | None:
        if id_property in (None, "", "hs_object_id"):
            if not key.isdigit():
                return None
            # an id merged away answers the record it was merged into (FACTS.md)
            return store.get(t, int(key), archived=True) if archived else store.resolve(t, int(key))
        if t == "contacts" and id_property == "email":
            rec = store.by_email(key)
            return rec if rec is not None and rec.archived == archived else None
        prop = schema.get(t, id_property)
        if prop is None or not prop.has_unique_value:
            raise validation_error(f"Unable to perform lookup by non-unique {id_property} property")
        ids = store.ids(t, archived=archived)
        recs = store.records(t)
        return next((recs[i] for i in ids if recs[i].props.get(id_property) == key), None)

    def list_page(req: Request) -> Response:
        t = object_type(req)
        history = query_list(req, "propertiesWithHistory")
        limit = query_int(req, "limit", 10)
        cap = 50 if history else 100
        if limit < 1 or limit > cap:
            raise validation_error(f"limit must be between 1 and {cap}")
        archived = query_bool(req, "archived")
        props = shown_props(t, query_list(req, "properties"))
        assoc_types = query_list(req, "associations")
        with store.lock:
            ids, nxt = store.page_ids(
                t, decode_cursor(query_str(req, "after")), limit, archived=archived
            )
            recs = store.records(t)
            results = []
            for rid in ids:
                item = record_json(t, recs[rid], props, history)
                if assoc_types:
                    item["associations"] = associations.inline(store, t, rid, assoc_types)
                results.append(item)
        body: dict[str, Any] = {"results": results}
        if nxt is not None:
            cursor = encode_cursor(nxt)
            body["paging"] = {
                "next": {"after": cursor, "link": f"/crm/v3/objects/{t}?after={cursor}"}
            }
        return Response(200, body)

    def get_one(req: Request) -> Response:
        t = object_type(req)
        rec = resolve(
            t, req.params["id"], query_str(req, "idProperty"), query_bool(req, "archived")
        )
        if rec is None:
            raise not_found(
                f"Object not found.  objectId are usually numeric.  id: {req.params['id']}"
            )
        item = record_json(
            t,
            rec,
            shown_props(t, query_list(req, "properties")),
            query_list(req, "propertiesWithHistory"),
        )
        assoc_types = query_list(req, "associations")
        if assoc_types:
            item["associations"] = associations.inline(store, t, rec.id, assoc_types)
        return Response(200, item)

    def inputs_of(body: dict[str, Any], cap: int = 100) -> list[dict[str, Any]]:
        inputs = body.get("inputs")
        if not isinstance(inputs, list):
            raise validation_error("inputs is required")
        if len(inputs) > cap:
            raise validation_error(
                f"The maximum number of inputs per batch request is {cap}; got {len(inputs)}",
                context={"maxInputs": [str(cap)]},
            )
        return inputs

    def batch_read(req: Request) -> Response:
        t = object_type(req)
        body = body_object(req)
        history = body.get("propertiesWithHistory") or []
        cap = 50 if history else 100
        inputs = body.get("inputs") or []
        if history and len(inputs) > 50:
            raise validation_error(
                "The maximum number of inputs per batch read request for "
                f"property histories is 50; got {len(inputs)}"
            )
        inputs = inputs_of(body, cap)
        props = shown_props(t, body.get("properties") or [])
        archived = query_bool(req, "archived")
        started, results, missing = now_ms(), [], []
        with store.lock:
            for item in inputs:
                rec = resolve(t, str(item.get("id", "")), body.get("idProperty"), archived)
                if rec is None:
                    missing.append(str(item.get("id")))
                else:
                    results.append(record_json(t, rec, props, history))
        errs = [not_found_error(t, missing)] if missing else []
        return batch_envelope(results, errs, started)

    def injected(inputs: list[dict[str, Any]]) -> set[int]:
        """Indexes of inputs the on-demand partial-failure switch makes fail."""
        p = state.partial
        if p.batches <= 0:
            return set()
        p.batches -= 1
        return {
            i
            for i, item in enumerate(inputs)
            if str(item.get("id")) in p.ids or (p.every and (i + 1) % p.every == 0)
        }

    def injected_error(item: dict[str, Any]) -> dict[str, Any]:
        ctx = {"ids": [str(item.get("id"))]}
        if item.get("objectWriteTraceId"):
            ctx["objectWriteTraceId"] = [str(item["objectWriteTraceId"])]
        return {
            "status": "error",
            "category": state.partial.category,
            "message": state.partial.message,
            "context": ctx,
            "errors": [],
            "links": {},
        }

    def checked_inputs(
        t: str, inputs: list[dict[str, Any]]
    ) -> tuple[list[dict[str, str | None] | None], list[dict[str, Any]]]:
        """Validated values per input. When every input carries an
        ``objectWriteTraceId``, an invalid input fails alone (a per-input error for
        a 207, value ``None``); otherwise one invalid input fails the whole batch
        with a 400 (FACTS.md, batch update)."""
        traced = (
            state.traced_updates_multi_status
            and bool(inputs)
            and all(item.get("objectWriteTraceId") for item in inputs)
        )
        if not traced:
            return [schema.validate(t, item.get("properties") or {}) for item in inputs], []
        values: list[dict[str, str | None] | None] = []
        errors: list[dict[str, Any]] = []
        for item in inputs:
            try:
                values.append(schema.validate(t, item.get("properties") or {}))
            except HttpError as err:
                values.append(None)
                body = err.response.body
                errors.append(
                    {
                        "status": "error",
                        "category": body.get("category", "VALIDATION_ERROR"),
                        "message": body.get("message", "Property values were not valid"),
                        "context": {
                            "ids": [str(item.get("id"))],
                            "objectWriteTraceId": [str(item["objectWriteTraceId"])],
                        },
                        "errors": body.get("errors", []),
                        "links": {},
                    }
                )
        return values, errors

    def batch_update(req: Request) -> Response:
        t = object_type(req)
        inputs = inputs_of(body_object(req))
        started, results = now_ms(), []
        with store.lock:
            checked, errors = checked_inputs(t, inputs)
            fail = injected(inputs)
            for i, (item, values) in enumerate(zip(inputs, checked, strict=True)):
                if values is None:
                    continue  # its error is in ``errors``
                if i in fail:
                    errors.append(injected_error(item))
                    continue
                idp = item.get("idProperty")
                if idp and idp != "hs_object_id":
                    prop = schema.get(t, idp)
                    if prop is None or not prop.has_unique_value:
                        oid = {"contacts": "0-1", "companies": "0-2", "deals": "0-3"}[t]
                        raise validation_error(
                            f"Unable to perform update/upsert by non-unique {oid} property"
                        )
                key = str(item.get("id", ""))
                raw = store.records(t).get(int(key)) if key.isdigit() else None
                if raw is not None and raw.merged_into is not None:
                    continue  # merged-away ids vanish silently (notes 1.4)
                rec = resolve(t, key, idp)
                if rec is None:
                    e = not_found_error(t, [key])
                    if item.get("objectWriteTraceId"):
                        e["context"]["objectWriteTraceId"] = [str(item["objectWriteTraceId"])]
                    errors.append(e)
                    continue
                rec = store.update(t, rec.id, values)
                out = record_json(t, rec, list(values) + shown_props(t, []))
                if item.get("objectWriteTraceId"):
                    out["objectWriteTraceId"] = str(item["objectWriteTraceId"])
                results.append(out)
        return batch_envelope(results, errors, started)

    def batch_upsert(req: Request) -> Response:
        t = object_type(req)
        inputs = inputs_of(body_object(req))
        keys = [(str(item.get("idProperty") or ""), str(item.get("id", ""))) for item in inputs]
        if any(not idp or not key for idp, key in keys):
            raise validation_error("Every upsert input needs id and idProperty")
        if len({(idp, k.lower()) for idp, k in keys}) != len(keys):
            raise validation_error("Duplicate IDs found in batch input")
        started, results, errors = now_ms(), [], []
        with store.lock:
            checked = [schema.validate(t, item.get("properties") or {}) for item in inputs]
            fail = injected(inputs)
            for i, ((idp, key), values) in enumerate(zip(keys, checked, strict=True)):
                if i in fail:
                    errors.append(injected_error(inputs[i]))
                    continue
                if not (t == "contacts" and idp == "email"):
                    prop = schema.get(t, idp)
                    if idp != "hs_object_id" and (prop is None or not prop.has_unique_value):
                        oid = {"contacts": "0-1", "companies": "0-2", "deals": "0-3"}[t]
                        raise validation_error(
                            f"Unable to perform update/upsert by non-unique {oid} property"
                        )
                rec = resolve(t, key, idp)
                if rec is None:
                    rec, new = store.create(t, {**values, idp: key}), True
                else:
                    rec, new = store.update(t, rec.id, values), False
                item = record_json(t, rec, list(values) + shown_props(t, []))
                item["new"] = new
                results.append(item)
        return batch_envelope(results, errors, started)

    def create_one(t: str, body: dict[str, Any]) -> Record:
        values = schema.validate(t, body.get("properties") or {})
        if t == "contacts" and values.get("email") and store.by_email(values["email"] or ""):
            existing = store.by_email(values["email"] or "")
            raise api_error(
                409,
                "CONFLICT",
                f"Contact already exists. Existing ID: {existing.id}"
                if existing
                else "Contact already exists.",
            )
        rec = store.create(t, values)
        for a in body.get("associations") or []:
            to = a.get("to", {}).get("id")
            to_type = associations.type_for_ids(a.get("types") or [], t)
            if to and to_type:
                store.associate(t, rec.id, to_type, int(to))
        return rec

    def create(req: Request) -> Response:
        t = object_type(req)
        with store.lock:
            rec = create_one(t, body_object(req))
        return Response(201, record_json(t, rec, shown_props(t, list(rec.props))))

    def batch_create(req: Request) -> Response:
        t = object_type(req)
        inputs = inputs_of(body_object(req))
        started, results = now_ms(), []
        with store.lock:
            for item in inputs:
                rec = create_one(t, item)
                results.append(record_json(t, rec, shown_props(t, list(rec.props))))
        resp = batch_envelope(results, [], started)
        resp.status = 201
        return resp

    def archive(req: Request) -> Response:
        t = object_type(req)
        key = req.params["id"]
        if key.isdigit():
            store.archive(t, int(key))
        return Response(204)  # archiving a missing id is not an error on HubSpot

    def batch_archive(req: Request) -> Response:
        t = object_type(req)
        for item in inputs_of(body_object(req)):
            key = str(item.get("id", ""))
            if key.isdigit():
                store.archive(t, int(key))
        return Response(204)

    def merge(req: Request) -> Response:
        t = object_type(req)
        body = body_object(req)
        try:
            rec = store.merge(t, int(body["primaryObjectId"]), int(body["objectIdToMerge"]))
        except (KeyError, ValueError, TypeError):
            raise validation_error(
                "primaryObjectId and objectIdToMerge must be existing, different records"
            ) from None
        return Response(200, record_json(t, rec, [*shown_props(t, []), "hs_merged_object_ids"]))

    routes.add("POST", BASE + r"/batch/read", batch_read, "objects.batch.read", read)
    routes.add("POST", BASE + r"/batch/update", batch_update, "objects.batch.update", write)
    routes.add("POST", BASE + r"/batch/upsert", batch_upsert, "objects.batch.upsert", write)
    routes.add("POST", BASE + r"/batch/create", batch_create, "objects.batch.create", write)
    routes.add("POST", BASE + r"/batch/archive", batch_archive, "objects.batch.archive", write)
    routes.add("POST", BASE + r"/merge", merge, "objects.merge", write)
    routes.add("GET", BASE + "/?", list_page, "objects.list", read)
    routes.add("POST", BASE + "/?", create, "objects.create", write)
    routes.add("GET", BASE + "/" + ID, get_one, "objects.get", read)
    routes.add("DELETE", BASE + "/" + ID, archive, "objects.archive", write)
