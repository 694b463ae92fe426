"""Local stand-in for the HubSpot CRM API (the facts it models and their sources: FACTS.md).

Start it with :class:`HubSpotStandIn` (a context manager); it serves the v3
objects/search/properties/lists, exports/imports and v4 associations endpoints over TLS on
127.0.0.1 with HubSpot's paths, status codes, JSON shapes, auth, scopes and
rate limits, so the official ``hubspot-api-client`` works against it unmodified.
"""

from connectors.sandbox.hubspot.app import HubSpotStandIn
from connectors.sandbox.hubspot.limits import LimitConfig

__all__ = ["HubSpotStandIn", "LimitConfig"]
