"""How a command talks when it fails, which config it read, and a reader that stops
early."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from connectors.sandbox.hubspot import HubSpotStandIn
from tests.cli.demo_run import demo
from tests.operator.conftest import AS_OF, ROOT, hub_config


def test_json_failure_is_one_object_on_stdout(tmp_path: Path, crmseg: Any) -> None:
    config = tmp_path / "crmseg.toml"
    config.write_text('[segmentation]\nwindow_days = "365"\n', encoding="utf-8")
    result = crmseg("sync", "--config", config, "--json")
    assert result.exit_code == 2
    payload = json.loads(result.stdout)
    assert payload["status"] == "failed" and payload["exit_code"] == 2
    assert payload["error"]["kind"] == "config"
    assert "segmentation.window_days" in payload["error"]["message"]


def test_json_failure_of_the_crm(
    hub: HubSpotStandIn, tmp_path: Path, crmseg: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-na1-wrong")
    config = hub_config(tmp_path / "crmseg.toml", hub, tmp_path / "state.duckdb")
    result = crmseg("plan", "--config", config, "--json")
    assert result.exit_code == 5
    payload = json.loads(result.stdout)
    assert payload["error"]["kind"] == "crm" and "refused" in payload["error"]["message"]


def test_json_logs_carry_the_final_error_too(
    hub: HubSpotStandIn, tmp_path: Path, crmseg: Any, monkeypatch: Any
) -> None:
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", hub.token)
    config = hub_config(tmp_path / "crmseg.toml", hub, tmp_path / "state.duckdb")
    result = crmseg("sync", "--config", config, "--as-of", "2999-01-01", "--log-format", "json")
    assert result.exit_code == 2
    lines = [json.loads(line) for line in result.stderr.splitlines()]  # every line is JSON
    assert lines[0]["message"].startswith("Config: ")
    assert lines[-1]["level"] == "error" and "later than today" in lines[-1]["message"]
    assert lines[-1]["exit_code"] == 2
    ok = crmseg("sync", "--config", config, "--as-of", AS_OF, "--log-format", "json")
    assert ok.exit_code == 0
    assert all(json.loads(line) for line in ok.stderr.splitlines())


def test_crmseg_toml_in_the_working_directory_is_read_and_named(
    hub: HubSpotStandIn, tmp_path: Path, crmseg: Any, monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", hub.token)
    hub_config(tmp_path / "crmseg.toml", hub, tmp_path / "state.duckdb")
    result = crmseg("plan", "--as-of", AS_OF)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines()[0] == "Config: crmseg.toml"
    assert (tmp_path / "state.duckdb").exists()


def test_without_any_config_the_first_line_says_defaults(
    tmp_path: Path, crmseg: Any, monkeypatch: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    result = crmseg("status")
    first = result.stderr.splitlines()[0]
    assert "no ./crmseg.toml" in first and "https://api.hubapi.com" in first


#: ``crmseg demo`` as the console entry point runs it, answering with a demo result
#: recorded earlier (the file named by $DEMO_RESULT) instead of syncing again.
REPLAYED_DEMO = """
import json, os, sys
import sync.cli as cli
with open(os.environ["DEMO_RESULT"], encoding="utf-8") as fh:
    recorded = json.load(fh)
cli.run_demo = lambda *args, **kwargs: recorded
sys.argv = ["crmseg", *sys.argv[1:]]
cli.main()
"""


def _demo_into_head(
    tmp_path: Path, demo: str, lines: int, result: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        f'set -o pipefail; {sys.executable} -c "$REPLAYED_DEMO" {demo} | head -n {lines}',
        shell=True,
        cwd=tmp_path,
        env={
            "PYTHONPATH": str(ROOT),
            "PATH": "/usr/bin:/bin",
            "REPLAYED_DEMO": REPLAYED_DEMO,
            "DEMO_RESULT": str(result),
        },
        capture_output=True,
        text=True,
        executable="/bin/bash",
    )


def test_demo_into_head_exits_0_quietly(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A reader that stops early closes the pipe while crmseg prints: that is the
    process's printing and exit, so each runs as its own process behind a real pipe.
    What it prints is the result of a real demo run (the one the demo's own tests
    read), replayed: the two syncs behind it are not what a closed pipe can break."""
    recorded = demo(tmp_path_factory, "--json")
    assert recorded.exit_code == 0, recorded.output
    result = tmp_path / "demo.json"
    result.write_text(recorded.stdout, encoding="utf-8")
    tables = _demo_into_head(tmp_path, "demo", 2, result)
    assert tables.returncode == 0, tables.stderr
    assert "Error" not in tables.stderr and "Traceback" not in tables.stderr
    piped = _demo_into_head(tmp_path, "demo --json", 1, result)
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == "{\n"


def _main(monkeypatch: Any, capsys: Any, *argv: str) -> tuple[int, str, str]:
    """Run the console entry point as the shell would (usage errors are handled there)."""
    from sync.cli import main

    monkeypatch.setattr(sys, "argv", ["crmseg", *argv])
    with pytest.raises(SystemExit) as ended:
        main()
    out = capsys.readouterr()
    return int(ended.value.code or 0), out.out, out.err


def test_a_usage_error_with_json_is_one_object_on_stdout(
    tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    code, out, _ = _main(monkeypatch, capsys, "status", "--runs", "0", "--json")
    assert code == 2
    payload = json.loads(out)
    assert payload["status"] == "failed" and payload["exit_code"] == 2
    assert payload["error"]["kind"] == "usage"
    assert "--runs" in payload["error"]["message"]
    assert "crmseg status" in payload["error"]["message"]


def test_a_usage_error_with_json_logs_is_a_json_line(
    tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    code, out, err = _main(monkeypatch, capsys, "sync", "--bogus", "--log-format", "json")
    assert code == 2 and out == ""
    record = json.loads(err.strip().splitlines()[-1])
    assert record["level"] == "error" and record["kind"] == "usage"
    assert "--bogus" in record["message"]


def test_json_output_keeps_the_exit_code_of_a_command(
    tmp_path: Path, monkeypatch: Any, capsys: Any
) -> None:
    code, out, _ = _main(
        monkeypatch,
        capsys,
        "segment",
        "--input",
        str(tmp_path / "none"),
        "--out",
        str(tmp_path / "t.csv"),
        "--json",
    )
    assert code == 2
    assert json.loads(out)["status"] == "failed"
