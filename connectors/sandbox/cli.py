"""``crmseg sandbox serve <crm>``: run a CRM stand-in until Ctrl-C.

Thin layer: parse options, build the sandbox through the registry, print
base URL / token / CA path (stdout is data), wait. Another CRM plugs in by
adding a factory to :data:`SANDBOXES` (``register_sandbox("salesforce", f)``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
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


SandboxFactory = Callable[[ServeOptions], RunningSandbox]


def _hubspot(opts: ServeOptions) -> RunningSandbox:
    from connectors.sandbox.hubspot import HubSpotSandbox, LimitConfig
    from connectors.sandbox.hubspot.app import DEFAULT_TOKEN

    hs = HubSpotSandbox(
        port=opts.port,
        seed=opts.seed,
        contacts=opts.contacts,
        token=opts.token or DEFAULT_TOKEN,
        limits=LimitConfig(enabled=opts.rate_limits),
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
    port: int = typer.Option(0, help="Port on 127.0.0.1 (0 = any free port)."),
    seed: int = typer.Option(0, help="Seed of the generated data."),
    contacts: int = typer.Option(1000, help="Number of generated contacts."),
    token: str | None = typer.Option(None, help="Bearer token to accept (default: built-in)."),
    rate_limits: bool = typer.Option(
        True, "--rate-limits/--no-rate-limits", help="Enforce the CRM's rate limits."
    ),
    latency: float = typer.Option(0.0, help="Added latency per response, seconds."),
    jitter: float = typer.Option(0.0, help="Random extra latency up to this many seconds."),
    error_burst: int = typer.Option(0, help="Answer the first N requests with --error-status."),
    error_status: int = typer.Option(429, help="Status for --error-burst (429, 500, 502, 503)."),
    retry_after: float | None = typer.Option(None, help="Retry-After seconds on burst errors."),
) -> None:
    """Serve a CRM stand-in over HTTPS until Ctrl-C."""
    factory = SANDBOXES.get(crm.lower())
    if factory is None:
        typer.echo(f"Error: unknown CRM '{crm}'; choose one of {sorted(SANDBOXES)}", err=True)
        raise typer.Exit(2)
    sb = factory(
        ServeOptions(
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
        )
    )
    sb.start()
    typer.echo(f"base_url={sb.base_url}")
    typer.echo(f"token={sb.token}")
    typer.echo(f"ca_path={sb.ca_path}")
    typer.echo("Serving; press Ctrl-C to stop.", err=True)
    try:
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        sb.stop()
