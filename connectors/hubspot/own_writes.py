"""crmseg's own writes in an incremental HubSpot pull.

crmseg's own writes (incremental only)
    crmseg's batch updates move the last-modified stamp of every record they
    write, so the next incremental pull finds them all again. The engine hands
    over the stamp HubSpot answered for each of crmseg's writes
    (:meth:`HubSpotConnector.recognise_own_writes`); a record found with
    exactly that stamp whose values equal the mirror's changed only by crmseg's
    write: it is dropped from the page and its associations are not read again.
    This is exact: an edit by someone else either moves the stamp or changes a
    value. HubSpot's search cannot leave those records out, so searching costs
    one request per 200 of them.

    When at least ``export_min`` (``[crm] own_write_export_min``) of crmseg's
    own writes are stamped since the cursor, the pull reads no search pages for
    that type: one CRM export filtered to ``lastmodifieddate >= since`` with the
    pulled properties (start, status polls, a download that is not an API call)
    holds every record modified since the cursor, and each is checked as
    above: crmseg's stamp and the mirror's values -> skipped, anything else ->
    processed (associations from the v4 read). A foreign edit made between
    crmseg's pull and its write of the same record keeps crmseg's stamp but
    shows in the exported values, so it is processed: still exact. Below
    ``export_min`` the few search pages are cheaper than an export (and spend
    none of the 30 exports a day). When HubSpot refuses the export (no
    ``crm.export`` scope, the daily cap) the pull warns once and searches.

    With ``HubSpotSettings.count_own_write_window`` (off by default) the pull
    does not read crmseg's write window [first, last own stamp] at all when one
    counting search (``total``, limit 1) finds exactly as many records stamped
    in it as crmseg wrote there (less those already found later): the window
    costs one request instead of ``N / 200`` searches and their association
    reads. Any foreign edit inside the window breaks the count and the window is
    read as usual. Not caught: an edit someone makes to a record between
    crmseg's pull and crmseg's write of that same record (the write's stamp
    hides it); such an edit waits for the next full pull
    (``full_pull_every_days``). This mode, when on, takes precedence over the
    export.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from connectors.base import Cursor, ObjectType, Page
from connectors.hubspot.pull_core import SEARCH_LIMIT, WireRecord, _CursorTracker, _id_key, _ms
from connectors.hubspot.records import ASSOCIATED_TYPES, LASTMOD, PLURAL
from connectors.hubspot.search_pull import SearchPull

__all__ = ["OwnWrites"]

#: Own writes below this many are not worth the counting search of their window.
WINDOW_MIN = SEARCH_LIMIT


class OwnWrites(SearchPull):
    """Incremental pulls that recognise records whose only change is crmseg's own write."""

    def _incremental(
        self, object_type: ObjectType, since: Cursor, requested: list[str]
    ) -> Iterator[Page[Any]]:
        tracker = _CursorTracker(since)
        lower = _ms(since.modified_at)
        seen = self._seen[object_type] = set()
        stamps = self._stamps(object_type, lower)
        counting = getattr(self.transport.settings, "count_own_write_window", False)
        exported = None if counting else self._export_changes(object_type, requested, lower, stamps)
        if exported is not None:
            yield from self._verify(object_type, requested, tracker, exported)
        elif not counting or len(stamps) < WINDOW_MIN:
            yield from self._range(object_type, requested, tracker, lower, "GTE", None)
        else:
            first, last = min(_ms(t) for t in stamps.values()), max(_ms(t) for t in stamps.values())
            yield from self._range(object_type, requested, tracker, lower, "GTE", first)
            yield from self._range(object_type, requested, tracker, last, "GT", None)
            expected = sum(1 for i in stamps if i not in seen)
            if self._count(object_type, first, last) == expected:
                # Every record stamped inside crmseg's own write window is one crmseg
                # wrote, still at the stamp of that write: nothing to read there.
                newest = max(stamps, key=lambda i: (_ms(stamps[i]), _id_key(i)))
                tracker.see(newest, stamps[newest])
                self.skipped += expected
                yield Page(records=[], deleted_ids=(), cursor=tracker.cursor)
            else:
                yield from self._range(object_type, requested, tracker, first, "GTE", last + 1)
        yield from self._archived(object_type, since, tracker)

    def _stamps(self, object_type: ObjectType, lower: int) -> dict[str, datetime]:
        own = self.own.get(object_type)
        return {i: t for i, t in own[0].items() if _ms(t) >= lower} if own else {}

    def verifiable(self, object_type: ObjectType, since: Cursor) -> int:
        """How many of crmseg's own writes since ``since`` an incremental pull checks
        without reading search pages of them (a filtered export or a counting search)."""
        n = len(self._stamps(object_type, _ms(since.modified_at)))
        if getattr(self.transport.settings, "count_own_write_window", False):
            return n if n >= WINDOW_MIN else 0
        return n if self.exporter is not None and 0 < self.export_min <= n else 0

    def _export_changes(
        self, object_type: ObjectType, requested: list[str], lower: int, stamps: Mapping[str, Any]
    ) -> Iterator[list[WireRecord]] | None:
        """Chunks of every record modified at or after ``lower``, read from one filtered
        export, when that is worth it; ``None``: search pages instead."""
        if self.exporter is None or self.export_min <= 0 or len(stamps) < self.export_min:
            return None
        props = self.mapper.export_properties(object_type, requested)
        since = {"propertyName": LASTMOD[object_type], "operator": "GTE", "value": str(lower)}
        return self.exporter.filtered(
            object_type,
            props,
            [since],
            "crmseg's own writes are checked on search pages instead (one request per 200)",
        )

    def _verify(
        self,
        object_type: ObjectType,
        requested: list[str],
        tracker: _CursorTracker,
        chunks: Iterator[list[WireRecord]],
    ) -> Iterator[Page[Any]]:
        """Pages of the exported records that are more than crmseg's own write."""
        assoc_types = ASSOCIATED_TYPES[object_type]
        seen = self._seen.setdefault(object_type, set())
        for wires in chunks:
            deleted = [
                x
                for w in wires
                for x in (w.properties.get("hs_merged_object_ids") or "").split(";")
            ]
            wires = self._drop_own(object_type, wires, requested, tracker)
            seen.update(w.id for w in wires)
            if wires and assoc_types:
                ids = [w.id for w in wires]
                self._fill_associations(object_type, wires, {t: ids for t in assoc_types})
            if wires or any(deleted):
                yield self._page(object_type, wires, requested, tracker, [x for x in deleted if x])
        # the skipped records moved the cursor: hand it over even when nothing changed
        yield Page(records=[], deleted_ids=(), cursor=tracker.cursor)

    def _count(self, object_type: ObjectType, first: int, last: int) -> int:
        """How many records search holds with a last-modified stamp in [first, last]."""
        lastmod = LASTMOD[object_type]
        api = self.transport.api(f"crm.{PLURAL[object_type]}.search_api")
        body = {
            "filterGroups": [
                {
                    "filters": [
                        {"propertyName": lastmod, "operator": "GTE", "value": str(first)},
                        {"propertyName": lastmod, "operator": "LTE", "value": str(last)},
                    ]
                }
            ],
            "sorts": [{"propertyName": lastmod, "direction": "ASCENDING"}],
            "properties": ["hs_object_id"],
            "limit": 1,
            "after": "0",
        }
        resp = self.transport.call_json(
            "objects.search", api.do_search, public_object_search_request=body, bucket="search"
        )
        total = resp.get("total") if isinstance(resp, dict) else None
        return int(total or 0)
