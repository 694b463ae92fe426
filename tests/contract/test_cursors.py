"""Contract: cursors only move forward, never past what was read, and a cursor capped
at the pull's start (as the engine stores it) loses no edit made while pulling;
an incremental pull reports what was deleted since its cursor."""

from __future__ import annotations

from typing import Any

import pytest

from connectors.base import Cursor, ObjectType, Page, Record
from tests.contract.adapters import Target


def test_cursors_move_forward_and_never_past_the_records_read(target: Target) -> None:
    target.require("cursors")
    seen: list[Record] = []
    cursors: list[Cursor] = []
    for page in target.connector.pull(target.paged_object, None):
        seen.extend(page.records)
        if page.cursor is not None:
            cursors.append(page.cursor)
            newest = max(r.updated_at for r in seen if r.updated_at is not None)
            assert page.cursor.modified_at <= newest

    assert cursors, "a pull that read records says where to resume"
    # ids order records within one timestamp in the CRM's own way: compare the times
    stamps = [c.modified_at for c in cursors]
    assert stamps == sorted(stamps)


def test_a_cursor_capped_at_the_pulls_start_sees_edits_made_during_the_pull(
    target: Target,
) -> None:
    """A is edited after it was read, B (read later) after A: B's new stamp may be the
    pull's last cursor, past A's edit. Capped at the pull's start, nothing is lost."""
    target.require("cursors")
    started = target.now()
    pages = target.connector.pull("contact", None)
    first: Page[Any] = next(pages)
    a = first.records[0].id
    b = max(target.ids("contact") - {r.id for r in first.records})
    target.touch("contact", a)
    target.touch("contact", b)
    rest = list(pages)
    last = [p.cursor for p in [first, *rest] if p.cursor is not None][-1]
    assert last.modified_at <= target.now()

    capped = Cursor(min(last.modified_at, started), None)
    changed = {r.id for p in target.connector.pull("contact", capped) for r in p.records}

    assert {a, b} <= changed


def test_an_incremental_pull_returns_what_changed_since_its_cursor(target: Target) -> None:
    target.require("cursors")
    pages = list(target.connector.pull("contact", None))
    cursor = pages[-1].cursor
    assert cursor is not None
    edited = sorted(target.ids("contact"))[1]
    target.touch("contact", edited)

    again = list(target.connector.pull("contact", cursor))

    changed = {r.id for p in again for r in p.records}
    # GTE: records stamped with the cursor's own time may come again; nothing else
    at_cursor = {r.id for p in pages for r in p.records if r.updated_at == cursor.modified_at}
    assert edited in changed and changed - {edited} <= at_cursor
    moved = again[-1].cursor
    assert moved is not None and moved != cursor and moved.modified_at >= cursor.modified_at


@pytest.mark.parametrize("object_type", ["contact", "deal"])
def test_an_incremental_pull_reports_a_deleted_record_and_not_as_a_record(
    target: Target, object_type: ObjectType
) -> None:
    target.require("deletions")
    # a contact of the test's own; the newest deal (no other test reads one deal)
    doomed = target.new_contact() if object_type == "contact" else max(target.ids("deal"))
    cursor = list(target.connector.pull(object_type, None))[-1].cursor
    assert cursor is not None
    target.delete(object_type, doomed)

    pages = list(target.connector.pull(object_type, cursor))

    assert doomed in {i for p in pages for i in p.deleted_ids}
    assert doomed not in {r.id for p in pages for r in p.records}
    assert all(isinstance(i, str) for p in pages for i in p.deleted_ids)
