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

Error mapping (the only place vendor exceptions become ours; ``crm="salesforce"``)::

    raised                                              -> crmseg error
    -----------------------------------------------------------------------------------
    SalesforceAuthenticationFailed (token endpoint 400) -> AuthError(code=OAuth error)
    token endpoint 5xx / dropped                         -> ServerError / Timeout
    SalesforceExpiredSession 401 (after one renewal)     -> AuthError
    SalesforceRefusedRequest 403 REQUEST_LIMIT_EXCEEDED  -> BudgetExhausted
      ... "ConcurrentPerOrgLongTxn" in the message       -> RateLimited (retried)
    SalesforceRefusedRequest 403 (INSUFFICIENT_ACCESS..) -> PermissionDenied
    SalesforceMalformedRequest 400 UNABLE_TO_LOCK_ROW    -> ServerError (retried)
    SalesforceMalformedRequest 400 INVALID_FIELD,
      INVALID_TYPE, INVALID_FIELD_FOR_INSERT_UPDATE      -> SchemaMismatch
    SalesforceMalformedRequest 400 QUERY_TIMEOUT         -> CrmError(code=QUERY_TIMEOUT), not
                                                           retried unchanged: the puller
                                                           narrows it by SystemModstamp
    SalesforceMalformedRequest 400 other                 -> CrmError(code=errorCode)
    SalesforceResourceNotFound 404 / MoreThanOneRecord   -> CrmError(code=errorCode)
    SalesforceGeneralError 429                           -> RateLimited (retried after
                                                           Retry-After, capped at max_wait)
    SalesforceGeneralError 5xx                           -> ServerError (retried)
    SalesforceGeneralError other                         -> CrmError(code=errorCode)
    SalesforceOperationError (Bulk 2.0 job failed)       -> CrmError(code=BULK_JOB_FAILED)
    requests SSLError (certificate not verified)         -> CertificateProblem (names ca_bundle)
    connection refused / host unknown                    -> Unreachable (after 2 quick retries,
                                                           names the URL)
    requests Timeout                                     -> Timeout (retried)
    requests ConnectionError / ChunkedEncodingError      -> Timeout (retried)

Timeouts: each call's read timeout follows its operation (:func:`timeout_for`):
queries ``query_timeout`` (SOQL may run 120 s), writes ``write_timeout`` (a
200-record write runs every trigger and flow of the object), Tooling
``tooling_timeout``, Bulk status polls ``bulk_poll_timeout``, token and describe
``timeout_seconds`` (also the connect timeout). A request abandoned too early
keeps running server-side, and its retry only adds load; what is retried on a
timeout is safe to repeat (absolute values, looked-up creates, the ingest upload
is never repeated: see :mod:`connectors.salesforce.writes`).

Secrets (client secret, private key, session id) are never put in a message, a
repr or a log line; every mapped message also passes :meth:`_redact`.

No SOAP: the session comes from ``POST {login}/services/oauth2/token`` with the
client-credentials grant (HTTP Basic client id/secret) or the JWT bearer grant
(RS256 assertion: iss=client id, sub=username, aud=``settings.jwt_audience``,
exp=now+3 min), and the client is built in simple-salesforce's ``direct`` mode
(instance URL + session id), so renewal is ours: the library's own re-login loop
(notes section 9) is never entered.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import requests
import urllib3
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceOperationError,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)
from simple_salesforce.util import exception_handler

from connectors.errors import (
    AuthError,
    BudgetExhausted,
    CertificateProblem,
    ConfigError,
    CrmError,
    PermissionDenied,
    RateLimited,
    SchemaMismatch,
    ServerError,
    Timeout,
    Unreachable,
)
from connectors.ratelimit import DailyBudget, retrying
from connectors.salesforce.settings import SalesforceSettings

__all__ = [
    "CLIENT_ID_ENV",
    "CLIENT_SECRET_ENV",
    "PRIVATE_KEY_ENV",
    "PRIVATE_KEY_FILE_ENV",
    "SalesforceSession",
    "error_code",
    "map_exception",
]

T = TypeVar("T")
CRM = "salesforce"
CLIENT_ID_ENV = "SALESFORCE_CLIENT_ID"
CLIENT_SECRET_ENV = "SALESFORCE_CLIENT_SECRET"
PRIVATE_KEY_ENV = "SALESFORCE_PRIVATE_KEY"
PRIVATE_KEY_FILE_ENV = "SALESFORCE_PRIVATE_KEY_FILE"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_LIFETIME_SECONDS = 180
SCHEMA_CODES = frozenset({"INVALID_FIELD", "INVALID_TYPE", "INVALID_FIELD_FOR_INSERT_UPDATE"})
#: A long-running-request slot frees within seconds; wait this long before retrying.
CONCURRENCY_WAIT = 20.0


def error_code(exc: SalesforceError) -> tuple[str | None, str]:
    """(errorCode, message) of the first entry of a REST error body."""
    content = getattr(exc, "content", None)
    first = content[0] if isinstance(content, list) and content else content
    if isinstance(first, dict):
        return (
            str(first.get("errorCode") or first.get("error") or "") or None,
            str(
                first.get("message")
                or first.get("error_description")
                or first.get("errorDescription")
                or ""
            ),
        )
    return None, str(first or "")[:300]


def map_exception(exc: BaseException, endpoint: str) -> CrmError | None:
    """Translate a client exception into crmseg's tree (``None``: not ours to map)."""
    if isinstance(exc, CrmError):
        return exc
    if isinstance(exc, SalesforceAuthenticationFailed):
        return AuthError(
            f"{endpoint}: login refused ({exc.code}): {exc.auth_message}",
            crm=CRM,
            status=401,
            code=str(exc.code) if exc.code else "AUTHENTICATION_FAILED",
        )
    if isinstance(exc, SalesforceError):
        status = int(exc.status or 0) or None
        code, message = error_code(exc)
        kw: dict[str, Any] = {"crm": CRM, "status": status}
        text = f"{endpoint}: {message or type(exc).__name__}"
        if isinstance(exc, SalesforceExpiredSession):
            return AuthError(
                f"{text}; the session was refused again right after a new login: check the "
                "connected app's policies and the integration user",
                code=code or "INVALID_SESSION_ID",
                **kw,
            )
        if isinstance(exc, SalesforceRefusedRequest):
            if code == "REQUEST_LIMIT_EXCEEDED":
                if "concurrent" in message.lower():
                    return RateLimited(text, code=code, **kw)
                return BudgetExhausted(
                    f"{text}: the org's daily API allocation is used up; other integrations "
                    "are blocked too until the rolling 24 h window frees capacity",
                    code=code,
                    **kw,
                )
            return PermissionDenied(
                f"{text}: the integration user lacks a permission (object, field-level "
                "security or 'API Enabled')",
                code=code or "INSUFFICIENT_ACCESS",
                **kw,
            )
        if isinstance(exc, SalesforceMalformedRequest):
            if code == "UNABLE_TO_LOCK_ROW":
                return ServerError(text, code=code, **kw)
            if code == "QUERY_TIMEOUT":
                return CrmError(text, code=code, **kw)
            if code in SCHEMA_CODES:
                return SchemaMismatch(text, code=code, **kw)
            return CrmError(text, code=code, **kw)
        if isinstance(exc, SalesforceResourceNotFound | SalesforceMoreThanOneRecord):
            return CrmError(text, code=code or "NOT_FOUND", **kw)
        if isinstance(exc, SalesforceGeneralError) or status is not None:
            if status == 429:
                return RateLimited(text, code=code or "REQUEST_LIMIT_EXCEEDED", **kw)
            if status is not None and status >= 500:
                return ServerError(text, code=code, **kw)
            return CrmError(text, code=code, **kw)
    if isinstance(exc, SalesforceOperationError):
        return CrmError(f"{endpoint}: {str(exc)[:500]}", crm=CRM, code="BULK_JOB_FAILED")
    if isinstance(exc, requests.exceptions.SSLError):
        return CertificateProblem(
            f"{endpoint}: the TLS certificate of {_url_of(exc)} could not be verified "
            f"({_reason(exc)}); set [crm] ca_bundle to the CA file that signed it (a "
            "TLS-inspecting proxy's CA, or the local stand-in's), or check the URL",
            crm=CRM,
            code="CERTIFICATE_VERIFY_FAILED",
        )
    if refused(exc):
        return Unreachable(
            f"{endpoint}: cannot connect to {_url_of(exc)} ({_reason(exc)}); check "
            "[crm] instance_url (the org's My Domain URL) and the network",
            crm=CRM,
            code="UNREACHABLE",
        )
    if isinstance(exc, requests.Timeout):
        return Timeout(f"{endpoint}: no answer in time ({type(exc).__name__})", crm=CRM)
    if isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
        return Timeout(f"{endpoint}: connection failed ({type(exc).__name__})", crm=CRM)
    return None


#: Quick extra attempts when a connection cannot be opened at all (then Unreachable).
UNREACHABLE_RETRIES = 2
UNREACHABLE_WAIT = 0.5


def refused(exc: BaseException) -> bool:
    """Connection refused or host unknown: the request never reached Salesforce
    (unlike a reset or a timeout, after which it may be running there)."""
    if not isinstance(exc, requests.ConnectionError) or isinstance(
        exc, requests.exceptions.SSLError | requests.Timeout
    ):
        return False
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, urllib3.exceptions.NewConnectionError | ConnectionRefusedError):
            return True
        inner = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        seen = getattr(seen, "reason", None) or inner or seen.__cause__ or seen.__context__
    return False


def _url_of(exc: BaseException) -> str:
    request = getattr(exc, "request", None)
    url = str(getattr(request, "url", "") or "")
    return url.split("?")[0] or "the Salesforce host"


def _reason(exc: BaseException) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "certificate verify failed"):
        if marker.lower() in text.lower():
            return marker
    return type(exc).__name__


def quick_retry(fn: Callable[[], T], sleep: Callable[[float], None]) -> T:
    """``fn()``, tried up to ``UNREACHABLE_RETRIES`` more times, quickly, while the
    connection is refused (nothing reached the server, so any request may be repeated)."""
    for attempt in range(UNREACHABLE_RETRIES + 1):
        try:
            return fn()
        except requests.ConnectionError as exc:
            if not refused(exc) or attempt == UNREACHABLE_RETRIES:
                raise
        sleep(UNREACHABLE_WAIT * (attempt + 1))
    raise AssertionError("unreachable")


def _seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds (only the delta-seconds form; an HTTP date is ignored)."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


def _identity(url: object) -> tuple[str, str]:
    """(org id, user id) from the token answer's ``id``: ``https://login.../id/00D.../005...``."""
    parts = [p for p in str(url or "").split("?")[0].split("/") if p]
    if len(parts) >= 3 and parts[-3] == "id" and parts[-2][:3] == "00D" and parts[-1][:3] == "005":
        return parts[-2], parts[-1]
    raise AuthError(
        "oauth.token: the token answer names no user (its 'id' should be an identity URL "
        f"ending in /<org id>/<user id>, got {str(url)[:120]!r}); crmseg cannot tell which "
        "user to grant its tag fields to",
        crm=CRM,
        code="NO_IDENTITY",
    )


def timeout_for(settings: SalesforceSettings, endpoint: str) -> float:
    """Read timeout of one operation, by its endpoint name (module doc, "Timeouts")."""
    s = settings
    if endpoint.startswith("tooling."):
        return s.tooling_timeout
    if endpoint in ("bulk2.query.job", "bulk2.ingest.get"):
        return s.bulk_poll_timeout
    if endpoint.startswith(("query", "bulk2.query.results")) or endpoint.endswith(
        (".find", ".get")
    ):
        return s.query_timeout
    if endpoint in ("describe", "oauth.token", "limits"):
        return s.timeout_seconds
    return s.write_timeout


class _TimeoutSession(requests.Session):
    """A requests session whose timeout follows the operation in progress (simple-salesforce
    sets none): ``(connect, read)`` with the read part set per call by the session."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self.default_timeout = timeout
        self._op = threading.local()

    def for_operation(self, read_timeout: float | None) -> None:
        self._op.read = read_timeout

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        read = getattr(self._op, "read", None) or self.default_timeout
        kwargs.setdefault("timeout", (self.default_timeout, read))
        return super().request(method, url, *args, **kwargs)


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
    ) -> None:
        self.settings = s = settings
        self.__client_id = client_id or s.client_id or ""
        self.__secret = secret or ""
        self.__key = private_key or ""
        self.__sid = ""
        problems = []
        if not self.__client_id:
            problems.append(
                f"{CLIENT_ID_ENV} is not set (nor [crm] client_id): the consumer key of the "
                "connected / external client app"
            )
        if s.auth == "client_credentials" and not self.__secret:
            problems.append(
                f"{CLIENT_SECRET_ENV} is not set: the consumer secret of the app "
                "(client credentials flow)"
            )
        if s.auth == "jwt":
            if not self.__key:
                problems.append(
                    f"{PRIVATE_KEY_ENV} (PEM text) or {PRIVATE_KEY_FILE_ENV} (a path) is not "
                    "set: the private key whose certificate is uploaded to the app (JWT flow)"
                )
            if not s.username:
                problems.append(
                    "[crm] username is not set: the JWT flow needs the integration user"
                )
        if s.auth not in ("client_credentials", "jwt"):
            problems.append(f"[crm] auth {s.auth!r} is not one of client_credentials, jwt")
        if problems:
            raise ConfigError("; ".join(problems), problems)
        if http is None:
            http = _TimeoutSession(s.timeout_seconds)
            if s.ca_bundle:
                http.verify = s.ca_bundle
                # else REQUESTS_CA_BUNDLE would replace ``verify`` (notes section 1)
                http.trust_env = False
        self.requests: requests.Session = http
        #: Retry-After of the calling thread's last refused answer (simple-salesforce's
        #: exceptions drop the headers, so a response hook keeps it).
        self._answer = threading.local()
        http.hooks.setdefault("response", []).append(self._remember_retry_after)
        self.budget = DailyBudget(s.daily_reserve, crm=CRM, explain=self._explain_budget)
        self.calls: Counter[str] = Counter()
        self.retries = 0
        self.renewals = 0
        self._sleep = sleep or time.sleep
        self._lock = threading.RLock()
        self._sf: Salesforce | None = None
        self.instance_url = s.instance_url.rstrip("/")
        self._identity: tuple[str, str] | None = None

    # -- construction from the environment ------------------------------------------
    @classmethod
    def from_env(cls, settings: SalesforceSettings, **kw: Any) -> SalesforceSession:
        """Secrets from the environment only; ConfigError names each missing variable."""
        client_id = os.environ.get(CLIENT_ID_ENV, "").strip() or settings.client_id
        secret = os.environ.get(CLIENT_SECRET_ENV, "").strip() or None
        key = os.environ.get(PRIVATE_KEY_ENV, "").strip() or None
        key_file = os.environ.get(PRIVATE_KEY_FILE_ENV, "").strip()
        if settings.auth == "jwt" and key is None and key_file:
            try:
                key = Path(key_file).expanduser().read_text(encoding="utf-8")
            except OSError as exc:
                raise ConfigError(
                    f"{PRIVATE_KEY_FILE_ENV} points at {key_file!r}, which cannot be read "
                    f"({exc.strerror})"
                ) from None
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
        with self._lock:
            if self._identity is None:
                self._login()
            assert self._identity is not None
            return self._identity[1]

    @property
    def org_id(self) -> str:
        with self._lock:
            if self._identity is None:
                self._login()
            assert self._identity is not None
            return self._identity[0]

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
                if isinstance(self.requests, _TimeoutSession):
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
                self._with_retry_after(mapped)
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

    def _remember_retry_after(self, resp: requests.Response, *args: Any, **kwargs: Any) -> None:
        self._answer.retry_after = (
            _seconds(resp.headers.get("Retry-After"))
            if resp.status_code in (429, 403, 503)
            else None
        )

    def _with_retry_after(self, mapped: CrmError) -> CrmError:
        """A RateLimited error gets the answer's Retry-After, capped at ``max_wait``."""
        after = getattr(self._answer, "retry_after", None)
        if isinstance(mapped, RateLimited) and after is not None and mapped.retry_after is None:
            mapped.retry_after = min(after, self.settings.max_wait)
        return mapped

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
            if isinstance(self.requests, _TimeoutSession):
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
        if s.auth == "jwt":
            import jwt  # pyjwt; cryptography signs RS256

            claims = {
                "iss": self.__client_id,
                "sub": s.username,
                "aud": s.jwt_audience,
                "exp": int(time.time()) + JWT_LIFETIME_SECONDS,
            }
            try:
                assertion = jwt.encode(claims, self.__key, algorithm="RS256")
            except (ValueError, TypeError, jwt.PyJWTError) as exc:
                raise ConfigError(
                    f"{PRIVATE_KEY_ENV} / {PRIVATE_KEY_FILE_ENV} does not hold a usable RSA "
                    f"private key in PEM format ({type(exc).__name__})"
                ) from None
            resp = self.requests.post(
                s.token_url, data={"grant_type": JWT_GRANT, "assertion": assertion}
            )
        else:
            resp = self.requests.post(
                s.token_url,
                data={"grant_type": "client_credentials"},
                auth=(self.__client_id, self.__secret),
            )
        try:
            body = resp.json()
        except ValueError:
            body = {}
        if resp.status_code >= 500:
            raise ServerError(
                f"oauth.token: the token endpoint answered HTTP {resp.status_code}",
                crm=CRM,
                status=resp.status_code,
            )
        if resp.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
            error = str(body.get("error", "")) if isinstance(body, dict) else ""
            desc = str(body.get("error_description", "")) if isinstance(body, dict) else ""
            hint = (
                f"check {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV}, and that the app's "
                "client credentials flow has a run-as user"
                if s.auth == "client_credentials"
                else f"check {CLIENT_ID_ENV}, the username, the key in {PRIVATE_KEY_ENV} and "
                "that the user is pre-authorized for the app"
            )
            raise AuthError(
                f"oauth.token: login refused ({error or 'HTTP ' + str(resp.status_code)}"
                f"{': ' + desc if desc else ''}); {hint}",
                crm=CRM,
                status=resp.status_code,
                code=error or None,
            )
        self._identity = _identity(body.get("id"))
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
