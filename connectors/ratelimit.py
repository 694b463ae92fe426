"""CRM-neutral request pacing and retrying: a rolling-window limiter, a daily
budget guard and a tenacity-based retry loop over :mod:`connectors.errors`.

Why proactive pacing: HubSpot (and Salesforce) count requests in rolling
windows; a client that waits for 429s wastes calls (errors count against the
daily allowance too) and stalls every thread. :class:`RollingWindowLimiter`
remembers its own send times and sends the next request only when it still
fits, with a small safety margin added to the window for network latency
(a request counted by the server at arrival was sent a little earlier); a
request keeps its place in the window until its answer arrives.

The retry decision and the wait are two small pure functions,
:func:`is_retriable` and :func:`wait_seconds`, wired into tenacity by
:func:`retrying`; tests call them with jitter switched off.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import tenacity

from connectors.errors import BudgetExhausted, CrmError, RateLimited, Retriable

__all__ = [
    "MARGIN_SHARE",
    "DailyBudget",
    "RollingWindowLimiter",
    "is_retriable",
    "margin_for",
    "retrying",
    "wait_seconds",
]

T = TypeVar("T")

#: The safety margin as a share of its window: 0.25 s on a 10-second window.
MARGIN_SHARE = 0.025


def margin_for(window_seconds: float, cap: float) -> float:
    """The safety margin for a window: :data:`MARGIN_SHARE` of it, at most ``cap``.

    Why proportional: a fixed 0.25 s is 2.5 % of a 10-second window but 25 % of
    HubSpot's 1-second search window, where it would idle a quarter of the budget.
    """
    return max(0.0, min(cap, window_seconds * MARGIN_SHARE))


class _Request:
    """One request's place in a window: its send time until its answer arrives."""

    __slots__ = ("in_flight", "stamp")

    def __init__(self, stamp: float) -> None:
        self.stamp = stamp
        self.in_flight = True


class RollingWindowLimiter:
    """At most ``limit`` requests in any ``window_seconds + margin_seconds`` span.

    ``acquire()`` blocks until one more request fits (and any :meth:`hold` has
    passed), records it and returns the seconds it waited. Thread-safe: the lock
    is never held while sleeping, so :meth:`hold` takes effect at once.

    Why a request keeps its place until :meth:`release`: the CRM counts a request
    when it *arrives*, which can be any time between our send and its answer (a
    slow TLS handshake, a large upload, a loaded machine: hundreds of milliseconds
    were measured). HubSpot does not say which moment it counts, so the limiter
    takes the latest one it cannot rule out: a request still in flight never
    leaves the window, and once released it is counted from its answer. However
    late a request arrived, the request ``limit`` places later cannot land in the
    same window on the CRM's side. The cost is one response time per window,
    about 1 %, plus a wait for an answer when ``limit`` requests are in flight
    at once (the next request then waits for one of them to be released).

    Callers that do not report answers (a thread that acquires again without
    releasing) are paced by their send times: the thread's earlier request is
    counted from its send when it sends the next one.
    """

    def __init__(
        self,
        limit: int,
        window_seconds: float,
        *,
        margin_seconds: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if window_seconds <= 0:
            raise ValueError("window_seconds must be positive")
        self.limit = limit
        self.window_seconds = window_seconds
        self.span = window_seconds + max(0.0, margin_seconds)
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        #: Signalled by :meth:`release`: a request in flight got its answer.
        self._answered = threading.Condition(self._lock)
        #: The requests still in the span, in flight or answered. Not sorted once
        #: answered out of order.
        self._sent: list[_Request] = []
        self._mine = threading.local()
        self._hold_until = float("-inf")
        self._waited_total = 0.0

    def _wait_needed(self, now: float) -> float | None:
        """Seconds until one more request fits (0: it fits now; ``None``: only an
        answer can make room, every request that could leave is in flight).
        Caller holds the lock."""
        self._sent = [r for r in self._sent if r.in_flight or r.stamp > now - self.span]
        wait = self._hold_until - now
        excess = len(self._sent) - self.limit
        if excess >= 0:
            # excess + 1 requests must leave the span for one more to fit; requests
            # in flight leave only after their answer, so only answered ones count
            leaving = sorted(r.stamp for r in self._sent if not r.in_flight)
            if len(leaving) <= excess:
                return None
            wait = max(wait, leaving[excess] + self.span - now)
        return max(0.0, wait)

    def acquire(self) -> float:
        waited = 0.0
        while True:
            with self._lock:
                previous = getattr(self._mine, "request", None)
                if previous is not None:  # sent again without a release: see the class
                    previous.in_flight = False
                    self._mine.request = None
                now = self._clock()
                wait = self._wait_needed(now)
                if wait is None:
                    self._answered.wait()
                    waited += self._clock() - now
                    continue
                if wait <= 1e-9:  # float noise must not cause a busy loop
                    request = _Request(now)
                    self._sent.append(request)
                    self._mine.request = request
                    self._waited_total += waited
                    return waited
            self._sleep(wait)
            waited += wait

    def release(self) -> None:
        """The calling thread's last acquired request has its answer: count it from now."""
        request = getattr(self._mine, "request", None)
        if request is None:
            return
        self._mine.request = None
        with self._lock:
            request.stamp = max(request.stamp, self._clock())
            request.in_flight = False
            self._answered.notify_all()

    def hold(self, seconds: float) -> None:
        """Make every caller wait until ``seconds`` from now (after a 429)."""
        with self._lock:
            self._hold_until = max(self._hold_until, self._clock() + max(0.0, seconds))

    @property
    def waited_total(self) -> float:
        """Seconds all callers together spent waiting in :meth:`acquire`."""
        with self._lock:
            return self._waited_total


class DailyBudget:
    """Stops a run before it eats the last ``reserve_fraction`` of the daily allowance.

    Fed from response headers via :meth:`observe`; :meth:`check` is a no-op until
    something was observed (e.g. OAuth responses carry no daily headers).
    """

    def __init__(
        self,
        reserve_fraction: float,
        *,
        crm: str | None = None,
        explain: Callable[[int, int, int], str] | None = None,
    ) -> None:
        """``explain(limit, remaining, reserve)`` words the stop for the CRM at hand
        (how its allowance resets); the default speaks of a daily reset."""
        if not 0 <= reserve_fraction < 1:
            raise ValueError("reserve_fraction must be in [0, 1)")
        self.reserve_fraction = reserve_fraction
        self.crm = crm
        self.explain = explain or self._daily_reset
        self._lock = threading.Lock()
        self.limit: int | None = None
        self.remaining: int | None = None

    def observe(self, limit: int | None, remaining: int | None) -> None:
        with self._lock:
            if limit is not None:
                self.limit = limit
            if remaining is not None:
                self.remaining = remaining

    def check(self) -> None:
        with self._lock:
            limit, remaining = self.limit, self.remaining
        if limit is None or remaining is None:
            return
        reserve = self.reserve_fraction * limit
        if remaining <= reserve:
            raise BudgetExhausted(
                self.explain(limit, remaining, int(reserve)), crm=self.crm, code="DAILY_BUDGET"
            )

    def _daily_reset(self, limit: int, remaining: int, reserve: int) -> str:
        return (
            f"only {remaining} of {limit} daily API calls remain, at or below the "
            f"reserve of {reserve} ({self.reserve_fraction:.0%}) kept for other "
            "integrations; the allowance resets at midnight in the portal's time zone "
            "(exact time unknown) -- run again after that or lower the reserve"
        )


def is_retriable(exc: BaseException) -> bool:
    """Only :class:`connectors.errors.Retriable` errors are worth another attempt."""
    return isinstance(exc, Retriable)


def wait_seconds(
    attempt: int,
    exc: BaseException | None,
    *,
    max_wait: float,
    default_wait: Callable[[RateLimited], float],
    jitter: bool = True,
    rng: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait before attempt ``attempt + 1`` (``attempt`` counts from 1).

    * RateLimited with ``retry_after``: exactly that.
    * RateLimited without: ``default_wait(exc)`` (e.g. until the window passes).
    * anything else retriable: exponential 1, 2, 4, ... capped at ``max_wait``,
      with "equal jitter" (half fixed, half random) when ``jitter``.
    """
    if isinstance(exc, RateLimited):
        if exc.retry_after is not None:
            return max(0.0, float(exc.retry_after))
        return max(0.0, default_wait(exc))
    base = min(max_wait, 2.0 ** max(0, attempt - 1))
    if not jitter:
        return base
    return base / 2 + base / 2 * rng()


def retrying(
    fn: Callable[[], T],
    *,
    attempts: int,
    max_wait: float,
    default_wait: Callable[[RateLimited], float],
    on_retry: Callable[[CrmError, float], None] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    jitter: bool = True,
) -> T:
    """Call ``fn`` up to ``attempts`` times, retrying only retriable CRM errors.

    ``on_retry(error, wait)`` runs before each sleep. The last error is re-raised
    as itself (never ``tenacity.RetryError``); non-retriable errors pass at once.
    """

    def wait(state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        return wait_seconds(
            state.attempt_number, exc, max_wait=max_wait, default_wait=default_wait, jitter=jitter
        )

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if on_retry is not None and isinstance(exc, CrmError):
            on_retry(exc, state.upcoming_sleep)

    retryer = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(max(1, attempts)),
        retry=tenacity.retry_if_exception(is_retriable),
        wait=wait,
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
    return retryer(fn)
