"""HubSpot connector: transport (pacing, retries, errors), records, pulls, writes.

Public entry points: :class:`HubSpotConnector`, :class:`Transport`,
:class:`HubSpotSettings`.
"""

from connectors.hubspot.connector import HubSpotConnector, plural, singular
from connectors.hubspot.transport import HubSpotSettings, Transport

__all__ = ["HubSpotConnector", "HubSpotSettings", "Transport", "plural", "singular"]
