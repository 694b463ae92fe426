"""Fixtures: the Salesforce stand-in and a session / connector logged in by client credentials."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from connectors.salesforce import SalesforceConnector, SalesforceSession, SalesforceSettings
from connectors.sandbox.salesforce import SalesforceStandIn
from tests.fakeclock import FakeClock, default_clock


@pytest.fixture(autouse=True)
def _no_real_salesforce_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real secrets in the environment must never reach a test."""
    for name in list(os.environ):
        if name.startswith(("SALESFORCE_", "SF_")):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def clock() -> Iterator[FakeClock]:
    """Every session a test builds without its own ``sleep`` waits on this fake clock:
    Bulk job polls and backoffs are recorded in ``clock.sleeps``, none is spent. The
    org's own time (held requests) stays real."""
    with default_clock(FakeClock()) as fake:
        yield fake


def settings_for(server: SalesforceStandIn, **kw: Any) -> SalesforceSettings:
    base: dict[str, Any] = {
        "instance_url": server.instance_url,
        "client_id": server.credentials.consumer_key,
        "ca_bundle": server.ca_path,
        "timeout_seconds": 10,
        "max_wait": 0.05,
    }
    return SalesforceSettings(**{**base, **kw})


def session_for(server: SalesforceStandIn, **kw: Any) -> SalesforceSession:
    """Client-credentials session against ``server``; waits are skipped."""
    return SalesforceSession(
        settings_for(server, **kw), server.credentials.consumer_secret, sleep=lambda _s: None
    )


@pytest.fixture
def sf_server() -> Iterator[SalesforceStandIn]:
    """A fresh small org per test (60 generated contacts), free to mutate."""
    with SalesforceStandIn(seed=7, contacts=60) as server:
        yield server


@pytest.fixture
def session(sf_server: SalesforceStandIn) -> Iterator[SalesforceSession]:
    s = session_for(sf_server)
    yield s
    s.close()


@pytest.fixture
def connector(session: SalesforceSession) -> SalesforceConnector:
    return SalesforceConnector(session)
