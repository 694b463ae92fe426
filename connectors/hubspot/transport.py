"""The one door to HubSpot: one official client, pacing, retries and error mapping.

Every HubSpot call in crmseg goes through :meth:`Transport.call`, which

1. checks the daily budget (standard bucket) and waits for the bucket's
   rolling-window limiter (``standard``: ``ten_secondly_limit`` per
   ``window_seconds``; ``search``: ``search_per_second`` per second;
   ``exempt``: association batch reads, no limiter);
2. sends the request with ``_request_timeout`` (the client has none by default)
   when ``fn`` is a generated api method; other callables are called as given
   (:meth:`Transport.call_json` sends through the same client but answers the
   response's JSON instead of generated models: the pages of a pull);
3. translates whatever the client raised into :mod:`connectors.errors` with the
   table below, and retries :class:`~connectors.errors.Retriable` errors via
   :func:`connectors.ratelimit.retrying`;
4. counts every HTTP attempt per endpoint name in ``calls`` (retries included),
   429s in ``throttled`` and retries in ``retries``.

Error mapping (the only place vendor exceptions become ours; ``crm="hubspot"``)::

    raised by the client                         -> crmseg error
    -------------------------------------------------------------------------
    *ApiException status 401                      -> AuthError
    *ApiException status 403                      -> PermissionDenied (names the
                                                     missing scopes from
                                                     errors[].context.requiredScopes)
    *ApiException status 429, policyName DAILY    -> BudgetExhausted
    *ApiException status 429, other policies      -> RateLimited (retry_after from
                                                     the Retry-After header, if any)
    *ApiException status 5xx                      -> ServerError
    *ApiException status 0 (SSL, bad response)    -> ServerError
    *ApiException other 4xx                       -> CrmError(code=body.category)
    urllib3 NewConnectionError (refused) and
      NameResolutionError (host unknown)          -> Unreachable (names the URL;
                                                     retried twice, quickly)
    certificate verification failed (the SDK
      hides it behind status 0 "SSLError" and an
      AttributeError from its own handler)        -> CertificateProblem (names
                                                     ``ca_bundle``)
    urllib3 ReadTimeoutError / ConnectTimeoutError-> Timeout
    urllib3 ProtocolError / MaxRetryError /
      ConnectionError (reset, dropped)            -> Timeout

A refused connection or an unknown host never reached HubSpot, so waiting
longer does not help: two quick retries cover a blip, then the run stops with
the URL in the message instead of waiting half a minute for "no answer".

``*ApiException`` means the ``ApiException`` of *any* ``hubspot`` sub-package
(contacts, lists, properties, associations... each has its own class) and its
subclasses (``UnauthorizedException``, ``ServiceException``, ...). Every mapped
error carries the HTTP status and HubSpot's ``correlationId`` as ``request_id``.
Messages never contain the access token: it is not in any message we build,
and every message passes :meth:`Transport._redact` as a second line of defence.

urllib3's own retries are switched off (``Retry(total=False)``): hidden retries
would be uncounted, would sleep on ``Retry-After`` behind our back and would
not cover POSTs anyway.

One connection pool per transport: the SDK gives every api object (contacts'
basic, batch and search apis, properties, associations, lists...) an ``ApiClient``
with a urllib3 pool of its own, so a sync opened a new connection, with its own TLS
handshake, per api object. :class:`Transport` builds the api objects through the
SDK's ``api_factory`` hook exactly as its default factory does (same
``Configuration``, same ``ApiClient``), then points each one's REST client at the
transport's single pool, built with the same arguments the SDK's own
``RESTClientObject`` passes (verification, CA bundle, retries off, pool size): the
requests, their headers and their TLS are unchanged, only the connections are
shared and kept alive across api objects.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import os
import ssl
import threading
from collections import Counter
from collections.abc import Callable
from types import ModuleType
from typing import Any, Literal, TypeVar

import urllib3
from hubspot import HubSpot
from urllib3.util.retry import Retry

from connectors import clock as clocks
from connectors.clock import Clock
from connectors.errors import (
    AuthError,
    BudgetExhausted,
    CertificateProblem,
    ConfigError,
    CrmError,
    PermissionDenied,
    RateLimited,
    ServerError,
    Timeout,
    Unreachable,
)
from connectors.ratelimit import DailyBudget, RollingWindowLimiter, margin_for, retrying
from connectors.settings import HubSpotSettings

__all__ = ["Bucket", "HubSpotSettings", "Transport", "map_exception"]

T = TypeVar("T")
Bucket = Literal["standard", "search", "exempt"]
CRM = "hubspot"
DEFAULT_URL = "https://api.hubapi.com"
#: Quick retries of a refused connection / unknown host, and the pause before each.
UNREACHABLE_RETRIES = 2
UNREACHABLE_PAUSE = 0.25
TOKEN_ENV = "HUBSPOT_ACCESS_TOKEN"


@functools.cache
def _user_agent() -> str:
    """The SDK's own User-Agent (its default factory reads the installed version from
    the package metadata on every api object it builds: about 1 ms each)."""
    return f"hubspot-api-client-python; {importlib.metadata.version('hubspot-api-client')}"


def _is_api_exception(exc: BaseException) -> bool:
    """True for the ApiException of any hubspot sub-package (or its subclasses)."""
    return any(
        cls.__name__ == "ApiException" and cls.__module__.startswith("hubspot")
        for cls in type(exc).__mro__
    )


def _body(exc: BaseException) -> dict[str, Any]:
    raw = getattr(exc, "body", None)
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    try:
        value = headers.get(name)
        if value is None:
            lowered = {str(k).lower(): v for k, v in dict(headers).items()}
            value = lowered.get(name.lower())
    except (AttributeError, TypeError):
        return None
    return None if value is None else str(value)


def _float(value: str | None) -> float | None:
    try:
        return None if value is None else float(value)
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    try:
        return None if value is None else int(value)
    except ValueError:
        return None


def _json(body: bytes | None, endpoint: str, status: int) -> Any:
    """A response body's JSON (``None`` when empty); not JSON -> :class:`ServerError`."""
    if not body or not body.strip():
        return None
    try:
        return json.loads(body)
    except ValueError:
        raise ServerError(
            f"{endpoint}: the answer is not JSON ({body[:80]!r})", crm=CRM, status=status
        ) from None


def _missing_scopes(body: dict[str, Any]) -> list[str]:
    scopes: list[str] = []
    for err in body.get("errors") or []:
        if isinstance(err, dict):
            for s in (err.get("context") or {}).get("requiredScopes") or []:
                if s not in scopes:
                    scopes.append(str(s))
    return scopes


def _is_certificate(exc: BaseException) -> bool:
    # not str(exc): a generated ApiException without a body cannot be printed
    text = f"{getattr(exc, 'reason', '')} {type(exc).__name__} {exc.args!r}"
    return "CERTIFICATE_VERIFY_FAILED" in text or "SSLCertVerificationError" in text


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from or while handling."""
    out: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in out and len(out) < 20:
        out.append(cur)
        cur = cur.__cause__ or cur.__context__
    return out


def _network_error(exc: BaseException, endpoint: str, url: str) -> CrmError | None:
    """Unreachable / CertificateProblem for refused, unknown-host and TLS failures."""
    chain = _chain(exc)
    for e in chain:
        if isinstance(e, urllib3.exceptions.MaxRetryError) and e.reason is not None:
            chain.append(e.reason)
    for e in chain:
        text = str(getattr(e, "reason", "") or e)
        if isinstance(e, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in text:
            detail = getattr(e, "verify_message", None) or "certificate verify failed"
            return CertificateProblem(
                f"{endpoint}: a certificate problem: the TLS certificate of {url} could not be "
                f"verified ({detail}). If HTTPS goes through a proxy that inspects it, set "
                "[crm] ca_bundle to the proxy's CA bundle (a PEM file); otherwise check "
                "[crm] base_url",
                crm=CRM,
                code="CERTIFICATE_VERIFY_FAILED",
            )
    for e in chain:
        if isinstance(e, urllib3.exceptions.NameResolutionError):
            return Unreachable(
                f"{endpoint}: cannot reach {url}: unknown host (DNS has no such name). "
                "Check [crm] base_url and the network",
                crm=CRM,
                code="HOST_UNKNOWN",
            )
        if isinstance(e, urllib3.exceptions.NewConnectionError):
            return Unreachable(
                f"{endpoint}: cannot reach {url}: the connection was refused. Check [crm] "
                "base_url, a proxy or firewall in between, and HubSpot's status page",
                crm=CRM,
                code="CONNECTION_REFUSED",
            )
    return None


def map_exception(exc: BaseException, endpoint: str, url: str = DEFAULT_URL) -> CrmError | None:
    """Translate a client exception into crmseg's tree (``None``: not ours to map).

    ``url`` is the API base URL, named in messages about network failures."""
    if isinstance(exc, CrmError):
        return exc
    network = _network_error(exc, endpoint, url)
    if network is not None:
        return network
    context = exc.__context__
    if isinstance(exc, AttributeError) and context is not None and _is_api_exception(context):
        # The client's call_api decodes ``e.body`` of a body-less ApiException (TLS
        # and connection failures) and fails on it: the ApiException is the context.
        exc = context
    if _is_api_exception(exc):
        status = int(getattr(exc, "status", 0) or 0)
        body = _body(exc)
        headers = getattr(exc, "headers", None)
        rid = body.get("correlationId") or _header(headers, "X-HubSpot-Correlation-Id")
        message = str(body.get("message") or getattr(exc, "reason", "") or "no message")
        kw: dict[str, Any] = {"crm": CRM, "status": status or None, "request_id": rid}
        category = body.get("category")
        if status == 401:
            return AuthError(
                f"{endpoint}: the access token was refused ({message}); check "
                f"{TOKEN_ENV} holds a valid private-app token",
                code=category or "INVALID_AUTHENTICATION",
                **kw,
            )
        if status == 403:
            scopes = _missing_scopes(body)
            need = (
                f"the private app lacks the scope(s) {', '.join(scopes)}; add them in "
                "HubSpot (Settings > Integrations > Private apps) and use the new token"
                if scopes
                else f"permission denied: {message}"
            )
            return PermissionDenied(f"{endpoint}: {need}", code=category or "MISSING_SCOPES", **kw)
        if status == 429:
            policy = str(body.get("policyName") or "")
            if policy.upper() == "DAILY":
                return BudgetExhausted(
                    f"{endpoint}: HubSpot's daily API limit is reached; it resets at "
                    "midnight in the portal's time zone",
                    code="DAILY",
                    **kw,
                )
            return RateLimited(
                f"{endpoint}: rate limited ({policy or 'unknown policy'}): {message}",
                retry_after=_float(_header(headers, "Retry-After")),
                code=policy or "RATE_LIMIT",
                **kw,
            )
        if status >= 500:
            return ServerError(f"{endpoint}: HubSpot server error: {message}", code=category, **kw)
        if status == 0 and _is_certificate(exc):
            return CertificateProblem(
                f"{endpoint}: the TLS certificate of the API host could not be verified: a "
                "certificate problem; point [crm] ca_bundle at the CA that signed it",
                **kw,
            )
        if status == 0:
            reason = str(getattr(exc, "reason", "") or "").splitlines()[0:1]
            return ServerError(
                f"{endpoint}: no usable response ({reason[0] if reason else 'unknown'})",
                **kw,
            )
        return CrmError(f"{endpoint}: {message}", code=category, **kw)
    refused = exc.reason if isinstance(exc, urllib3.exceptions.MaxRetryError) else exc
    if isinstance(refused, urllib3.exceptions.NewConnectionError):  # refused, unknown host
        conn = getattr(refused, "conn", None)
        where = f"https://{conn.host}:{conn.port}" if conn is not None else "the API host"
        return Unreachable(
            f"{endpoint}: cannot connect to {where} (connection refused or unknown host); "
            "check [crm] base_url",
            crm=CRM,
        )
    if isinstance(refused, urllib3.exceptions.SSLError) or _is_certificate(exc):
        return CertificateProblem(
            f"{endpoint}: the TLS certificate of the API host could not be verified: a "
            "certificate problem; point [crm] ca_bundle at the CA that signed it",
            crm=CRM,
        )
    if isinstance(
        exc, urllib3.exceptions.ReadTimeoutError | urllib3.exceptions.ConnectTimeoutError
    ):
        return Timeout(f"{endpoint}: no answer in time ({type(exc).__name__})", crm=CRM)
    if isinstance(
        exc,
        urllib3.exceptions.ProtocolError
        | urllib3.exceptions.MaxRetryError
        | urllib3.exceptions.NewConnectionError
        | urllib3.exceptions.TimeoutError
        | urllib3.exceptions.HTTPError
        | ConnectionError,
    ):
        return Timeout(f"{endpoint}: connection failed ({type(exc).__name__})", crm=CRM)
    return None


class Transport:
    """One HubSpot client plus pacing, retries, error mapping and call counters.

    Thread-safe: limiters, counters and the api-object cache are locked; the
    generated api objects share nothing but their own urllib3 pool.
    """

    def __init__(
        self,
        token: str,
        settings: HubSpotSettings | None = None,
        *,
        sleep: Callable[[float], None] | None = None,
        clock: Clock | None = None,
    ) -> None:
        if not token:
            raise ConfigError(f"{TOKEN_ENV} is empty")
        #: Time for the limiters, backoffs and job polls (tests pass a fake one).
        self.clock = clock or clocks.DEFAULT
        self.settings = s = settings or HubSpotSettings()
        self.__token = token
        retry = Retry(total=False)
        maxsize = max(4, s.concurrency * 2)
        kw: dict[str, Any] = {
            "access_token": token,
            "retry": retry,
            "connection_pool_maxsize": maxsize,
            "api_factory": self._api_factory,
        }
        if s.host:
            kw["host"] = s.host.rstrip("/")
        if s.ssl_ca_cert:
            kw["ssl_ca_cert"] = s.ssl_ca_cert
        #: The one pool every api object sends through (module docstring): the
        #: arguments of the SDK's ``RESTClientObject`` for this configuration.
        self.pool = urllib3.PoolManager(
            num_pools=4,
            maxsize=maxsize,
            cert_reqs=ssl.CERT_REQUIRED,
            ca_certs=s.ssl_ca_cert or None,
            cert_file=None,
            key_file=None,
            retries=retry,
        )
        self.client = HubSpot(**kw)
        self._sleep = sleep
        self.limiters: dict[str, RollingWindowLimiter] = {
            "standard": RollingWindowLimiter(
                s.ten_secondly_limit,
                s.window_seconds,
                margin_seconds=margin_for(s.window_seconds, s.margin_seconds),
                clock=self.clock.monotonic,
                sleep=self.clock.sleep,
            ),
            "search": RollingWindowLimiter(
                s.search_per_second,
                s.search_window_seconds,
                margin_seconds=margin_for(s.search_window_seconds, s.margin_seconds),
                clock=self.clock.monotonic,
                sleep=self.clock.sleep,
            ),
        }
        self.budget = DailyBudget(s.daily_reserve, crm=CRM)
        self.calls: Counter[str] = Counter()
        self.throttled = 0
        self.retries = 0
        self._lock = threading.Lock()
        self._apis: dict[str, Any] = {}

    @classmethod
    def from_env(cls, settings: HubSpotSettings | None = None) -> Transport:
        token = os.environ.get(TOKEN_ENV, "").strip()
        if not token:
            raise ConfigError(
                f"{TOKEN_ENV} is not set: create a private app in HubSpot (Settings > "
                "Integrations > Private apps) with the crm.objects.*, crm.schemas.* and "
                "crm.lists scopes, and export its token"
            )
        return cls(token, settings)

    def __repr__(self) -> str:
        return f"Transport(host={self.url!r}, token=***)"

    @property
    def url(self) -> str:
        """The API base URL requests go to."""
        return (self.settings.host or DEFAULT_URL).rstrip("/")

    # -- api objects -------------------------------------------------------------
    def _api_factory(self, package: ModuleType, api_name: str, config: dict[str, Any]) -> Any:
        """The SDK's default api factory (``DiscoveryBase._default_api_factory``), with the
        transport's pool in place of a new one per api object."""
        configuration = package.Configuration()
        for key, value in config.items():
            if key == "api_key":
                configuration.api_key["developer_hapikey"] = value
            elif key == "retry":
                configuration.retries = value
            else:
                setattr(configuration, key, value)
        api_client = package.ApiClient(configuration=configuration)
        api_client.user_agent = _user_agent()
        api_client.rest_client.pool_manager.clear()
        api_client.rest_client.pool_manager = self.pool
        return getattr(package, api_name)(api_client=api_client)

    def api(self, path: str) -> Any:
        """A cached api object by dotted path under the client, e.g.
        ``"crm.contacts.basic_api"`` or ``"crm.associations.v4.batch_api"``
        (each uncached access would build a new connection pool)."""
        with self._lock:
            obj = self._apis.get(path)
            if obj is None:
                obj = self.client
                for part in path.split("."):
                    obj = getattr(obj, part)
                self._apis[path] = obj
            return obj

    def calls_snapshot(self) -> dict[str, int]:
        """A copy of ``calls`` taken under the lock."""
        with self._lock:
            return dict(self.calls)

    # -- calling -----------------------------------------------------------------
    def call(
        self,
        endpoint: str,
        fn: Callable[..., T],
        *args: Any,
        bucket: Bucket = "standard",
        **kwargs: Any,
    ) -> T:
        """Call ``fn(*args, **kwargs)`` paced, timed out, mapped and retried.

        ``endpoint`` names the call in ``calls`` and in error messages.
        """
        s = self.settings
        limiter = self.limiters.get(bucket)
        window = s.search_window_seconds if bucket == "search" else s.window_seconds

        def default_wait(_exc: RateLimited) -> float:
            return window + s.margin_seconds

        def on_retry(exc: CrmError, wait: float) -> None:
            with self._lock:
                self.retries += 1
            if isinstance(exc, RateLimited) and limiter is not None:
                limiter.hold(wait)

        def attempt() -> T:
            if bucket == "standard":
                self.budget.check()
            if limiter is not None:
                limiter.acquire()
            with self._lock:
                self.calls[endpoint] += 1
            try:
                return self._send(fn, args, kwargs)
            except Exception as exc:
                mapped = map_exception(exc, endpoint, self.url)
                if mapped is None:
                    raise
                if mapped.status == 429:
                    with self._lock:
                        self.throttled += 1
                mapped.message = self._redact(mapped.message)
                if mapped is exc:
                    raise
                raise mapped from exc
            finally:
                if limiter is not None:
                    limiter.release()  # counted from the response on (see the limiter)

        def reachable_attempt() -> T:
            """``attempt``, with a refused / unknown-host failure tried twice more, quickly
            (it is Fatal, so ``retrying`` below passes it on at once)."""
            for tries in range(UNREACHABLE_RETRIES + 1):
                try:
                    return attempt()
                except Unreachable:
                    if tries == UNREACHABLE_RETRIES:
                        raise
                    with self._lock:
                        self.retries += 1
                    (self._sleep or self.clock.sleep)(UNREACHABLE_PAUSE * (tries + 1))
            raise AssertionError("unreachable")  # pragma: no cover

        return retrying(
            reachable_attempt,
            attempts=s.attempts,
            max_wait=s.max_wait,
            default_wait=default_wait,
            on_retry=on_retry,
            sleep=self._sleep or self.clock.sleep,
        )

    def call_json(
        self,
        endpoint: str,
        fn: Callable[..., Any],
        *args: Any,
        bucket: Bucket = "standard",
        **kwargs: Any,
    ) -> Any:
        """:meth:`call` for a generated api method, answering the response's JSON as
        plain dicts and lists (``None`` for an empty body) instead of the client's models.

        Why: turning a page into generated model objects (and every timestamp in it
        into a datetime with ``dateutil``) cost crmseg more CPU than anything else in
        a batch-path sync; the pull reads a handful of fields per record and parses
        them itself (:mod:`connectors.hubspot.pull_json`). The request is the
        client's own (host, token, CA bundle, pool, urllib3 retries off) with
        ``_preload_content=False``, which makes the client hand back the raw urllib3
        response; its errors still raise the client's exceptions, mapped as in
        :meth:`call`. The body is read inside the attempt, so a connection dropped
        mid-body is a :class:`~connectors.errors.Timeout` and retried, and an answer
        that is not JSON a :class:`~connectors.errors.ServerError`, retried too.
        """
        owner = getattr(fn, "__self__", None)
        name = getattr(fn, "__name__", "")
        if owner is None or not hasattr(owner, "api_client"):
            raise TypeError(f"{endpoint}: call_json needs a generated api method, got {fn!r}")
        info = fn if name.endswith("_with_http_info") else getattr(owner, f"{name}_with_http_info")
        timeout = self.settings.timeout_seconds

        def raw(*a: Any, **kw: Any) -> Any:
            kw = {"_request_timeout": timeout, **kw, "_preload_content": False}
            resp = info(*a, **kw)
            try:
                body = resp.data
            finally:
                resp.release_conn()
            self._observe(resp.headers)
            return _json(body, endpoint, int(resp.status))

        return self.call(endpoint, raw, *args, bucket=bucket, **kwargs)

    def _send(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> T:
        """Call ``fn``; for generated api methods add the timeout and prefer the
        ``*_with_http_info`` twin to read the rate-limit headers. Other callables
        (a lambda wrapping several calls) are called as they are."""
        owner = getattr(fn, "__self__", None)
        name = getattr(fn, "__name__", "")
        if owner is None or not hasattr(owner, "api_client"):
            return fn(*args, **kwargs)
        kwargs = {"_request_timeout": self.settings.timeout_seconds, **kwargs}
        info = (
            getattr(owner, f"{name}_with_http_info", None)
            if name and not name.endswith("_with_http_info")
            else None
        )
        if info is None:
            return fn(*args, **kwargs)
        out = info(*args, **kwargs)
        if isinstance(out, tuple) and len(out) == 3:
            data, _status, headers = out
            self._observe(headers)
            return data  # type: ignore[no-any-return]
        return out  # type: ignore[no-any-return]

    def _observe(self, headers: Any) -> None:
        daily = _int(_header(headers, "X-HubSpot-RateLimit-Daily"))
        remaining = _int(_header(headers, "X-HubSpot-RateLimit-Daily-Remaining"))
        if daily is not None or remaining is not None:
            self.budget.observe(daily, remaining)

    def _redact(self, text: str) -> str:
        return text.replace(self.__token, "***") if self.__token else text
