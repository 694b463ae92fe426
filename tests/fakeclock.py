"""A fake clock for tests: sleeping records the wait and moves time on at once.

Thread-safe, since transports sleep from worker threads. ``sleeps`` is every
wait in the order asked for; ``now`` is where the clock stands.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import connectors.clock


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self._lock = threading.Lock()
        self.now = start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.sleeps.append(seconds)
            self.now += max(0.0, seconds)

    def __call__(self) -> float:
        return self.monotonic()

    @property
    def slept(self) -> float:
        """Seconds slept in total."""
        with self._lock:
            return sum(self.sleeps)


@contextmanager
def default_clock(clock: FakeClock) -> Iterator[FakeClock]:
    """Make ``clock`` the one every transport and session built meanwhile uses."""
    before = connectors.clock.DEFAULT
    connectors.clock.DEFAULT = clock
    try:
        yield clock
    finally:
        connectors.clock.DEFAULT = before
