"""Auth, scopes and rate limits -- HubSpot's gateway in front of every handler (notes 6, 7).

* Bearer token required: otherwise 401 ``INVALID_AUTHENTICATION``.
* Optional scope set per token: otherwise 403 ``MISSING_SCOPES`` with
  ``errors[0].context.requiredScopes``.
* Rolling 10-second window per app (token) -- 100 or 190 -- with the
  ``X-HubSpot-RateLimit-*`` headers and the ``TEN_SECONDLY_ROLLING`` 429 body.
* Search: own bucket (5/s per account), no rate-limit headers.
* Daily counter per account (``DAILY`` 429).
Every switch lives on :class:`LimitConfig` and may be flipped while serving.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from connectors.sandbox._server import Request, Response
from connectors.sandbox.hubspot.errors import correlation_id, envelope
from connectors.sandbox.hubspot.routing import Routes


@dataclass
class LimitConfig:
    """Rate-limit knobs. ``enabled=False`` keeps counting and headers but never rejects."""

    enabled: bool = True
    ten_secondly: int = 190  # 100 for Free/Starter
    window_seconds: float = 10.0
    search_per_second: int = 5
    search_window_seconds: float = 1.0
    daily: int = 1_000_000
    retry_after: bool = False  # add Retry-After to 429s (exercises urllib3's retry path)
    headers: bool = True  # emit X-HubSpot-RateLimit-* on non-search responses
    #: The clock the rolling windows are counted on; a test sets a fake one and moves
    #: it on instead of waiting for a window to pass.
    clock: Callable[[], float] = time.monotonic


@dataclass
class _Window:
    hits: deque[float] = field(default_factory=deque)

    def prune(self, now: float, span: float) -> None:
        while self.hits and self.hits[0] <= now - span:
            self.hits.popleft()

    def wait(self, now: float, span: float, limit: int) -> float | None:
        """Forget hits older than ``span``; when ``limit`` hits remain, the seconds until
        the oldest leaves the window (else ``None``: there is room)."""
        self.prune(now, span)
        if len(self.hits) >= limit:
            return self.hits[0] + span - now
        return None


class Gateway:
    """Authenticates, authorises and meters requests before they reach handlers."""

    def __init__(
        self,
        routes: Routes,
        config: LimitConfig,
        tokens: dict[str, frozenset[str] | None],
        portal_id: int,
    ) -> None:
        self.routes, self.config, self.tokens, self.portal_id = routes, config, tokens, portal_id
        self._lock = threading.Lock()
        self._apps: dict[str, _Window] = {}
        self._search = _Window()
        self.daily_used = 0

    def reset(self) -> None:
        with self._lock:
            self._apps.clear()
            self._search = _Window()
            self.daily_used = 0

    # -- before routing --------------------------------------------------------
    def before(self, req: Request) -> Response | None:
        if self.routes.bucket.get(req.endpoint) == "public":
            return None  # signed download URLs (exports) need no token and are not metered
        auth = req.header("authorization") or ""
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        if not token or token not in self.tokens:
            return envelope(
                401,
                "INVALID_AUTHENTICATION",
                "Authentication credentials not found. This API supports OAuth 2.0 "
                "authentication and you can find more details at "
                "https://developers.hubspot.com/docs/methods/auth/oauth-overview",
            )
        granted = self.tokens[token]
        required = self.routes.scopes.get(req.endpoint, lambda _r: [])(req)
        if granted is not None:
            missing = [group for group in required if not set(group) & granted]
            if missing:
                return envelope(
                    403,
                    "MISSING_SCOPES",
                    "This app hasn't been granted all required scopes to make this call. Read "
                    "more about required scopes here: https://developers.hubspot.com/scopes.",
                    errors=[
                        {
                            "message": "One or more of the following scopes are required.",
                            "context": {"requiredScopes": group},
                        }
                        for group in missing
                    ],
                    links={"scopes": "https://developers.hubspot.com/scopes"},
                )
        return self._meter(req, token)

    def _meter(self, req: Request, token: str) -> Response | None:
        c = self.config
        bucket = self.routes.bucket.get(req.endpoint, "standard")
        now = c.clock()
        with self._lock:
            if c.enabled and self.daily_used >= c.daily:
                return self._reject(req, "DAILY", retry=_seconds_to_midnight())
            if bucket == "search":
                w = self._search
                wait = w.wait(now, c.search_window_seconds, c.search_per_second)
                if c.enabled and wait is not None:
                    return self._reject(req, "SECONDLY", retry=wait)
                w.hits.append(now)
            elif bucket == "standard":
                w = self._apps.setdefault(token, _Window())
                wait = w.wait(now, c.window_seconds, c.ten_secondly)
                if c.enabled and wait is not None:
                    return self._reject(req, "TEN_SECONDLY_ROLLING", retry=wait)
                w.hits.append(now)
                req.headers["x-sandbox-remaining"] = str(c.ten_secondly - len(w.hits))
            self.daily_used += 1
        return None

    def _reject(self, req: Request, policy: str, *, retry: float) -> Response:
        """The 429 of ``policy``, worded as HubSpot words it ("You have reached your
        ten_secondly_rolling limit."); the search bucket's carries no rate-limit headers."""
        group = {
            "TEN_SECONDLY_ROLLING": "ten-secondly",
            "DAILY": "daily",
            "SECONDLY": "search-secondly",
        }[policy]
        resp = envelope(
            429,
            None,
            f"You have reached your {policy.lower()} limit.",
            extra={
                "errorType": "RATE_LIMIT",
                "policyName": policy,
                "groupName": f"publicapi:private-app-api-calls-{group}:{self.portal_id}",
                "requestId": correlation_id(),
            },
        )
        if self.config.retry_after:
            resp.headers["Retry-After"] = str(max(1, math.ceil(retry)))
        if self.config.headers and policy != "SECONDLY":
            self._headers(resp, 0)
        return resp

    # -- after the handler -----------------------------------------------------
    def after(self, req: Request, resp: Response) -> None:
        if "X-HubSpot-Correlation-Id" not in resp.headers:
            resp.headers["X-HubSpot-Correlation-Id"] = correlation_id()
        remaining = req.headers.get("x-sandbox-remaining")
        if remaining is not None and self.config.headers:
            self._headers(resp, int(remaining))

    def _headers(self, resp: Response, remaining: int) -> None:
        c = self.config
        per_second = max(1, c.ten_secondly // 10)
        resp.headers.update(
            {
                "X-HubSpot-RateLimit-Daily": str(c.daily),
                "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, c.daily - self.daily_used)),
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(c.window_seconds * 1000)),
                "X-HubSpot-RateLimit-Max": str(c.ten_secondly),
                "X-HubSpot-RateLimit-Remaining": str(max(0, remaining)),
                "X-HubSpot-RateLimit-Secondly": str(per_second),
                "X-HubSpot-RateLimit-Secondly-Remaining": str(max(0, min(per_second, remaining))),
            }
        )


def _seconds_to_midnight() -> float:
    now = time.time()
    return 86400 - (now % 86400)
