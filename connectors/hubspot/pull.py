"""Pulling contacts, companies and deals from HubSpot as pages of canonical records.

Full pull (``since is None``)
    The list endpoint (``GET /crm/v3/objects/{type}``, 100 per page, ``after``
    cursor; no 10k cap) with properties and inline associations (contacts ->
    companies; deals -> contacts, companies). Inline association lists are capped
    (~100) and carry their own ``paging.next``; such records get their complete
    association list from the v4 batch read (exempt bucket, <= 1,000 inputs,
    500 per input and page, 207 + ``NO_ASSOCIATIONS_FOUND`` = empty). When the
    property list would push the URL past ~2,000 characters, the list call asks
    for ids only and the properties come from ``batch/read`` (POST body).
    One :class:`Page` per API page; ``deleted_ids`` is empty: a full pull is the
    complete set of live records and the engine replaces its mirror with it.

Every answer is read as JSON (:meth:`Transport.call_json
<connectors.hubspot.transport.Transport.call_json>`, :mod:`connectors.hubspot.pull_json`),
not built into the client's generated models: that cost more CPU than anything else.

Incremental pull (``since`` given)
    Search pages over the last-modified stamp: :mod:`connectors.hubspot.search_pull`
    (paging, merged and archived ids) and :mod:`connectors.hubspot.own_writes`
    (records whose only change is crmseg's own write). Cursors and the helpers
    every pull shares: :mod:`connectors.hubspot.pull_core`.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urlencode

from connectors.base import Cursor, ObjectType, Page, chunks
from connectors.hubspot.own_writes import OwnWrites
from connectors.hubspot.pull_core import (
    BATCH_READ_MAX,
    LIST_LIMIT,
    MAX_URL,
    URL_OVERHEAD,
    WireRecord,
    _CursorTracker,
)
from connectors.hubspot.pull_json import inline_associations, next_after, results, wire
from connectors.hubspot.records import ASSOCIATED_TYPES, PLURAL

__all__ = ["Puller"]


class Puller(OwnWrites):
    """Full and incremental pulls for one transport and record mapping."""

    # -- entry point ---------------------------------------------------------------
    def pull(
        self, object_type: ObjectType, since: Cursor | None, properties: Sequence[str] = ()
    ) -> Iterator[Page[Any]]:
        requested = list(dict.fromkeys(properties))
        if since is None:
            yield from self._full(object_type, requested)
        else:
            yield from self._incremental(object_type, since, requested)

    # -- full pull -------------------------------------------------------------------
    def _url_too_long(self, props: Sequence[str]) -> bool:
        query = urlencode([("properties", p) for p in props])
        return len(query) + URL_OVERHEAD > MAX_URL

    def _full(self, object_type: ObjectType, requested: list[str]) -> Iterator[Page[Any]]:
        plural = PLURAL[object_type]
        api = self.transport.api(f"crm.{plural}.basic_api")
        props = self.mapper.wire_properties(object_type, requested)
        by_batch_read = self._url_too_long(props)
        assoc_types = list(ASSOCIATED_TYPES[object_type])
        tracker = _CursorTracker(None)
        after: str | None = None
        while True:
            kw: dict[str, Any] = {
                "limit": LIST_LIMIT,
                "properties": ["hs_object_id"] if by_batch_read else props,
                "archived": False,
            }
            if assoc_types:
                kw["associations"] = assoc_types
            if after:
                kw["after"] = after
            resp = self.transport.call_json("objects.list", api.get_page, **kw)
            wires: list[WireRecord] = []
            capped: dict[str, list[str]] = {t: [] for t in assoc_types}
            for obj in results(resp):
                w = wire(obj, object_type)
                for to_plural in assoc_types:
                    inline = inline_associations(obj, to_plural)
                    if inline is None:
                        continue
                    w.associations[to_plural], more = inline
                    if more:
                        capped[to_plural].append(w.id)
                wires.append(w)
            if by_batch_read and wires:
                self._read_properties(object_type, wires, props)
            self._fill_associations(object_type, wires, capped)
            yield self._page(object_type, wires, requested, tracker)
            after = next_after(resp)
            if not after:
                return

    def _read_properties(
        self, object_type: ObjectType, wires: list[WireRecord], props: list[str]
    ) -> None:
        api = self.transport.api(f"crm.{PLURAL[object_type]}.batch_api")
        by_id = {w.id: w for w in wires}
        ids = list(by_id)
        for chunk in chunks(ids, BATCH_READ_MAX):
            body = {
                "inputs": [{"id": i} for i in chunk],
                "properties": props,
                "propertiesWithHistory": [],
            }
            resp = self.transport.call_json("objects.batch.read", api.read, body, archived=False)
            for obj in results(resp):
                w = by_id.get(str(obj["id"]))
                if w is not None:
                    fresh = wire(obj, object_type)
                    w.properties = fresh.properties
                    w.updated_at = fresh.updated_at or w.updated_at
