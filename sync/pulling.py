"""Step 2 of a run: bring the mirror in the state file up to date with the CRM.

Incremental pulls start at the stored cursor less ``[crm] overlap_minutes``; a
pull is full on request, for a new property, every ``[sync]
full_pull_every_days`` and for links that may point at merged-away records. A
full pull that finds far fewer contacts than the mirror holds stops the run
(:class:`~connectors.errors.MassChange`) rather than sweep them away. Pulled
pages reach the mirror a few thousand records at a time (:mod:`sync.mirror_batch`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from connectors.base import ColumnBatch, Connector, Cursor, ObjectType, Page, Phase
from connectors.errors import MassChange
from sync.config import Config
from sync.fields import field_specs
from sync.mirror_batch import PageBatch
from sync.prefetch import Prefetcher
from sync.run_types import RunOptions
from sync.state import PullState, State

__all__ = ["MirrorPull"]


class MirrorPull:
    """The pulls of one run; ``clock`` says when a pull starts."""

    def __init__(
        self,
        connector: Connector,
        state: State,
        config: Config,
        phase: Phase,
        clock: Callable[[], datetime],
    ) -> None:
        self.connector = connector
        self.state = state
        self.config = config
        self.phase = phase
        self.clock = clock
        #: Object types whose links may point at merged-away records: pulled in full.
        self.relink: set[ObjectType] = set()
        self._prefetch: Prefetcher | None = None
        #: What ``_pull_args`` read from the state file during one ``pull``: with
        #: concurrent pulls it is asked twice per type (to start the read-ahead, then
        #: to pull), and neither read changes before that type's own pull commits.
        self._reads: dict[tuple[str, ObjectType, datetime | None], Any] | None = None

    # -- what to pull ----------------------------------------------------------
    def object_types(self) -> list[ObjectType]:
        if self.config.segmentation.level == "company" or any(
            p.source == "company" for p in self.config.segmentation.properties
        ):
            return ["company", "contact", "deal"]
        return ["contact", "deal"]

    def properties(self, object_type: ObjectType) -> list[str]:
        rules = self.config.segmentation.interests
        families = self.config.segmentation.properties
        if object_type == "company":
            # property families read the company's own property (industry, ...)
            wanted = [p.property for p in families if p.source == "company"]
            return sorted(
                {*wanted, *(s.name for s in field_specs(self.config.segmentation, "company"))}
            )
        if object_type == "contact":
            extra = [r.property for r in rules if r.source == "contact"]
            extra += [p.property for p in families if p.source == "contact"]
            return sorted(
                {*extra, *(s.name for s in field_specs(self.config.segmentation, "contact"))}
            )
        return sorted({r.property for r in rules if r.source == "deal"})

    def pull(self, options: RunOptions) -> dict[str, Any]:
        pulled: dict[str, Any] = {}
        self.relink.clear()
        self._reads = {}
        # Connectors that allow it read every object type at once (sync.prefetch).
        if self.connector.concurrent_pulls:
            self._prefetch = Prefetcher(cast(Connector, _ColumnPulls(self.connector)))
            for object_type in self.object_types():
                _full, since, properties = self._pull_args(object_type, options)
                self._prefetch.start(object_type, since, properties)
        try:
            for object_type in self.object_types():
                pulled[object_type] = self.pull_one(object_type, options)
        finally:
            self._reads = None
            if self._prefetch is not None:
                self._prefetch.close()
                self._prefetch = None
        return pulled

    def _read(
        self, kind: str, object_type: ObjectType, since: datetime | None, read: Callable[[], Any]
    ) -> Any:
        """``read()``, once per ``pull`` for the same arguments (see ``_reads``)."""
        if self._reads is None:
            return read()
        key = (kind, object_type, since)
        if key not in self._reads:
            self._reads[key] = read()
        return self._reads[key]

    def _pull_args(
        self, object_type: ObjectType, options: RunOptions
    ) -> tuple[bool, Cursor | None, list[str]]:
        """Whether the pull is full, the cursor it starts from and its properties."""
        properties = self.properties(object_type)
        previous: PullState | None = self._read(
            "pull_state", object_type, None, lambda: self.state.pull_state(object_type)
        )
        full = self._needs_full(object_type, previous, properties, options)
        since: Cursor | None = None
        if not full and previous is not None and previous.cursor is not None:
            overlap = timedelta(minutes=self.config.crm.overlap_minutes)
            since = Cursor(previous.cursor.modified_at - overlap, None)
        # Set before the pull starts: with concurrent pulls it runs on its own thread.
        self.connector.recognise_own_writes(
            object_type,
            self._own_writes(object_type, since),
            lambda records: self.state.unchanged(object_type, records),
        )
        return full, since, properties

    def _own_writes(self, object_type: ObjectType, since: Cursor | None) -> dict[str, datetime]:
        if since is None:
            return {}
        at = since.modified_at
        owned: dict[str, datetime] = self._read(
            "own_writes", object_type, at, lambda: self.state.own_writes(object_type, at)
        )
        return owned

    def _pages(
        self, object_type: ObjectType, since: Cursor | None, properties: list[str]
    ) -> Iterator[Page[Any] | ColumnBatch]:
        def direct() -> Iterator[Page[Any] | ColumnBatch]:
            return iter(self.connector.pull_columns(object_type, since, properties))

        if self._prefetch is None:
            return direct()
        # column batches pass through the read-ahead like pages (``_ColumnPulls``)
        pages = cast(Callable[[], Iterator[Page[Any]]], direct)
        return self._prefetch.pages(object_type, since, properties, pages)

    def _needs_full(
        self,
        object_type: ObjectType,
        previous: PullState | None,
        properties: Sequence[str],
        options: RunOptions,
    ) -> bool:
        if options.full or previous is None or previous.cursor is None:
            return True
        if object_type in self.relink:
            return True
        if set(properties) - set(previous.properties):
            return True  # a new interest rule needs a property the mirror lacks
        every = timedelta(days=self.config.sync.full_pull_every_days)
        return previous.last_full_at is None or previous.last_full_at + every <= self.clock()

    def pull_one(self, object_type: ObjectType, options: RunOptions) -> dict[str, Any]:
        full, since, properties = self._pull_args(object_type, options)
        before = self.state.mirror_count(object_type)
        started_at = self.clock()
        records = deleted = 0
        cursor: Cursor | None = None
        batch = PageBatch()

        def store() -> None:
            gathered = batch.take()
            if gathered is not None and self.state.apply(object_type, gathered, full=full):
                self._links_moved(object_type)

        self.state.begin_pull(full=full)
        try:
            with self.phase(f"Pulling {object_type}s", None) as advance:
                for page in self._pages(object_type, since, properties):
                    if isinstance(page, ColumnBatch):
                        store()  # the pages before it first
                        try:
                            if self.state.apply_columns(object_type, page, full=full):
                                self._links_moved(object_type)
                        finally:
                            page.close()
                        records += page.count
                        if page.cursor is not None and (
                            cursor is None or _later(page.cursor, cursor)
                        ):
                            cursor = page.cursor
                        advance(page.count)
                        continue
                    batch.add(page)  # stored a few thousand records at a time
                    if batch.full:
                        store()
                    records += len(page.records)
                    deleted += len(page.deleted_ids)
                    if page.cursor is not None and (cursor is None or _later(page.cursor, cursor)):
                        cursor = page.cursor
                    advance(len(page.records))
                store()
            swept = 0
            if full:
                seen = self.state.seen_count()
                floor = self.config.sync.min_pull_share * before
                if object_type == "contact" and seen < floor and not options.allow_mass_change:
                    raise MassChange(
                        f"the full pull found {seen} contacts but the mirror holds {before}: "
                        f"fewer than {self.config.sync.min_pull_share:.0%} of them. If contacts "
                        "really were deleted, run again with --allow-mass-change; nothing was "
                        "written"
                    )
                swept, relink = self.state.sweep(object_type)
                if relink:
                    self._links_moved(object_type)
                cursor = _capped(cursor, started_at)
            self.state.commit_pull(
                object_type, properties, cursor, full=full, started_at=started_at
            )
        except BaseException:
            self.state.rollback()
            raise
        return {"full": full, "records": records, "deleted": deleted + swept}

    def _links_moved(self, object_type: ObjectType) -> None:
        self.relink.add("deal")
        if object_type == "company":
            self.relink.add("contact")


class _ColumnPulls:
    """A connector whose ``pull`` is its ``pull_columns``: what the prefetch threads
    read ahead (column batches pass through them like pages)."""

    def __init__(self, connector: Connector) -> None:
        self.connector = connector

    def pull(
        self, object_type: ObjectType, since: Cursor | None, properties: Sequence[str] = ()
    ) -> Iterator[Page[Any] | ColumnBatch]:
        return self.connector.pull_columns(object_type, since, properties)


def _capped(cursor: Cursor | None, started_at: datetime) -> Cursor | None:
    """A full pull's cursor, at most the pull's start.

    A full pull reads records in id order, so a record already read and edited
    while the pull runs is not read again; had a later record (edited even
    later) moved the cursor past that edit, the next incremental pull would
    miss it until the next full pull. Starting the next pull from the full
    pull's start (less the usual overlap) reads every edit made meanwhile.
    """
    if cursor is None or cursor.modified_at <= started_at:
        return cursor
    return Cursor(started_at, None)


def _later(a: Cursor, b: Cursor) -> bool:
    return (a.modified_at, a.last_id or "") > (b.modified_at, b.last_id or "")
