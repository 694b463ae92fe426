"""The systemd service and timer in deploy/systemd, checked by systemd's own tools.

``systemd-analyze verify`` loads the units the way the service manager does (against
an alternate root that holds the stock units, the crmseg executable and the crmseg
user, so nothing on this machine is touched); it reports unknown keys and values it
cannot parse as warnings with exit status 0, so any output at all fails the check.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from sync.cli_common import EXIT_CRM, EXIT_FAILURE, EXIT_LOCKED, EXIT_MASS_CHANGE, EXIT_USAGE
from sync.config import CrmConfig, load_config
from tests.deploy.conftest import DEPLOY, require_tool
from tests.deploy.unitfile import one, read_unit

SYSTEMD = DEPLOY / "systemd"
SERVICE = SYSTEMD / "crmseg-sync.service"
TIMER = SYSTEMD / "crmseg-sync.timer"
SYSUSERS = SYSTEMD / "crmseg.sysusers"
#: crmseg's exit status after a clean stop on SIGTERM (128 + the signal number).
EXIT_INTERRUPTED = 128 + signal.SIGTERM


def _analyze() -> str:
    return require_tool("systemd-analyze", "the systemd unit checks")


def _stock_units() -> Path:
    for candidate in (Path("/usr/lib/systemd/system"), Path("/lib/systemd/system")):
        if (candidate / "sysinit.target").exists():
            return candidate
    pytest.skip("NOT CHECKED: systemd's stock units (sysinit.target) are not installed")


def _root(tmp_path: Path, service_text: str | None = None) -> Path:
    """An alternate root with the stock units, the units under test in /etc/systemd/system,
    the crmseg executable where ExecStart expects it, and the user from crmseg.sysusers."""
    root = tmp_path / "root"
    shutil.copytree(_stock_units(), root / "usr/lib/systemd/system", symlinks=True)
    units = root / "etc/systemd/system"
    units.mkdir(parents=True)
    shutil.copy(TIMER, units / TIMER.name)
    (units / SERVICE.name).write_text(
        service_text if service_text is not None else SERVICE.read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    executable = one(read_unit(SERVICE), "Service", "ExecStart").split()[0]
    target = root / executable.lstrip("/")
    target.parent.mkdir(parents=True)
    shutil.copy(require_tool("crmseg", "the systemd unit checks"), target)
    sysusers = require_tool("systemd-sysusers", "the check of deploy/systemd/crmseg.sysusers")
    subprocess.run([sysusers, f"--root={root}", str(SYSUSERS)], check=True, capture_output=True)
    return root


def _verify(root: Path, *units: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_analyze(), "verify", f"--root={root}", "--man=no", *units],
        capture_output=True,
        text=True,
        cwd=root / "etc/systemd/system",
    )


def _microseconds(span: str) -> int:
    out = subprocess.run(
        [_analyze(), "timespan", span], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"μs: (\d+)", out)
    assert match, out
    return int(match.group(1))


def test_service_and_timer_pass_systemd_analyze_verify(tmp_path: Path):
    result = _verify(_root(tmp_path), SERVICE.name, TIMER.name)
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == ""


def test_verify_reports_a_misspelt_key_so_the_check_above_can_fail(tmp_path: Path):
    broken = SERVICE.read_text(encoding="utf-8").replace("Type=oneshot", "Typ=oneshot")
    result = _verify(_root(tmp_path, broken), SERVICE.name)
    assert "Unknown key 'Typ'" in result.stdout + result.stderr


def test_sysusers_creates_a_dedicated_system_user_that_cannot_log_in(tmp_path: Path):
    root = _root(tmp_path)
    passwd = {
        line.split(":")[0]: line.split(":")
        for line in (root / "etc/passwd").read_text(encoding="utf-8").splitlines()
    }
    user = passwd["crmseg"]
    assert 0 < int(user[2]) < 1000  # a system uid, not root
    assert user[5] == "/var/lib/crmseg"
    assert user[6] == "/usr/sbin/nologin"
    unit = read_unit(SERVICE)
    assert one(unit, "Service", "User") == one(unit, "Service", "Group") == "crmseg"


def test_hardening_as_systemd_analyze_security_reads_it(tmp_path: Path):
    root = _root(tmp_path)
    result = subprocess.run(
        [
            _analyze(),
            "security",
            f"--root={root}",
            "--offline=true",
            "--man=no",
            "--json=short",
            # The overall exposure (0-10, shown as 1.7 "OK") may not exceed 2.0.
            "--threshold=20",
            SERVICE.name,
        ],
        capture_output=True,
        text=True,
        cwd=root / "etc/systemd/system",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    checks = {entry["name"]: entry["set"] for entry in json.loads(result.stdout)}
    for setting in (
        "NoNewPrivileges=",
        "ProtectSystem=",
        "ProtectHome=",
        "PrivateTmp=",
        "PrivateDevices=",
        "User=/DynamicUser=",
        "CapabilityBoundingSet=~CAP_SYS_ADMIN",
        "RestrictSUIDSGID=",
    ):
        assert checks[setting] is True, setting


def test_service_is_a_oneshot_sync_with_the_token_from_an_environment_file():
    unit = read_unit(SERVICE)
    assert one(unit, "Service", "Type") == "oneshot"
    command = one(unit, "Service", "ExecStart").split()
    assert command[1] == "sync"
    assert command[command.index("--config") + 1] == "/etc/crmseg/crmseg.toml"
    assert one(unit, "Service", "EnvironmentFile") == "/etc/crmseg/crmseg.env"
    # The token is never written into the unit itself.
    assert "TOKEN" not in " ".join(unit["Service"].get("Environment", []))


def test_only_the_state_directory_is_writable_and_the_shipped_config_keeps_state_there():
    unit = read_unit(SERVICE)
    assert one(unit, "Service", "ProtectSystem") == "strict"
    assert one(unit, "Service", "StateDirectory") == "crmseg"
    assert unit["Service"]["ReadWritePaths"] == ["%S/crmseg"]
    # %S is /var/lib for a system service; the config's state file must live there,
    # and the XDG default (no [state] path) resolves there too.
    state = load_config(DEPLOY / "crmseg.toml").state.path
    assert state.parent == Path("/var/lib/crmseg")
    assert one(unit, "Service", "Environment") == "XDG_DATA_HOME=%S"


def test_a_clean_stop_is_success_and_no_failure_code_is(tmp_path: Path):
    unit = read_unit(SERVICE)
    assert one(unit, "Service", "KillSignal") == "SIGTERM"
    success = {int(code) for code in one(unit, "Service", "SuccessExitStatus").split()}
    assert success == {EXIT_INTERRUPTED}
    assert not success & {EXIT_FAILURE, EXIT_USAGE, EXIT_LOCKED, EXIT_MASS_CHANGE, EXIT_CRM}


def stop_timeout_seconds() -> float:
    """How long systemd waits after SIGTERM before SIGKILL."""
    return _microseconds(one(read_unit(SERVICE), "Service", "TimeoutStopSec")) / 1e6


def run_time_limit_seconds() -> float:
    return _microseconds(one(read_unit(SERVICE), "Service", "TimeoutStartSec")) / 1e6


def test_stop_timeout_leaves_room_for_requests_in_flight():
    request_timeout = CrmConfig.model_fields["timeout_seconds"].default
    assert stop_timeout_seconds() >= 2 * request_timeout


def test_run_time_limit_is_hours_not_minutes():
    assert run_time_limit_seconds() == 3 * 3600


def test_timer_fires_every_night_and_catches_up_after_downtime():
    timer = read_unit(TIMER)
    assert one(timer, "Timer", "Persistent") == "true"
    assert _microseconds(one(timer, "Timer", "RandomizedDelaySec")) == 30 * 60 * 10**6
    assert one(timer, "Timer", "Unit") == SERVICE.name
    assert one(timer, "Install", "WantedBy") == "timers.target"
    out = subprocess.run(
        [_analyze(), "calendar", "--iterations=3", one(timer, "Timer", "OnCalendar")],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TZ": "UTC"},
    ).stdout
    stamps = [
        datetime.strptime(m, "%Y-%m-%d %H:%M:%S")
        for m in re.findall(r"(?:Next elapse|Iter\. #\d): \w+ (\S+ \S+) UTC", out)
    ]
    assert len(stamps) == 3, out
    assert {stamp.time().isoformat() for stamp in stamps} == {"02:30:00"}
    assert [b - a for a, b in itertools.pairwise(stamps)] == [timedelta(days=1)] * 2
