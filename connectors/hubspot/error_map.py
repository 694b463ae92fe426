"""HubSpot's errors in crmseg's tree: :func:`map_exception`, the one table that turns
whatever the HubSpot client raised into :mod:`connectors.errors`.

The mapping (the only place vendor exceptions become ours; ``crm="hubspot"``)::

    raised by the client                         -> crmseg error
    -------------------------------------------------------------------------
    *ApiException status 401                      -> AuthError
    *ApiException status 403                      -> PermissionDenied (names the
                                                     missing scopes from
                                                     errors[].context.requiredScopes)
    *ApiException status 429, policyName DAILY    -> BudgetExhausted
    *ApiException status 429, other policies      -> RateLimited (retry_after from
                                                     the Retry-After header, if any)
    *ApiException status 5xx                      -> ServerError
    *ApiException status 0 (SSL, bad response)    -> ServerError
    *ApiException other 4xx                       -> CrmError(code=body.category)
    urllib3 NewConnectionError (refused) and
      NameResolutionError (host unknown)          -> Unreachable (names the URL;
                                                     retried twice, quickly)
    certificate verification failed (the SDK
      hides it behind status 0 "SSLError" and an
      AttributeError from its own handler)        -> CertificateProblem (names
                                                     ``ca_bundle``)
    urllib3 ReadTimeoutError / ConnectTimeoutError-> Timeout
    urllib3 ProtocolError / MaxRetryError /
      ConnectionError (reset, dropped)            -> Timeout

A refused connection or an unknown host never reached HubSpot, so waiting
longer does not help: two quick retries cover a blip, then the run stops with
the URL in the message instead of waiting half a minute for "no answer".

``*ApiException`` means the ``ApiException`` of *any* ``hubspot`` sub-package
(contacts, lists, properties, associations... each has its own class) and its
subclasses (``UnauthorizedException``, ``ServiceException``, ...). Every mapped
error carries the HTTP status and HubSpot's ``correlationId`` as ``request_id``.
Messages never contain the access token: it is not in any message we build,
and the transport passes every message through its redactor as a second line
of defence.
"""

from __future__ import annotations

import json
import ssl
from typing import Any

import urllib3

from connectors.errors import (
    AuthError,
    BudgetExhausted,
    CertificateProblem,
    CrmError,
    PermissionDenied,
    RateLimited,
    ServerError,
    Timeout,
    Unreachable,
)

__all__ = ["CRM", "DEFAULT_URL", "TOKEN_ENV", "header", "map_exception"]

CRM = "hubspot"
DEFAULT_URL = "https://api.hubapi.com"
TOKEN_ENV = "HUBSPOT_ACCESS_TOKEN"


def _is_api_exception(exc: BaseException) -> bool:
    """True for the ApiException of any hubspot sub-package (or its subclasses)."""
    return any(
        cls.__name__ == "ApiException" and cls.__module__.startswith("hubspot")
        for cls in type(exc).__mro__
    )


def _body(exc: BaseException) -> dict[str, Any]:
    raw = getattr(exc, "body", None)
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def header(headers: Any, name: str) -> str | None:
    if not headers:
        return None
    try:
        value = headers.get(name)
        if value is None:
            lowered = {str(k).lower(): v for k, v in dict(headers).items()}
            value = lowered.get(name.lower())
    except (AttributeError, TypeError):
        return None
    return None if value is None else str(value)


def _float(value: str | None) -> float | None:
    try:
        return None if value is None else float(value)
    except ValueError:
        return None


def _missing_scopes(body: dict[str, Any]) -> list[str]:
    scopes: list[str] = []
    for err in body.get("errors") or []:
        if isinstance(err, dict):
            for s in (err.get("context") or {}).get("requiredScopes") or []:
                if s not in scopes:
                    scopes.append(str(s))
    return scopes


def _is_certificate(exc: BaseException) -> bool:
    # not str(exc): a generated ApiException without a body cannot be printed
    text = f"{getattr(exc, 'reason', '')} {type(exc).__name__} {exc.args!r}"
    return "CERTIFICATE_VERIFY_FAILED" in text or "SSLCertVerificationError" in text


def _chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from or while handling."""
    out: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in out and len(out) < 20:
        out.append(cur)
        cur = cur.__cause__ or cur.__context__
    return out


def _network_error(exc: BaseException, endpoint: str, url: str) -> CrmError | None:
    """Unreachable / CertificateProblem for refused, unknown-host and TLS failures."""
    chain = _chain(exc)
    for e in chain:
        if isinstance(e, urllib3.exceptions.MaxRetryError) and e.reason is not None:
            chain.append(e.reason)
    for e in chain:
        text = str(getattr(e, "reason", "") or e)
        if isinstance(e, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in text:
            detail = getattr(e, "verify_message", None) or "certificate verify failed"
            return CertificateProblem(
                f"{endpoint}: a certificate problem: the TLS certificate of {url} could not be "
                f"verified ({detail}). If HTTPS goes through a proxy that inspects it, set "
                "[crm] ca_bundle to the proxy's CA bundle (a PEM file); otherwise check "
                "[crm] base_url",
                crm=CRM,
                code="CERTIFICATE_VERIFY_FAILED",
            )
    for e in chain:
        if isinstance(e, urllib3.exceptions.NameResolutionError):
            return Unreachable(
                f"{endpoint}: cannot reach {url}: unknown host (DNS has no such name). "
                "Check [crm] base_url and the network",
                crm=CRM,
                code="HOST_UNKNOWN",
            )
        if isinstance(e, urllib3.exceptions.NewConnectionError):
            return Unreachable(
                f"{endpoint}: cannot reach {url}: the connection was refused. Check [crm] "
                "base_url, a proxy or firewall in between, and HubSpot's status page",
                crm=CRM,
                code="CONNECTION_REFUSED",
            )
    return None


def map_exception(exc: BaseException, endpoint: str, url: str = DEFAULT_URL) -> CrmError | None:
    """Translate a client exception into crmseg's tree (``None``: not ours to map).

    ``url`` is the API base URL, named in messages about network failures."""
    if isinstance(exc, CrmError):
        return exc
    network = _network_error(exc, endpoint, url)
    if network is not None:
        return network
    context = exc.__context__
    if isinstance(exc, AttributeError) and context is not None and _is_api_exception(context):
        # The client's call_api decodes ``e.body`` of a body-less ApiException (TLS
        # and connection failures) and fails on it: the ApiException is the context.
        exc = context
    if _is_api_exception(exc):
        status = int(getattr(exc, "status", 0) or 0)
        body = _body(exc)
        headers = getattr(exc, "headers", None)
        rid = body.get("correlationId") or header(headers, "X-HubSpot-Correlation-Id")
        message = str(body.get("message") or getattr(exc, "reason", "") or "no message")
        kw: dict[str, Any] = {"crm": CRM, "status": status or None, "request_id": rid}
        category = body.get("category")
        if status == 401:
            return AuthError(
                f"{endpoint}: the access token was refused ({message}); check "
                f"{TOKEN_ENV} holds a valid private-app token",
                code=category or "INVALID_AUTHENTICATION",
                **kw,
            )
        if status == 403:
            scopes = _missing_scopes(body)
            need = (
                f"the private app lacks the scope(s) {', '.join(scopes)}; add them in "
                "HubSpot (Settings > Integrations > Private apps) and use the new token"
                if scopes
                else f"permission denied: {message}"
            )
            return PermissionDenied(f"{endpoint}: {need}", code=category or "MISSING_SCOPES", **kw)
        if status == 429:
            policy = str(body.get("policyName") or "")
            if policy.upper() == "DAILY":
                return BudgetExhausted(
                    f"{endpoint}: HubSpot's daily API limit is reached; it resets at "
                    "midnight in the portal's time zone",
                    code="DAILY",
                    **kw,
                )
            return RateLimited(
                f"{endpoint}: rate limited ({policy or 'unknown policy'}): {message}",
                retry_after=_float(header(headers, "Retry-After")),
                code=policy or "RATE_LIMIT",
                **kw,
            )
        if status >= 500:
            return ServerError(f"{endpoint}: HubSpot server error: {message}", code=category, **kw)
        if status == 0 and _is_certificate(exc):
            return CertificateProblem(
                f"{endpoint}: the TLS certificate of the API host could not be verified: a "
                "certificate problem; point [crm] ca_bundle at the CA that signed it",
                **kw,
            )
        if status == 0:
            reason = str(getattr(exc, "reason", "") or "").splitlines()[0:1]
            return ServerError(
                f"{endpoint}: no usable response ({reason[0] if reason else 'unknown'})",
                **kw,
            )
        return CrmError(f"{endpoint}: {message}", code=category, **kw)
    refused = exc.reason if isinstance(exc, urllib3.exceptions.MaxRetryError) else exc
    if isinstance(refused, urllib3.exceptions.NewConnectionError):  # refused, unknown host
        conn = getattr(refused, "conn", None)
        where = f"https://{conn.host}:{conn.port}" if conn is not None else "the API host"
        return Unreachable(
            f"{endpoint}: cannot connect to {where} (connection refused or unknown host); "
            "check [crm] base_url",
            crm=CRM,
        )
    if isinstance(refused, urllib3.exceptions.SSLError) or _is_certificate(exc):
        return CertificateProblem(
            f"{endpoint}: the TLS certificate of the API host could not be verified: a "
            "certificate problem; point [crm] ca_bundle at the CA that signed it",
            crm=CRM,
        )
    if isinstance(
        exc, urllib3.exceptions.ReadTimeoutError | urllib3.exceptions.ConnectTimeoutError
    ):
        return Timeout(f"{endpoint}: no answer in time ({type(exc).__name__})", crm=CRM)
    if isinstance(
        exc,
        urllib3.exceptions.ProtocolError
        | urllib3.exceptions.MaxRetryError
        | urllib3.exceptions.NewConnectionError
        | urllib3.exceptions.TimeoutError
        | urllib3.exceptions.HTTPError
        | ConnectionError,
    ):
        return Timeout(f"{endpoint}: connection failed ({type(exc).__name__})", crm=CRM)
    return None
