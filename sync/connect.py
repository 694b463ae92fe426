"""Build the connector the config names. The only place that maps ``[crm]`` keys
onto a connector's settings (:mod:`connectors.settings`, where every knob and its
default is defined); credentials come from the environment inside the
connector, never from the config file."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, TypeVar

from connectors.base import Connector
from connectors.settings import CrmSettings, HubSpotSettings, SalesforceSettings
from sync.config import Config, CrmConfig

DEFAULT_HUBSPOT_URL = "https://api.hubapi.com"

S = TypeVar("S", bound=CrmSettings)

#: Settings field -> the ``[crm]`` key it is read from, where the two names differ.
RENAMED: dict[type[CrmSettings], dict[str, str]] = {
    HubSpotSettings: {"host": "base_url", "ssl_ca_cert": "ca_bundle"},
    SalesforceSettings: {"amount_field": "amount_property"},
}


def source_id(config: Config) -> str:
    """Which CRM account the mirror belongs to (one state file per account)."""
    if config.crm.type == "salesforce":
        return f"salesforce:{(config.crm.instance_url or '').rstrip('/')}"
    return f"{config.crm.type}:{config.crm.base_url or DEFAULT_HUBSPOT_URL}"


def config_key(cls: type[CrmSettings], name: str) -> str | None:
    """The ``[crm]`` key (or derived value, like ``ten_secondly_limit``) a settings
    field is read from; ``None``: the file has no key for it."""
    key = RENAMED.get(cls, {}).get(name, name)
    if key in CrmConfig.model_fields or isinstance(getattr(CrmConfig, key, None), property):
        return key
    return None


def settings_for(cls: type[S], crm: CrmConfig, **given: Any) -> S:
    """``cls`` filled from ``[crm]`` by name; a key left unset (``None``) keeps the
    connector's default, paths become strings. ``given`` wins over the file."""
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        key = config_key(cls, f.name)
        value = None if key is None else getattr(crm, key)
        if value is not None:
            values[f.name] = str(value) if isinstance(value, Path) else value
    return cls(**{**values, **given})


def open_connector(config: Config, *, token: str | None = None) -> Connector:
    """The configured connector; its credentials come from the environment unless
    ``token`` is given (the demo passes its sandbox's)."""
    if config.crm.type == "salesforce":
        return _salesforce(config, secret=token)
    return _hubspot(config, token=token)


def _salesforce(config: Config, *, secret: str | None) -> Connector:
    from connectors.salesforce.connector import SalesforceConnector
    from connectors.salesforce.session import SalesforceSession

    crm = config.crm
    assert crm.instance_url is not None  # the config validator requires it
    settings = settings_for(SalesforceSettings, crm, instance_url=crm.instance_url.rstrip("/"))
    session = (
        SalesforceSession(settings, secret) if secret else SalesforceSession.from_env(settings)
    )
    return SalesforceConnector(session)


def _hubspot(config: Config, *, token: str | None) -> Connector:
    from connectors.hubspot.connector import HubSpotConnector
    from connectors.hubspot.transport import Transport

    crm = config.crm
    settings = settings_for(HubSpotSettings, crm)
    connector = HubSpotConnector(
        Transport(token, settings) if token else Transport.from_env(settings),
        won_stages=frozenset(crm.won_stages),
        amount_property=crm.amount_property or "amount_in_home_currency",
        export_threshold=crm.export_threshold,
        import_threshold=crm.import_threshold,
        own_write_export_min=crm.own_write_export_min,
    )
    return connector
