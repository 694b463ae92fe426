"""Build the connector the config names. The only place that maps ``[crm]`` keys
onto a connector's settings; credentials come from the environment inside the
connector, never from the config file."""

from __future__ import annotations

from connectors.base import Connector
from sync.config import Config

DEFAULT_HUBSPOT_URL = "https://api.hubapi.com"


def source_id(config: Config) -> str:
    """Which CRM account the mirror belongs to (one state file per account)."""
    if config.crm.type == "salesforce":
        return f"salesforce:{(config.crm.instance_url or '').rstrip('/')}"
    return f"{config.crm.type}:{config.crm.base_url or DEFAULT_HUBSPOT_URL}"


def open_connector(config: Config, *, token: str | None = None) -> Connector:
    """The configured connector; its credentials come from the environment unless
    ``token`` is given (the demo passes its sandbox's)."""
    if config.crm.type == "salesforce":
        return _salesforce(config, secret=token)
    return _hubspot(config, token=token)


def _salesforce(config: Config, *, secret: str | None) -> Connector:
    from connectors.salesforce.connector import SalesforceConnector
    from connectors.salesforce.session import SalesforceSession
    from connectors.salesforce.settings import SalesforceSettings

    crm = config.crm
    assert crm.instance_url is not None  # the config validator requires it
    settings = SalesforceSettings(
        instance_url=crm.instance_url.rstrip("/"),
        auth=crm.auth,
        client_id=crm.client_id,
        username=crm.username,
        api_version=crm.api_version,
        daily_reserve=0.20 if crm.daily_reserve is None else crm.daily_reserve,
        timeout_seconds=crm.timeout_seconds,
        concurrency=crm.concurrency,
        bulk_query_threshold=crm.bulk_query_threshold,
        bulk_ingest_threshold=crm.bulk_ingest_threshold,
        ca_bundle=str(crm.ca_bundle) if crm.ca_bundle else None,
        amount_field=crm.amount_property,
        partial_visibility_ok=crm.partial_visibility_ok,
    )
    session = (
        SalesforceSession(settings, secret) if secret else SalesforceSession.from_env(settings)
    )
    return SalesforceConnector(session)


def _hubspot(config: Config, *, token: str | None) -> Connector:
    from connectors.hubspot.connector import HubSpotConnector
    from connectors.hubspot.transport import HubSpotSettings, Transport

    crm = config.crm
    settings = HubSpotSettings(
        ten_secondly_limit=crm.ten_secondly_limit,
        daily_reserve=0.05 if crm.daily_reserve is None else crm.daily_reserve,
        timeout_seconds=crm.timeout_seconds,
        concurrency=crm.concurrency,
        host=crm.base_url,
        ssl_ca_cert=str(crm.ca_bundle) if crm.ca_bundle else None,
        count_own_write_window=crm.count_own_write_window,
    )
    connector = HubSpotConnector(
        Transport(token, settings) if token else Transport.from_env(settings),
        won_stages=frozenset(crm.won_stages),
        amount_property=crm.amount_property or "amount_in_home_currency",
        export_threshold=crm.export_threshold,
        import_threshold=crm.import_threshold,
        own_write_export_min=crm.own_write_export_min,
    )
    return connector
