"""The OAuth token request: the client-credentials or the JWT bearer grant.

No SOAP: the session comes from ``POST {login}/services/oauth2/token`` with the
client-credentials grant (HTTP Basic client id/secret) or the JWT bearer grant
(RS256 assertion: iss=client id, sub=username, aud=``settings.jwt_audience``,
exp=now+3 min), and the client is built in simple-salesforce's ``direct`` mode
(instance URL + session id), so renewal is ours: the library's own re-login loop
(notes section 9) is never entered.
"""

from __future__ import annotations

import time
from typing import Any

import requests

from connectors.errors import AuthError, ConfigError, ServerError
from connectors.salesforce.error_map import CRM
from connectors.salesforce.settings import SalesforceSettings

__all__ = [
    "CLIENT_ID_ENV",
    "CLIENT_SECRET_ENV",
    "PRIVATE_KEY_ENV",
    "PRIVATE_KEY_FILE_ENV",
    "identity",
    "request_token",
]

CLIENT_ID_ENV = "SALESFORCE_CLIENT_ID"
CLIENT_SECRET_ENV = "SALESFORCE_CLIENT_SECRET"
PRIVATE_KEY_ENV = "SALESFORCE_PRIVATE_KEY"
PRIVATE_KEY_FILE_ENV = "SALESFORCE_PRIVATE_KEY_FILE"
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_LIFETIME_SECONDS = 180


def request_token(
    http: requests.Session,
    s: SalesforceSettings,
    *,
    client_id: str,
    secret: str,
    private_key: str,
) -> dict[str, Any]:
    """``POST {login}/services/oauth2/token`` with the configured grant; the answer's body
    (``access_token``, ``instance_url``, ``id``). Refusals raise AuthError / ServerError."""
    if s.auth == "jwt":
        import jwt  # pyjwt; cryptography signs RS256

        claims = {
            "iss": client_id,
            "sub": s.username,
            "aud": s.jwt_audience,
            "exp": int(time.time()) + JWT_LIFETIME_SECONDS,
        }
        try:
            assertion = jwt.encode(claims, private_key, algorithm="RS256")
        except (ValueError, TypeError, jwt.PyJWTError) as exc:
            raise ConfigError(
                f"{PRIVATE_KEY_ENV} / {PRIVATE_KEY_FILE_ENV} does not hold a usable RSA "
                f"private key in PEM format ({type(exc).__name__})"
            ) from None
        resp = http.post(s.token_url, data={"grant_type": JWT_GRANT, "assertion": assertion})
    else:
        resp = http.post(
            s.token_url,
            data={"grant_type": "client_credentials"},
            auth=(client_id, secret),
        )
    try:
        body = resp.json()
    except ValueError:
        body = {}
    if resp.status_code >= 500:
        raise ServerError(
            f"oauth.token: the token endpoint answered HTTP {resp.status_code}",
            crm=CRM,
            status=resp.status_code,
        )
    if resp.status_code != 200 or not isinstance(body, dict) or "access_token" not in body:
        error = str(body.get("error", "")) if isinstance(body, dict) else ""
        desc = str(body.get("error_description", "")) if isinstance(body, dict) else ""
        hint = (
            f"check {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV}, and that the app's "
            "client credentials flow has a run-as user"
            if s.auth == "client_credentials"
            else f"check {CLIENT_ID_ENV}, the username, the key in {PRIVATE_KEY_ENV} and "
            "that the user is pre-authorized for the app"
        )
        raise AuthError(
            f"oauth.token: login refused ({error or 'HTTP ' + str(resp.status_code)}"
            f"{': ' + desc if desc else ''}); {hint}",
            crm=CRM,
            status=resp.status_code,
            code=error or None,
        )
    return body


def identity(url: object) -> tuple[str, str]:
    """(org id, user id) from the token answer's ``id``: ``https://login.../id/00D.../005...``."""
    parts = [p for p in str(url or "").split("?")[0].split("/") if p]
    if len(parts) >= 3 and parts[-3] == "id" and parts[-2][:3] == "00D" and parts[-1][:3] == "005":
        return parts[-2], parts[-1]
    raise AuthError(
        "oauth.token: the token answer names no user (its 'id' should be an identity URL "
        f"ending in /<org id>/<user id>, got {str(url)[:120]!r}); crmseg cannot tell which "
        "user to grant its tag fields to",
        crm=CRM,
        code="NO_IDENTITY",
    )
