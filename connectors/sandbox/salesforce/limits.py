"""Org limits: the rolling daily API allocation and the concurrent long-request cap.

Every counted call answers ``Sforce-Limit-Info: api-usage=USED/MAX`` (the client
parses it with a regex anchored at the start). Past the allocation Salesforce
answers 403 ``REQUEST_LIMIT_EXCEEDED``. Requests running for ``long_seconds``
or more are long-running; when ``max_long`` of them are in flight the next
request is refused with the same code (``ConcurrentPerOrgLongTxn``).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from .errors import SfError


class Timing(Protocol):
    """The org's own time: a monotonic clock and the matching sleep."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class RealTime:
    """:class:`Timing` on :func:`time.monotonic` and :func:`time.sleep`."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class Limits:
    def __init__(
        self,
        *,
        daily_max: int = 15_000,
        long_seconds: float = 20.0,
        max_long: int = 5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.daily_max = daily_max
        #: How long a request has run is read on this clock (a test passes a fake one).
        self.clock = clock
        self.used = 0
        self.long_seconds = long_seconds
        self.max_long = max_long
        self.bulk_query_jobs = 0
        self.bulk_batches = 0
        self._lock = threading.Lock()
        self._inflight: dict[int, float] = {}
        self._ids = itertools.count()
        #: The most requests in flight at once so far (tests of client concurrency).
        self.peak_in_flight = 0

    def count_call(self) -> None:
        """Count one API call, or refuse it once the allocation is used up."""
        with self._lock:
            if self.used >= self.daily_max:
                raise SfError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
            self.used += 1

    def header(self) -> str:
        with self._lock:
            return f"api-usage={self.used}/{self.daily_max}"

    @contextmanager
    def in_flight(self) -> Iterator[None]:
        """Track one running request; refuse it if the long-running slots are full."""
        now = self.clock()
        with self._lock:
            long_running = sum(1 for t in self._inflight.values() if now - t >= self.long_seconds)
            if long_running >= self.max_long:
                raise SfError(
                    403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn Limit exceeded."
                )
            key = next(self._ids)
            self._inflight[key] = now
            self.peak_in_flight = max(self.peak_in_flight, len(self._inflight))
        try:
            yield
        finally:
            with self._lock:
                self._inflight.pop(key, None)

    def body(self) -> dict[str, Any]:
        """``GET limits/``: the org-limits document (a representative subset)."""
        with self._lock:
            used = self.used
        return {
            "DailyApiRequests": {"Max": self.daily_max, "Remaining": max(0, self.daily_max - used)},
            "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000 - self.bulk_batches},
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000 - self.bulk_query_jobs},
            "DailyBulkV2QueryFileStorageMB": {"Max": 976562, "Remaining": 976562},
            "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
            "DataStorageMB": {"Max": 5, "Remaining": 5},
        }
