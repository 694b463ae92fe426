"""Incremental HubSpot pulls through the search endpoint, and the deletions since a cursor.

Incremental pull (``since`` given)
    Search on the last-modified property (contacts ``lastmodifieddate``,
    companies/deals ``hs_lastmodifieddate``) ``GTE since`` (epoch ms), sorted
    ascending, 200 per page, search bucket. Every page is a new query that starts
    from the last timestamp seen (key-set paging), never an offset into an old
    one: a record modified *during* the pull moves to the end of the result set,
    and with offsets that would shift the not-yet-read records by one and skip
    one of them for good. So:

    * the next page is ``GTE <last timestamp seen>``, ``after`` 0;
    * when a whole page shares ONE timestamp ``T`` (month-end bulk updates),
      restarting cannot progress: it switches to key-set paging on the id
      (``lastmod EQ T AND hs_object_id GT <last id>``, sorted by
      ``hs_object_id``) and afterwards continues with ``lastmod GT T``;
    * an empty page that still carries ``paging.next`` is followed by its offset
      (HubSpot returns such pages); the query is restarted at the next
      non-empty one. The 10,000-result cap is never reached.

    Every restart strictly advances (timestamp, or id within one timestamp), so
    the pull always ends. Records at the newest timestamp already yielded are
    skipped on a restart; otherwise a record may arrive twice (the engine
    upserts). Search results carry no associations: they are fetched with the
    v4 batch read for each page's ids.

Deletions (incremental only)
    ``Page.deleted_ids`` holds ids the engine must remove from its mirror:
    ids merged away (read from each changed survivor's ``hs_merged_object_ids``,
    on the page of that survivor) and ids archived since the cursor (list
    endpoint with ``archived=true``, ``archivedAt >= since``; one final page
    with no records). A deleted id may be reported more than once.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from connectors.base import Cursor, ObjectType, Page
from connectors.errors import CrmError
from connectors.hubspot.pull_core import (
    LIST_LIMIT,
    MAX_RESTARTS,
    SEARCH_LIMIT,
    SEARCH_MAX_OFFSET,
    PullCore,
    WireRecord,
    _CursorTracker,
    _ms,
    _Window,
)
from connectors.hubspot.pull_json import next_after, results, timestamp, wire
from connectors.hubspot.records import ASSOCIATED_TYPES, LASTMOD, PLURAL

__all__ = ["SearchPull"]


class SearchPull(PullCore):
    """Search pages over a last-modified range (key-set restarts) and archived ids."""

    def _range(
        self,
        object_type: ObjectType,
        requested: list[str],
        tracker: _CursorTracker,
        lower: int,
        op: str,
        upper: int | None,
    ) -> Iterator[Page[Any]]:
        """Records with a last-modified stamp ``op`` ``lower`` (and below ``upper``)."""
        plural = PLURAL[object_type]
        lastmod = LASTMOD[object_type]
        props = self.mapper.wire_properties(object_type, requested)
        below = (
            [{"propertyName": lastmod, "operator": "LT", "value": str(upper)}]
            if upper is not None
            else []
        )
        for _ in range(MAX_RESTARTS):
            window = _Window()
            yield from self._search(
                object_type,
                [{"propertyName": lastmod, "operator": op, "value": str(lower)}, *below],
                lastmod,
                props,
                requested,
                tracker,
                window,
            )
            if window.complete:
                break
            if window.first_ts is None or window.last_ts is None:
                raise CrmError(
                    f"search {plural}: 10,000 results without a single record; cannot page on",
                    crm="hubspot",
                )
            if window.first_ts == window.last_ts or window.last_ts <= lower:
                ts = max(window.last_ts, lower)
                yield from self._keyset(object_type, ts, lastmod, props, requested, tracker)
                lower, op = ts, "GT"
            else:
                lower, op = window.last_ts, "GTE"
        else:
            raise CrmError(f"search {plural}: gave up after {MAX_RESTARTS} restarts", crm="hubspot")

    def _keyset(
        self,
        object_type: ObjectType,
        ts: int,
        lastmod: str,
        props: list[str],
        requested: list[str],
        tracker: _CursorTracker,
    ) -> Iterator[Page[Any]]:
        """All records whose last-modified stamp is exactly ``ts``, by ascending id."""
        last_id = 0
        for _ in range(MAX_RESTARTS):
            window = _Window()
            yield from self._search(
                object_type,
                [
                    {"propertyName": lastmod, "operator": "EQ", "value": str(ts)},
                    {"propertyName": "hs_object_id", "operator": "GT", "value": str(last_id)},
                ],
                "hs_object_id",
                props,
                requested,
                tracker,
                window,
            )
            if window.complete:
                return
            if window.max_id is None or window.max_id <= last_id:
                raise CrmError(
                    f"search {PLURAL[object_type]}: key-set paging made no progress at id "
                    f"{last_id}",
                    crm="hubspot",
                )
            last_id = window.max_id
        raise CrmError(f"search {PLURAL[object_type]}: key-set paging did not end", crm="hubspot")

    def _search(
        self,
        object_type: ObjectType,
        filters: list[dict[str, str]],
        sort_by: str,
        props: list[str],
        requested: list[str],
        tracker: _CursorTracker,
        window: _Window,
    ) -> Iterator[Page[Any]]:
        """One non-empty page of one query (offsets followed only past empty pages);
        ``window.complete`` when the query has nothing after it."""
        plural = PLURAL[object_type]
        api = self.transport.api(f"crm.{plural}.search_api")
        assoc_types = ASSOCIATED_TYPES[object_type]
        offset = 0
        while True:
            limit = min(SEARCH_LIMIT, SEARCH_MAX_OFFSET - offset)
            if limit <= 0:
                return  # capped: the caller restarts
            body = {
                "filterGroups": [{"filters": filters}],
                "sorts": [{"propertyName": sort_by, "direction": "ASCENDING"}],
                "properties": props,
                "limit": limit,
                "after": str(offset),
            }
            resp = self.transport.call_json(
                "objects.search", api.do_search, public_object_search_request=body, bucket="search"
            )
            wires: list[WireRecord] = []
            deleted: list[str] = []
            for obj in results(resp):
                w = wire(obj, object_type)
                ts = _ms(w.updated_at) if w.updated_at is not None else None
                window.note(ts, w.id)
                if not tracker.fresh(w.id, ts):
                    continue
                wires.append(w)
                merged = w.properties.get("hs_merged_object_ids") or ""
                deleted.extend(x for x in merged.split(";") if x)
            wires = self._drop_own(object_type, wires, requested, tracker)
            self._seen.setdefault(object_type, set()).update(w.id for w in wires)
            if wires and assoc_types:
                ids = [w.id for w in wires]
                self._fill_associations(object_type, wires, {t: ids for t in assoc_types})
            if wires or deleted:
                yield self._page(object_type, wires, requested, tracker, deleted)
            after = next_after(resp)
            if after is None:
                window.complete = True
                return
            if window.first_ts is not None:
                return  # restart from the last timestamp / id seen (module doc)
            try:
                offset = int(after)
            except ValueError:
                raise CrmError(
                    f"search {plural}: unexpected paging cursor {after!r}", crm="hubspot"
                ) from None

    def _archived(
        self, object_type: ObjectType, since: Cursor, tracker: _CursorTracker
    ) -> Iterator[Page[Any]]:
        """One page with the ids archived at or after ``since`` (none: no page)."""
        api = self.transport.api(f"crm.{PLURAL[object_type]}.basic_api")
        since_ms = _ms(since.modified_at)
        ids: list[str] = []
        after: str | None = None
        while True:
            kw: dict[str, Any] = {
                "limit": LIST_LIMIT,
                "properties": ["hs_object_id"],
                "archived": True,
            }
            if after:
                kw["after"] = after
            resp = self.transport.call_json("objects.list.archived", api.get_page, **kw)
            for obj in results(resp):
                try:
                    at = timestamp(obj.get("archivedAt"))
                except ValueError:
                    at = None  # archived at an unreadable time: deleted all the same
                if at is None or _ms(at) >= since_ms:
                    ids.append(str(obj["id"]))
            after = next_after(resp)
            if not after:
                break
        if ids:
            yield Page(records=[], deleted_ids=tuple(ids), cursor=tracker.cursor)
