"""crmseg's own writes in an incremental HubSpot pull.

crmseg's own writes (incremental only)
    crmseg's batch updates move the last-modified stamp of every record they
    write, so the next incremental pull finds them all again. The engine hands
    over the stamp HubSpot answered for each of crmseg's writes
    (:meth:`HubSpotConnector.recognise_own_writes`); a record found with
    exactly that stamp whose values equal the mirror's changed only by crmseg's
    write: it is dropped from the page and its associations are not read again.
    This is exact: an edit by someone else either moves the stamp or changes a
    value. The searches still return those records (HubSpot's search cannot
    exclude them), so the request count stays.

    With ``HubSpotSettings.count_own_write_window`` (off by default) the pull
    does not read crmseg's write window [first, last own stamp] at all when one
    counting search (``total``, limit 1) finds exactly as many records stamped
    in it as crmseg wrote there (less those already found later): the window
    costs one request instead of ``N / 200`` searches and their association
    reads. Any foreign edit inside the window breaks the count and the window is
    read as usual. Not caught: an edit someone makes to a record between
    crmseg's pull and crmseg's write of that same record (the write's stamp
    hides it); such an edit waits for the next full pull
    (``full_pull_every_days``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from connectors.base import Cursor, ObjectType, Page
from connectors.hubspot.pull_core import SEARCH_LIMIT, WireRecord, _CursorTracker, _id_key, _ms
from connectors.hubspot.records import LASTMOD, PLURAL
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
        stamps = {
            i: t for i, t in self.own.get(object_type, ({}, None))[0].items() if _ms(t) >= lower
        }
        counting = getattr(self.transport.settings, "count_own_write_window", False)
        if not counting or len(stamps) < WINDOW_MIN:
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
        resp = self.transport.call(
            "objects.search", api.do_search, public_object_search_request=body, bucket="search"
        )
        return int(getattr(resp, "total", -1) or 0)

    def _drop_own(
        self,
        object_type: ObjectType,
        wires: list[WireRecord],
        requested: Sequence[str],
        tracker: _CursorTracker,
    ) -> list[WireRecord]:
        """``wires`` without the records whose only change is crmseg's own write: the
        stamp is the one its write got and the values equal the mirror's. Their
        associations are not read again."""
        own = self.own.get(object_type)
        if own is None or not wires:
            return wires
        stamps, unchanged = own
        mine = [
            w
            for w in wires
            if w.id in stamps
            and w.updated_at is not None
            and _ms(w.updated_at) == _ms(stamps[w.id])
        ]
        if not mine:
            return wires
        same = unchanged([self.mapper.record(object_type, w, requested) for w in mine])
        if not same:
            return wires
        self.skipped += len(same)
        for w in wires:
            if w.id in same:
                tracker.see(w.id, w.updated_at)
        return [w for w in wires if w.id not in same]
