"""A sync killed outright while it downloads an export leaves its temp folder behind;
the next run removes it, and leaves the folders of live processes alone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from connectors.sandbox._server import Request, Response
from connectors.sandbox.hubspot import HubSpotStandIn
from connectors.scratch import ScratchDir
from tests.e2e_hubspot.conftest import AS_OF
from tests.e2e_hubspot.test_sync import sync

ROOT = Path(__file__).resolve().parents[2]


def test_the_next_run_removes_the_folder_of_a_run_killed_mid_download(
    hub: HubSpotStandIn,
    config_file: Callable[..., Path],
    crmseg: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hub.bulk.instant()
    config = config_file(crm="export_threshold = 10\nimport_threshold = 10\n")
    temp = tmp_path / "temp"
    temp.mkdir()
    downloading, release = threading.Event(), threading.Event()

    def hold_download(request: Request) -> Response | None:
        if request.path.startswith("/sandbox/exports/"):
            downloading.set()
            release.wait(60)
        return None

    hub.add_fault_hook("hold the export download", hold_download)
    args = ["sync", "--config", str(config), "--as-of", str(AS_OF)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "sync.cli", *args],
        env={**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(temp)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not downloading.wait(0.05):
            assert proc.poll() is None and time.monotonic() < deadline, "no export download"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
    left = [p.name for p in temp.iterdir()]  # what the killed run left: one per download
    assert left and all(name.startswith("crmseg-export-") for name in left), left
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    live = ScratchDir("import")  # a live crmseg process's folder
    hub.faults.remove_hook("hold the export download")
    code, summary = sync(crmseg, config)
    assert code == 0, summary
    assert list(temp.iterdir()) == [Path(live.path)]  # the run's own were removed as well
    live.remove()
