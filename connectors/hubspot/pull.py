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

Deletions (incremental only)
    ``Page.deleted_ids`` holds ids the engine must remove from its mirror:
    ids merged away (read from each changed survivor's ``hs_merged_object_ids``,
    on the page of that survivor) and ids archived since the cursor (list
    endpoint with ``archived=true``, ``archivedAt >= since``; one final page
    with no records). A deleted id may be reported more than once.

Cursors
    ``Page.cursor`` is the largest (updatedAt, id) seen so far in this pull
    (never behind ``since``). Moving it only after the page is committed is the
    engine's job, and so is starting the next pull an overlap earlier: search
    indexes writes with a delay, so a record changed just before a later one
    may only become visible after the cursor has passed it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from connectors.base import Cursor, ObjectType, Page, chunks
from connectors.errors import CrmError
from connectors.hubspot.records import (
    ASSOCIATED_TYPES,
    LASTMOD,
    PLURAL,
    Assoc,
    RecordMapper,
    WireRecord,
    assocs_from_v3,
    assocs_from_v4,
    parse_timestamp,
)
from connectors.hubspot.transport import Transport

__all__ = ["Puller"]

LIST_LIMIT = 100
SEARCH_LIMIT = 200
SEARCH_MAX_OFFSET = 10_000
V4_BATCH_MAX = 1_000
BATCH_READ_MAX = 100
MAX_URL = 2_000
#: generous allowance for host, path, limit, after, archived and associations
URL_OVERHEAD = 300
#: safety net against a misbehaving server; each restart must make progress anyway
MAX_RESTARTS = 100_000


def _ms(d: datetime) -> int:
    if d.tzinfo is None:
        d = d.replace(tzinfo=UTC)
    return int(d.timestamp() * 1000)


def _next_after(resp: Any) -> str | None:
    paging = getattr(resp, "paging", None)
    nxt = getattr(paging, "next", None) if paging is not None else None
    after = getattr(nxt, "after", None) if nxt is not None else None
    return str(after) if after not in (None, "") else None


def _id_key(record_id: str) -> tuple[int, int | str]:
    return (0, int(record_id)) if record_id.isdigit() else (1, record_id)


class _CursorTracker:
    """Largest (updatedAt, id) seen; dedupe of records at the newest timestamp."""

    def __init__(self, since: Cursor | None) -> None:
        self.cursor = since
        self._best: tuple[int, tuple[int, int | str]] | None = None
        if since is not None:
            self._best = (_ms(since.modified_at), _id_key(since.last_id or "0"))
        self._newest_ts: int | None = None
        self._newest_ids: set[str] = set()

    def fresh(self, record_id: str, ts: int | None) -> bool:
        """False when this record at this timestamp was already yielded."""
        if ts is None:
            return True
        if self._newest_ts is None or ts > self._newest_ts:
            self._newest_ts, self._newest_ids = ts, {record_id}
            return True
        if ts == self._newest_ts:
            if record_id in self._newest_ids:
                return False
            self._newest_ids.add(record_id)
        return True

    def see(self, record_id: str, updated: datetime | None) -> None:
        if updated is None:
            return
        key = (_ms(updated), _id_key(record_id))
        if self._best is None or key > self._best:
            self._best = key
            self.cursor = Cursor(modified_at=updated, last_id=record_id)


#: Own writes below this many are not worth the counting search of their window.
WINDOW_MIN = SEARCH_LIMIT

Unchanged = Callable[[Sequence[Any]], set[str]]


class Puller:
    """Full and incremental pulls for one transport and record mapping."""

    def __init__(self, transport: Transport, mapper: RecordMapper) -> None:
        self.transport = transport
        self.mapper = mapper
        #: Per object type: record id -> stamp of crmseg's own last write, and the
        #: engine's check of which records hold nothing the mirror lacks.
        self.own: dict[ObjectType, tuple[Mapping[str, datetime], Unchanged]] = {}
        #: Records not re-processed because their only change was crmseg's own write.
        self.skipped = 0
        #: Ids an incremental pull has yielded so far, per object type: the object
        #: types are pulled at once on their own threads (``sync.prefetch``).
        self._seen: dict[ObjectType, set[str]] = {}

    # -- entry point ---------------------------------------------------------------
    def pull(
        self, object_type: ObjectType, since: Cursor | None, properties: Sequence[str] = ()
    ) -> Iterator[Page[Any]]:
        requested = list(dict.fromkeys(properties))
        if since is None:
            yield from self._full(object_type, requested)
        else:
            yield from self._incremental(object_type, since, requested)

    # -- shared helpers ------------------------------------------------------------
    def _wire(self, obj: Any, object_type: ObjectType) -> WireRecord:
        props = dict(getattr(obj, "properties", None) or {})
        updated = getattr(obj, "updated_at", None)
        if isinstance(updated, datetime):
            updated = (
                updated.replace(tzinfo=UTC) if updated.tzinfo is None else updated.astimezone(UTC)
            )
        else:
            try:
                updated = parse_timestamp(props.get(LASTMOD[object_type]))
            except ValueError:
                updated = None
        return WireRecord(id=str(obj.id), properties=props, updated_at=updated)

    def fetch_associations(
        self, from_plural: str, to_plural: str, ids: Iterable[str]
    ) -> dict[str, list[Assoc]]:
        """Complete association lists via the v4 batch read (all pages per id)."""
        out: dict[str, list[Assoc]] = {i: [] for i in ids}
        pending: list[tuple[str, str | None]] = [(i, None) for i in out]
        api = self.transport.api("crm.associations.v4.batch_api")
        while pending:
            chunk, pending = pending[:V4_BATCH_MAX], pending[V4_BATCH_MAX:]
            body = {
                "inputs": [{"id": i, "after": after} if after else {"id": i} for i, after in chunk]
            }
            resp = self.transport.call(
                "associations.v4.batch.read",
                api.get_page,
                from_plural,
                to_plural,
                body,
                bucket="exempt",
            )
            if resp is None:
                raise CrmError(
                    f"associations.v4.batch.read {from_plural}->{to_plural}: empty answer",
                    crm="hubspot",
                )
            for res in getattr(resp, "results", None) or []:
                fid = str(res._from.id)
                out.setdefault(fid, []).extend(assocs_from_v4(res.to))
                after = _next_after(res)
                if after:
                    pending.append((fid, after))
            for err in getattr(resp, "errors", None) or []:
                if getattr(err, "category", None) == "OBJECT_NOT_FOUND":
                    continue  # NO_ASSOCIATIONS_FOUND (empty) or the record is gone
                raise CrmError(
                    f"associations.v4.batch.read {from_plural}->{to_plural}: "
                    f"{getattr(err, 'message', '')}",
                    crm="hubspot",
                    code=getattr(err, "category", None),
                )
        return out

    def _fill_associations(
        self, object_type: ObjectType, wires: list[WireRecord], only: dict[str, list[str]]
    ) -> None:
        """Replace ``associations[to]`` of the ids in ``only[to]`` by complete v4 lists."""
        by_id = {w.id: w for w in wires}
        for to_plural, ids in only.items():
            if not ids:
                continue
            found = self.fetch_associations(PLURAL[object_type], to_plural, ids)
            for rid in ids:
                by_id[rid].associations[to_plural] = found.get(rid, [])

    def _page(
        self,
        object_type: ObjectType,
        wires: list[WireRecord],
        requested: Sequence[str],
        tracker: _CursorTracker,
        deleted: Sequence[str] = (),
    ) -> Page[Any]:
        records = []
        for w in wires:
            records.append(self.mapper.record(object_type, w, requested))
            tracker.see(w.id, w.updated_at)
        return Page(records=records, deleted_ids=tuple(deleted), cursor=tracker.cursor)

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
            resp = self.transport.call("objects.list", api.get_page, **kw)
            results = list(getattr(resp, "results", None) or [])
            wires: list[WireRecord] = []
            capped: dict[str, list[str]] = {t: [] for t in assoc_types}
            for obj in results:
                w = self._wire(obj, object_type)
                inline = getattr(obj, "associations", None) or {}
                for to_plural in assoc_types:
                    block = inline.get(to_plural)
                    if block is None:
                        continue
                    w.associations[to_plural] = assocs_from_v3(block.results)
                    if _next_after(block):
                        capped[to_plural].append(w.id)
                wires.append(w)
            if by_batch_read and wires:
                self._read_properties(object_type, wires, props)
            self._fill_associations(object_type, wires, capped)
            yield self._page(object_type, wires, requested, tracker)
            after = _next_after(resp)
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
            resp = self.transport.call("objects.batch.read", api.read, body, archived=False)
            for obj in getattr(resp, "results", None) or []:
                w = by_id.get(str(obj.id))
                if w is not None:
                    w.properties = dict(obj.properties or {})
                    w.updated_at = self._wire(obj, object_type).updated_at or w.updated_at

    # -- incremental pull ------------------------------------------------------------
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
            resp = self.transport.call(
                "objects.search", api.do_search, public_object_search_request=body, bucket="search"
            )
            wires: list[WireRecord] = []
            deleted: list[str] = []
            for obj in getattr(resp, "results", None) or []:
                w = self._wire(obj, object_type)
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
            after = _next_after(resp)
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
            resp = self.transport.call("objects.list.archived", api.get_page, **kw)
            for obj in getattr(resp, "results", None) or []:
                at = getattr(obj, "archived_at", None)
                if at is None or _ms(at) >= since_ms:
                    ids.append(str(obj.id))
            after = _next_after(resp)
            if not after:
                break
        if ids:
            yield Page(records=[], deleted_ids=tuple(ids), cursor=tracker.cursor)


class _Window:
    """What one search query saw: first/last timestamps, highest id, whether it ended."""

    def __init__(self) -> None:
        self.first_ts: int | None = None
        self.last_ts: int | None = None
        self.max_id: int | None = None
        self.complete = False

    def note(self, ts: int | None, record_id: str) -> None:
        if ts is not None:
            if self.first_ts is None:
                self.first_ts = ts
            self.last_ts = ts
        if record_id.isdigit():
            rid = int(record_id)
            self.max_id = rid if self.max_id is None else max(self.max_id, rid)
