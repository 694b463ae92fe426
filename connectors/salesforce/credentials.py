"""Which secrets each OAuth grant needs, and where crmseg reads them from.

Why apart from the session: the checks run once, before any request, and name every
missing piece at once (a ConfigError with one problem per variable or setting), while
the session only ever holds the secrets it was given. Secrets come from the environment
only (``SALESFORCE_*``), never from the config file.
"""

from __future__ import annotations

import os
from pathlib import Path

from connectors.errors import ConfigError
from connectors.salesforce.oauth import (
    CLIENT_ID_ENV,
    CLIENT_SECRET_ENV,
    PRIVATE_KEY_ENV,
    PRIVATE_KEY_FILE_ENV,
)
from connectors.salesforce.settings import SalesforceSettings

__all__ = ["credential_problems", "env_credentials"]


def credential_problems(s: SalesforceSettings, client_id: str, secret: str, key: str) -> list[str]:
    """One line per secret or setting the configured grant lacks (empty: all there)."""
    problems = []
    if not client_id:
        problems.append(
            f"{CLIENT_ID_ENV} is not set (nor [crm] client_id): the consumer key of the "
            "connected / external client app"
        )
    if s.auth == "client_credentials" and not secret:
        problems.append(
            f"{CLIENT_SECRET_ENV} is not set: the consumer secret of the app "
            "(client credentials flow)"
        )
    if s.auth == "jwt":
        if not key:
            problems.append(
                f"{PRIVATE_KEY_ENV} (PEM text) or {PRIVATE_KEY_FILE_ENV} (a path) is not "
                "set: the private key whose certificate is uploaded to the app (JWT flow)"
            )
        if not s.username:
            problems.append("[crm] username is not set: the JWT flow needs the integration user")
    if s.auth not in ("client_credentials", "jwt"):
        problems.append(f"[crm] auth {s.auth!r} is not one of client_credentials, jwt")
    return problems


def env_credentials(
    settings: SalesforceSettings,
) -> tuple[str | None, str | None, str | None]:
    """``(client id, secret, private key)`` from the environment; the key may be given as
    PEM text or as a file to read (ConfigError when that file cannot be read)."""
    client_id = os.environ.get(CLIENT_ID_ENV, "").strip() or settings.client_id
    secret = os.environ.get(CLIENT_SECRET_ENV, "").strip() or None
    key = os.environ.get(PRIVATE_KEY_ENV, "").strip() or None
    key_file = os.environ.get(PRIVATE_KEY_FILE_ENV, "").strip()
    if settings.auth == "jwt" and key is None and key_file:
        try:
            key = Path(key_file).expanduser().read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                f"{PRIVATE_KEY_FILE_ENV} points at {key_file!r}, which cannot be read "
                f"({exc.strerror})"
            ) from None
    return client_id, secret, key
