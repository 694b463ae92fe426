"""SIGTERM / SIGINT end a run cleanly; status, history and explain work while a sync
runs; a run killed outright never stays ``running``."""

from __future__ import annotations

import json
import signal
import threading
import time
from pathlib import Path
from typing import Any

import duckdb
import pytest

from connectors.sandbox._server import Request, Response
from connectors.sandbox.hubspot import HubSpotStandIn
from tests.operator.conftest import AS_OF, hub_config, hubspot, popen

BATCH = r"/contacts/batch/update$"


def slow_writes(hub: HubSpotStandIn, seconds: float) -> threading.Event:
    """Each contact batch write takes ``seconds``; the event is set at the first."""
    started = threading.Event()

    def hook(request: Request) -> Response | None:
        if request.method == "POST" and request.path.endswith("/contacts/batch/update"):
            started.set()
        return None

    hub.add_fault_hook("note-writes", hook)
    hub.faults.slow_responses(10, seconds, path=BATCH)
    return started


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_the_run_recorded_as_interrupted(
    tmp_path: Path, crmseg: Any, monkeypatch: Any, signum: int, code: int
) -> None:
    with hubspot(contacts=300) as hub:
        state = tmp_path / "state.duckdb"
        config = hub_config(tmp_path / "crmseg.toml", hub, state)
        config.write_text(config.read_text().replace("[crm]\n", "[crm]\nconcurrency = 1\n", 1))
        started = slow_writes(hub, 1.5)
        env = {"HUBSPOT_ACCESS_TOKEN": hub.token}
        proc = popen(
            ["sync", "--config", str(config), "--as-of", str(AS_OF), "--allow-mass-change"],
            cwd=tmp_path,
            env=env,
        )
        while not started.wait(0.1):
            assert proc.poll() is None, proc.communicate()
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == code, err
        assert f"interrupted by {signal.Signals(signum).name}" in err
        assert "recorded as interrupted after writing 100 records" in err
        # the batch in flight finished and is recorded; nothing was sent after it
        assert hub.log.count("POST", BATCH) == 1
        con = duckdb.connect(str(state), read_only=True)
        assert con.execute("SELECT status FROM runs").fetchall() == [("interrupted",)]
        assert con.execute(
            "SELECT count(DISTINCT record_id) FROM audit WHERE status = 'written'"
        ).fetchone() == (100,)
        con.close()
        # the next run writes the other 200, and nothing twice
        hub.faults.reset()
        monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", hub.token)
        again = crmseg("sync", "--config", config, "--as-of", AS_OF, "--json")
        assert again.exit_code == 0, again.output
        assert json.loads(again.stdout)["written"] == 200


def test_status_history_and_explain_work_while_a_sync_runs(
    tmp_path: Path, crmseg: Any, monkeypatch: Any
) -> None:
    with hubspot(contacts=300) as hub:
        monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", hub.token)
        config = hub_config(tmp_path / "crmseg.toml", hub, tmp_path / "state.duckdb")
        assert crmseg("sync", "--config", config, "--as-of", AS_OF).exit_code == 0
        hub.faults.set_latency(0.3)  # every request of the next sync takes a while
        proc = popen(
            ["sync", "--config", str(config), "--as-of", str(AS_OF), "--full"],
            cwd=tmp_path,
            env={"HUBSPOT_ACCESS_TOKEN": hub.token},
        )
        try:
            # wait until the second sync holds the lock (it then holds the state file)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and proc.poll() is None:
                status = crmseg("status", "--config", config, "--json")
                if status.exit_code == 0 and json.loads(status.stdout)["sync_running"]:
                    break
                time.sleep(0.05)
            payload = json.loads(status.stdout)
            assert payload["sync_running"] is True
            assert payload["account"] == "hubspot portal 111"
            assert payload["runs"][-1]["status"] == "ok"
            history = crmseg("history", "--config", config, "--json")
            assert history.exit_code == 0 and json.loads(history.stdout)["runs"]
            explain = crmseg("explain", "1", "--config", config, "--as-of", AS_OF, "--json")
            assert explain.exit_code == 0, explain.output
        finally:
            proc.communicate(timeout=60)
        assert proc.returncode == 0


def test_a_killed_run_is_never_shown_as_running(
    hub: HubSpotStandIn, tmp_path: Path, crmseg: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", hub.token)
    state = tmp_path / "state.duckdb"
    config = hub_config(tmp_path / "crmseg.toml", hub, state)
    assert crmseg("sync", "--config", config, "--as-of", AS_OF).exit_code == 0
    con = duckdb.connect(str(state))  # what SIGKILL mid-run leaves behind
    con.execute(
        "INSERT INTO runs (id, command, started_at, status) VALUES (99, 'sync', now(), 'running')"
    )
    con.close()
    shown = json.loads(crmseg("status", "--config", config, "--json").stdout)
    assert shown["runs"][0]["id"] == 99 and shown["runs"][0]["status"] == "interrupted"
    assert crmseg("sync", "--config", config, "--as-of", AS_OF).exit_code == 0
    con = duckdb.connect(str(state), read_only=True)
    assert con.execute("SELECT status FROM runs WHERE id = 99").fetchone() == ("interrupted",)
    con.close()
