"""Knobs for one Salesforce org, defined with the other CRM's in :mod:`connectors.settings`."""

from __future__ import annotations

from connectors.settings import DEFAULT_JWT_AUDIENCE, SalesforceSettings

__all__ = ["DEFAULT_JWT_AUDIENCE", "SalesforceSettings"]
