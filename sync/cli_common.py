"""What every crmseg command shares: the typer app, exit codes, error handling,
``--as-of`` parsing.

Exit codes (the README documents them):

* 0 ok;
* 1 unexpected failure (tracebacks only with ``--debug``);
* 2 bad usage, config, input or state file (nothing written);
* 3 another run holds the state file (nothing done);
* 4 stopped by the mass-change guard (nothing written);
* 5 the CRM refused the run: credentials, permissions, API budget, or it kept
  failing after retries (what was written before is recorded);
* 6 the run finished but the CRM rejected some records (they are retried by
  the next run).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, date, datetime
from enum import StrEnum
from importlib import metadata
from typing import Any, TypeVar

import typer

from connectors.errors import ConfigError, CrmError, CrmsegError, InputError
from connectors.sandbox.cli import sandbox_app
from sync.config import Config
from sync.engine import MassChange
from sync.lock import AlreadyRunning
from sync.output import stderr
from sync.state import StateError

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3
EXIT_MASS_CHANGE = 4
EXIT_CRM = 5
EXIT_PARTIAL = 6

app = typer.Typer(
    name="crmseg",
    help="Segment CRM contacts (ABC, RFM, lifecycle, interests, data quality) and write the "
    "tags back.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(sandbox_app, name="sandbox")

F = TypeVar("F", bound=Callable[..., Any])


class Level(StrEnum):
    contact = "contact"
    company = "company"


#: Which of crmseg's own errors ends a command with which prefix and exit code
#: (the first matching class wins, so subclasses come before their bases).
EXITS: tuple[tuple[type[CrmsegError], str, int], ...] = (
    (InputError, "Error", EXIT_USAGE),
    (StateError, "Error", EXIT_USAGE),
    (AlreadyRunning, "Error", EXIT_LOCKED),
    (MassChange, "Stopped", EXIT_MASS_CHANGE),
    (CrmError, "Error", EXIT_CRM),
    (CrmsegError, "Error", EXIT_FAILURE),
)


def handles_errors(command: F) -> F:
    """Turn crmseg's own errors into ``Error: ...`` on stderr and a documented exit code."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except ConfigError as exc:
            for problem in exc.problems:
                stderr.print(f"Error: {problem}", markup=False, highlight=False)
            raise typer.Exit(EXIT_USAGE) from None
        except CrmsegError as exc:
            prefix, code = next((p, c) for cls, p, c in EXITS if isinstance(exc, cls))
            stderr.print(f"{prefix}: {exc}", markup=False, highlight=False)
            raise typer.Exit(code) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"crmseg {metadata.version('crmseg')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of unexpected failures."),
) -> None:
    """crmseg: segments for the CRM you already use."""


def parse_as_of(value: str | None, config: Config) -> date:
    """``--as-of`` beats ``[segmentation] as_of`` beats today (UTC)."""
    if value is not None:
        try:
            if len(value) != 10:
                raise ValueError
            return date.fromisoformat(value)
        except ValueError:
            raise ConfigError(f"--as-of: {value!r} is not a date as YYYY-MM-DD") from None
    return config.segmentation.as_of or datetime.now(UTC).date()
