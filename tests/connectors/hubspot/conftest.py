"""Fixtures: a small HubSpot sandbox (rate limits off) and a connector wired to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connectors.hubspot import HubSpotConnector, HubSpotSettings, Transport
from connectors.sandbox.hubspot import HubSpotStandIn, LimitConfig


@pytest.fixture(autouse=True)
def _no_real_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith(("HUBSPOT_", "SALESFORCE_")):
            monkeypatch.delenv(key)


def settings_for(hs: HubSpotStandIn, **kw: Any) -> HubSpotSettings:
    """Settings pointing at the sandbox; fast pacing and short waits unless overridden."""
    base: dict[str, Any] = {
        "host": hs.base_url,
        "ssl_ca_cert": hs.ca_path,
        "ten_secondly_limit": 10_000,
        "search_per_second": 10_000,
        "timeout_seconds": 10,
        "max_wait": 0.2,
        # a 429 without Retry-After waits one window: keep windows short in tests
        "window_seconds": 0.2,
        "search_window_seconds": 0.2,
        "margin_seconds": 0.0,
    }
    return HubSpotSettings(**{**base, **kw})


def transport_for(hs: HubSpotStandIn, token: str | None = None, **kw: Any) -> Transport:
    return Transport(token or hs.token, settings_for(hs, **kw))


@pytest.fixture
def sandbox() -> Iterator[HubSpotStandIn]:
    with HubSpotStandIn(seed=7, contacts=60, limits=LimitConfig(enabled=False)) as hs:
        yield hs


@pytest.fixture
def connector(sandbox: HubSpotStandIn) -> HubSpotConnector:
    return HubSpotConnector(transport_for(sandbox))
