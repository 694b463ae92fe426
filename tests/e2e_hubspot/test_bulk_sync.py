"""``crmseg sync`` through CRM exports and imports (small thresholds), including a run killed
with SIGKILL while its import is processing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from connectors.sandbox.hubspot import HubSpotStandIn
from connectors.sandbox.hubspot.imports import RowError
from sync.config import load_config
from tests.e2e_hubspot.conftest import AS_OF, crm_tags, expected_tags
from tests.e2e_hubspot.test_sync import sync
from tests.fakeclock import FakeClock

BULK = "export_threshold = 10\nimport_threshold = 10\n"


def test_first_sync_reads_exports_and_writes_one_import(
    hub: HubSpotStandIn, config_file: Callable[..., Path], crmseg: Any, tmp_path: Path
) -> None:
    hub.bulk.instant()
    config = config_file(crm=BULK)
    code, summary = sync(crmseg, config)
    assert code == 0, summary
    expected = expected_tags(hub, tmp_path, load_config(config).segmentation)
    assert {cid: crm_tags(hub, cid) for cid in expected} == expected
    assert summary["written"] == 60
    assert hub.log.count("POST", r"^/crm/v3/exports/export/async$") == 2  # contacts, deals
    assert hub.log.count("GET", r"^/crm/v3/objects/(contacts|deals)/?$") == 0
    assert hub.log.count("POST", r"^/crm/v3/imports/?$") == 1
    assert hub.log.count("POST", r"/batch/update$") == 0
    # the second run: the import changed every contact, so contacts are read through an
    # export again (deals, unchanged, through search); nothing to write
    code, summary = sync(crmseg, config)
    assert code == 0 and summary["plan"]["records"] == 0 and summary["written"] == 0
    assert hub.log.count("POST", r"^/crm/v3/exports/export/async$") == 3
    assert hub.log.count("POST", r"^/crm/v3/imports/?$") == 1


def test_rejected_import_rows_count_as_rejected_records_and_are_retried(
    hub: HubSpotStandIn, config_file: Callable[..., Path], crmseg: Any
) -> None:
    hub.bulk.instant()
    config = config_file(crm="import_threshold = 10\n")
    original = hub.imports._apply_row

    def reject_contact_3(job: Any, f: Any, line: int, row: list[str], *rest: Any) -> None:
        if row[0] == "3":
            job.errors.append(
                RowError(
                    str(len(job.errors) + 1),
                    "contacts",
                    "INVALID_OPTION",
                    "injected",
                    row[1],
                    1,
                    row,
                    line,
                    f.file_id,
                    0,
                )
            )
            return
        original(job, f, line, row, *rest)

    hub.imports._apply_row = reject_contact_3  # type: ignore[method-assign]
    code, summary = sync(crmseg, config)
    assert code == 6, summary  # some records rejected
    assert summary["failed"] >= 1
    assert {f["record"] for f in summary["failures"]} == {"3"}
    hub.imports._apply_row = original  # type: ignore[method-assign]
    code, summary = sync(crmseg, config)
    assert code == 0 and summary["plan"]["records"] == 1 and summary["written"] == 1


def test_a_run_killed_during_its_import_is_completed_by_the_next_without_double_writes(
    hub: HubSpotStandIn,
    config_file: Callable[..., Path],
    crmseg: Any,
    tmp_path: Path,
    clock: FakeClock,
) -> None:
    hub.bulk.import_delay_seconds = 4.0
    hub.bulk.clock = clock  # HubSpot processes while the rerun's polls wait
    config = config_file(crm="import_threshold = 10\n")
    args = ["sync", "--config", str(config), "--as-of", str(AS_OF), "--json"]
    kill_once_importing(hub, ["-m", "sync.cli", *args], 1)
    (job,) = hub.imports.jobs.values()
    assert job.state in ("STARTED", "PROCESSING")  # killed while HubSpot still processes
    writes_before = hub.log.count("POST", r"/batch/update$")
    code, summary = sync(crmseg, config)
    assert code == 0, summary
    assert job.state == "DONE"
    assert len(hub.imports.jobs) == 1  # no second import
    assert hub.log.count("POST", r"/batch/update$") == writes_before  # nothing written twice
    assert summary["plan"]["records"] == 0
    expected = expected_tags(hub, tmp_path, load_config(config).segmentation)
    assert {cid: crm_tags(hub, cid) for cid in expected} == expected  # nothing lost


def test_outcomes_spanning_several_chunks_and_imports_are_stored_exactly(
    hub: HubSpotStandIn,
    config_file: Callable[..., Path],
    crmseg: Any,
    tmp_path: Path,
    monkeypatch: Any,
) -> None:
    """Small chunk sizes: the plan read 5 rows at a time, outcomes stored 7 changes per
    statement, the write split over three imports; the state must be as with one of each."""
    import connectors.hubspot.imports as imports
    import sync.plan as plan
    import sync.state_runs as state_runs

    monkeypatch.setattr(plan, "FETCH_ROWS", 5)
    monkeypatch.setattr(state_runs, "WRITTEN_CHUNK", 7)
    monkeypatch.setattr(imports, "PART_ROWS", 10)
    hub.bulk.instant()
    config = config_file(crm=BULK)
    code, summary = sync(crmseg, config)
    assert code == 0, summary
    assert summary["written"] == 60 and summary["plan"]["fields"] > 60  # several per record
    assert len(hub.imports.jobs) == 3 and sum(j.rows for j in hub.imports.jobs.values()) == 60
    expected = expected_tags(hub, tmp_path, load_config(config).segmentation)
    assert {cid: crm_tags(hub, cid) for cid in expected} == expected
    import duckdb

    con = duckdb.connect(str(load_config(config).state.path), read_only=True)
    audit = con.execute("SELECT count(*), count(DISTINCT (record_id, field)) FROM audit").fetchone()
    con.close()
    assert audit == (summary["plan"]["fields"], summary["plan"]["fields"])  # each once
    code, summary = sync(crmseg, config)
    assert code == 0 and summary["plan"]["records"] == 0 and summary["written"] == 0
    assert len(hub.imports.jobs) == 3


def test_a_run_killed_while_its_imports_process_in_parts_is_completed_without_twins(
    hub: HubSpotStandIn,
    config_file: Callable[..., Path],
    crmseg: Any,
    tmp_path: Path,
    clock: FakeClock,
) -> None:
    hub.bulk.import_delay_seconds = 4.0
    hub.bulk.clock = clock  # HubSpot processes while the rerun's polls wait
    config = config_file(crm="import_threshold = 10\n")
    code = (
        "import sys, connectors.hubspot.imports as m; m.PART_ROWS = 10; "
        "from sync.cli import main; sys.argv[0] = 'crmseg'; main()"
    )
    args = ["sync", "--config", str(config), "--as-of", str(AS_OF), "--json"]
    kill_once_importing(hub, ["-c", code, *args], 3)
    assert all(j.state in ("STARTED", "PROCESSING") for j in hub.imports.jobs.values())
    writes_before = hub.log.count("POST", r"/batch/update$")
    code_, summary = sync(crmseg, config)
    assert code_ == 0, summary
    assert all(j.state == "DONE" for j in hub.imports.jobs.values())
    assert len(hub.imports.jobs) == 3  # no import started again
    assert hub.log.count("POST", r"/batch/update$") == writes_before  # nothing written twice
    assert summary["plan"]["records"] == 0
    expected = expected_tags(hub, tmp_path, load_config(config).segmentation)
    assert {cid: crm_tags(hub, cid) for cid in expected} == expected  # nothing lost


def kill_once_importing(hub: HubSpotStandIn, argv: list[str], jobs: int) -> None:
    """Run ``python argv`` and SIGKILL it once the stand-in holds ``jobs`` imports."""
    env = {**os.environ, "HUBSPOT_ACCESS_TOKEN": hub.token}
    proc = subprocess.Popen(
        [sys.executable, *argv],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parents[2],
    )
    try:
        deadline = time.monotonic() + 90
        while len(hub.imports.jobs) < jobs and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert len(hub.imports.jobs) == jobs, f"the run never started {jobs} import(s)"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
