"""The ``Retry-After`` of a refused Salesforce answer, kept for the error it becomes.

Why apart: simple-salesforce's exceptions drop the response headers, so the wait the
org asked for is read by a ``requests`` response hook, per thread, and put on the
mapped :class:`~connectors.errors.RateLimited` afterwards.
"""

from __future__ import annotations

import threading
from typing import Any

import requests

from connectors.errors import CrmError, RateLimited

__all__ = ["RetryAfter"]


def _seconds(value: str | None) -> float | None:
    """``Retry-After`` as seconds (only the delta-seconds form; an HTTP date is ignored)."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None


class RetryAfter:
    """Retry-After of the calling thread's last refused answer (simple-salesforce's
    exceptions drop the headers, so a response hook keeps it)."""

    def __init__(self) -> None:
        self._answer = threading.local()

    def remember(self, resp: requests.Response, *args: Any, **kwargs: Any) -> None:
        """The ``requests`` response hook."""
        self._answer.retry_after = (
            _seconds(resp.headers.get("Retry-After"))
            if resp.status_code in (429, 403, 503)
            else None
        )

    def apply(self, mapped: CrmError, max_wait: float) -> CrmError:
        """A RateLimited error gets the answer's Retry-After, capped at ``max_wait``."""
        after = getattr(self._answer, "retry_after", None)
        if isinstance(mapped, RateLimited) and after is not None and mapped.retry_after is None:
            mapped.retry_after = min(after, max_wait)
        return mapped
