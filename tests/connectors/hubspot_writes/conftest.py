"""Fixtures: a HubSpot sandbox (rate limits off), the official client pointed at it,
and the connector's real :class:`Transport` pointed at the sandbox.

``StandInTransport`` is the smallest thing the write side accepts: the members of
:class:`connectors.hubspot.fields.HubSpotTransport` (``.client``, ``call`` and
``call_json``), no api cache, no retries: it checks the code needs nothing more.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hubspot import HubSpot

from connectors.errors import CrmError
from connectors.hubspot.transport import HubSpotSettings, Transport
from connectors.sandbox.hubspot import HubSpotStandIn, LimitConfig


class StandInTransport:
    """``call`` turns an SDK ``ApiException`` into a CrmError with status, category and
    correlation id; ``call_json`` answers the response's JSON; nothing else."""

    def __init__(self, client: HubSpot) -> None:
        self.client = client

    def call(
        self, endpoint: str, fn: Callable[..., Any], *args: Any, bucket: str = "standard", **kw: Any
    ) -> Any:
        try:
            return fn(*args, **kw)
        except Exception as exc:
            status = getattr(exc, "status", None)
            if status is None:
                raise
            try:
                body = json.loads(getattr(exc, "body", None) or "{}")
            except ValueError:
                body = {}
            raise CrmError(
                body.get("message", str(exc)),
                crm="hubspot",
                status=status,
                code=body.get("category"),
                request_id=body.get("correlationId"),
            ) from exc

    def call_json(self, endpoint: str, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        """The body of ``fn``'s answer as JSON (``None`` when empty), as ``Transport.call_json``."""

        def raw() -> Any:
            body = fn(*args, _preload_content=False, **kw).data
            return json.loads(body) if body.strip() else None

        return self.call(endpoint, raw)


@pytest.fixture
def hs() -> Iterator[HubSpotStandIn]:
    with HubSpotStandIn(seed=3, contacts=12, limits=LimitConfig(enabled=False)) as sandbox:
        yield sandbox


@pytest.fixture
def client(hs: HubSpotStandIn) -> HubSpot:
    return HubSpot(**hs.client_settings())


@pytest.fixture
def transport(hs: HubSpotStandIn) -> Transport:
    """The connector's transport; one attempt per call, so no retry hides a failure."""
    settings = HubSpotSettings(host=hs.base_url, ssl_ca_cert=hs.ca_path, attempts=1)
    return Transport(hs.token, settings)


@pytest.fixture
def contact_ids(hs: HubSpotStandIn) -> list[str]:
    """The ids of the seeded contacts, as strings, ascending."""
    return [str(i) for i in hs.state.store.ids("contacts")]
