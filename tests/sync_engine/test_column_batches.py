"""Column batches (``connectors.base.ColumnBatch``) in a pull (sync.pulling): stored in
order with the pages around them, the same mirror as pages of the same records, the
cursor and the full pull's sweep and mass-change guard as for pages."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from connectors.base import (
    ColumnBatch,
    Contact,
    Cursor,
    Deal,
    ObjectType,
    Page,
    _no_progress,
)
from connectors.errors import MassChange
from sync.config import Config
from sync.engine import Engine, RunOptions
from sync.pulling import MirrorPull
from sync.state import State
from tests.sync_engine.fake_crm import FakeCrm

T = datetime(2026, 6, 1, tzinfo=UTC)
TABLES = (
    "mirror_contacts",
    "mirror_deals",
    "mirror_deal_contacts",
    "mirror_deal_companies",
    "mirror_properties",
    "crm_values",
)


class ListBatch(ColumnBatch):
    """Canonical records staged from Python lists: what a connector's file would give."""

    def __init__(self, object_type: ObjectType, records: Sequence[Any], cursor: Cursor | None):
        self.object_type, self.records, self.cursor = object_type, list(records), cursor
        self.count = len(self.records)
        self.closed = False

    def stage(self, con: duckdb.DuckDBPyConnection) -> None:
        rs = self.records
        naive = [r.updated_at.replace(tzinfo=None) if r.updated_at else None for r in rs]
        if self.object_type == "contact":
            cols = ("email", "first_name", "last_name", "salutation", "country", "company_id")
            con.execute(
                "CREATE OR REPLACE TEMP TABLE staged_records AS SELECT unnest($1::VARCHAR[]) "
                "AS id, "
                + ", ".join(f"unnest(${i + 2}::VARCHAR[]) AS {c}" for i, c in enumerate(cols))
                + ", unnest($8::TIMESTAMP[]) AS updated_at, unnest($9::VARCHAR[]) AS street, "
                "unnest($10::VARCHAR[]) AS postal_code, unnest($11::VARCHAR[]) AS city",
                [
                    [r.id for r in rs],
                    *([getattr(r, c) for r in rs] for c in cols),
                    naive,
                    *([getattr(r, c) for r in rs] for c in ("street", "postal_code", "city")),
                ],
            )
        else:
            con.execute(
                "CREATE OR REPLACE TEMP TABLE staged_records AS SELECT unnest($1::VARCHAR[]) "
                "AS id, unnest($2::VARCHAR[]) AS amount, unnest($3::DATE[]) AS close_date, "
                "unnest($4::BOOLEAN[]) AS won, unnest($5::TIMESTAMP[]) AS updated_at",
                [
                    [r.id for r in rs],
                    [str(r.amount) if r.amount is not None else None for r in rs],
                    [r.close_date for r in rs],
                    [r.won for r in rs],
                    naive,
                ],
            )
            for to, attr, other in (
                ("contacts", "contact_ids", "contact_id"),
                ("companies", "company_ids", "company_id"),
            ):
                pairs = [(r.id, o) for r in rs for o in getattr(r, attr)]
                con.execute(
                    f"CREATE OR REPLACE TEMP TABLE staged_deal_{to} AS SELECT "
                    f"unnest($1::VARCHAR[]) AS deal_id, unnest($2::VARCHAR[]) AS {other}",
                    [[p[0] for p in pairs], [p[1] for p in pairs]],
                )
        props = [(r.id, k, v) for r in rs for k, v in r.properties.items() if v is not None]
        con.execute(
            "CREATE OR REPLACE TEMP TABLE staged_properties AS SELECT unnest($1::VARCHAR[]) "
            "AS record_id, unnest($2::VARCHAR[]) AS name, unnest($3::VARCHAR[]) AS value",
            [[p[0] for p in props], [p[1] for p in props], [p[2] for p in props]],
        )

    def close(self) -> None:
        self.closed = True


@dataclass
class ColumnCrm(FakeCrm):
    """Full pulls: the first page as a page, the rest as one column batch."""

    batches: list[ListBatch] | None = None

    def pull_columns(
        self, object_type: ObjectType, since: Cursor | None, properties: Sequence[str] = ()
    ) -> Iterator[Any]:
        pages = list(self.pull(object_type, since, properties))
        if since is not None or len(pages) < 2:
            yield from pages
            return
        yield pages[0]
        rest = [r for p in pages[1:] for r in p.records]
        batch = ListBatch(object_type, rest, pages[-1].cursor)
        if self.batches is not None:
            self.batches.append(batch)
        yield batch


def fill(crm: FakeCrm) -> None:
    for i in range(1, 8):
        crm.add_contact(
            str(i),
            email=f"u{i}@example.com",
            country="DE" if i % 2 else None,
            company_id="c1" if i == 3 else None,
            properties={"crmseg_abc": "A" if i < 4 else None, "crmseg_data_quality": "b;a"},
        )
    crm.add_deal("d1", "100.50", date(2026, 5, 1), ["1", "2"])
    crm.add_deal("d2", "7", date(2026, 4, 1), ["3"], won=False)
    crm.add_deal("d3", "0", date(2026, 3, 1), [])


def mirror(state: State) -> dict[str, list[Any]]:
    out = {t: sorted(state.con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in TABLES}
    out["cursors"] = state.con.execute(
        "SELECT object_type, properties, cursor_modified_at, cursor_last_id FROM pulls "
        "ORDER BY object_type"
    ).fetchall()
    return out


@pytest.mark.parametrize("concurrent", [False, True])
def test_a_run_stores_the_same_mirror_from_batches_as_from_pages(
    tmp_path: Path, concurrent: bool
) -> None:
    got = []
    batches: list[ListBatch] = []
    for crm in (FakeCrm(page_size=2), ColumnCrm(page_size=2, batches=batches)):
        fill(crm)
        crm.concurrent_pulls = concurrent
        with State(tmp_path / f"{type(crm).__name__}.duckdb") as state:
            engine = Engine(crm, state, Config())
            engine.run(RunOptions("sync", date(2026, 6, 30), dry_run=True))
            got.append(mirror(state))
    assert got[0] == got[1]
    assert len(got[1]["mirror_contacts"]) == 7 and len(got[1]["mirror_deals"]) == 3
    assert [b.object_type for b in batches] == ["contact", "deal"]
    assert all(b.closed for b in batches)


def pull(crm: FakeCrm, state: State, *, full: bool = True) -> dict[str, Any]:
    puller = MirrorPull(crm, state, Config(), _no_progress, lambda: T)
    return puller.pull_one("contact", RunOptions("sync", date(2026, 6, 30), full=full))


class Scripted(FakeCrm):
    """Yields exactly the items given."""

    def __init__(self, items: list[Any]) -> None:
        super().__init__()
        self.items = items

    def pull_columns(
        self, object_type: ObjectType, since: Cursor | None, properties: Sequence[str] = ()
    ) -> Iterator[Any]:
        yield from self.items


def contact(rid: str, email: str, at: datetime = T) -> Contact:
    return Contact(rid, email=email, updated_at=at)


def test_a_batch_is_stored_in_order_with_the_pages_around_it(tmp_path: Path) -> None:
    later = datetime(2030, 1, 1, tzinfo=UTC)  # after the pull's start: capped
    batch = ListBatch("contact", [contact("1", "new@x"), contact("2", "b@x")], Cursor(later, "2"))
    crm = Scripted(
        [
            Page([contact("1", "old@x"), contact("9", "z@x")], (), Cursor(T, "9")),
            batch,  # 1 read again: the batch's version wins
            Page([contact("3", "c@x")], ("2",), None),  # 2 deleted after the batch
        ]
    )
    with State(tmp_path / "s.duckdb") as state:
        result = pull(crm, state)
        rows = state.con.execute("SELECT id, email FROM mirror_contacts ORDER BY id").fetchall()
        cursor = state.pull_state("contact")
    assert rows == [("1", "new@x"), ("3", "c@x"), ("9", "z@x")]
    assert result["records"] == 5 and batch.closed
    assert cursor is not None and cursor.cursor == Cursor(T, None)  # capped at the start


def test_a_batch_that_fails_to_store_is_closed_and_nothing_is_kept(tmp_path: Path) -> None:
    batch = ListBatch("contact", [contact("1", "a@x")], None)

    def broken(con: duckdb.DuckDBPyConnection) -> None:
        raise RuntimeError("disk full")

    batch.stage = broken  # type: ignore[method-assign]
    crm = Scripted([Page([contact("5", "e@x")]), batch])
    with State(tmp_path / "s.duckdb") as state:
        with pytest.raises(RuntimeError, match="disk full"):
            pull(crm, state)
        assert state.mirror_count("contact") == 0 and state.pull_state("contact") is None
    assert batch.closed


def test_the_mass_change_guard_counts_a_batchs_records(tmp_path: Path) -> None:
    many = [contact(str(i), f"{i}@x") for i in range(1, 11)]
    with State(tmp_path / "s.duckdb") as state:
        pull(Scripted([ListBatch("contact", many, None)]), state)
        assert state.mirror_count("contact") == 10
        with pytest.raises(MassChange, match="found 2 contacts but the mirror holds 10"):
            pull(Scripted([ListBatch("contact", many[:2], None)]), state)
        pull(Scripted([ListBatch("contact", many[:9], None)]), state)  # one swept
        ids = {r[0] for r in state.con.execute("SELECT id FROM mirror_contacts").fetchall()}
    assert ids == {str(i) for i in range(1, 10)}


def test_deal_amounts_and_links_from_a_batch(tmp_path: Path) -> None:
    deal = Deal("d1", Decimal("12.34"), date(2026, 1, 2), True, ("1", "2"), ("c1",), {}, T)
    crm = Scripted([ListBatch("deal", [deal], None)])
    with State(tmp_path / "s.duckdb") as state:
        puller = MirrorPull(crm, state, Config(), _no_progress, lambda: T)
        puller.pull_one("deal", RunOptions("sync", date(2026, 6, 30), full=True))
        row = state.con.execute("SELECT amount, close_date, won FROM mirror_deals").fetchone()
        links = state.con.execute("SELECT * FROM mirror_deal_contacts ORDER BY 2").fetchall()
        companies = state.con.execute("SELECT * FROM mirror_deal_companies").fetchall()
    assert row == (Decimal("12.34"), date(2026, 1, 2), True)
    assert links == [("d1", "1"), ("d1", "2")] and companies == [("d1", "c1")]
