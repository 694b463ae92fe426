"""The README's "Trying crmseg on a local sandbox" steps, run exactly as written."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sync.cli import app
from tests.operator.conftest import ROOT


@pytest.fixture
def clock() -> None:
    """The real clock, not the package's fake one: the steps run in this process
    against ``serve`` in a process of its own, whose rate limits count real seconds (on
    a fake clock crmseg's limiter would not pace its searches, and a quick machine gets
    HubSpot's secondly 429s until the retries, which wait on that clock too, run out)."""
    return None


def documented_steps(crm: str) -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(rf"<!-- sandbox-steps: {crm} -->\n```sh\n(.*?)```", readme, re.S)
    assert block is not None, f"README has no sandbox steps for {crm}"
    return [line for line in block.group(1).splitlines() if line.strip()]


def crmseg(line: str) -> list[str]:
    words = shlex.split(line)
    assert words[0] == "crmseg"
    return [sys.executable, "-m", "sync.cli", *words[1:]]


#: How a shell script starts ``serve &`` without job control: SIGINT ignored (and
#: the ignoring inherited through exec), as CI steps and ``bash -c '... &'`` do.
AS_A_SCRIPTS_BACKGROUND_JOB = ["sh", "-c", 'trap "" INT; exec "$0" "$@"']


@pytest.mark.parametrize(
    ("crm", "stop"),
    [
        pytest.param("hubspot", signal.SIGINT, id="hubspot"),
        pytest.param("salesforce", signal.SIGTERM, id="salesforce"),
    ],
)
def test_the_documented_sandbox_steps_work(
    crm: str, stop: signal.Signals, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``serve`` runs as its own process, as in a second terminal; the steps after it
    run in this process, in the folder and with the variables the README gives them
    (a process of their own would add only Python's start-up to each).

    ``serve`` starts as a script's background job does, with SIGINT ignored, and
    still stops on ``kill -INT`` (or ``kill``'s SIGTERM), exits 0 and removes its CA
    file."""
    serve, *rest = documented_steps(crm)
    assert serve.startswith(f"crmseg sandbox serve {crm}")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name in [n for n in env if n.startswith(("HUBSPOT_", "SALESFORCE_"))]:
        del env[name]
    server = subprocess.Popen(
        [*AS_A_SCRIPTS_BACKGROUND_JOB, *crmseg(serve)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        printed: list[str] = []
        assert server.stdout is not None
        while not any(line.startswith("export ") for line in printed):
            line = server.stdout.readline()
            assert line, f"serve ended early: {printed}"
            printed.append(line.rstrip("\n"))
        exported = dict(
            shlex.split(line.removeprefix("export "))[0].split("=", 1)
            for line in printed
            if line.startswith("export ")
        )
        config = (tmp_path / "crmseg.toml").read_text(encoding="utf-8")
        assert config.strip() in "\n".join(printed)  # what it wrote is what it printed
        monkeypatch.chdir(tmp_path)
        variables: dict[str, str | None] = {}
        for step in rest:
            if step.startswith("export "):
                name, value = step.removeprefix("export ").split("=", 1)
                # the README shows the fixed HubSpot token verbatim, and says to copy
                # the printed Salesforce secret
                assert name in exported
                if not value.startswith("..."):
                    assert value == exported[name]
                variables[name] = exported[name]
                continue
            words = shlex.split(step)
            assert words[0] == "crmseg"
            result = CliRunner().invoke(app, words[1:], env=variables, catch_exceptions=False)
            assert result.exit_code == 0, (step, result.output)
            assert result.stderr.splitlines()[0] == "Config: crmseg.toml"
        assert "belongs to" in result.stderr  # the last step is `crmseg status`
    finally:
        server.send_signal(stop)
        try:
            server.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()  # so that a server that does not stop outlives no test
            server.communicate()
            pytest.fail(f"serve did not stop within 30 s of {stop.name}")
    assert server.returncode == 0
    ca_bundle = re.search(r'^ca_bundle = "(.*)"$', config, re.M)
    assert ca_bundle is not None and not Path(ca_bundle.group(1)).exists()


def test_serve_on_a_port_in_use_exits_2_naming_it() -> None:
    from typer.testing import CliRunner

    from connectors.sandbox.cli import sandbox_app

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(sandbox_app, ["serve", "hubspot", "--port", str(port)])
    assert result.exit_code == 2
    assert f"--port {port}" in result.output and "in use" in result.output


@pytest.mark.parametrize(
    "args", [["--contacts", "-1"], ["--port", "70000"], ["--latency", "-2"], ["--portal-id", "0"]]
)
def test_serve_refuses_nonsense_numbers(args: list[str]) -> None:
    from typer.testing import CliRunner

    from connectors.sandbox.cli import sandbox_app

    result = CliRunner().invoke(sandbox_app, ["serve", "hubspot", *args])
    assert result.exit_code == 2
    assert args[0] in result.output
