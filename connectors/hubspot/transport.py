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
   table of :mod:`connectors.hubspot.error_map`, and retries
   :class:`~connectors.errors.Retriable` errors via :func:`connectors.ratelimit.retrying`;
4. counts every HTTP attempt per endpoint name in ``calls`` (retries included),
   429s in ``throttled`` and retries in ``retries``.

urllib3's own retries are switched off (``Retry(total=False)``): hidden retries
would be uncounted, would sleep on ``Retry-After`` behind our back and would
not cover POSTs anyway.

All api objects share one connection pool (:mod:`connectors.hubspot.api_pool`).
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any, Literal, TypeVar

from hubspot import HubSpot
from urllib3.util.retry import Retry

from connectors import clock as clocks
from connectors.clock import Clock
from connectors.errors import ConfigError, CrmError, RateLimited, ServerError, Unreachable
from connectors.hubspot.api_pool import pooled_api_factory, shared_pool
from connectors.hubspot.error_map import CRM, DEFAULT_URL, TOKEN_ENV, header, map_exception
from connectors.ratelimit import DailyBudget, RollingWindowLimiter, margin_for, retrying
from connectors.settings import HubSpotSettings

__all__ = ["Bucket", "HubSpotSettings", "Transport"]

T = TypeVar("T")
Bucket = Literal["standard", "search", "exempt"]
#: Quick retries of a refused connection / unknown host, and the pause before each.
UNREACHABLE_RETRIES = 2
UNREACHABLE_PAUSE = 0.25


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
        #: The one pool every api object sends through (:mod:`connectors.hubspot.api_pool`).
        self.pool = shared_pool(s.ssl_ca_cert, retry, maxsize)
        kw: dict[str, Any] = {
            "access_token": token,
            "retry": retry,
            "connection_pool_maxsize": maxsize,
            "api_factory": pooled_api_factory(self.pool),
        }
        if s.host:
            kw["host"] = s.host.rstrip("/")
        if s.ssl_ca_cert:
            kw["ssl_ca_cert"] = s.ssl_ca_cert
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
        daily = _int(header(headers, "X-HubSpot-RateLimit-Daily"))
        remaining = _int(header(headers, "X-HubSpot-RateLimit-Daily-Remaining"))
        if daily is not None or remaining is not None:
            self.budget.observe(daily, remaining)

    def _redact(self, text: str) -> str:
        return text.replace(self.__token, "***") if self.__token else text
