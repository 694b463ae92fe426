"""Runtime-switchable misbehaviour a stand-in's server consults before each request.

Latency + jitter, bursts of error statuses (429 with or without ``Retry-After``,
5xx), dropped connections, responses slower than a client timeout, and hooks
for CRM-specific faults (e.g. partial batch failures).
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from connectors.sandbox._http import Request, Response

__all__ = ["FaultHook", "Faults"]


FaultHook = Callable[[Request], Response | None]


@dataclass
class _Burst:
    remaining: int
    status: int
    retry_after: float | None
    path: re.Pattern[str] | None


class Faults:
    """Runtime-switchable misbehaviour, consulted before each request is routed.

    All setters are thread-safe and may be called while the server runs.
    Queued faults (bursts, drops, slow responses) are consumed in order by the
    next matching requests; ``path`` (a regex) restricts them to some endpoints.
    """

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self.latency: float = 0.0
        self.jitter: float = 0.0
        self._bursts: list[_Burst] = []
        self._drops: list[tuple[int, re.Pattern[str] | None]] = []
        self._slow: list[tuple[int, float, re.Pattern[str] | None]] = []
        self.hooks: dict[str, FaultHook] = {}

    # -- configuration -------------------------------------------------
    def set_latency(self, seconds: float, jitter: float = 0.0) -> None:
        """Every response waits ``seconds`` + uniform(0, ``jitter``)."""
        with self._lock:
            self.latency, self.jitter = seconds, jitter

    def error_burst(
        self, n: int, status: int = 429, retry_after: float | None = None, path: str | None = None
    ) -> None:
        """The next ``n`` matching requests get ``status`` (optional ``Retry-After``)."""
        with self._lock:
            self._bursts.append(_Burst(n, status, retry_after, re.compile(path) if path else None))

    def drop_connections(self, n: int, path: str | None = None) -> None:
        """The next ``n`` matching requests see the socket closed without a response."""
        with self._lock:
            self._drops.append((n, re.compile(path) if path else None))

    def slow_responses(self, n: int, delay: float, path: str | None = None) -> None:
        """The next ``n`` matching responses are delayed by ``delay`` seconds
        (use more than the client's read timeout to provoke a timeout)."""
        with self._lock:
            self._slow.append((n, delay, re.compile(path) if path else None))

    def add_hook(self, name: str, hook: FaultHook) -> None:
        """Register a CRM-specific fault; stand-ins call :meth:`run_hooks`.

        A hook returns a :class:`Response` to short-circuit the request, or
        ``None`` to let it through. Hooks may keep their own counters.
        """
        with self._lock:
            self.hooks[name] = hook

    def remove_hook(self, name: str) -> None:
        with self._lock:
            self.hooks.pop(name, None)

    def reset(self) -> None:
        with self._lock:
            self.latency = self.jitter = 0.0
            self._bursts.clear()
            self._drops.clear()
            self._slow.clear()
            self.hooks.clear()

    # -- consumption (called by the server) ------------------------------
    @staticmethod
    def _take(queue: list[Any], path: str) -> Any | None:
        for i, item in enumerate(queue):
            rx = item.path if isinstance(item, _Burst) else item[-1]
            if rx is not None and not rx.search(path):
                continue
            if isinstance(item, _Burst):
                item.remaining -= 1
                if item.remaining <= 0:
                    queue.pop(i)
                return item
            n, *rest = item
            if n <= 1:
                queue.pop(i)
            else:
                queue[i] = (n - 1, *rest)
            return item
        return None

    def delay(self) -> float:
        with self._lock:
            return self.latency + (self._rng.uniform(0, self.jitter) if self.jitter else 0.0)

    def take_drop(self, path: str) -> bool:
        with self._lock:
            return self._take(self._drops, path) is not None

    def take_slow(self, path: str) -> float:
        with self._lock:
            item = self._take(self._slow, path)
            return float(item[1]) if item else 0.0

    def take_burst(self, path: str) -> _Burst | None:
        with self._lock:
            return self._take(self._bursts, path)

    def run_hooks(self, request: Request) -> Response | None:
        with self._lock:
            hooks = list(self.hooks.values())
        for hook in hooks:
            out = hook(request)
            if out is not None:
                return out
        return None
