"""The state file's bookkeeping statements (``sync.state``): what each stores, pinned
by hand, since several of them read and write in one statement."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from connectors.base import Cursor
from sync.state import SCHEMA_DIGEST, SCHEMA_DIGEST_KEY, State, StateError

T1 = datetime(2026, 6, 1, 8, tzinfo=UTC)
T2 = datetime(2026, 6, 2, 9, tzinfo=UTC)
T3 = datetime(2026, 6, 3, 10, tzinfo=UTC)


def _pull(state: State, cursor: Cursor | None, *, full: bool, at: datetime) -> None:
    state.begin_pull(full=full)
    state.commit_pull("contact", ["b", "a"], cursor, full=full, started_at=at)


def test_a_pull_without_a_new_cursor_keeps_the_last_one_and_the_last_full_time(
    tmp_path: Path,
) -> None:
    with State(tmp_path / "s.duckdb") as state:
        assert state.pull_state("contact") is None
        _pull(state, Cursor(T1, "7"), full=True, at=T1)
        first = state.pull_state("contact")
        assert first is not None
        assert first.properties == ("a", "b")
        assert (first.cursor, first.last_full_at, first.last_pull_at) == (Cursor(T1, "7"), T1, T1)

        _pull(state, None, full=False, at=T2)  # nothing new: cursor and full time stay
        second = state.pull_state("contact")
        assert second is not None
        assert (second.cursor, second.last_full_at, second.last_pull_at) == (
            Cursor(T1, "7"),
            T1,
            T2,
        )

        _pull(state, Cursor(T3, None), full=False, at=T3)
        third = state.pull_state("contact")
        assert third is not None
        assert (third.cursor, third.last_full_at, third.last_pull_at) == (Cursor(T3), T1, T3)
        assert state.pull_state("deal") is None


def test_a_first_pull_without_a_cursor_stores_none(tmp_path: Path) -> None:
    with State(tmp_path / "s.duckdb") as state:
        _pull(state, None, full=False, at=T2)
        pulled = state.pull_state("contact")
        assert pulled is not None
        assert (pulled.cursor, pulled.last_full_at, pulled.last_pull_at) == (None, None, T2)


def test_run_ids_follow_each_other_across_opens(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with State(path) as state:
        assert state.start_run("sync", date(2026, 6, 1), dry_run=False) == 1
        assert state.start_run("plan", None, dry_run=True) == 2
    with State(path) as state:
        assert state.start_run("sync", date(2026, 6, 2), dry_run=False) == 3
        rows = state.con.execute(
            "SELECT id, command, status, as_of, dry_run FROM runs ORDER BY id"
        ).fetchall()
    assert rows == [
        (1, "sync", "running", date(2026, 6, 1), False),
        (2, "plan", "running", None, True),
        (3, "sync", "running", date(2026, 6, 2), False),
    ]


def test_the_schema_script_runs_again_on_a_file_that_has_not_seen_it(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with State(path) as state:
        assert state.meta(SCHEMA_DIGEST_KEY) == SCHEMA_DIGEST
        assert state.meta("schema_version") == "1"
        # A file an older crmseg wrote: another script, a table it did not have yet.
        state.set_meta(SCHEMA_DIGEST_KEY, "older")
        state.con.execute("DROP TABLE segment_sizes")
    with State(path) as state:
        assert state.meta(SCHEMA_DIGEST_KEY) == SCHEMA_DIGEST
        assert state.con.execute("SELECT count(*) FROM segment_sizes").fetchone() == (0,)


def test_a_file_of_another_schema_version_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "s.duckdb"
    with State(path) as state:
        state.set_meta("schema_version", "0")
    with pytest.raises(StateError, match="state file of schema 0, this crmseg uses 1"):
        State(path)
    with State(path, read_only=True) as state:
        assert state.meta("schema_version") == "0"


def test_a_refused_file_is_closed_while_its_error_lives(tmp_path: Path) -> None:
    """The error's traceback references the half-opened state: its connection must be
    closed before the error leaves, or the file stays locked while the error is kept
    (logged, re-raised, held by a caller). DuckDB refuses a second connection of
    another mode to a file this process still holds."""
    path = tmp_path / "s.duckdb"
    with State(path) as state:
        state.set_meta("schema_version", "0")
    with pytest.raises(StateError, match="state file of schema 0") as refused:
        State(path)
    duckdb.connect(str(path), read_only=True).close()
    assert refused.value is not None  # the error, and its traceback, still live here

    other = tmp_path / "other.duckdb"
    duckdb.connect(str(other)).close()  # a DuckDB file, not a state file
    with pytest.raises(StateError, match="no meta table") as refused:
        State(other, read_only=True)
    duckdb.connect(str(other)).close()
    assert refused.value is not None


def test_binding_the_account_stores_account_and_endpoint(tmp_path: Path) -> None:
    with State(tmp_path / "s.duckdb") as state:
        assert state.bind_account("portal 1", "hubspot:https://a") is False
        assert (state.account(), state.meta("source")) == ("portal 1", "hubspot:https://a")
        assert state.bind_account("portal 1", "hubspot:https://a") is False
        assert state.bind_account("portal 1", "hubspot:https://b") is False
        assert (state.account(), state.meta("source")) == ("portal 1", "hubspot:https://b")
