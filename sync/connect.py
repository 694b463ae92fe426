"""Build the connector the config names. The only place that maps ``[crm]`` keys
onto a connector's settings; credentials come from the environment inside the
connector, never from the config file."""

from __future__ import annotations

from connectors.base import Connector
from sync.config import Config

DEFAULT_HUBSPOT_URL = "https://api.hubapi.com"


def source_id(config: Config) -> str:
    """Which CRM account the mirror belongs to (one state file per account)."""
    return f"{config.crm.type}:{config.crm.base_url or DEFAULT_HUBSPOT_URL}"


def open_connector(config: Config, *, token: str | None = None) -> Connector:
    """The configured connector; its credentials come from the environment unless
    ``token`` is given (the demo passes its sandbox's)."""
    from connectors.hubspot.connector import HubSpotConnector
    from connectors.hubspot.transport import HubSpotSettings, Transport

    crm = config.crm
    settings = HubSpotSettings(
        ten_secondly_limit=crm.ten_secondly_limit,
        daily_reserve=crm.daily_reserve,
        timeout_seconds=crm.timeout_seconds,
        concurrency=crm.concurrency,
        host=crm.base_url,
        ssl_ca_cert=str(crm.ca_bundle) if crm.ca_bundle else None,
    )
    connector = HubSpotConnector(
        Transport(token, settings) if token else Transport.from_env(settings),
        won_stages=frozenset(crm.won_stages),
        amount_property=crm.amount_property,
    )
    return connector
