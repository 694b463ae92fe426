"""What every HubSpot pull shares: paging cursors, the record wire form, v4 association
reads, the page a pull yields, and the check that drops records whose only change is
crmseg's own write (search pages and exports alike; :mod:`connectors.hubspot.own_writes`).

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
from typing import Any, Protocol

from connectors.base import Cursor, ObjectType, Page
from connectors.errors import CrmError
from connectors.hubspot.pull_json import errors, v4_results
from connectors.hubspot.records import PLURAL, Assoc, RecordMapper, WireRecord
from connectors.hubspot.transport import Transport


class FilteredExports(Protocol):
    """What the pull needs of :class:`connectors.hubspot.exports.Exporter` (a protocol,
    so that the exporter, which builds on the pull, is not imported back here)."""

    def filtered(
        self, object_type: ObjectType, props: list[str], filters: list[dict[str, str]], why: str
    ) -> Iterator[list[WireRecord]] | None: ...


__all__ = ["PullCore"]

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


Unchanged = Callable[[Sequence[Any]], set[str]]


class PullCore:
    """State and helpers shared by the full, search and own-write parts of a pull."""

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
        #: Exports for verifying many own writes at once (the connector sets it), and
        #: how many own writes since the cursor make that worth one export (0: never).
        self.exporter: FilteredExports | None = None
        self.export_min = 0

    # -- shared helpers ------------------------------------------------------------
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
            resp = self.transport.call_json(
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
            for fid, assocs, after in v4_results(resp):
                out.setdefault(fid, []).extend(assocs)
                if after:
                    pending.append((fid, after))
            for err in errors(resp):
                if err.get("category") == "OBJECT_NOT_FOUND":
                    continue  # NO_ASSOCIATIONS_FOUND (empty) or the record is gone
                raise CrmError(
                    f"associations.v4.batch.read {from_plural}->{to_plural}: "
                    f"{err.get('message') or ''}",
                    crm="hubspot",
                    code=err.get("category"),
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
