"""Time as crmseg's retries, rate limiters and job polls see it.

Why one object: every wait crmseg makes (a backoff, a ``Retry-After``, a rate
limiter's window, the status polls of an export, import or Bulk job) reads the
time and sleeps through the same two methods. A connector takes a clock in its
constructor, so a test hands in a fake one and checks each wait without
spending it. Real runs use :data:`SYSTEM` (``time.monotonic`` and
``time.sleep``).

:data:`DEFAULT` is what a transport or session uses when none is passed in.
It is :data:`SYSTEM`; tests that drive the command line end to end (where no
constructor is in reach) replace it for the duration of one test.
"""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["DEFAULT", "SYSTEM", "Clock", "SystemClock"]


class Clock(Protocol):
    """A monotonic time source and the matching sleep."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (only differences mean anything)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``; afterwards :meth:`monotonic` is at least that much later."""
        ...


class SystemClock:
    """The real clock: :func:`time.monotonic` and :func:`time.sleep`."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"


SYSTEM: Clock = SystemClock()
DEFAULT: Clock = SYSTEM
