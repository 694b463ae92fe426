"""Where Salesforce's answers become crmseg's errors: the client's exceptions mapped into
:mod:`connectors.errors`, and the quick retries while a connection is refused.

Error mapping (the only place vendor exceptions become ours; ``crm="salesforce"``)::

    raised                                              -> crmseg error
    -----------------------------------------------------------------------------------
    SalesforceAuthenticationFailed (token endpoint 400) -> AuthError(code=OAuth error)
    token endpoint 5xx / dropped                         -> ServerError / Timeout
    SalesforceExpiredSession 401 (after one renewal)     -> AuthError
    SalesforceRefusedRequest 403 REQUEST_LIMIT_EXCEEDED  -> BudgetExhausted
      ... "ConcurrentPerOrgLongTxn" in the message       -> RateLimited (retried)
    SalesforceRefusedRequest 403 (INSUFFICIENT_ACCESS..) -> PermissionDenied
    SalesforceMalformedRequest 400 UNABLE_TO_LOCK_ROW    -> ServerError (retried)
    SalesforceMalformedRequest 400 INVALID_FIELD,
      INVALID_TYPE, INVALID_FIELD_FOR_INSERT_UPDATE      -> SchemaMismatch
    SalesforceMalformedRequest 400 QUERY_TIMEOUT         -> CrmError(code=QUERY_TIMEOUT), not
                                                           retried unchanged: the puller
                                                           narrows it by SystemModstamp
    SalesforceMalformedRequest 400 other                 -> CrmError(code=errorCode)
    SalesforceResourceNotFound 404 / MoreThanOneRecord   -> CrmError(code=errorCode)
    SalesforceGeneralError 429                           -> RateLimited (retried after
                                                           Retry-After, capped at max_wait)
    SalesforceGeneralError 5xx                           -> ServerError (retried)
    SalesforceGeneralError other                         -> CrmError(code=errorCode)
    SalesforceOperationError (Bulk 2.0 job failed)       -> CrmError(code=BULK_JOB_FAILED)
    requests SSLError (certificate not verified)         -> CertificateProblem (names ca_bundle)
    connection refused / host unknown                    -> Unreachable (after 2 quick retries,
                                                           names the URL)
    requests Timeout                                     -> Timeout (retried)
    requests ConnectionError / ChunkedEncodingError      -> Timeout (retried)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import requests
import urllib3
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceError,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceOperationError,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from connectors.errors import (
    AuthError,
    BudgetExhausted,
    CertificateProblem,
    CrmError,
    PermissionDenied,
    RateLimited,
    SchemaMismatch,
    ServerError,
    Timeout,
    Unreachable,
)

__all__ = ["CRM", "error_code", "map_exception", "quick_retry", "refused"]

T = TypeVar("T")
CRM = "salesforce"
SCHEMA_CODES = frozenset({"INVALID_FIELD", "INVALID_TYPE", "INVALID_FIELD_FOR_INSERT_UPDATE"})


def error_code(exc: SalesforceError) -> tuple[str | None, str]:
    """(errorCode, message) of the first entry of a REST error body."""
    content = getattr(exc, "content", None)
    first = content[0] if isinstance(content, list) and content else content
    if isinstance(first, dict):
        return (
            str(first.get("errorCode") or first.get("error") or "") or None,
            str(
                first.get("message")
                or first.get("error_description")
                or first.get("errorDescription")
                or ""
            ),
        )
    return None, str(first or "")[:300]


def map_exception(exc: BaseException, endpoint: str) -> CrmError | None:
    """Translate a client exception into crmseg's tree (``None``: not ours to map)."""
    if isinstance(exc, CrmError):
        return exc
    if isinstance(exc, SalesforceAuthenticationFailed):
        return AuthError(
            f"{endpoint}: login refused ({exc.code}): {exc.auth_message}",
            crm=CRM,
            status=401,
            code=str(exc.code) if exc.code else "AUTHENTICATION_FAILED",
        )
    if isinstance(exc, SalesforceError):
        status = int(exc.status or 0) or None
        code, message = error_code(exc)
        kw: dict[str, Any] = {"crm": CRM, "status": status}
        text = f"{endpoint}: {message or type(exc).__name__}"
        if isinstance(exc, SalesforceExpiredSession):
            return AuthError(
                f"{text}; the session was refused again right after a new login: check the "
                "connected app's policies and the integration user",
                code=code or "INVALID_SESSION_ID",
                **kw,
            )
        if isinstance(exc, SalesforceRefusedRequest):
            if code == "REQUEST_LIMIT_EXCEEDED":
                if "concurrent" in message.lower():
                    return RateLimited(text, code=code, **kw)
                return BudgetExhausted(
                    f"{text}: the org's daily API allocation is used up; other integrations "
                    "are blocked too until the rolling 24 h window frees capacity",
                    code=code,
                    **kw,
                )
            return PermissionDenied(
                f"{text}: the integration user lacks a permission (object, field-level "
                "security or 'API Enabled')",
                code=code or "INSUFFICIENT_ACCESS",
                **kw,
            )
        if isinstance(exc, SalesforceMalformedRequest):
            if code == "UNABLE_TO_LOCK_ROW":
                return ServerError(text, code=code, **kw)
            if code == "QUERY_TIMEOUT":
                return CrmError(text, code=code, **kw)
            if code in SCHEMA_CODES:
                return SchemaMismatch(text, code=code, **kw)
            return CrmError(text, code=code, **kw)
        if isinstance(exc, SalesforceResourceNotFound | SalesforceMoreThanOneRecord):
            return CrmError(text, code=code or "NOT_FOUND", **kw)
        if isinstance(exc, SalesforceGeneralError) or status is not None:
            if status == 429:
                return RateLimited(text, code=code or "REQUEST_LIMIT_EXCEEDED", **kw)
            if status is not None and status >= 500:
                return ServerError(text, code=code, **kw)
            return CrmError(text, code=code, **kw)
    if isinstance(exc, SalesforceOperationError):
        return CrmError(f"{endpoint}: {str(exc)[:500]}", crm=CRM, code="BULK_JOB_FAILED")
    if isinstance(exc, requests.exceptions.SSLError):
        return CertificateProblem(
            f"{endpoint}: the TLS certificate of {_url_of(exc)} could not be verified "
            f"({_reason(exc)}); set [crm] ca_bundle to the CA file that signed it (a "
            "TLS-inspecting proxy's CA, or the local stand-in's), or check the URL",
            crm=CRM,
            code="CERTIFICATE_VERIFY_FAILED",
        )
    if refused(exc):
        return Unreachable(
            f"{endpoint}: cannot connect to {_url_of(exc)} ({_reason(exc)}); check "
            "[crm] instance_url (the org's My Domain URL) and the network",
            crm=CRM,
            code="UNREACHABLE",
        )
    if isinstance(exc, requests.Timeout):
        return Timeout(f"{endpoint}: no answer in time ({type(exc).__name__})", crm=CRM)
    if isinstance(exc, requests.ConnectionError | requests.exceptions.ChunkedEncodingError):
        return Timeout(f"{endpoint}: connection failed ({type(exc).__name__})", crm=CRM)
    return None


#: Quick extra attempts when a connection cannot be opened at all (then Unreachable).
UNREACHABLE_RETRIES = 2
UNREACHABLE_WAIT = 0.5


def refused(exc: BaseException) -> bool:
    """Connection refused or host unknown: the request never reached Salesforce
    (unlike a reset or a timeout, after which it may be running there)."""
    if not isinstance(exc, requests.ConnectionError) or isinstance(
        exc, requests.exceptions.SSLError | requests.Timeout
    ):
        return False
    seen: BaseException | None = exc
    for _ in range(8):
        if seen is None:
            return False
        if isinstance(seen, urllib3.exceptions.NewConnectionError | ConnectionRefusedError):
            return True
        inner = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        seen = getattr(seen, "reason", None) or inner or seen.__cause__ or seen.__context__
    return False


def _url_of(exc: BaseException) -> str:
    request = getattr(exc, "request", None)
    url = str(getattr(request, "url", "") or "")
    return url.split("?")[0] or "the Salesforce host"


def _reason(exc: BaseException) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "certificate verify failed"):
        if marker.lower() in text.lower():
            return marker
    return type(exc).__name__


def quick_retry(fn: Callable[[], T], sleep: Callable[[float], None]) -> T:
    """``fn()``, tried up to ``UNREACHABLE_RETRIES`` more times, quickly, while the
    connection is refused (nothing reached the server, so any request may be repeated)."""
    for attempt in range(UNREACHABLE_RETRIES + 1):
        try:
            return fn()
        except requests.ConnectionError as exc:
            if not refused(exc) or attempt == UNREACHABLE_RETRIES:
                raise
        sleep(UNREACHABLE_WAIT * (attempt + 1))
    raise AssertionError("unreachable")
