"""The record of every request a stand-in answered, so tests and benchmarks count calls."""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["LogEntry", "RequestLog", "iter_json_lines"]


@dataclass(frozen=True)
class LogEntry:
    method: str
    path: str
    query: dict[str, list[str]]
    status: int  # 0 = connection dropped without a response
    duration: float  # seconds, including injected latency
    endpoint: str
    at: float  # time.time() at arrival


class RequestLog:
    """Thread-safe record of every request, so tests and benchmarks can count calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[LogEntry] = []

    def append(self, entry: LogEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    @property
    def entries(self) -> list[LogEntry]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def count(
        self, method: str | None = None, path: str | None = None, status: int | None = None
    ) -> int:
        """Count requests; ``path`` is a regex searched in the request path."""
        rx = re.compile(path) if path else None
        return sum(
            1
            for e in self.entries
            if (method is None or e.method == method.upper())
            and (rx is None or rx.search(e.path))
            and (status is None or e.status == status)
        )

    def by_endpoint(self) -> Counter[str]:
        """Calls per route name (``"unmatched"`` for 404s from the router)."""
        return Counter(e.endpoint for e in self.entries)

    def by_status(self) -> Counter[int]:
        return Counter(e.status for e in self.entries)


def iter_json_lines(entries: list[LogEntry]) -> Iterator[str]:
    """Render log entries as JSON lines (for ``--log`` style dumps)."""
    for e in entries:
        yield json.dumps(
            {
                "method": e.method,
                "path": e.path,
                "query": e.query,
                "status": e.status,
                "duration": round(e.duration, 6),
                "endpoint": e.endpoint,
            }
        )
