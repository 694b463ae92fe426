"""The one door to Salesforce: OAuth session, daily budget, retries, error mapping.

Every Salesforce call in crmseg goes through :meth:`SalesforceSession.call`::

    rows = session.call("query", lambda sf: sf.query(soql))
    info = session.call("describe", lambda sf: sf.restful("sobjects/Contact/describe"))

``fn`` receives the *current* ``simple_salesforce.Salesforce`` client as its first
argument. Never keep a client (or an ``SFType`` / bulk2 handler taken from one)
across calls: when the session expires the client is replaced, and only a ``fn``
that takes the client it is given picks the new one up. :meth:`call`

1. checks the daily API budget (``DailyBudget`` with ``settings.daily_reserve``,
   :meth:`SalesforceSession.check_budget`)
   *before* sending, so a run stops with BudgetExhausted while the org still has
   its reserve for other integrations;
2. calls ``fn(sf, *args, **kwargs)``; on ``401 INVALID_SESSION_ID`` it logs in
   again once (new session id, new client) and repeats the call -- a long pull
   survives an expired or revoked-and-reissued session;
3. reads ``Sforce-Limit-Info`` (``sf.api_usage['api-usage']``) into the budget;
4. translates exceptions with the table below and retries Retriable ones via
   :func:`connectors.ratelimit.retrying` (exponential, jittered, ``attempts``);
5. counts every attempt per endpoint name in ``calls`` (retries included; the
   token request counts as ``oauth.token``).

Error mapping: :mod:`connectors.salesforce.error_map` (the only place vendor
exceptions become ours).

Timeouts follow the operation: :mod:`connectors.salesforce.timeouts`.

Which secrets each grant needs, and reading them from the environment:
:mod:`connectors.salesforce.credentials`; the ``Retry-After`` of a refused answer:
:mod:`connectors.salesforce.retry_after`.

Secrets (client secret, private key, session id) are never put in a message, a
repr or a log line; every mapped message also passes :meth:`_redact`.

No SOAP: the token comes from the OAuth token endpoint
(:mod:`connectors.salesforce.oauth`), and the client is built in simple-salesforce's
``direct`` mode (instance URL + session id), so renewal is ours: the library's own
re-login loop (notes section 9) is never entered.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar

import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceExpiredSession
from simple_salesforce.util import exception_handler

from connectors import clock as clocks
from connectors.clock import Clock
from connectors.errors import ConfigError, CrmError, RateLimited
from connectors.ratelimit import DailyBudget, retrying
from connectors.salesforce.credentials import credential_problems, env_credentials
from connectors.salesforce.error_map import CRM, error_code, map_exception, quick_retry
from connectors.salesforce.oauth import (
    CLIENT_ID_ENV,
    CLIENT_SECRET_ENV,
    PRIVATE_KEY_ENV,
    PRIVATE_KEY_FILE_ENV,
    identity,
    request_token,
)
from connectors.salesforce.retry_after import RetryAfter
from connectors.salesforce.settings import SalesforceSettings
from connectors.salesforce.timeouts import TimeoutSession, timeout_for

__all__ = [
    "CLIENT_ID_ENV",
    "CLIENT_SECRET_ENV",
    "CRM",
    "PRIVATE_KEY_ENV",
    "PRIVATE_KEY_FILE_ENV",
    "SalesforceSession",
    "error_code",
    "map_exception",
    "timeout_for",
]

T = TypeVar("T")
#: A long-running-request slot frees within seconds; wait this long before retrying.
CONCURRENCY_WAIT = 20.0


class SalesforceSession:
    """One org: an OAuth session, the simple-salesforce client on it, budget and counters.

    Thread-safe: counters and renewal are locked; concurrent callers that see the
    same expired session renew it once.
    """

    def __init__(
        self,
        settings: SalesforceSettings,
        secret: str | None = None,
        *,
        private_key: str | None = None,
        client_id: str | None = None,
        http: requests.Session | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.settings = s = settings
        #: Time for the backoffs and Bulk job polls (tests pass a fake one).
        self.clock = clock or clocks.DEFAULT
        self.__client_id = client_id or s.client_id or ""
        self.__secret = secret or ""
        self.__key = private_key or ""
        self.__sid = ""
        problems = credential_problems(s, self.__client_id, self.__secret, self.__key)
        if problems:
            raise ConfigError("; ".join(problems), problems)
        if http is None:
            http = TimeoutSession(s.timeout_seconds)
            if s.ca_bundle:
                http.verify = s.ca_bundle
                # else REQUESTS_CA_BUNDLE would replace ``verify`` (notes section 1)
                http.trust_env = False
        self.requests: requests.Session = http
        #: Retry-After of the calling thread's last refused answer (simple-salesforce's
        #: exceptions drop the headers, so a response hook keeps it).
        self._retry_after = RetryAfter()
        http.hooks.setdefault("response", []).append(self._retry_after.remember)
        self.budget = DailyBudget(s.daily_reserve, crm=CRM, explain=self._explain_budget)
        self.calls: Counter[str] = Counter()
        self.retries = 0
        self.renewals = 0
        self._sleep = sleep or self.clock.sleep
        self._lock = threading.RLock()
        self._sf: Salesforce | None = None
        self.instance_url = s.instance_url.rstrip("/")
        self._identity: tuple[str, str] | None = None

    # -- construction from the environment ------------------------------------------
    @classmethod
    def from_env(cls, settings: SalesforceSettings, **kw: Any) -> SalesforceSession:
        """Secrets from the environment only; ConfigError names each missing variable."""
        client_id, secret, key = env_credentials(settings)
        return cls(settings, secret, private_key=key, client_id=client_id, **kw)

    def __repr__(self) -> str:
        return (
            f"SalesforceSession(instance_url={self.instance_url!r}, "
            f"auth={self.settings.auth!r}, secret=***)"
        )

    def close(self) -> None:
        self.requests.close()

    # -- what callers use -----------------------------------------------------------
    @property
    def sf(self) -> Salesforce:
        """The current client (logging in first if needed). Use it only inside ``call``."""
        with self._lock:
            if self._sf is None:
                self._login()
            assert self._sf is not None
            return self._sf

    @property
    def user_id(self) -> str:
        """The user this integration runs as, from the token answer's identity URL
        (``.../id/<orgId>/<userId>``): the run-as user of the client credentials flow, the
        ``sub`` user of the JWT flow. Logs in first if needed."""
        return self._identity_part(1)

    @property
    def org_id(self) -> str:
        """The org's id, from the same identity URL. Logs in first if needed."""
        return self._identity_part(0)

    def _identity_part(self, index: int) -> str:
        """``(org id, user id)[index]`` from the token answer, logging in first if needed."""
        with self._lock:
            if self._identity is None:
                self._login()
            assert self._identity is not None
            return self._identity[index]

    @property
    def version(self) -> str:
        return self.settings.api_version

    @property
    def base_url(self) -> str:
        """``{instance}/services/data/v{version}`` (no trailing slash)."""
        return f"{self.instance_url}/services/data/v{self.settings.api_version}"

    def calls_snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.calls)

    def call(self, endpoint: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(sf, *args, **kwargs)`` budgeted, renewed, mapped and retried (module doc)."""
        return self._call(endpoint, fn, args, kwargs, self.settings.attempts)

    def call_once(self, endpoint: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """As :meth:`call` but a single attempt (a 401 still renews once): for creates,
        whose retry must first look for what a lost attempt may have made
        (:mod:`connectors.salesforce.creates`)."""
        return self._call(endpoint, fn, args, kwargs, 1)

    def _call(
        self,
        endpoint: str,
        fn: Callable[..., T],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        attempts: int,
    ) -> T:
        s = self.settings

        def default_wait(exc: RateLimited) -> float:
            return min(s.max_wait, CONCURRENCY_WAIT)

        def on_retry(exc: CrmError, wait: float) -> None:
            with self._lock:
                self.retries += 1

        def attempt() -> T:
            renewed = False
            while True:
                self.check_budget()
                sf = self.sf
                with self._lock:
                    self.calls[endpoint] += 1
                if isinstance(self.requests, TimeoutSession):
                    self.requests.for_operation(timeout_for(s, endpoint))
                try:
                    out = quick_retry(partial(fn, sf, *args, **kwargs), self._sleep)
                except SalesforceExpiredSession:
                    if renewed:
                        raise
                    self._renew(sf)
                    renewed = True
                    continue
                self._observe(sf)
                return out

        def mapped_attempt() -> T:
            try:
                return attempt()
            except Exception as exc:
                mapped = map_exception(exc, endpoint)
                if mapped is None:
                    raise
                mapped.message = self._redact(mapped.message)
                self._retry_after.apply(mapped, s.max_wait)
                if mapped is exc:
                    raise
                raise mapped from None

        return retrying(
            mapped_attempt,
            attempts=attempts,
            max_wait=s.max_wait,
            default_wait=default_wait,
            on_retry=on_retry,
            sleep=self._sleep,
        )

    def request(self, endpoint: str, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A raw REST call for routes simple-salesforce does not wrap (e.g. Bulk 2.0 result
        pages read as CSV). ``path`` is relative to :attr:`base_url` (``jobs/query``) or
        absolute from the host (``/services/data/...``). Errors raise like the library's
        calls and go through :meth:`call`. Returns the ``requests.Response``."""

        extra_headers = dict(kwargs.pop("headers", None) or {})

        def send(sf: Salesforce) -> requests.Response:
            if path.startswith("/"):
                url = f"https://{sf.sf_instance}{path}"
            else:
                url = sf.base_url + path.lstrip("/")
            headers = {**sf.headers, **extra_headers}
            resp = self.requests.request(method, url, headers=headers, **kwargs)
            if resp.status_code >= 300:
                exception_handler(resp, name=endpoint)
            info = resp.headers.get("Sforce-Limit-Info")
            if info:
                sf.api_usage = Salesforce.parse_api_usage(info)
            return resp

        return self.call(endpoint, send)

    def sleep(self, seconds: float) -> None:
        """The session's sleep (tests inject a no-op): used for Bulk job polling."""
        self._sleep(seconds)

    def check_budget(self) -> None:
        """BudgetExhausted when the org's remaining daily requests are within the reserve."""
        self.budget.check()

    def _explain_budget(self, limit: int, remaining: int, reserve: int) -> str:
        return (
            f"stopping before the org's daily API allocation runs low: {limit - remaining} "
            f"of {limit} requests used in the last 24 hours, and the last {reserve} "
            f"({self.budget.reserve_fraction:.0%}, [crm] daily_reserve) are kept for the org's "
            "other integrations. Salesforce frees capacity over a rolling 24 hours: run again "
            "later, or lower daily_reserve"
        )

    # -- session handling -----------------------------------------------------------
    def _observe(self, sf: Salesforce) -> None:
        usage = getattr(sf, "api_usage", None) or {}
        api = usage.get("api-usage")
        if api is not None:
            self.budget.observe(int(api.total), max(0, int(api.total) - int(api.used)))

    def _renew(self, failed: Salesforce) -> None:
        """New session after a 401, unless another thread already replaced ``failed``."""
        with self._lock:
            if self._sf is failed or self._sf is None:
                self._login()
                self.renewals += 1

    def _login(self) -> None:
        def once() -> None:
            with self._lock:
                self.calls["oauth.token"] += 1
            if isinstance(self.requests, TimeoutSession):
                self.requests.for_operation(self.settings.timeout_seconds)
            try:
                quick_retry(self._token, self._sleep)
            except Exception as exc:
                mapped = map_exception(exc, "oauth.token")
                if mapped is None:
                    raise
                mapped.message = self._redact(mapped.message)
                if mapped is exc:
                    raise
                raise mapped from None

        s = self.settings
        retrying(
            once,
            attempts=s.attempts,
            max_wait=s.max_wait,
            default_wait=lambda _e: min(s.max_wait, CONCURRENCY_WAIT),
            sleep=self._sleep,
        )

    def _token(self) -> None:
        s = self.settings
        body = request_token(
            self.requests,
            s,
            client_id=self.__client_id,
            secret=self.__secret,
            private_key=self.__key,
        )
        self._identity = identity(body.get("id"))
        self.__sid = str(body["access_token"])
        instance = str(body.get("instance_url") or self.instance_url).rstrip("/")
        self.instance_url = instance
        self._sf = Salesforce(
            instance_url=instance,
            session_id=self.__sid,
            session=self.requests,
            version=s.api_version,
            parse_float=Decimal,
            object_pairs_hook=dict,
        )

    def _redact(self, text: str) -> str:
        for secret in (self.__sid, self.__secret, self.__key):
            if secret:
                text = text.replace(secret, "***")
        return text
