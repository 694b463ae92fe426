"""Pulled pages gathered into fewer mirror writes (sync.mirror_batch): the same mirror as
storing them one by one, with one set of statements per few thousand records."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from connectors.base import Contact, Cursor, Page
from sync.config import Config
from sync.engine import Engine, RunOptions
from sync.mirror_batch import FLUSH_RECORDS, PageBatch
from sync.state import State
from tests.sync_engine.fake_crm import FakeCrm

T = datetime(2026, 6, 1, tzinfo=UTC)


def c(rid: str, email: str = "") -> Contact:
    return Contact(id=rid, email=email or f"{rid}@mail.test")


def test_gathered_pages_equal_applying_them_one_after_another() -> None:
    batch = PageBatch()
    batch.add(Page([c("1", "old@x"), c("2")], ("9",), Cursor(T, "2")))
    batch.add(Page([c("3"), c("1", "new@x")], ("2", "8"), None))  # 2 deleted after its read
    batch.add(Page([c("8")], ("4", "3"), Cursor(T, "8")))  # 8 back after its deletion
    batch.add(Page([c("5")], ("5",), None))  # a page's own record beats its own deletion

    page = batch.take()

    assert page is not None
    assert [(r.id, r.email) for r in page.records] == [
        ("1", "new@x"),
        ("8", "8@mail.test"),
        ("5", "5@mail.test"),
    ]
    assert list(page.deleted_ids) == ["9", "2", "4", "3"]
    assert page.cursor == Cursor(T, "8")  # the last page's with a cursor
    assert batch.take() is None  # started over


def test_an_empty_page_still_hands_over_its_cursor() -> None:
    batch = PageBatch()
    batch.add(Page([], (), Cursor(T, "7")))
    page = batch.take()
    assert page is not None and (list(page.records), page.deleted_ids) == ([], ())
    assert page.cursor == Cursor(T, "7")


def test_full_once_the_records_and_deletions_reach_the_threshold() -> None:
    batch = PageBatch(flush_records=3)
    batch.add(Page([c("1"), c("2")]))
    assert not batch.full
    batch.add(Page([c("2")]))  # the same record again: still two
    assert not batch.full
    batch.add(Page([], ("7",)))
    assert batch.full
    assert FLUSH_RECORDS == 2_000


@pytest.fixture
def crm() -> FakeCrm:
    crm = FakeCrm(page_size=100)
    for i in range(1, 2_551):
        crm.add_contact(str(i), email=f"u{i}@example.com", country="DE")
    crm.add_deal("d1", "100", date(2026, 5, 1), ["1"])
    return crm


def test_a_full_pull_stores_26_pages_with_two_mirror_writes(
    crm: FakeCrm, monkeypatch: pytest.MonkeyPatch
) -> None:
    stored: list[tuple[str, int]] = []
    apply = State.apply

    def counted(self: State, object_type: Any, page: Page[Any], *, full: bool) -> bool:
        stored.append((object_type, len(page.records)))
        return apply(self, object_type, page, full=full)

    monkeypatch.setattr(State, "apply", counted)
    with State(Path(":memory:")) as state:
        result = Engine(crm, state, Config()).run(
            RunOptions("sync", date(2026, 6, 30), dry_run=True)
        )
        assert result.status == "planned"  # a dry run: pulled and planned, nothing written
        assert state.mirror_count("contact") == 2_550
        row = state.con.execute("SELECT email FROM mirror_contacts WHERE id = '2550'").fetchone()
        assert row == ("u2550@example.com",)
    # 2,550 contacts in 26 pages of 100: stored 2,000 + 550; the deal's one page once
    assert stored == [("contact", 2_000), ("contact", 550), ("deal", 1)]
