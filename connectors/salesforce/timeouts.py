"""Read timeouts that follow the operation: each call's timeout by its endpoint name.

Timeouts: each call's read timeout follows its operation (:func:`timeout_for`):
queries ``query_timeout`` (SOQL may run 120 s), writes ``write_timeout`` (a
200-record write runs every trigger and flow of the object), Tooling
``tooling_timeout``, Bulk status polls ``bulk_poll_timeout``, token and describe
``timeout_seconds`` (also the connect timeout). A request abandoned too early
keeps running server-side, and its retry only adds load; what is retried on a
timeout is safe to repeat (absolute values, looked-up creates, the ingest upload
is never repeated: see :mod:`connectors.salesforce.writes`).
"""

from __future__ import annotations

import threading
from typing import Any

import requests

from connectors.salesforce.settings import SalesforceSettings

__all__ = ["TimeoutSession", "timeout_for"]


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


class TimeoutSession(requests.Session):
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
