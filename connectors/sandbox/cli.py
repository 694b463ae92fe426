"""``crmseg sandbox serve <crm>``: run a CRM stand-in until Ctrl-C or SIGTERM.

Thin layer: parse options, build the sandbox through the registry, print what
crmseg needs to connect to it -- a ready ``crmseg.toml`` and the environment
lines to export (stdout is data) -- and wait. Another CRM plugs in by adding a
factory to :data:`SANDBOXES` (``register_sandbox("salesforce", f)``).
"""

from __future__ import annotations

import contextlib
import errno
import shlex
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import typer


class RunningSandbox(Protocol):
    @property
    def base_url(self) -> str: ...
    @property
    def ca_path(self) -> str: ...
    @property
    def token(self) -> str: ...

    def start(self) -> Any: ...
    def stop(self) -> None: ...


def connection(crm: str, sb: RunningSandbox) -> tuple[str, dict[str, str]]:
    """The ``crmseg.toml`` text and the environment that connect crmseg to ``sb``."""
    state = f'[state]\npath = "crmseg-sandbox-{crm}.duckdb"\n'
    if crm == "salesforce":
        key = getattr(sb, "consumer_key", "")
        toml = (
            f'[crm]\ntype = "salesforce"\ninstance_url = "{sb.base_url}"\n'
            f'client_id = "{key}"\nca_bundle = "{sb.ca_path}"\n\n{state}'
        )
        return toml, {"SALESFORCE_CLIENT_SECRET": getattr(sb, "consumer_secret", "")}
    toml = f'[crm]\nbase_url = "{sb.base_url}"\nca_bundle = "{sb.ca_path}"\n\n{state}'
    return toml, {"HUBSPOT_ACCESS_TOKEN": sb.token}


@dataclass
class ServeOptions:
    port: int
    seed: int
    contacts: int
    token: str | None
    rate_limits: bool
    latency: float
    jitter: float
    error_burst: int
    error_status: int
    retry_after: float | None
    portal_id: int = 12345678


SandboxFactory = Callable[[ServeOptions], RunningSandbox]


def _hubspot(opts: ServeOptions) -> RunningSandbox:
    from connectors.sandbox.hubspot import HubSpotStandIn, LimitConfig
    from connectors.sandbox.hubspot.app import DEFAULT_TOKEN

    hs = HubSpotStandIn(
        port=opts.port,
        seed=opts.seed,
        contacts=opts.contacts,
        token=opts.token or DEFAULT_TOKEN,
        limits=LimitConfig(enabled=opts.rate_limits),
        portal_id=opts.portal_id,
    )
    hs.faults.set_latency(opts.latency, opts.jitter)
    if opts.error_burst:
        hs.faults.error_burst(opts.error_burst, opts.error_status, opts.retry_after)
    return hs


class _SalesforceRunning:
    """Adapts the Salesforce stand-in to ``serve``: its token is a fresh session id."""

    def __init__(self, opts: ServeOptions) -> None:
        from connectors.sandbox.salesforce import SalesforceStandIn

        self._org = SalesforceStandIn(port=opts.port, seed=opts.seed, contacts=opts.contacts)
        self.faults = self._org.faults
        self.token = ""
        #: What crmseg logs in with (client credentials flow).
        self.consumer_key = self._org.credentials.consumer_key
        self.consumer_secret = self._org.credentials.consumer_secret

    @property
    def base_url(self) -> str:
        return self._org.instance_url

    @property
    def ca_path(self) -> str:
        return str(self._org.ca_path)

    def start(self) -> _SalesforceRunning:
        self._org.start()
        self.token = self._org.new_session_id()
        return self

    def stop(self) -> None:
        self._org.stop()


def _salesforce(opts: ServeOptions) -> RunningSandbox:
    sf = _SalesforceRunning(opts)
    sf.faults.set_latency(opts.latency, opts.jitter)
    if opts.error_burst:
        sf.faults.error_burst(opts.error_burst, opts.error_status, opts.retry_after)
    return sf


SANDBOXES: dict[str, SandboxFactory] = {"hubspot": _hubspot, "salesforce": _salesforce}


def register_sandbox(name: str, factory: SandboxFactory) -> None:
    """Plug another CRM stand-in into ``serve``."""
    SANDBOXES[name] = factory


sandbox_app = typer.Typer(
    help="Local stand-ins of CRM APIs for tests and benchmarks.", no_args_is_help=True
)


@sandbox_app.callback()
def _group() -> None:
    """Local stand-ins of CRM APIs (keeps ``serve`` a subcommand)."""


@sandbox_app.command()
def serve(
    crm: str = typer.Argument(..., help=f"CRM to emulate ({', '.join(sorted(SANDBOXES))})."),
    port: int = typer.Option(0, min=0, max=65535, help="Port on 127.0.0.1 (0 = any free port)."),
    seed: int = typer.Option(0, min=0, help="Seed of the generated data."),
    contacts: int = typer.Option(1000, min=0, help="Number of generated contacts."),
    token: str | None = typer.Option(None, help="Bearer token to accept (default: built-in)."),
    portal_id: int = typer.Option(
        12345678, "--portal-id", min=1, help="HubSpot: the portal id the sandbox answers."
    ),
    write_config: Path | None = typer.Option(
        None, "--write-config", help="Also write the printed crmseg.toml to this file."
    ),
    rate_limits: bool = typer.Option(
        True, "--rate-limits/--no-rate-limits", help="Enforce the CRM's rate limits."
    ),
    latency: float = typer.Option(0.0, min=0, help="Added latency per response, seconds."),
    jitter: float = typer.Option(0.0, min=0, help="Random extra latency up to this many seconds."),
    error_burst: int = typer.Option(
        0, min=0, help="Answer the first N requests with --error-status."
    ),
    error_status: int = typer.Option(429, help="Status for --error-burst (429, 500, 502, 503)."),
    retry_after: float | None = typer.Option(
        None, min=0, help="Retry-After seconds on burst errors."
    ),
) -> None:
    """Serve a CRM stand-in over HTTPS until Ctrl-C (SIGINT) or SIGTERM; prints a
    crmseg.toml and the environment lines that connect crmseg to it."""
    factory = SANDBOXES.get(crm.lower())
    if factory is None:
        typer.echo(f"Error: unknown CRM '{crm}'; choose one of {sorted(SANDBOXES)}", err=True)
        raise typer.Exit(2)
    if error_burst and error_status not in (429, 500, 502, 503):
        typer.echo(
            f"Error: --error-status {error_status} is not one of 429, 500, 502, 503", err=True
        )
        raise typer.Exit(2)
    opts = ServeOptions(
        port,
        seed,
        contacts,
        token,
        rate_limits,
        latency,
        jitter,
        error_burst,
        error_status,
        retry_after,
        portal_id,
    )
    # asked to stop while seeding or serving: _serve has stopped what it started
    with _stopped_by_signals(), contextlib.suppress(KeyboardInterrupt):
        _serve(crm.lower(), factory, opts, write_config)


def _serve(
    crm: str, factory: SandboxFactory, opts: ServeOptions, write_config: Path | None
) -> None:
    sb = factory(opts)
    try:
        sb.start()
    except OSError as exc:
        with contextlib.suppress(Exception):
            sb.stop()  # removes the CA file written before the bind failed
        if exc.errno == errno.EADDRINUSE:
            typer.echo(f"Error: --port {opts.port}: the port is in use on 127.0.0.1", err=True)
        else:
            typer.echo(f"Error: --port {opts.port}: cannot listen ({exc.strerror})", err=True)
        raise typer.Exit(2) from None
    try:
        toml, env = connection(crm, sb)
        if write_config is not None:
            write_config.write_text(toml, encoding="utf-8")
        typer.echo("# crmseg.toml: save these lines as crmseg.toml where you run crmseg")
        typer.echo(toml.rstrip("\n"))
        typer.echo("")
        typer.echo("# environment: run these lines in the shell you run crmseg from")
        for name, value in env.items():
            typer.echo(f"export {name}={shlex.quote(value)}")
        if write_config is not None:
            typer.echo(f"Wrote {write_config}.", err=True)
        typer.echo("Serving; press Ctrl-C to stop.", err=True)
        while True:
            time.sleep(0.5)
    finally:
        sb.stop()


#: What stops ``serve``: Ctrl-C and ``kill``'s default.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def _stopped_by_signals() -> Iterator[None]:
    """Ctrl-C (SIGINT) and SIGTERM raise ``KeyboardInterrupt`` in ``serve``, once.

    Python turns SIGINT into ``KeyboardInterrupt`` only where the parent left it at
    its default, and a shell without job control (a script's ``crmseg sandbox serve
    ... &``, a CI step) starts background commands with SIGINT ignored: ``kill -INT``
    would then never stop the sandbox. SIGTERM (``kill``, systemd, the end of a CI
    job) would kill it without removing its CA file. A second signal while stopping
    is ignored, so the stop is not cut short. Main thread only (elsewhere signals
    cannot be handled, and ``serve`` runs as is).
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stopping = False

    def handler(_signum: int, _frame: object) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            raise KeyboardInterrupt

    previous = {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)
