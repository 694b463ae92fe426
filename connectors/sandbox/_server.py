"""CRM-neutral scaffolding for local HTTPS stand-ins of CRM APIs.

Why this exists: end-to-end tests and benchmarks must talk to something that
behaves like the real service on the wire (TLS, keep-alive, status codes,
throttling, flaky networks) without touching the internet. Each CRM stand-in
(``sandbox.hubspot``, a Salesforce one, ...) only supplies a :class:`Router`
full of handlers; everything else lives here:

* :class:`SandboxServer` -- a real ``ThreadingHTTPServer`` on 127.0.0.1 wrapped
  in TLS with a certificate minted at start by ``trustme``; ``ca_path`` is the
  PEM file clients must trust. HTTP/1.1 keep-alive, one thread per connection.
  Use it as a context manager (``with SandboxServer(router) as srv:``).
* :class:`Router` -- method + path regex -> handler. Handlers receive a
  :class:`Request` (named groups of the regex in ``request.params``) and return
  a :class:`Response`. They may raise :class:`HttpError` for a quick error.
* :class:`RequestLog` -- every request with method, path, query, status and
  duration, plus helpers to count calls per endpoint.
* :class:`Faults` -- runtime-configurable misbehaviour: latency + jitter,
  bursts of error statuses (429 with or without ``Retry-After``, 5xx), dropped
  connections, responses slower than a client timeout, and ``hooks`` for
  CRM-specific faults (e.g. partial batch failures) that a stand-in consults.

Error bodies for injected faults are produced by ``SandboxServer.error_body``
so a stand-in can render them in its CRM's own envelope.
"""

from __future__ import annotations

import json
import random
import re
import socket
import ssl
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import trustme

__all__ = [
    "Faults",
    "HttpError",
    "LogEntry",
    "Request",
    "RequestLog",
    "Response",
    "Route",
    "Router",
    "SandboxServer",
]


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


@dataclass(frozen=True)
class LogEntry:
    method: str
    path: str
    query: dict[str, list[str]]
    status: int  # 0 = connection dropped without a response
    duration: float  # seconds, including injected latency
    endpoint: str
    at: float  # time.time() at arrival


class RequestLog:
    """Thread-safe record of every request, so tests and benchmarks can count calls."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[LogEntry] = []

    def append(self, entry: LogEntry) -> None:
        with self._lock:
            self._entries.append(entry)

    @property
    def entries(self) -> list[LogEntry]:
        with self._lock:
            return list(self._entries)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def count(
        self, method: str | None = None, path: str | None = None, status: int | None = None
    ) -> int:
        """Count requests; ``path`` is a regex searched in the request path."""
        rx = re.compile(path) if path else None
        return sum(
            1
            for e in self.entries
            if (method is None or e.method == method.upper())
            and (rx is None or rx.search(e.path))
            and (status is None or e.status == status)
        )

    def by_endpoint(self) -> Counter[str]:
        """Calls per route name (``"unmatched"`` for 404s from the router)."""
        return Counter(e.endpoint for e in self.entries)

    def by_status(self) -> Counter[int]:
        return Counter(e.status for e in self.entries)


FaultHook = Callable[[Request], Response | None]


@dataclass
class _Burst:
    remaining: int
    status: int
    retry_after: float | None
    path: re.Pattern[str] | None


class Faults:
    """Runtime-switchable misbehaviour, consulted before each request is routed.

    All setters are thread-safe and may be called while the server runs.
    Queued faults (bursts, drops, slow responses) are consumed in order by the
    next matching requests; ``path`` (a regex) restricts them to some endpoints.
    """

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self.latency: float = 0.0
        self.jitter: float = 0.0
        self._bursts: list[_Burst] = []
        self._drops: list[tuple[int, re.Pattern[str] | None]] = []
        self._slow: list[tuple[int, float, re.Pattern[str] | None]] = []
        self.hooks: dict[str, FaultHook] = {}

    # -- configuration -------------------------------------------------
    def set_latency(self, seconds: float, jitter: float = 0.0) -> None:
        """Every response waits ``seconds`` + uniform(0, ``jitter``)."""
        with self._lock:
            self.latency, self.jitter = seconds, jitter

    def error_burst(
        self, n: int, status: int = 429, retry_after: float | None = None, path: str | None = None
    ) -> None:
        """The next ``n`` matching requests get ``status`` (optional ``Retry-After``)."""
        with self._lock:
            self._bursts.append(_Burst(n, status, retry_after, re.compile(path) if path else None))

    def drop_connections(self, n: int, path: str | None = None) -> None:
        """The next ``n`` matching requests see the socket closed without a response."""
        with self._lock:
            self._drops.append((n, re.compile(path) if path else None))

    def slow_responses(self, n: int, delay: float, path: str | None = None) -> None:
        """The next ``n`` matching responses are delayed by ``delay`` seconds
        (use more than the client's read timeout to provoke a timeout)."""
        with self._lock:
            self._slow.append((n, delay, re.compile(path) if path else None))

    def add_hook(self, name: str, hook: FaultHook) -> None:
        """Register a CRM-specific fault; stand-ins call :meth:`run_hooks`.

        A hook returns a :class:`Response` to short-circuit the request, or
        ``None`` to let it through. Hooks may keep their own counters.
        """
        with self._lock:
            self.hooks[name] = hook

    def remove_hook(self, name: str) -> None:
        with self._lock:
            self.hooks.pop(name, None)

    def reset(self) -> None:
        with self._lock:
            self.latency = self.jitter = 0.0
            self._bursts.clear()
            self._drops.clear()
            self._slow.clear()
            self.hooks.clear()

    # -- consumption (called by the server) ------------------------------
    @staticmethod
    def _take(queue: list[Any], path: str) -> Any | None:
        for i, item in enumerate(queue):
            rx = item.path if isinstance(item, _Burst) else item[-1]
            if rx is not None and not rx.search(path):
                continue
            if isinstance(item, _Burst):
                item.remaining -= 1
                if item.remaining <= 0:
                    queue.pop(i)
                return item
            n, *rest = item
            if n <= 1:
                queue.pop(i)
            else:
                queue[i] = (n - 1, *rest)
            return item
        return None

    def delay(self) -> float:
        with self._lock:
            return self.latency + (self._rng.uniform(0, self.jitter) if self.jitter else 0.0)

    def take_drop(self, path: str) -> bool:
        with self._lock:
            return self._take(self._drops, path) is not None

    def take_slow(self, path: str) -> float:
        with self._lock:
            item = self._take(self._slow, path)
            return float(item[1]) if item else 0.0

    def take_burst(self, path: str) -> _Burst | None:
        with self._lock:
            return self._take(self._bursts, path)

    def run_hooks(self, request: Request) -> Response | None:
        with self._lock:
            hooks = list(self.hooks.values())
        for hook in hooks:
            out = hook(request)
            if out is not None:
                return out
        return None


ErrorBody = Callable[[int, str], Response]


def _default_error_body(status: int, message: str) -> Response:
    return Response(status, {"error": message})


class SandboxServer:
    """A TLS server on 127.0.0.1 dispatching to a :class:`Router`.

    ``port=0`` picks a free port; read it from ``base_url`` after start.
    ``error_body(status, message)`` renders 404s and injected faults in the
    CRM's own error envelope. ``before(request)`` may return a response to
    short-circuit routing (auth, rate limits); ``after(request, response)``
    may decorate responses (e.g. rate-limit headers).
    """

    def __init__(
        self,
        router: Router,
        *,
        port: int = 0,
        error_body: ErrorBody = _default_error_body,
        before: Callable[[Request], Response | None] | None = None,
        after: Callable[[Request, Response], None] | None = None,
        fault_seed: int = 0,
    ) -> None:
        self.router = router
        self.port = port
        self.error_body = error_body
        self.before = before
        self.after = after
        self.log = RequestLog()
        self.faults = Faults(fault_seed)
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.ca_path: str = ""

    # -- lifecycle -------------------------------------------------------
    def start(self) -> SandboxServer:
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self._tmp = tempfile.TemporaryDirectory(prefix="crmseg-sandbox-")
        ca_file = Path(self._tmp.name) / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        self.ca_path = str(ca_file)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(ctx)

        httpd = _Httpd(("127.0.0.1", self.port), _make_handler(self))
        # Handshake lazily in the connection's own thread, not in accept().
        httpd.socket = ctx.wrap_socket(
            httpd.socket, server_side=True, do_handshake_on_connect=False
        )
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=f"sandbox-{self.port}",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    # -- dispatch --------------------------------------------------------
    def dispatch(self, request: Request) -> Response:
        """Route one request (after faults); used by the HTTP handler."""
        resolved = self.router.resolve(request.method, request.path)
        if resolved is not None:
            request.params, request.endpoint = resolved[1], resolved[0].name
        burst = self.faults.take_burst(request.path)
        if burst is not None:
            resp = self.error_body(burst.status, f"Injected fault: HTTP {burst.status}")
            if burst.retry_after is not None:
                resp.headers["Retry-After"] = f"{burst.retry_after:g}"
            return resp
        if resolved is None:
            request.endpoint = "unmatched"
            return self.error_body(404, f"No route for {request.method} {request.path}")
        route = resolved[0]
        try:
            if self.before is not None:
                early = self.before(request)
                if early is not None:
                    return early
            hooked = self.faults.run_hooks(request)
            if hooked is not None:
                return hooked
            response = route.handler(request)
        except HttpError as err:
            response = err.response
        if self.after is not None:
            self.after(request, response)
        return response


class _Httpd(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up (timeouts, dropped keep-alives) are normal here.
        pass


def _make_handler(server: SandboxServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 60  # idle keep-alive connections end eventually

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _serve(self) -> None:
            started = time.perf_counter()
            at = time.time()
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Request(
                method=self.command,
                path=split.path,
                query=parse_qs(split.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            wait = server.faults.delay()
            if server.faults.take_drop(request.path):
                if wait:
                    time.sleep(wait)
                server.log.append(
                    LogEntry(
                        request.method,
                        request.path,
                        request.query,
                        0,
                        time.perf_counter() - started,
                        "dropped",
                        at,
                    )
                )
                self.close_connection = True
                with _suppress_socket_errors():
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            wait += server.faults.take_slow(request.path)
            try:
                response = server.dispatch(request)
            except Exception as exc:  # a handler bug must surface as a 500, not a hang
                response = server.error_body(500, f"Sandbox handler error: {exc!r}")
            if wait:
                time.sleep(wait)
            payload = response.encoded()
            # Logged before the first byte leaves, so a client that has its answer
            # always finds its request in the log (tests count calls right after).
            server.log.append(
                LogEntry(
                    request.method,
                    request.path,
                    request.query,
                    response.status,
                    time.perf_counter() - started,
                    request.endpoint,
                    at,
                )
            )
            self.send_response(response.status)
            if payload or response.status not in (204, 304):
                self.send_header("Content-Type", response.content_type)
            for k, v in response.headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if payload and self.command != "HEAD":
                self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    return _Handler


class _suppress_socket_errors:
    def __enter__(self) -> None:
        return None

    def __exit__(self, et: type[BaseException] | None, *rest: object) -> bool:
        return et is not None and issubclass(et, OSError)


def iter_json_lines(entries: list[LogEntry]) -> Iterator[str]:
    """Render log entries as JSON lines (for ``--log`` style dumps)."""
    for e in entries:
        yield json.dumps(
            {
                "method": e.method,
                "path": e.path,
                "query": e.query,
                "status": e.status,
                "duration": round(e.duration, 6),
                "endpoint": e.endpoint,
            }
        )


class StandIn:
    """What every CRM stand-in shares: a ``SandboxServer`` it starts and stops, used as
    a context manager, and the CA, request log and faults of that server."""

    server: SandboxServer

    def start(self) -> Any:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def ca_path(self) -> str:
        return self.server.ca_path

    @property
    def log(self) -> RequestLog:
        return self.server.log

    @property
    def faults(self) -> Faults:
        return self.server.faults
