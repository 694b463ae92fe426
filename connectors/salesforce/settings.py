"""Knobs for one Salesforce org. Secrets never live here: they come from the
environment (:meth:`connectors.salesforce.session.SalesforceSession.from_env`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["DEFAULT_JWT_AUDIENCE", "SalesforceSettings"]

#: Salesforce accepts only its login hosts (or a community URL) as the JWT ``aud``.
DEFAULT_JWT_AUDIENCE = "https://login.salesforce.com"


@dataclass
class SalesforceSettings:
    """One org. Defaults fit an Enterprise org and a connected / external client app.

    * ``instance_url``: the org's My Domain URL (``https://acme.my.salesforce.com``).
    * ``auth``: ``client_credentials`` (secret in ``SALESFORCE_CLIENT_SECRET``) or
      ``jwt`` (key in ``SALESFORCE_PRIVATE_KEY`` / ``SALESFORCE_PRIVATE_KEY_FILE``,
      ``username`` is the JWT subject). The SOAP password login is not supported:
      it is gone from API v65.0 on.
    * ``login_url``: host of ``/services/oauth2/token`` (default: ``instance_url``;
      client credentials *require* the My Domain host).
    * ``jwt_audience``: the JWT ``aud`` claim: ``https://login.salesforce.com`` for
      production, ``https://test.salesforce.com`` for sandboxes.
    * ``api_version``: REST version without ``v``; the stand-in routes any version.
    * ``daily_reserve``: share of the rolling 24 h API allocation left untouched for the
      org's other integrations; a call that would dip into it raises BudgetExhausted.
    * ``timeout_seconds``: connect timeout, and the read timeout of light calls
      (token, describe, Bulk status polls use ``bulk_poll_timeout``).
      Heavier calls wait longer, because Salesforce keeps working on an abandoned
      request and a retry only adds load: ``query_timeout`` (SOQL runs up to 120 s),
      ``write_timeout`` (a 200-record write runs every trigger and flow; REST calls
      run up to 10 min) and ``tooling_timeout`` (field creation deploys metadata).
    * ``attempts`` / ``max_wait``: retries of transient failures (5xx, lock contention,
      dropped connections) and the longest wait between two.
    * ``bulk_query_threshold``: a full pull of more rows than this reads through a
      Bulk API 2.0 query job instead of REST query pages.
    * ``bulk_ingest_threshold``: more updates than this are written through one Bulk
      API 2.0 ingest job (used by :mod:`connectors.salesforce.writes`).
    * ``ca_bundle``: CA file to trust (local stand-in, TLS-inspecting proxies); when set,
      ``REQUESTS_CA_BUNDLE`` and proxy variables of the environment are ignored.
    * ``amount_field``: the Opportunity amount. ``None``: ``Amount``, or
      ``convertCurrency(Amount)`` when the org is multi-currency (describe of
      Opportunity lists ``CurrencyIsoCode``); the conversion goes to the *integration
      user's* currency, so give that user the corporate currency. Also accepted: any
      field name, or ``convertCurrency(<field>)``. Won comes from ``IsWon``.
    * ``country_field``: the Contact field read as the contact's country.
    * ``query_page_size``: ``Sforce-Query-Options: batchSize`` (200..2000, a hint).
    * ``bulk_page_size``: rows per Bulk 2.0 result page (``maxRecords``).
    * ``partial_visibility_ok``: pull even when the integration user lacks "View All
      Data" (it then sees only the records shared with it, and segments cover only
      those); by default such a run is refused before the first pull.
    """

    instance_url: str
    auth: Literal["client_credentials", "jwt"] = "client_credentials"
    client_id: str | None = None
    username: str | None = None
    login_url: str | None = None
    jwt_audience: str = DEFAULT_JWT_AUDIENCE
    api_version: str = "62.0"
    daily_reserve: float = 0.20
    timeout_seconds: float = 30
    query_timeout: float = 130
    write_timeout: float = 600
    tooling_timeout: float = 300
    bulk_poll_timeout: float = 30
    attempts: int = 6
    max_wait: float = 60
    concurrency: int = 4
    bulk_query_threshold: int = 50_000
    bulk_ingest_threshold: int = 10_000
    ca_bundle: str | None = None
    amount_field: str | None = None
    country_field: str = "MailingCountry"
    query_page_size: int = 2000
    bulk_page_size: int = 50_000
    partial_visibility_ok: bool = False

    @property
    def token_url(self) -> str:
        return f"{(self.login_url or self.instance_url).rstrip('/')}/services/oauth2/token"
