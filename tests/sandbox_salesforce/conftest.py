"""Fixtures: the Salesforce stand-in on port 0, and simple-salesforce clients pointed at it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from simple_salesforce import Salesforce

from connectors.sandbox.salesforce.app import SalesforceStandIn


@pytest.fixture(autouse=True)
def _no_real_salesforce_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real tokens in the environment must never reach a test."""
    for name in list(os.environ):
        if name.startswith("SALESFORCE_") or name.startswith("SF_"):
            monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sf_server() -> Iterator[SalesforceStandIn]:
    """A fresh small org per test (60 generated contacts), so tests can mutate freely."""
    with SalesforceStandIn(seed=7, contacts=60) as server:
        yield server


@pytest.fixture
def sf(sf_server: SalesforceStandIn) -> Salesforce:
    """simple-salesforce on a direct session id, parsing money as Decimal."""
    from decimal import Decimal

    return sf_server.client(parse_float=Decimal)


@pytest.fixture(scope="session")
def big_server() -> Iterator[SalesforceStandIn]:
    """Read-only org with more than one default page (2,000 rows) of contacts."""
    with SalesforceStandIn(seed=3, contacts=2_100) as server:
        yield server
