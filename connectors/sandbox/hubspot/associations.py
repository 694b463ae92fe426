"""Associations: inline v3 ``associations=`` blocks and the v4 read endpoints (notes 3).

The traps reproduced on purpose: each primary edge appears twice in v3 inline
results (``contact_to_company`` and ``contact_to_company_unlabeled``), v4
``toObjectId`` is a JSON number, and a v4 batch read input without
associations turns the whole answer into a 207 with
``crm.associations.NO_ASSOCIATIONS_FOUND`` -- clients must read that as "empty".

Association types carry ``category``: ``HUBSPOT_DEFINED`` ones (primary,
unlabelled -- whose ``label`` is null) and ``USER_DEFINED`` custom labels,
whose small portal-local typeIds collide with HubSpot's own (a captured answer
shows ``USER_DEFINED`` typeId 1, the number of the primary contact->company
type). Every edge also carries the unlabelled type. See ``FACTS.md``.
"""

from __future__ import annotations

from typing import Any

from connectors.sandbox._server import Request, Response
from connectors.sandbox.hubspot.edges import Label
from connectors.sandbox.hubspot.errors import validation_error
from connectors.sandbox.hubspot.object_types import SINGULAR, canonical
from connectors.sandbox.hubspot.routing import Routes, object_scope, object_type
from connectors.sandbox.hubspot.state import State
from connectors.sandbox.hubspot.store import Store
from connectors.sandbox.hubspot.wire import (
    batch_envelope,
    body_object,
    decode_cursor,
    encode_cursor,
    query_int,
    query_str,
)

# (from, to) -> (primary typeId, unlabeled typeId or None)  [notes 3.2]
TYPE_IDS: dict[tuple[str, str], tuple[int, int | None]] = {
    ("contacts", "companies"): (1, 279),
    ("companies", "contacts"): (2, 280),
    ("deals", "contacts"): (3, None),
    ("contacts", "deals"): (4, None),
    ("deals", "companies"): (5, 341),
    ("companies", "deals"): (6, 342),
}
INLINE_CAP = 100
V4_PAGE = 500
V4_BATCH_CAP = 1000


def type_for_ids(types: list[dict[str, Any]], from_type: str) -> str | None:
    """Target object type of a create-time association spec, from its typeId."""
    for spec in types:
        for (f, t), ids in TYPE_IDS.items():
            if f == from_type and spec.get("associationTypeId") in ids:
                return t
    return None


def label_name(label: Label) -> str:
    """The v3 ``type`` of a custom-labelled edge: the label's internal name
    (lower-case, ``_`` for spaces). Unverified; it only needs to be a name that
    is neither the primary type's nor ends in ``_unlabeled``."""
    return "_".join(label.label.lower().split())


def _v3_types(
    from_type: str, to_type: str, primary: bool, labels: tuple[Label, ...] = ()
) -> list[str]:
    name = f"{SINGULAR[from_type]}_to_{SINGULAR[to_type]}"
    _p, unlabeled = TYPE_IDS[(from_type, to_type)]
    custom = [label_name(lab) for lab in labels]
    if unlabeled is None:
        return [name, *custom]
    return ([name] if primary else []) + [f"{name}_unlabeled", *custom]


def _v4_types(
    from_type: str, to_type: str, primary: bool, labels: tuple[Label, ...] = ()
) -> list[dict[str, Any]]:
    p, unlabeled = TYPE_IDS[(from_type, to_type)]
    custom = [
        {"category": "USER_DEFINED", "typeId": lab.type_id, "label": lab.label} for lab in labels
    ]
    if unlabeled is None:
        return [{"category": "HUBSPOT_DEFINED", "typeId": p, "label": None}, *custom]
    out = [{"category": "HUBSPOT_DEFINED", "typeId": unlabeled, "label": None}]
    if primary:
        out.append({"category": "HUBSPOT_DEFINED", "typeId": p, "label": "Primary"})
    return out + custom


def inline(store: Store, from_type: str, from_id: int, to_types: list[str]) -> dict[str, Any]:
    """The v3 ``associations`` block of one record (keys are plural type names)."""
    out: dict[str, Any] = {}
    for raw in to_types:
        to_type = canonical(raw)
        if to_type is None or (from_type, to_type) not in TYPE_IDS:
            continue
        rows = [
            {"id": str(tid), "type": name}
            for tid, primary in store.associated(from_type, from_id, to_type)
            for name in _v3_types(
                from_type, to_type, primary, store.labels(from_type, from_id, to_type, tid)
            )
        ]
        if not rows:
            continue
        block: dict[str, Any] = {"results": rows[:INLINE_CAP]}
        if len(rows) > INLINE_CAP:
            block["paging"] = {"next": {"after": encode_cursor(INLINE_CAP), "link": None}}
        out[to_type] = block
    return out


def _v4_page(
    store: Store, f: str, fid: int, t: str, after: int, limit: int
) -> tuple[list[dict[str, Any]], str | None]:
    edges = store.associated(f, fid, t)
    page = edges[after : after + limit]
    rows = [
        {
            "toObjectId": tid,
            "associationTypes": _v4_types(f, t, primary, store.labels(f, fid, t, tid)),
        }
        for tid, primary in page
    ]
    return rows, (encode_cursor(after + limit) if after + limit < len(edges) else None)


def register(routes: Routes, state: State) -> None:
    store = state.store
    read = object_scope("read")

    def pair(req: Request, a: str, b: str) -> tuple[str, str]:
        f, t = object_type(req, a), object_type(req, b)
        if (f, t) not in TYPE_IDS:
            raise validation_error(f"No association definition between {f} and {t}")
        return f, t

    def per_record(req: Request) -> Response:
        f, t = pair(req, "type", "to_type")
        limit = query_int(req, "limit", V4_PAGE)
        if not 1 <= limit <= V4_PAGE:
            raise validation_error(f"limit must be between 1 and {V4_PAGE}")
        key = req.params["id"]
        rows: list[dict[str, Any]] = []
        nxt: str | None = None
        if key.isdigit():
            with store.lock:
                rows, nxt = _v4_page(
                    store, f, int(key), t, decode_cursor(query_str(req, "after")), limit
                )
        body: dict[str, Any] = {"results": rows}
        if nxt:
            body["paging"] = {"next": {"after": nxt, "link": None}}
        return Response(200, body)

    def batch_read(req: Request) -> Response:
        f, t = pair(req, "from_type", "to_type")
        inputs = body_object(req).get("inputs")
        if not isinstance(inputs, list):
            raise validation_error("inputs is required")
        if len(inputs) > V4_BATCH_CAP:
            raise validation_error(f"Batch input limit is {V4_BATCH_CAP}; got {len(inputs)}")
        results, errors = [], []
        with store.lock:
            for item in inputs:
                key = str(item.get("id", ""))
                rows: list[dict[str, Any]] = []
                nxt: str | None = None
                if key.isdigit() and store.get(f, int(key)) is not None:
                    rows, nxt = _v4_page(
                        store, f, int(key), t, decode_cursor(item.get("after")), V4_PAGE
                    )
                if not rows:
                    errors.append(
                        {
                            "status": "error",
                            "category": "OBJECT_NOT_FOUND",
                            "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                            "message": f"No {SINGULAR[t]} is associated with {SINGULAR[f]} {key}.",
                            "context": {
                                "fromObjectId": [key],
                                "fromObjectType": [SINGULAR[f]],
                                "toObjectType": [SINGULAR[t]],
                            },
                            "errors": [],
                            "links": {},
                        }
                    )
                    continue
                res: dict[str, Any] = {"from": {"id": key}, "to": rows}
                if nxt:
                    res["paging"] = {"next": {"after": nxt, "link": None}}
                results.append(res)
        return batch_envelope(results, errors)

    routes.add(
        "GET",
        r"/crm/v4/objects/(?P<type>[^/]+)/(?P<id>[^/]+)/associations/"
        r"(?P<to_type>[^/]+)/?",
        per_record,
        "associations.v4.get",
        read,
    )
    routes.add(
        "POST",
        r"/crm/v4/associations/(?P<from_type>[^/]+)/(?P<to_type>[^/]+)"
        r"/batch/read",
        batch_read,
        "associations.v4.batch.read",
        read,
        bucket="exempt",
    )
