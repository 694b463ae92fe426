"""Wire-format helpers shared by all HubSpot handlers.

Why a module: the SDK encodes arrays as repeated keys while the spec says
comma-separated, booleans arrive Python-style (``False``), and timestamps
must be ISO-8601 UTC with milliseconds and ``Z`` -- every handler needs the
same tolerant parsing and strict formatting (notes sections 0 and 11.1-3).
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
import time
from functools import lru_cache
from typing import Any

from connectors.sandbox._server import Request, Response

_clock_lock = threading.Lock()
_last_ms = 0


def now_ms() -> int:
    """Wall clock in epoch ms, never going backwards within the process."""
    global _last_ms
    with _clock_lock:
        _last_ms = max(_last_ms, int(time.time() * 1000))
        return _last_ms


def iso(ms: int) -> str:
    """Epoch ms -> ``2026-01-01T00:00:00.000Z``."""
    d = dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)
    return d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


@lru_cache(maxsize=65536)
def to_ms(value: str) -> int | None:
    """Parse epoch-ms digits, ISO datetimes or ISO dates (midnight UTC)."""
    v = value.strip()
    if not v:
        return None
    if v.lstrip("-").isdigit():
        return int(v)
    try:
        d = dt.datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        return None
    if d.tzinfo is None:
        d = d.replace(tzinfo=dt.UTC)
    return int(d.timestamp() * 1000)


def query_list(request: Request, name: str) -> list[str]:
    """Array query param: repeated keys and/or comma-separated values."""
    out: list[str] = []
    for raw in request.query.get(name, []):
        out.extend(p.strip() for p in raw.split(",") if p.strip())
    return out


def query_str(request: Request, name: str, default: str | None = None) -> str | None:
    vals = request.query.get(name)
    return vals[-1] if vals else default


def query_bool(request: Request, name: str, default: bool = False) -> bool:
    v = query_str(request, name)
    if v is None or v == "":
        return default
    return v.strip().lower() in ("true", "1", "yes")


def query_int(request: Request, name: str, default: int) -> int:
    from connectors.sandbox.hubspot.errors import validation_error

    v = query_str(request, name)
    if v is None or v == "":
        return default
    try:
        return int(v)
    except ValueError:
        raise validation_error(f"Invalid integer for '{name}': {v}") from None


def encode_cursor(position: int) -> str:
    """Opaque ``after`` token for list endpoints (clients must not parse it)."""
    return base64.urlsafe_b64encode(str(position).encode()).decode().rstrip("=")


def decode_cursor(token: str | None) -> int:
    from connectors.sandbox.hubspot.errors import validation_error

    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode())
    except ValueError:
        raise validation_error(f"Invalid 'after' cursor: {token}") from None


def body_object(request: Request) -> dict:
    """The JSON body as an object, or a 400 like HubSpot's for malformed input."""
    from connectors.sandbox.hubspot.errors import validation_error

    try:
        data = request.json()
    except ValueError:
        raise validation_error("Invalid input JSON on line 1") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise validation_error("Invalid input JSON: expected an object")
    return data


def batch_envelope(
    results: list[Any], errors: list[dict[str, Any]], started: int | None = None
) -> Response:
    """``BatchResponse...``: 200 when clean, 207 with ``numErrors`` / ``errors`` otherwise."""
    t = iso(started or now_ms())
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": t,
        "completedAt": iso(now_ms()),
    }
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
        return Response(207, body)
    return Response(200, body)
