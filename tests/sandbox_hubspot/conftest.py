"""Fixtures: a HubSpot sandbox on port 0 (small seeded data) and an official client for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hubspot import HubSpot

from connectors.sandbox.hubspot import HubSpotStandIn, LimitConfig


@pytest.fixture(autouse=True)
def _no_real_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith(("HUBSPOT_", "SALESFORCE_")):
            monkeypatch.delenv(key)


@pytest.fixture
def sandbox() -> Iterator[HubSpotStandIn]:
    """Sandbox with 60 seeded contacts; rate limits off unless a test turns them on."""
    with HubSpotStandIn(seed=7, contacts=60, limits=LimitConfig(enabled=False)) as hs:
        yield hs


def make_client(hs: HubSpotStandIn, **kw: object) -> HubSpot:
    return HubSpot(**{**hs.client_settings(), **kw})


@pytest.fixture
def client(sandbox: HubSpotStandIn) -> HubSpot:
    return make_client(sandbox)
