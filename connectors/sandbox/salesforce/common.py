"""Shared plumbing for the route modules: the stand-in's state and response helpers.

Route modules (``rest``, ``collections``, ``bulk2``, ``tooling``) each expose
``register(router, state)``; handlers raise ``SfError``/``RecordError`` and the
wrapper in ``app`` renders them, so no handler formats an error body itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .._server import Request, Response, Router
from .auth import Auth
from .errors import SfError
from .limits import Limits
from .store import Org, make_id
from .wire import dumps

API_PREFIX = r"/services/data/v(?P<version>\d+\.\d)"
JSON = "application/json;charset=UTF-8"


@dataclass
class State:
    org: Org
    auth: Auth
    limits: Limits
    instance_url: str = ""
    cursors: dict[str, Any] = field(default_factory=dict)
    bulk_jobs: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: An ordered REST query returning more rows than this answers QUERY_TIMEOUT (None: never).
    query_timeout_rows: int | None = None
    #: The org has no Bulk API: job creates answer API_DISABLED_FOR_ORG.
    bulk_disabled: bool = False
    _seq: int = 0

    def new_id(self, prefix: str) -> str:
        """Ids for server-side things that are not records (query locators, Bulk jobs)."""
        with self.lock:
            self._seq += 1
            return make_id(prefix, self._seq)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(status, dumps(body), dict(headers or {}), JSON)


def no_content() -> Response:
    return Response(204, None, {}, JSON)


def base_path(req: Request) -> str:
    return f"/services/data/v{req.params['version']}"


def body_json(req: Request) -> Any:
    """Parse the request body; a broken body is ``JSON_PARSER_ERROR`` as on the platform."""
    import json
    from decimal import Decimal

    if not req.body:
        return None
    try:
        return json.loads(req.body, parse_float=Decimal)
    except ValueError as exc:
        raise SfError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc}") from None


def body_object(req: Request) -> dict[str, Any]:
    """The request body as a JSON object; anything else (an empty body too) is
    ``JSON_PARSER_ERROR``, as the platform answers a record create or update."""
    payload = body_json(req)
    if not isinstance(payload, dict):
        raise SfError(400, "JSON_PARSER_ERROR", "Expected a JSON object")
    return payload


def q1(req: Request, name: str) -> str | None:
    values = req.query.get(name)
    return values[0] if values else None


Handler = Callable[[Request], Response]


def add(router: Router, method: str, pattern: str, handler: Handler, name: str) -> None:
    router.add(method, pattern, handler, name)
