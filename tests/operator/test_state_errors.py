"""State-file trouble is named precisely: the lock hint only for a held lock, a full
disk as a full disk."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from sync.state import AccountMismatch, State, StateError, io_message


def test_a_full_disk_is_named_as_such() -> None:
    exc = duckdb.IOException('Could not write file "x.duckdb.wal": No space left on device')
    message = io_message(Path("/var/lib/crmseg/x.duckdb"), exc)
    assert "no space left" in message and "/var/lib/crmseg/x.duckdb" in message
    assert "another crmseg run" not in message


def test_the_lock_hint_only_when_a_lock_is_held() -> None:
    held = duckdb.IOException('Could not set lock on file "x": Conflicting lock is held in p')
    assert "another crmseg run" in io_message(Path("x"), held)
    other = duckdb.IOException("Cannot open file: Input/output error")
    message = io_message(Path("x"), other)
    assert "another crmseg run" not in message and "only a cache" in message


def test_a_failing_rollback_does_not_hide_the_first_error(tmp_path: Path) -> None:
    with State(tmp_path / "s.duckdb") as state:
        state.rollback()  # no transaction open: swallowed
        state.begin_pull(full=False)
        state.rollback()
        state.rollback()


def test_account_binding_unit(tmp_path: Path) -> None:
    with State(tmp_path / "s.duckdb") as state:
        assert state.account() is None
        assert state.bind_account("hubspot portal 1", "hubspot:https://a") is False
        # the same account behind another URL keeps the mirror
        assert state.bind_account("hubspot portal 1", "hubspot:https://proxy") is False
        assert state.meta("source") == "hubspot:https://proxy"
        with pytest.raises(AccountMismatch, match=r"hubspot portal 1.*hubspot portal 2"):
            state.check_account("hubspot portal 2")
        assert isinstance(AccountMismatch("x"), StateError)


def test_a_file_from_before_account_binding_is_adopted(tmp_path: Path) -> None:
    with State(tmp_path / "s.duckdb") as state:
        state.bind_source("hubspot:https://api.hubapi.com")
        state.con.execute("INSERT INTO mirror_contacts (id) VALUES ('1')")
        assert state.bind_account("hubspot portal 7", "hubspot:https://api.hubapi.com") is False
        assert state.mirror_count("contact") == 1
        assert state.account() == "hubspot portal 7"
