"""Every knob of each CRM connector, and its default, defined once.

The connectors read these settings; the config file's ``[crm]`` section
(:class:`sync.config.CrmConfig`) takes its defaults from them, and
:func:`sync.connect.open_connector` fills them from it by name. The knobs
both CRMs have are :class:`CrmSettings`; one whose default differs between the
CRMs (``daily_reserve``) is left unset in the config by default, so each
connector's own default applies.

This module imports nothing heavy: the config can be read without loading a
CRM client. Secrets never live here; they come from the environment
(``Transport.from_env``, ``SalesforceSession.from_env``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "DEFAULT_JWT_AUDIENCE",
    "HUBSPOT_TIERS",
    "CrmSettings",
    "HubSpotSettings",
    "SalesforceSettings",
]

#: Requests per 10 seconds per private app, by HubSpot subscription (CRM notes 6).
HUBSPOT_TIERS = {"free": 100, "starter": 100, "professional": 190, "enterprise": 190}

#: Salesforce accepts only its login hosts (or a community URL) as the JWT ``aud``.
DEFAULT_JWT_AUDIENCE = "https://login.salesforce.com"


@dataclass(kw_only=True)
class CrmSettings:
    """The knobs every CRM connector has.

    * ``daily_reserve``: share of the daily API allowance left untouched for the
      account's other integrations (each CRM sets its own default).
    * ``timeout_seconds``: seconds before one HTTP request is abandoned (and retried).
    * ``attempts`` / ``max_wait``: tries of a transient failure, and the longest
      wait between two.
    * ``concurrency``: write batches (and list-member calls) in flight at once.
    """

    daily_reserve: float
    timeout_seconds: float = 30
    attempts: int = 6
    max_wait: float = 60
    concurrency: int = 4


@dataclass(kw_only=True)
class HubSpotSettings(CrmSettings):
    """Knobs for one HubSpot portal. Defaults fit a Professional/Enterprise private app."""

    ten_secondly_limit: int = HUBSPOT_TIERS["professional"]
    search_per_second: int = 5
    daily_reserve: float = 0.05
    host: str | None = None
    ssl_ca_cert: str | None = None
    window_seconds: float = 10.0
    search_window_seconds: float = 1.0
    margin_seconds: float = 0.25
    #: Skip reading crmseg's own write window when a counting search shows only
    #: crmseg's writes in it. Off by default: an edit made by someone else between
    #: crmseg's pull and its write of the same record then waits for the next
    #: full pull (see ``connectors.hubspot.pull``).
    count_own_write_window: bool = False


@dataclass(kw_only=True)
class SalesforceSettings(CrmSettings):
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
    query_timeout: float = 130
    write_timeout: float = 600
    tooling_timeout: float = 300
    bulk_poll_timeout: float = 30
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
