"""OAuth 2.0 token endpoint (client credentials, JWT bearer) and session checking.

simple-salesforce posts to ``https://{domain}.salesforce.com/services/oauth2/token``
and only reads ``access_token`` and ``instance_url`` from the reply; a non-200
becomes ``SalesforceAuthenticationFailed(error, error_description)``. Every REST
call then carries ``Authorization: Bearer <sid>``; a bad or expired one gets a
401 whose body is a JSON *array* with ``INVALID_SESSION_ID``, which is what
triggers the client's transparent re-login.
"""

from __future__ import annotations

import base64
import functools
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .errors import SfError

JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
JWT_AUDIENCES = ["https://login.salesforce.com", "https://test.salesforce.com"]


@dataclass
class Credentials:
    """What a test needs to log in; the private key signs JWT assertions."""

    consumer_key: str = "crmseg-sandbox-consumer-key"
    consumer_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    username: str = "integration@crmseg.sandbox"
    my_domain: str = "crmseg-sandbox.my"  # pass as ``domain=`` for client credentials
    private_key_pem: str = ""
    public_key_pem: str = ""
    #: The organization id in session ids and the identity URL (FACTS.md).
    org_id: str = "00D5g000000crmseg"


@functools.cache
def _new_key_pair() -> tuple[str, str]:
    """The connected app's certificate key pair, made once per process: a 2048-bit RSA
    key costs tens of milliseconds of CPU, every stand-in started needs one, and nothing
    depends on two stand-ins holding different ones."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


class Auth:
    """Issues and checks session ids; ``expire_all`` makes every live session invalid."""

    def __init__(
        self,
        creds: Credentials | None = None,
        *,
        session_seconds: float = 7200,
        identity: tuple[str, str] = ("00D5g000000crmsegAAA", "0055g000000crmsegAAA"),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.creds = creds or Credentials()
        #: Session lifetimes are counted on this clock (a test passes a fake one).
        self.clock = clock
        #: (org id, user id) the token answer's ``id`` URL names: the run-as user of the
        #: client credentials flow, the ``sub`` user of the JWT flow (one user here).
        self.identity = identity
        if not self.creds.private_key_pem:
            self.creds.private_key_pem, self.creds.public_key_pem = _new_key_pair()
        self.session_seconds = session_seconds
        self._sessions: dict[str, float] = {}
        self._lock = threading.Lock()
        self.token_requests = 0

    def issue(self) -> str:
        sid = f"{self.creds.org_id}!" + secrets.token_urlsafe(48)
        with self._lock:
            self._sessions[sid] = self.clock() + self.session_seconds
        return sid

    def expire_all(self) -> None:
        """Every current session id now answers 401 INVALID_SESSION_ID (re-login works)."""
        with self._lock:
            self._sessions.clear()

    def check(self, headers: dict[str, str]) -> None:
        value = headers.get("authorization", "")
        sid = value[7:] if value.lower().startswith("bearer ") else value
        sid = sid or headers.get("x-sfdc-session", "")
        with self._lock:
            expires = self._sessions.get(sid)
            if expires is not None and expires < self.clock():
                del self._sessions[sid]
                expires = None
        if expires is None:
            raise SfError(401, "INVALID_SESSION_ID", "Session expired or invalid")

    def token(self, body: bytes, headers: dict[str, str], instance_url: str) -> tuple[int, dict]:
        """Answer ``POST /services/oauth2/token``: (status, JSON body)."""
        with self._lock:
            self.token_requests += 1
        form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        grant = form.get("grant_type", "")
        if grant == "client_credentials":
            ok = self._client_ok(form, headers.get("authorization", ""))
            if not ok:
                return 400, {
                    "error": "invalid_client",
                    "error_description": "invalid client credentials",
                }
        elif grant == JWT_GRANT:
            problem = self._jwt_problem(form.get("assertion", ""))
            if problem:
                return 400, {"error": "invalid_grant", "error_description": problem}
        else:
            return 400, {
                "error": "unsupported_grant_type",
                "error_description": "grant type not supported",
            }
        return 200, {
            "access_token": self.issue(),
            "instance_url": instance_url,
            "id": f"https://login.salesforce.com/id/{self.identity[0]}/{self.identity[1]}",
            "token_type": "Bearer",
            "issued_at": str(int(time.time() * 1000)),
            "signature": base64.b64encode(secrets.token_bytes(32)).decode(),
            "scope": "api",
        }

    def _client_ok(self, form: dict[str, str], authorization: str) -> bool:
        key, secret = form.get("client_id", ""), form.get("client_secret", "")
        if authorization.lower().startswith("basic "):
            try:
                key, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
            except ValueError:
                return False
        return secrets.compare_digest(key, self.creds.consumer_key) and secrets.compare_digest(
            secret, self.creds.consumer_secret
        )

    def _jwt_problem(self, assertion: str) -> str:
        try:
            claims = jwt.decode(
                assertion,
                self.creds.public_key_pem,
                algorithms=["RS256"],
                audience=[*JWT_AUDIENCES, f"https://{self.creds.my_domain}.salesforce.com"],
                issuer=self.creds.consumer_key,
                options={"require": ["exp", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            return "expired authorization code"
        except jwt.InvalidIssuerError:
            return "client identifier invalid"
        except jwt.InvalidAudienceError:
            return "audience is invalid"
        except jwt.PyJWTError:
            return "invalid assertion"
        if claims.get("sub") != self.creds.username:
            return "user hasn't been authorized"  # not the 'approved' wording: that one warns
        return ""
