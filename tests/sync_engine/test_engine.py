"""The sync engine against an in-memory CRM: what it pulls, plans, writes and
records, with hand-computed tags on a tiny data set.

Data (as of 2026-06-30, window 365 days): contact 1 bought for 100 on
2026-05-01 (the only purchase in the window); contacts 2 and 3 shared a 50
purchase on 2025-05-01 (outside the window); contacts 4..7 never bought.
So 1 is A / new / new_customer-ish, 2 and 3 are C / down / inactive, 4..7
prospects.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from connectors.base import Cursor, Page
from sync.config import Config, CrmConfig, ListsConfig, SyncConfig
from sync.engine import Engine, MassChange, RunOptions
from sync.lock import AlreadyRunning, run_lock
from sync.state import State
from tests.sync_engine.fake_crm import FakeCrm

AS_OF = date(2026, 6, 30)


@pytest.fixture
def crm() -> FakeCrm:
    crm = FakeCrm()
    for i in range(1, 8):
        crm.add_contact(str(i), email=f"u{i}@example.com", first_name="A", country="DE")
    crm.add_deal("d1", "100", date(2026, 5, 1), ["1"])
    crm.add_deal("d2", "50", date(2025, 5, 1), ["2", "3"])
    return crm


@pytest.fixture
def state() -> State:
    """A state in memory: the engine's reads and writes are the same SQL as on a file,
    without a file's syncs to disk on every commit (the file itself, its locks and its
    reopening are tested in ``tests/operator`` and the end-to-end suites)."""
    return State(Path(":memory:"))


def run(crm: FakeCrm, state: State, config: Config | None = None, **kw: object) -> object:
    options = RunOptions(str(kw.pop("command", "sync")), kw.pop("as_of", AS_OF), **kw)  # type: ignore[arg-type]
    return Engine(crm, state, config or Config()).run(options)


def test_first_sync_writes_the_hand_computed_tags(crm: FakeCrm, state: State) -> None:
    result = run(crm, state)
    assert result.status == "ok"  # type: ignore[attr-defined]
    assert crm.value("1", "crmseg_abc") == "A"
    assert crm.value("1", "crmseg_lifecycle") == "new"
    assert crm.value("1", "crmseg_abc_trend") == "new"
    for cid in ("2", "3"):
        assert crm.value(cid, "crmseg_abc") == "C"
        assert crm.value(cid, "crmseg_abc_trend") == "down"  # A a year earlier (25 each), C now
        assert crm.value(cid, "crmseg_lifecycle") == "inactive"
    for cid in ("4", "5", "6", "7"):
        assert crm.value(cid, "crmseg_lifecycle") == "prospect"
        assert crm.value(cid, "crmseg_abc") is None
    # 7 contacts with at least a lifecycle each, in batches of 3.
    assert crm.calls["write"] == 3
    assert result.summary["written"] == 7  # type: ignore[attr-defined]


def test_second_run_with_same_data_writes_nothing(crm: FakeCrm, state: State) -> None:
    run(crm, state)
    writes = crm.calls["write"], crm.calls["fields.write"]
    result = run(crm, state)
    assert result.plan.changes == []  # type: ignore[attr-defined]
    assert (crm.calls["write"], crm.calls["fields.write"]) == writes
    assert result.summary["pulled"]["contact"]["full"] is False  # type: ignore[attr-defined]


def test_a_new_purchase_rewrites_only_that_contact(crm: FakeCrm, state: State) -> None:
    config = Config(crm=CrmConfig(overlap_minutes=0))
    run(crm, state, config)
    crm.add_deal("d3", "10", date(2026, 6, 1), ["4"])
    result = run(crm, state, config)
    changed = {c.record_id for c in result.plan.changes}  # type: ignore[attr-defined]
    # 4 becomes a customer; 1's RFM ranks shift among two customers in the window.
    assert "4" in changed
    assert crm.value("4", "crmseg_lifecycle") == "new"
    assert changed <= {"1", "2", "3", "4"}
    # Without overlap: the new deal, and d2 again (it sits at the cursor's timestamp).
    assert result.summary["pulled"]["deal"] == {"full": False, "records": 2, "deleted": 0}  # type: ignore[attr-defined]


def test_deleted_contacts_leave_the_mirror(crm: FakeCrm, state: State) -> None:
    run(crm, state)
    crm.delete("contact", "7")
    run(crm, state)
    assert state.mirror_count("contact") == 6
    held = state.con.execute("SELECT count(*) FROM crm_values WHERE record_id = '7'").fetchone()
    assert held == (0,)


def test_rejected_record_is_reported_then_retried_by_the_next_run(
    crm: FakeCrm, state: State
) -> None:
    crm.reject = {"2"}
    first = run(crm, state)
    assert first.status == "partial"  # type: ignore[attr-defined]
    assert {c.record_id for c, _ in first.failures} == {"2"}  # type: ignore[attr-defined]
    audit = state.con.execute("SELECT DISTINCT status FROM audit WHERE record_id = '2'").fetchall()
    assert audit == [("failed",)]
    crm.reject = set()
    second = run(crm, state)
    assert {c.record_id for c in second.plan.changes} == {"2"}  # type: ignore[attr-defined]
    assert crm.value("2", "crmseg_abc") == "C"


def test_a_crash_mid_write_costs_only_the_unwritten_rest(crm: FakeCrm, state: State) -> None:
    crm.concurrency = 1
    crm.crash_after_batches = 1
    with pytest.raises(RuntimeError):
        run(crm, state)
    assert crm.calls["write"] == 1  # one batch of 3 made it
    crm.crash_after_batches = None
    again = run(crm, state)
    assert again.plan.records == 4  # type: ignore[attr-defined]
    status = state.con.execute("SELECT status FROM runs ORDER BY id").fetchall()
    assert status == [("failed",), ("ok",)]


def test_dry_run_changes_nothing_in_the_crm(crm: FakeCrm, state: State) -> None:
    result = run(crm, state, dry_run=True)
    assert result.status == "planned"  # type: ignore[attr-defined]
    assert result.plan.records == 7  # type: ignore[attr-defined]
    assert crm.calls["write"] == 0 and crm.calls["fields.write"] == 0
    assert crm.calls["lists.write"] == 0


def test_mass_change_guard_stops_before_writing(crm: FakeCrm, state: State) -> None:
    run(crm, state)
    writes = crm.calls["write"]
    # Two years later every customer's tags change: 3 of 7 contacts (43 %) > 30 %.
    later = date(2028, 7, 1)
    with pytest.raises(MassChange, match="3 of 7 contacts"):
        run(crm, state, as_of=later)
    assert crm.calls["write"] == writes
    assert state.con.execute("SELECT status FROM runs ORDER BY id DESC LIMIT 1").fetchone() == (
        "stopped",
    )
    result = run(crm, state, as_of=later, allow_mass_change=True)
    assert result.status == "ok"  # type: ignore[attr-defined]


def test_mass_change_share_is_configurable(crm: FakeCrm, state: State) -> None:
    run(crm, state)
    config = Config(sync=SyncConfig(mass_change_share=0.5))
    assert run(crm, state, config, as_of=date(2028, 7, 1)).status == "ok"  # type: ignore[attr-defined]


def test_a_full_pull_that_finds_few_contacts_stops_and_keeps_the_mirror(
    crm: FakeCrm, state: State
) -> None:
    run(crm, state)
    for cid in ("2", "3", "4", "5", "6"):
        crm.delete("contact", cid)
    with pytest.raises(MassChange, match="found 2 contacts but the mirror holds 7"):
        run(crm, state, full=True)
    assert state.mirror_count("contact") == 7
    run(crm, state, full=True, allow_mass_change=True)
    assert state.mirror_count("contact") == 2


def test_lists_are_created_once(crm: FakeCrm, state: State) -> None:
    config = Config(lists=ListsConfig(lifecycle=["inactive", "prospect"], abc=["A"]))
    first = run(crm, state, config)
    assert [entry["name"] for entry in first.summary["lists"]] == [  # type: ignore[attr-defined]
        "crmseg · abc = A",
        "crmseg · lifecycle = inactive",
        "crmseg · lifecycle = prospect",
    ]
    run(crm, state, config)
    assert crm.calls["lists.write"] == 3
    assert crm.lists["crmseg · abc = A"].field == "crmseg_abc"


def test_resync_of_one_contact_rewrites_all_its_tags(crm: FakeCrm, state: State) -> None:
    run(crm, state)
    result = run(crm, state, command="resync", record_ids=("1",))
    assert {c.record_id for c in result.plan.changes} == {"1"}  # type: ignore[attr-defined]
    assert {c.field for c in result.plan.changes} == {  # type: ignore[attr-defined]
        "crmseg_abc",
        "crmseg_abc_trend",
        "crmseg_rfm_score",
        "crmseg_rfm_segment",
        "crmseg_lifecycle",
        "crmseg_data_quality",
    }


def test_segment_sizes_and_audit_are_recorded(crm: FakeCrm, state: State) -> None:
    run(crm, state)
    sizes = dict(
        state.con.execute(
            "SELECT value, contacts FROM segment_sizes WHERE family = 'lifecycle'"
        ).fetchall()
    )
    assert sizes == {"new": 1, "inactive": 2, "prospect": 4}
    audit = state.con.execute(
        "SELECT field, old_value, new_value, status FROM audit WHERE record_id = '1' "
        "AND field = 'crmseg_abc'"
    ).fetchall()
    assert audit == [("crmseg_abc", None, "A", "written")]


def test_values_edited_by_hand_in_the_crm_are_put_back(crm: FakeCrm, state: State) -> None:
    from dataclasses import replace

    run(crm, state)
    c = crm.contacts["1"]
    crm.contacts["1"] = replace(
        c, properties={**c.properties, "crmseg_abc": "C"}, updated_at=crm.tick()
    )
    result = run(crm, state)
    assert [(ch.record_id, ch.field, ch.old, ch.new) for ch in result.plan.changes] == [  # type: ignore[attr-defined]
        ("1", "crmseg_abc", "C", "A")
    ]


def test_a_second_run_is_refused_while_the_lock_is_held(tmp_path: Path) -> None:
    path = tmp_path / "state.duckdb"
    with (
        run_lock(path, "sync"),
        pytest.raises(AlreadyRunning, match=r"crmseg sync` .* has been running since"),
        run_lock(path, "resync"),
    ):
        pass
    with run_lock(path, "sync"):
        pass  # released


def test_a_crashed_runs_lock_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "state.duckdb"
    script = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        from sync.lock import run_lock
        with run_lock(Path({str(path)!r}), "sync"):
            os._exit(9)  # dies holding the lock
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).parents[2])
    assert proc.returncode == 9
    with run_lock(path, "sync"):
        pass


def test_a_mirror_of_another_account_is_emptied(crm: FakeCrm, state: State) -> None:
    state.bind_source("hubspot:https://a.example")
    run(crm, state)
    assert state.mirror_count("contact") == 7
    assert state.bind_source("hubspot:https://b.example") is True
    assert state.mirror_count("contact") == 0
    assert state.pull_state("contact") is None


def test_a_merge_moves_purchases_to_the_survivor_in_the_same_run(
    crm: FakeCrm, state: State
) -> None:
    """A merge moves the loser's deals to the survivor without touching the deals'
    modification stamps: the engine must pull deals in full to see the new links."""
    from dataclasses import replace

    run(crm, state)
    crm.delete("contact", "3")  # merged into 2
    crm.deals["d2"] = replace(crm.deals["d2"], contact_ids=("2",))  # same updated_at
    result = run(crm, state)
    assert result.summary["pulled"]["deal"]["full"] is True  # type: ignore[attr-defined]
    links = state.con.execute("SELECT contact_id FROM mirror_deal_contacts WHERE deal_id = 'd2'")
    assert links.fetchall() == [("2",)]
    # 2 now holds the whole 50 of 2025-05-01: still C / inactive, but the mirror is right.
    assert crm.value("2", "crmseg_lifecycle") == "inactive"


def test_large_plans_go_through_the_bulk_path_and_lists_get_their_members(
    state: State,
) -> None:
    from tests.sync_engine.fake_crm import BulkFakeCrm

    crm = BulkFakeCrm()
    for i in range(1, 8):
        crm.add_contact(str(i), email=f"u{i}@example.com", first_name="A", country="DE")
    crm.add_deal("d1", "100", date(2026, 5, 1), ["1"])
    crm.add_deal("d2", "50", date(2025, 5, 1), ["2", "3"])
    config = Config(lists=ListsConfig(lifecycle=["inactive", "prospect"]))
    result = run(crm, state, config)
    # 7 contacts to write >= threshold 5: one bulk job, no batch call.
    assert crm.calls["bulk"] == 1 and crm.calls["write"] == 1  # the job's own write
    assert result.summary["written"] == 7  # type: ignore[attr-defined]
    assert crm.members["crmseg · lifecycle = inactive"] == {"2", "3"}
    assert crm.members["crmseg · lifecycle = prospect"] == {"4", "5", "6", "7"}
    # A new purchase moves 4 out of the prospects: 1 change, below the bulk threshold.
    crm.add_deal("d3", "10", date(2026, 6, 1), ["4"])
    again = run(crm, state, config)
    assert crm.calls["bulk"] == 1
    assert crm.members["crmseg · lifecycle = prospect"] == {"5", "6", "7"}
    prospects = next(e for e in again.summary["lists"] if e["name"].endswith("prospect"))  # type: ignore[attr-defined]
    assert (prospects["added"], prospects["removed"]) == (0, 1)


def test_a_full_pulls_cursor_is_capped_at_its_start(
    crm: FakeCrm, state: State, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Contact 1 is read, then edited while the full pull runs; contact 6, edited
    later still, is read with its new stamp. Uncapped, the cursor would sit at 6's
    stamp and the next incremental pull would never see 1's edit."""
    import sync.engine

    monkeypatch.setattr(sync.engine, "now_utc", lambda: crm.clock)
    original = FakeCrm.pull

    def pull(self: FakeCrm, object_type: str, since: Any, properties: Any = ()) -> Any:
        pages = original(self, object_type, since, properties)  # type: ignore[arg-type]
        if object_type != "contact" or since is not None:
            yield from pages
            return
        yield next(pages)  # contacts 1 and 2
        self.add_contact("1", email="new@example.com", first_name="A", country="AT")
        self.add_contact("6", email="u6@example.com", first_name="A", country="FR")
        rest = sorted(
            (c for c in self.contacts.values() if c.id not in ("1", "2")), key=lambda c: c.id
        )
        yield Page(rest, (), Cursor(max(c.updated_at for c in rest), "6"))  # type: ignore[arg-type,type-var]

    monkeypatch.setattr(FakeCrm, "pull", pull)
    started = crm.clock
    config = Config(crm=CrmConfig(overlap_minutes=0))
    run(crm, state, config)
    pulled = state.pull_state("contact")
    assert pulled is not None and pulled.cursor is not None
    assert pulled.cursor.modified_at == started
    run(crm, state, config)
    row = state.con.execute("SELECT email, country FROM mirror_contacts WHERE id = '1'").fetchone()
    assert row == ("new@example.com", "AT")
