"""A bulk job's outcome is stored from the plan's tables in SQL, with exactly the rows
the row-by-row path stores (``sync.writeback``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from connectors.base import TagUpdate, WriteResult
from connectors.errors import RecordRejected
from sync import writeback
from sync.plan import Change, Plan
from sync.state import State
from sync.writeback import Writeback

#: (record, field, desired value) of the plan; crm_values holds record 2's abc "B"
#: and record 3's rfm "x" (unchanged, so not a change).
DESIRED = [
    ("1", "crmseg_abc", "A"),
    ("1", "crmseg_rfm", "x"),
    ("2", "crmseg_abc", "A"),
    ("3", "crmseg_abc", "C"),
    ("3", "crmseg_rfm", "x"),
    ("4", "crmseg_abc", "B"),
]
HELD = [("2", "crmseg_abc", "B"), ("3", "crmseg_rfm", "x")]
CHANGES = [
    Change("contact", "1", "crmseg_abc", None, "A"),
    Change("contact", "1", "crmseg_rfm", None, "x"),
    Change("contact", "2", "crmseg_abc", "B", "A"),
    Change("contact", "3", "crmseg_abc", None, "C"),
    Change("contact", "4", "crmseg_abc", None, "B"),
]


class _OneJob:
    """A connector whose write answers every update in one bulk answer; record 4 rejected."""

    def write(
        self,
        updates: Iterable[TagUpdate],
        on_results: Callable[[str, list[WriteResult]], None],
        *,
        phase: Any = None,
    ) -> list[WriteResult]:
        results = [
            WriteResult(
                u.record_id,
                ok=u.record_id != "4",
                error=None
                if u.record_id != "4"
                else RecordRejected("bad", crm="t", object_type="contact", record_id="4"),
            )
            for u in updates
        ]
        on_results("contact", results)
        return results


def _state(path: Path) -> State:
    state = State(path)
    con = state.con
    con.execute(
        "CREATE OR REPLACE TEMP TABLE plan_desired (object_type VARCHAR, record_id VARCHAR, "
        "field VARCHAR, value VARCHAR)"
    )
    for rid, f, v in DESIRED:
        con.execute("INSERT INTO plan_desired VALUES ('contact', ?, ?, ?)", [rid, f, v])
    for rid, f, v in HELD:
        con.execute("INSERT INTO crm_values VALUES ('contact', ?, ?, ?)", [rid, f, v])
    return state


def _stored(state: State) -> tuple[list[Any], list[Any]]:
    audit = state.con.execute(
        "SELECT run_id, object_type, record_id, field, old_value, new_value, status, error "
        "FROM audit ORDER BY ALL"
    ).fetchall()
    values = state.con.execute("SELECT * FROM crm_values ORDER BY ALL").fetchall()
    return audit, values


def _write(state: State, plan: Plan) -> tuple[int, list[Any]]:
    run = state.start_run("sync", None, dry_run=False)
    return Writeback(_OneJob(), state, None).write(run, plan)  # type: ignore[arg-type]


def test_outcome_from_the_plan_tables_equals_the_row_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows: list[bool] = []
    real = State.record_written

    def spied(self: State, *a: Any, **k: Any) -> None:
        rows.append(k["ok"])
        real(self, *a, **k)

    monkeypatch.setattr(State, "record_written", spied)
    monkeypatch.setattr(writeback, "SQL_OUTCOME_RECORDS", 10**9)
    with _state(tmp_path / "rows.duckdb") as by_rows:
        assert _write(by_rows, Plan(list(CHANGES)))[0] == 3
        expected = _stored(by_rows)
    assert rows == [True, False]  # the written changes went row by row
    rows.clear()
    monkeypatch.setattr(writeback, "SQL_OUTCOME_RECORDS", 1)
    with _state(tmp_path / "sql.duckdb") as by_sql:
        written, failures = _write(by_sql, Plan(list(CHANGES)))
        got = _stored(by_sql)
    assert rows == [False]  # only the rejected record's change went row by row
    assert written == 3 and [c.record_id for c, _ in failures] == ["4"]
    assert got == expected
    assert got[1] == [
        ("contact", "1", "crmseg_abc", "A"),
        ("contact", "1", "crmseg_rfm", "x"),
        ("contact", "2", "crmseg_abc", "A"),
        ("contact", "3", "crmseg_abc", "C"),
        ("contact", "3", "crmseg_rfm", "x"),
    ]
    assert [r[2:6] for r in got[0] if r[6] == "written"] == [
        ("1", "crmseg_abc", None, "A"),
        ("1", "crmseg_rfm", None, "x"),
        ("2", "crmseg_abc", "B", "A"),
        ("3", "crmseg_abc", None, "C"),
    ]


def test_a_plan_the_tables_do_not_give_is_stored_row_by_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A plan for chosen records holds their unchanged values too (``resync``): the
    tables' diff has one change fewer, so the rows come from the plan itself."""
    monkeypatch.setattr(writeback, "SQL_OUTCOME_RECORDS", 1)
    chosen = [*CHANGES[:4], Change("contact", "3", "crmseg_rfm", "x", "x"), CHANGES[4]]
    with _state(tmp_path / "s.duckdb") as state:
        assert _write(state, Plan(chosen))[0] == 3
        audit, _values = _stored(state)
    assert ("3", "crmseg_rfm", "x", "x") in [r[2:6] for r in audit if r[6] == "written"]
