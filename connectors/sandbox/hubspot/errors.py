"""HubSpot's error envelope (notes section 6).

Every non-2xx answer carries ``status:"error"``, ``message``, a fresh
``correlationId`` (also echoed as ``X-HubSpot-Correlation-Id``) and a
``category``; clients key retries and messages on these, so they are built
in one place.
"""

from __future__ import annotations

import uuid
from typing import Any

from connectors.sandbox._server import HttpError, Response


def correlation_id() -> str:
    return str(uuid.uuid4())


def envelope(
    status: int,
    category: str | None,
    message: str,
    *,
    sub_category: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    context: dict[str, list[str]] | None = None,
    links: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> Response:
    cid = correlation_id()
    body: dict[str, Any] = {"status": "error", "message": message, "correlationId": cid}
    if category is not None:
        body["category"] = category
    if sub_category:
        body["subCategory"] = sub_category
    if errors is not None:
        body["errors"] = errors
    if context is not None:
        body["context"] = context
    if links is not None:
        body["links"] = links
    if extra:
        body.update(extra)
    return Response(status, body, headers={"X-HubSpot-Correlation-Id": cid})


def api_error(status: int, category: str, message: str, **kw: Any) -> HttpError:
    """An exception a handler raises to answer with the envelope."""
    return HttpError(envelope(status, category, message, **kw))


def validation_error(message: str, **kw: Any) -> HttpError:
    return api_error(400, "VALIDATION_ERROR", message, **kw)


def not_found(message: str = "resource not found") -> HttpError:
    return api_error(404, "OBJECT_NOT_FOUND", message)


_CATEGORY_BY_STATUS = {
    400: "VALIDATION_ERROR",
    401: "INVALID_AUTHENTICATION",
    403: "MISSING_SCOPES",
    404: "OBJECT_NOT_FOUND",
    409: "CONFLICT",
    429: "RATE_LIMITS",
}


def fault_body(status: int, message: str) -> Response:
    """Render injected faults / router 404s in the HubSpot envelope."""
    if status >= 500:
        return envelope(
            status,
            None,
            "internal error" if status == 500 else message,
            extra={"category": "INTERNAL_ERROR"} if status == 500 else None,
        )
    if status == 429:
        return envelope(
            429,
            None,
            "You have reached your ten_secondly_rolling limit.",
            extra={"errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING"},
        )
    return envelope(status, _CATEGORY_BY_STATUS.get(status, "VALIDATION_ERROR"), message)
