"""Pulled pages gathered into fewer, larger mirror writes.

Why: every page the mirror stores costs the same eight to ten statements in the state
file (the stale-stamp check, the deletes of the old rows, the inserts), whatever its
size, and each delete scans the mirror table; at 100 records a page those statements
cost crmseg more CPU than reading the page. Gathering pages until about
:data:`FLUSH_RECORDS` records are waiting stores them with one set of statements.

Nothing is committed page by page anyway (a pull is one transaction, committed with its
cursor), so gathering changes neither what a cut-short pull leaves behind (nothing) nor
what a complete one stores. Several pages gathered give the state of applying them one
after another: a record read twice is stored as last read, an id deleted on a later page
than its record is deleted, an id read again after its deletion is kept. (A record's
last-modified stamp only moves forward, so the version read last is the newest.)
"""

from __future__ import annotations

from typing import Any

from connectors.base import Cursor, Page

__all__ = ["FLUSH_RECORDS", "PageBatch"]

#: Records gathered before the mirror stores them (a full pull: 20 list pages).
FLUSH_RECORDS = 2_000


class PageBatch:
    """The pages of one object type's pull gathered since the last :meth:`take`."""

    def __init__(self, flush_records: int = FLUSH_RECORDS) -> None:
        self.flush_records = max(1, flush_records)
        self._records: dict[str, Any] = {}
        self._deleted: dict[str, None] = {}
        self._cursor: Cursor | None = None
        self._pages = 0

    def add(self, page: Page[Any]) -> None:
        """Gather ``page`` after the pages gathered so far."""
        own = {r.id for r in page.records}
        for record in page.records:
            self._deleted.pop(record.id, None)
            self._records[record.id] = record
        for rid in page.deleted_ids:
            if rid not in own:  # a page's own record wins over its own deletion
                self._records.pop(rid, None)
                self._deleted[rid] = None
        if page.cursor is not None:
            self._cursor = page.cursor
        self._pages += 1

    @property
    def full(self) -> bool:
        """Whether enough records wait to be stored."""
        return len(self._records) + len(self._deleted) >= self.flush_records

    def take(self) -> Page[Any] | None:
        """One page holding everything gathered (``None`` when nothing was), and start over."""
        if not self._pages:
            return None
        page: Page[Any] = Page(
            records=list(self._records.values()),
            deleted_ids=tuple(self._deleted),
            cursor=self._cursor,
        )
        self._records, self._deleted, self._cursor, self._pages = {}, {}, None, 0
        return page
