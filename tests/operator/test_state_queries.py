"""The reads the commands show, as typed rows from ``State`` (hand-built run logs)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from sync.state import State
from sync.state_queries import AuditEntry, RunRecord, SegmentSize


@pytest.fixture
def state(tmp_path: Path):
    with State(tmp_path / "state.duckdb") as s:
        yield s


def test_runs_newest_first_and_the_last_successful_sync(state: State):
    first = state.start_run("sync", date(2026, 6, 1), dry_run=False)
    state.finish_run(first, "ok", {})
    second = state.start_run("sync", date(2026, 6, 2), dry_run=True)
    state.finish_run(second, "planned", {})
    third = state.start_run("resync", date(2026, 6, 3), dry_run=False)
    state.finish_run(third, "failed", {}, error="boom")
    runs = state.recent_runs(10)
    assert [r.id for r in runs] == [third, second, first]
    assert all(isinstance(r, RunRecord) for r in runs)
    assert (runs[0].command, runs[0].status, runs[0].error) == ("resync", "failed", "boom")
    assert runs[1].dry_run is True and runs[2].as_of == date(2026, 6, 1)
    assert [r.id for r in state.recent_runs(2)] == [third, second]
    assert state.latest_run() == runs[0]
    # A dry run and a failed run do not count: the first run is the last that wrote.
    assert state.last_successful_sync() == runs[2].finished_at
    assert state.has_run(first) and not state.has_run(third + 1)


def test_an_empty_state_file(state: State):
    assert state.recent_runs(5) == [] and state.latest_run() is None
    assert state.last_successful_sync() is None
    assert state.pull_records() == [] and state.audit_entries(limit=5) == []


def test_written_values_audit_and_holders(state: State):
    run = state.start_run("sync", date(2026, 6, 1), dry_run=False)
    state.record_written(
        run,
        "contact",
        [
            ("1", "crmseg_abc", None, "A"),
            ("1", "crmseg_interests", None, "golf;tennis"),
            ("2", "crmseg_abc", None, "B"),
        ],
        ok=True,
    )
    state.record_written(run, "contact", [("3", "crmseg_abc", None, "A")], ok=False, error="no")
    # Two records written (three values); the refused one is not counted.
    assert state.records_written(run) == 2
    assert state.held_values("contact", "1") == {
        "crmseg_abc": "A",
        "crmseg_interests": "golf;tennis",
    }
    assert state.held_values("contact", "3") == {}
    assert state.holders("contact", "crmseg_abc", "A") == ["1"]
    assert state.holders("contact", "crmseg_interests", "tennis") == ["1"]
    assert state.holders("contact", "crmseg_interests", "ten") == []
    entries = state.audit_entries(limit=10)
    assert len(entries) == 4 and all(isinstance(e, AuditEntry) for e in entries)
    assert [(e.record_id, e.status) for e in state.audit_entries(record_id="3", limit=10)] == [
        ("3", "failed")
    ]
    assert state.audit_entries(run_id=run + 1, limit=10) == []
    assert len(state.audit_entries(run_id=run, limit=2)) == 2


def test_segment_sizes_of_the_last_runs(state: State):
    state.con.execute("CREATE TEMP TABLE seg_tags (lifecycle VARCHAR)")
    state.con.execute("INSERT INTO seg_tags VALUES ('active'), ('active'), ('new')")
    runs = [state.start_run("sync", date(2026, 6, d), dry_run=False) for d in (1, 2, 3)]
    for run, day in zip(runs, (1, 2, 3), strict=True):
        state.record_sizes(run, date(2026, 6, day), ["lifecycle"])
    sizes = state.segment_sizes("lifecycle", 2)
    assert sizes == [
        SegmentSize(runs[1], date(2026, 6, 2), "active", 2),
        SegmentSize(runs[1], date(2026, 6, 2), "new", 1),
        SegmentSize(runs[2], date(2026, 6, 3), "active", 2),
        SegmentSize(runs[2], date(2026, 6, 3), "new", 1),
    ]
    assert state.segment_sizes("abc", 2) == []
