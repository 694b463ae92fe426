"""SIGTERM / SIGINT end a run cleanly; status, history and explain work while a sync
runs; a run killed outright never stays ``running``."""

from __future__ import annotations

import json
import re
import signal
import subprocess
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


class Hold:
    """Holds the first request a stand-in gets that matches, until released.

    ``reached`` is set when that request arrives, so a test waits on the child's own
    progress instead of on the clock; the request is answered when ``release`` is
    set (or after ``limit`` seconds, so a failing test cannot hang)."""

    def __init__(self, hub: HubSpotStandIn, method: str, path: str, limit: float = 60) -> None:
        self.reached = threading.Event()
        self.release = threading.Event()
        self._taken = False
        self._lock = threading.Lock()

        def hook(request: Request) -> Response | None:
            if request.method == method and re.search(path, request.path):
                with self._lock:
                    first, self._taken = not self._taken, True
                if first:
                    self.reached.set()
                    self.release.wait(limit)
            return None

        hub.add_fault_hook(f"hold {method} {path}", hook)

    def wait(self, proc: subprocess.Popen[str], limit: float = 60) -> None:
        """Until the held request arrived; fails at once if the child ended first."""
        deadline = time.monotonic() + limit
        while not self.reached.wait(0.05):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the child never sent the held request"


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_the_run_recorded_as_interrupted(
    tmp_path: Path, crmseg: Any, monkeypatch: Any, signum: int, code: int
) -> None:
    with hubspot(contacts=300) as hub:
        state = tmp_path / "state.duckdb"
        config = hub_config(tmp_path / "crmseg.toml", hub, state)
        config.write_text(config.read_text().replace("[crm]\n", "[crm]\nconcurrency = 1\n", 1))
        # The first contact batch is in flight when the signal comes: its answer waits
        # until the signal is sent. Any thread of the child returns from the kernel
        # (reading that answer, say) only after the signal was delivered, and Python
        # runs the handler on the main thread before that thread sees the answer: the
        # batch is recorded and no next one is sent, without waiting on the clock.
        held = Hold(hub, "POST", BATCH)
        env = {"HUBSPOT_ACCESS_TOKEN": hub.token}
        proc = popen(
            ["sync", "--config", str(config), "--as-of", str(AS_OF), "--allow-mass-change"],
            cwd=tmp_path,
            env=env,
        )
        try:
            held.wait(proc)
            proc.send_signal(signum)
        finally:
            held.release.set()
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
    with hubspot() as hub:
        monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", hub.token)
        config = hub_config(tmp_path / "crmseg.toml", hub, tmp_path / "state.duckdb")
        assert crmseg("sync", "--config", config, "--as-of", AS_OF).exit_code == 0
        # The second sync is held at its first contact page: by then it holds the
        # lock and the state file, and it stays there until the reads below are done.
        held = Hold(hub, "GET", r"/objects/contacts$")
        proc = popen(
            ["sync", "--config", str(config), "--as-of", str(AS_OF), "--full"],
            cwd=tmp_path,
            env={"HUBSPOT_ACCESS_TOKEN": hub.token},
        )
        try:
            held.wait(proc)
            status = crmseg("status", "--config", config, "--json")
            assert status.exit_code == 0, status.output
            payload = json.loads(status.stdout)
            assert payload["sync_running"] is True
            assert payload["account"] == "hubspot portal 111"
            assert payload["runs"][-1]["status"] == "ok"
            history = crmseg("history", "--config", config, "--json")
            assert history.exit_code == 0 and json.loads(history.stdout)["runs"]
            explain = crmseg("explain", "1", "--config", config, "--as-of", AS_OF, "--json")
            assert explain.exit_code == 0, explain.output
        finally:
            held.release.set()
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
