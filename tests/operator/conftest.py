"""Operator safety through the CLI: account binding, signals, failures as an admin
meets them, against the loopback CRM sandboxes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import typer.testing
from typer.testing import CliRunner

from connectors.sandbox.hubspot import HubSpotStandIn, LimitConfig
from sync.cli import app
from tests.fakeclock import FakeClock, default_clock

AS_OF = date(2026, 6, 30)
ROOT = Path(__file__).resolve().parents[2]


def hubspot(portal_id: int = 111, contacts: int = 40) -> HubSpotStandIn:
    return HubSpotStandIn(
        seed=5,
        contacts=contacts,
        as_of=AS_OF,
        limits=LimitConfig(enabled=False),
        portal_id=portal_id,
    )


@pytest.fixture(autouse=True, scope="module")
def _one_click_command_per_app() -> Iterator[None]:
    """``CliRunner.invoke(app)`` builds the whole click command tree from the typer app
    on every call (milliseconds each, and these tests invoke crmseg hundreds of times);
    no test here changes the app, so each module builds it once."""
    build = typer.testing._get_command
    built: dict[typer.Typer, Any] = {}

    def once(typer_app: typer.Typer) -> Any:
        if typer_app not in built:
            built[typer_app] = build(typer_app)
        return built[typer_app]

    typer.testing._get_command = once  # type: ignore[assignment]
    try:
        yield
    finally:
        typer.testing._get_command = build


@pytest.fixture(autouse=True)
def clock() -> Iterator[FakeClock]:
    """Every transport and session a command run in this process builds waits on this
    fake clock (a refused connection's quick retries, backoffs, job polls): the waits
    are recorded in ``clock.sleeps``, none is spent. Processes of their own
    (:func:`popen`) keep the real clock."""
    with default_clock(FakeClock()) as fake:
        yield fake


@pytest.fixture
def hub() -> Iterator[HubSpotStandIn]:
    with hubspot() as hs:
        yield hs


def hub_config(path: Path, hub: HubSpotStandIn, state: Path | None, extra: str = "") -> Path:
    """A config for ``hub``; ``state=None`` leaves ``[state] path`` to the default."""
    text = f'[crm]\nbase_url = "{hub.base_url}"\nca_bundle = "{hub.ca_path}"\n'
    if state is not None:
        text += f'[state]\npath = "{state}"\n'
    path.write_text(text + extra, encoding="utf-8")
    return path


@pytest.fixture
def crmseg() -> Callable[..., Any]:
    runner = CliRunner()
    return lambda *args: runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def writes(hub: HubSpotStandIn) -> list[tuple[str, str]]:
    """Requests that change something in the sandbox (reads are GETs and searches)."""
    return [
        (e.method, e.path)
        for e in hub.log.entries
        if e.method in ("PATCH", "PUT", "DELETE")
        or (e.method == "POST" and not e.path.endswith(("/search", "/batch/read")))
    ]


def popen(args: list[str], *, cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    """``crmseg`` as its own process (signals, a lock held by another process)."""
    return subprocess.Popen(
        [sys.executable, "-m", "sync.cli", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
