"""CRM-neutral scaffolding for local HTTPS stand-ins of CRM APIs.

Why this exists: end-to-end tests and benchmarks must talk to something that
behaves like the real service on the wire (TLS, keep-alive, status codes,
throttling, flaky networks) without touching the internet. Each CRM stand-in
(``sandbox.hubspot``, a Salesforce one, ...) only supplies a :class:`Router`
full of handlers; everything else lives here:

* :class:`SandboxServer` -- a real ``ThreadingHTTPServer`` on 127.0.0.1 wrapped
  in TLS with a certificate minted by ``trustme`` (once per process: every server
  of the process presents the same one, see :func:`_tls`); ``ca_path`` is the
  PEM file clients must trust. HTTP/1.1 keep-alive, one thread per connection.
  Use it as a context manager (``with SandboxServer(router) as srv:``).
* :class:`StandIn` -- what every CRM stand-in shares around its server.

The pieces it is built from live in their own modules and are re-exported here:
:mod:`._http` (``Request``, ``Response``, ``HttpError``, ``Router``: what handlers
are written against), :mod:`._log` (``RequestLog``: every request with method,
path, query, status and duration) and :mod:`._faults` (``Faults``: latency,
error bursts, dropped connections, slow responses, CRM-specific hooks).

Error bodies for injected faults are produced by ``SandboxServer.error_body``
so a stand-in can render them in its CRM's own envelope.
"""

from __future__ import annotations

import functools
import socket
import ssl
import tempfile
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import trustme

from connectors.sandbox._faults import FaultHook, Faults
from connectors.sandbox._http import Handler, HttpError, Request, Response, Route, Router
from connectors.sandbox._log import LogEntry, RequestLog, iter_json_lines

__all__ = [
    "FaultHook",
    "Faults",
    "Handler",
    "HttpError",
    "LogEntry",
    "Request",
    "RequestLog",
    "Response",
    "Route",
    "Router",
    "SandboxServer",
    "StandIn",
    "iter_json_lines",
]


ErrorBody = Callable[[int, str], Response]


def _default_error_body(status: int, message: str) -> Response:
    return Response(status, {"error": message})


@functools.cache
def _tls() -> tuple[bytes, ssl.SSLContext]:
    """The CA's PEM and a server context holding a certificate it signed for
    127.0.0.1 and localhost, made once per process.

    Why once: minting the pair and loading it into a context took about 5 ms of CPU
    per server start, and tests start one or more servers each. Every server still
    writes the CA to a ``ca_path`` of its own; a client trusting one server's CA
    trusts the others of the same process, which are all loopback stand-ins.
    ``SSLContext`` is safe to share: each accepted connection gets its own
    ``SSLSocket`` and session."""
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(ctx)
    return ca.cert_pem.bytes(), ctx


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
        #: TCP connections accepted so far (each one a TLS handshake): tests pin
        #: that clients keep their connections alive and share them.
        self.connections = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self.ca_path: str = ""

    # -- lifecycle -------------------------------------------------------
    def start(self) -> SandboxServer:
        ca_pem, ctx = _tls()
        self._tmp = tempfile.TemporaryDirectory(prefix="crmseg-sandbox-")
        ca_file = Path(self._tmp.name) / "ca.pem"
        ca_file.write_bytes(ca_pem)
        self.ca_path = str(ca_file)

        httpd = _Httpd(("127.0.0.1", self.port), _make_handler(self))
        httpd.on_accept = self._accepted
        # Handshake lazily in the connection's own thread, not in accept().
        httpd.socket = ctx.wrap_socket(
            httpd.socket, server_side=True, do_handshake_on_connect=False
        )
        self._httpd = httpd
        self.port = httpd.server_address[1]
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            # stop() waits up to this long for the loop to notice; tests stop one per test
            kwargs={"poll_interval": 0.01},
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

    def _accepted(self) -> None:
        # only the server loop's thread accepts, so no lock is needed
        self.connections += 1

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
    on_accept: Callable[[], None] | None = None

    def process_request(self, request: Any, client_address: Any) -> None:
        if self.on_accept is not None:
            self.on_accept()
        super().process_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up (timeouts, dropped keep-alives) are normal here.
        pass


def _make_handler(server: SandboxServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = 60  # idle keep-alive connections end eventually
        # TCP_NODELAY, as a CRM's front end has: the status line and headers go out in
        # one write and the body in the next, and with Nagle on the body would wait for
        # the client's delayed ACK (about 40 ms on Linux) on every keep-alive request.
        disable_nagle_algorithm = True

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

    @property
    def connections(self) -> int:
        """TCP connections the server accepted so far (each one a TLS handshake)."""
        return self.server.connections
