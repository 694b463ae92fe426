"""Concurrent pulls: one read-ahead stream per object type (sync.prefetch)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from typing import Any

import pytest

from connectors.base import Contact, Cursor, Page
from connectors.errors import BudgetExhausted
from sync.prefetch import Prefetcher
from tests.sync_engine.fake_crm import FakeCrm


class Recording:
    """A connector stand-in whose pulls report when they run."""

    def __init__(self, pages: int = 3, fail_after: int | None = None) -> None:
        self.started: dict[str, threading.Event] = {
            t: threading.Event() for t in ("contact", "company", "deal")
        }
        self.calls: list[tuple[str, Cursor | None]] = []
        self.pages, self.fail_after = pages, fail_after

    def pull(
        self, object_type: str, since: Cursor | None, properties: Sequence[str] = ()
    ) -> Iterator[Page[Any]]:
        self.calls.append((object_type, since))
        self.started[object_type].set()
        for n in range(self.pages):
            if self.fail_after is not None and n == self.fail_after:
                raise BudgetExhausted("daily allowance reached", crm="test")
            yield Page(records=[Contact(id=f"{object_type}-{n}")])


def ids(pages: Iterator[Page[Any]]) -> list[str]:
    return [r.id for p in pages for r in p.records]


def test_every_object_type_is_read_while_another_is_consumed() -> None:
    crm = Recording()
    pre = Prefetcher(crm)  # type: ignore[arg-type]
    pre.start("contact", None, ["a"])
    pre.start("deal", None, [])
    pages = pre.pages("contact", None, ["a"], lambda: iter(()))
    first = next(pages)
    # the deal stream runs before a single contact page was stored
    assert crm.started["deal"].wait(5)
    assert [r.id for r in first.records] == ["contact-0"]
    assert ids(pages) == ["contact-1", "contact-2"]
    assert ids(pre.pages("deal", None, [], lambda: iter(()))) == ["deal-0", "deal-1", "deal-2"]
    assert sorted(t for t, _ in crm.calls) == ["contact", "deal"]  # each pulled once


def test_a_changed_decision_discards_the_stream_and_pulls_afresh() -> None:
    crm = Recording()
    pre = Prefetcher(crm)  # type: ignore[arg-type]
    since = Cursor(datetime(2026, 1, 1, tzinfo=UTC))
    pre.start("deal", since, [])
    assert crm.started["deal"].wait(5)
    fresh = ids(pre.pages("deal", None, [], lambda: crm.pull("deal", None)))
    assert fresh == ["deal-0", "deal-1", "deal-2"]
    assert crm.calls == [("deal", since), ("deal", None)]


def test_an_error_in_a_stream_is_raised_to_the_consumer_after_its_pages() -> None:
    pre = Prefetcher(Recording(fail_after=2))  # type: ignore[arg-type]
    pre.start("contact", None, [])
    pages = pre.pages("contact", None, [], lambda: iter(()))
    assert [r.id for r in next(pages).records] == ["contact-0"]
    assert [r.id for r in next(pages).records] == ["contact-1"]
    with pytest.raises(BudgetExhausted):
        next(pages)


def test_read_ahead_is_bounded_and_close_stops_the_streams() -> None:
    crm = Recording(pages=50)
    pre = Prefetcher(crm, ahead=2)  # type: ignore[arg-type]
    pre.start("contact", None, [])
    assert crm.started["contact"].wait(5)
    stream = pre._streams["contact"]
    assert stream.reader.queue.maxsize == 2
    pre.close()
    assert not stream.reader.thread.is_alive()


# -- in the engine ---------------------------------------------------------------------------
@pytest.fixture
def concurrent() -> FakeCrm:
    """Seven contacts, two deals (one shared by contacts 2 and 3)."""
    crm = FakeCrm()
    crm.concurrent_pulls = True  # type: ignore[attr-defined]
    for i in range(1, 8):
        crm.add_contact(str(i), email=f"u{i}@example.com", first_name="A", country="DE")
    crm.add_deal("d1", "100", date(2026, 5, 1), ["1"])
    crm.add_deal("d2", "50", date(2025, 5, 1), ["2", "3"])
    return crm


def _run(crm: Any, state: Any) -> Any:
    from sync.config import Config
    from sync.engine import Engine, RunOptions

    return Engine(crm, state, Config()).run(RunOptions("sync", date(2026, 6, 30)))


def test_engine_pulls_concurrently_and_still_relinks_after_a_merge(
    concurrent: FakeCrm, tmp_path: Any
) -> None:
    from dataclasses import replace

    from sync.state import State

    crm, state = concurrent, State(tmp_path / "state.duckdb")
    first = _run(crm, state)
    assert first.status == "ok" and crm.value("1", "crmseg_abc") == "A"
    crm.delete("contact", "3")  # merged into 2: the deal stream started incremental
    crm.deals["d2"] = replace(crm.deals["d2"], contact_ids=("2",))
    result = _run(crm, state)
    assert result.summary["pulled"]["deal"]["full"] is True
    links = state.con.execute("SELECT contact_id FROM mirror_deal_contacts WHERE deal_id = 'd2'")
    assert links.fetchall() == [("2",)]
    # the read-ahead incremental deal pull was dropped for a full one
    assert crm.calls["pull.deal.incremental"] == 1 and crm.calls["pull.deal.full"] == 2
