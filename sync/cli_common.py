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
  the next run);
* 130 / 143 stopped by SIGINT (Ctrl-C) / SIGTERM: the run is recorded as
  ``interrupted`` with what it wrote; the next run goes on from there.

With ``--json`` a failure still prints one JSON object on stdout
(``{"status": "failed", "exit_code": N, "error": {"kind": ..., "message": ...}}``);
with ``--log-format json`` the error line on stderr is JSON too.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer

from connectors.errors import (
    AlreadyRunning,
    ConfigError,
    CrmError,
    CrmsegError,
    InputError,
    MassChange,
    StateError,
)
from connectors.sandbox.cli import sandbox_app
from sync.cli_signals import Interrupted, stop_on_signals
from sync.logs import LogFormat
from sync.output import print_json, stderr

if TYPE_CHECKING:
    from sync.config import Config

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_LOCKED = 3
EXIT_MASS_CHANGE = 4
EXIT_CRM = 5
EXIT_PARTIAL = 6
EXIT_SIGINT = 130
EXIT_SIGTERM = 143

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


#: Which of crmseg's own errors ends a command with which prefix, exit code and
#: ``kind`` (in ``--json``); the first matching class wins, so subclasses come first.
EXITS: tuple[tuple[type[CrmsegError], str, int, str], ...] = (
    (ConfigError, "Error", EXIT_USAGE, "config"),
    (InputError, "Error", EXIT_USAGE, "input"),
    (StateError, "Error", EXIT_USAGE, "state"),
    (AlreadyRunning, "Error", EXIT_LOCKED, "locked"),
    (MassChange, "Stopped", EXIT_MASS_CHANGE, "mass_change"),
    (CrmError, "Error", EXIT_CRM, "crm"),
    (CrmsegError, "Error", EXIT_FAILURE, "unexpected"),
)

log = logging.getLogger("crmseg.cli")


def fail(
    code: int,
    kind: str,
    lines: list[str],
    *,
    prefix: str = "Error",
    json_output: bool = False,
    log_json: bool = False,
) -> typer.Exit:
    """Report a failure the way the command was asked to talk; returns the Exit to raise."""
    for line in lines:
        if log_json:
            record = {
                "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "level": "error",
                "logger": "crmseg",
                "message": line,
                "exit_code": code,
                "kind": kind,
            }
            print(json.dumps(record), file=sys.stderr, flush=True)
        else:
            stderr.print(f"{prefix}: {line}", markup=False, highlight=False)
    if json_output:
        error: dict[str, Any] = {"kind": kind, "message": lines[0] if lines else ""}
        if len(lines) > 1:
            error["problems"] = lines
        print_json({"status": "failed", "exit_code": code, "error": error})
    return typer.Exit(code)


def quiet_broken_pipe() -> typer.Exit:
    """stdout's reader went away (``crmseg demo | head``): stop quietly, exit 0."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return typer.Exit(EXIT_OK)


def handles_errors(command: F) -> F:
    """Turn crmseg's own errors, signals and state-file trouble into a message and a
    documented exit code (see the module doc)."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        report = functools.partial(
            fail,
            json_output=bool(kwargs.get("json_output")),
            log_json=kwargs.get("log_format") == LogFormat.json,
        )
        try:
            with stop_on_signals():
                return command(*args, **kwargs)
        except BrokenPipeError:
            raise quiet_broken_pipe() from None
        except Interrupted as exc:
            detail = getattr(exc, "detail", "nothing was written")
            raise report(
                exc.exit_code,
                "interrupted",
                [f"interrupted by {exc.name}: {detail}"],
                prefix="Stopped",
            ) from None
        except CrmsegError as exc:
            prefix, code, kind = next((p, c, k) for cls, p, c, k in EXITS if isinstance(exc, cls))
            lines = exc.problems if isinstance(exc, ConfigError) else [str(exc)]
            raise report(code, kind, lines, prefix=prefix) from None
        except Exception as exc:
            # Only a process that imported DuckDB can meet its errors: the commands
            # that never open a database do not import it just to name this class.
            duckdb = sys.modules.get("duckdb")
            if duckdb is None or not isinstance(exc, duckdb.Error):
                raise
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise report(
                EXIT_USAGE,
                "state",
                [
                    f"the state file failed ({first}); it is only a cache: move it away "
                    "(or set another [state] path) and crmseg pulls everything again"
                ],
            ) from None

    return wrapper  # type: ignore[return-value]


DEFAULTS_LINE = (
    "Config: no --config given and no ./crmseg.toml here; running on the defaults "
    "(HubSpot at https://api.hubapi.com)"
)


def read_config(path: Path | None, *, quiet: bool = False, log_json: bool = False) -> Config:
    """``--config``, else ``./crmseg.toml``, else the defaults; the first line says which."""
    from sync.config import find_config, load_config

    found = find_config(path)
    if not quiet:
        line = f"Config: {found}" if found is not None else DEFAULTS_LINE
        if log_json:
            log.info(line, extra={"fields": {"config": str(found) if found else None}})
        else:
            stderr.print(line, markup=False, highlight=False)
    return load_config(found)


def _version(value: bool) -> None:
    if value:
        from importlib import metadata

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


def parse_as_of(value: str | None, config: Config, *, allow_future: bool = True) -> date:
    """``--as-of`` beats ``[segmentation] as_of`` beats today (UTC). Commands that write
    refuse a future day unless ``allow_future``."""
    if value is not None:
        try:
            if len(value) != 10:
                raise ValueError
            day = date.fromisoformat(value)
        except (ValueError, OverflowError):
            raise ConfigError(f"--as-of: {value!r} is not a date as YYYY-MM-DD") from None
    else:
        day = config.segmentation.as_of or datetime.now(UTC).date()
    if not 1900 <= day.year <= 9000:
        raise ConfigError(
            f"--as-of: {day.isoformat()} is outside the years 1900 to 9000 crmseg computes for"
        )
    today = datetime.now(UTC).date()
    if not allow_future and day > today:
        where = "--as-of" if value is not None else "[segmentation] as_of"
        raise ConfigError(
            f"{where}: {day.isoformat()} is later than today ({today.isoformat()}); tags "
            "computed for a future day would be written now. Pass --allow-future if that "
            "is really meant"
        )
    return day
