"""The two call shapes every Salesforce module here shares: a SOQL query read to its end,
and an sObject Collections write with per-record results (``allOrNone`` false).

Why apart: fields, permissions, lists and writes all use them, and none of
those should import another just for its plumbing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from connectors.salesforce.creates import call_once

__all__ = ["COLLECTION_LIMIT", "SalesforceSessionLike", "collection", "first_error", "query"]

#: sObject Collections accept at most this many records per call (notes §4.2).
COLLECTION_LIMIT = 200


class SalesforceSessionLike(Protocol):
    """What this package needs from ``connectors.salesforce.session.SalesforceSession``."""

    def call(self, endpoint: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(current_client, *args, **kwargs)``, counted, retried, errors mapped to CrmError."""
        ...


def query(session: SalesforceSessionLike, endpoint: str, soql: str) -> list[dict[str, Any]]:
    answer = session.call(endpoint, lambda sf, q: sf.query_all(q), soql)
    return list(answer.get("records") or [])


def collection(
    session: SalesforceSessionLike,
    endpoint: str,
    method: str,
    records: list[dict[str, Any]],
    *,
    once: bool = False,
) -> list[dict[str, Any]]:
    """``POST``/``PATCH composite/sobjects`` with ``allOrNone`` false; per-record results.

    ``once``: a single attempt (the caller re-reads before retrying a create)."""
    if len(records) > COLLECTION_LIMIT:
        raise ValueError(f"a collections call holds at most {COLLECTION_LIMIT} records")
    send = (lambda *a: call_once(session, *a)) if once else session.call
    answer = send(
        endpoint,
        lambda sf, m, body: sf.restful("composite/sobjects", method=m, json=body),
        method,
        {"allOrNone": False, "records": records},
    )
    return list(answer or [])


def first_error(result: dict[str, Any]) -> tuple[str, str]:
    """(statusCode, message) of a failed collections result."""
    errors = result.get("errors") or [{}]
    code = str(errors[0].get("statusCode") or errors[0].get("errorCode") or "UNKNOWN")
    message = "; ".join(str(e.get("message") or "") for e in errors if e) or "rejected"
    return code, message
