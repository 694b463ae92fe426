"""The request/response shapes and the router every stand-in's handlers are written against.

Why apart from the server: a handler module needs these and nothing of the TLS
server, the request log or the faults around it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

__all__ = ["Handler", "HttpError", "Request", "Response", "Route", "Router"]


@dataclass
class Request:
    """One parsed HTTP request as a handler sees it."""

    method: str
    path: str  # raw (still URL-quoted) path without the query string
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # URL-decoded regex groups
    endpoint: str = ""  # name of the matched route, for logs and counters

    def json(self) -> Any:
        """Decode the body as JSON (``None`` when empty)."""
        if not self.body:
            return None
        return json.loads(self.body)

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)


@dataclass
class Response:
    """What a handler returns; ``body`` may be bytes, str or any JSON value."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "application/json;charset=utf-8"

    def encoded(self) -> bytes:
        if self.body is None:
            return b""
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body, separators=(",", ":"), default=str).encode()


class HttpError(Exception):
    """Raise from a handler to answer with ``response`` immediately."""

    def __init__(self, response: Response) -> None:
        super().__init__(f"HTTP {response.status}")
        self.response = response


Handler = Callable[[Request], Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    name: str


class Router:
    """Ordered list of routes; the first whose method and regex match wins.

    Patterns are anchored full matches against the raw path; named groups are
    URL-decoded into ``request.params`` (so ``a%40b.com`` arrives as ``a@b.com``).
    """

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, pattern: str, handler: Handler, name: str | None = None) -> None:
        self.routes.append(
            Route(
                method.upper(), re.compile(pattern), handler, name or f"{method.upper()} {pattern}"
            )
        )

    def route(
        self, method: str, pattern: str, name: str | None = None
    ) -> Callable[[Handler], Handler]:
        """Decorator form of :meth:`add`."""

        def deco(fn: Handler) -> Handler:
            self.add(method, pattern, fn, name)
            return fn

        return deco

    def resolve(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.routes:
            if route.method != method:
                continue
            m = route.pattern.fullmatch(path)
            if m:
                return route, {k: unquote(v) for k, v in m.groupdict().items() if v is not None}
        return None
