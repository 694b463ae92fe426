"""The commands that run the engine against a CRM: ``sync``, ``resync`` and ``plan``
(the run itself is :mod:`sync.runner`; the commands that read the state file are
:mod:`sync.cli_view`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from connectors.errors import ConfigError, InputError
from sync.cli_common import EXIT_PARTIAL, app, handles_errors, parse_as_of, read_config
from sync.cli_options import (
    AsOfOption,
    ConfigOption,
    DryRunOption,
    FutureOption,
    MassOption,
    Output,
    output_options,
)
from sync.logs import configure
from sync.output import print_json, print_table, print_warnings, stderr

if TYPE_CHECKING:
    from sync.config import Config
    from sync.engine import RunOptions, RunResult


def execute(command: str, config: Config, options: RunOptions, *, quiet: bool) -> RunResult:
    """:func:`sync.runner.execute`, imported when a command runs the engine: the
    engine, the planner and the state file are not what ``--help`` or the commands
    that only read need at start-up."""
    from sync.runner import execute as run

    return run(command, config, options, quiet=quiet)


def _start(output: Output, config_path: Path | None) -> tuple[Config, bool]:
    """Logging, then the config (its first line says which file); returns the config
    and whether people-facing text is off (``--quiet`` or JSON logs)."""
    configure(output.log_format)
    config = read_config(config_path, quiet=output.quiet, log_json=output.log_json)
    return config, output.silent


def show(result: RunResult, *, json_output: bool, quiet: bool, details: bool = False) -> None:
    summary = result.summary
    if details:
        summary = {
            **summary,
            "changes": [
                {
                    "object_type": c.object_type,
                    "record": c.record_id,
                    "field": c.field,
                    "old": c.old,
                    "new": c.new,
                }
                for c in result.plan.changes
            ],
        }
    if json_output:
        print_json(summary)
        return
    if quiet:
        return
    pulled = summary.get("pulled", {})
    if pulled:
        print_table(
            "Pulled",
            ["object", "mode", "records", "deleted"],
            [
                (t, "full" if p["full"] else "incremental", p["records"], p["deleted"])
                for t, p in pulled.items()
            ],
        )
    rows = [
        (field, value, n)
        for field, values in summary["plan"]["by_field"].items()
        for value, n in values.items()
    ]
    print_table(
        "Planned changes" if result.status == "planned" else "Changes",
        ["field", "new value", "records"],
        rows,
    )
    if details:
        print_table(
            "Per record",
            ["record", "field", "old", "new"],
            [
                (f"{c.object_type} {c.record_id}", c.field, c.old, c.new)
                for c in result.plan.changes
            ],
        )
    provisioning = summary.get("provisioning")
    if provisioning is not None:
        print_table(
            "Provisioning a sync would do first",
            ["change"],
            [(line,) for line in provisioning] or [("nothing: fields and lists are in place",)],
        )
    print_warnings(summary)
    calls = summary.get("api_calls", {})
    if calls:
        print_table("API calls", ["endpoint", "calls"], sorted(calls.items()))
    for failure in summary.get("failures", []):
        stderr.print(
            f"Failed: {failure['object_type']} {failure['record']} "
            f"{failure['field']}={failure['value']}: "
            f"{failure['error']}",
            markup=False,
            highlight=False,
        )
    written = summary.get("written")
    head = (
        f"Planned {result.plan.records} records ({len(result.plan.changes)} field values), "
        "nothing written"
        if result.status == "planned"
        else f"Wrote {written} records ({len(result.plan.changes)} field values planned), "
        f"{summary.get('failed', 0)} failed"
    )
    stderr.print(
        f"{head}; {summary.get('contacts')} contacts, {summary.get('customers')} customers, "
        f"as of {summary['as_of']}, in {summary['seconds']} s.",
        markup=False,
        highlight=False,
    )


def _finish(result: RunResult) -> None:
    if result.status == "partial":
        raise typer.Exit(EXIT_PARTIAL)


@app.command("sync")
@handles_errors
@output_options("json", "quiet", "log_format")
def sync_command(
    config_path: Path | None = ConfigOption,
    as_of: str | None = AsOfOption,
    dry_run: bool = DryRunOption,
    allow_mass_change: bool = MassOption,
    full: bool = typer.Option(False, "--full", help="Pull everything, not only what changed."),
    output: Output = Output(),
    allow_future: bool = FutureOption,
) -> None:
    """Pull what changed, recompute every contact's tags, write only what differs."""
    from sync.engine import RunOptions

    config, quiet = _start(output, config_path)
    options = RunOptions(
        "sync",
        parse_as_of(as_of, config, allow_future=allow_future),
        full=full,
        dry_run=dry_run,
        allow_mass_change=allow_mass_change,
    )
    result = execute("sync", config, options, quiet=quiet or output.json)
    show(result, json_output=output.json, quiet=quiet)
    _finish(result)


@app.command("resync")
@handles_errors
@output_options("json", "quiet", "log_format")
def resync_command(
    config_path: Path | None = ConfigOption,
    contact: str | None = typer.Option(None, "--contact", help="Only this contact id."),
    email: str | None = typer.Option(None, "--email", help="Only the contact with this e-mail."),
    as_of: str | None = AsOfOption,
    dry_run: bool = DryRunOption,
    allow_mass_change: bool = MassOption,
    output: Output = Output(),
    allow_future: bool = FutureOption,
) -> None:
    """Pull everything again and reconcile every tag with the values the CRM holds
    (or, with --contact / --email, rewrite one contact's tags)."""
    if contact is not None and email is not None:
        raise ConfigError("give --contact or --email, not both")
    for flag, given in (("--contact", contact), ("--email", email)):
        if given is not None and not given.strip():
            raise ConfigError(f"{flag}: an empty value names no contact")
    from sync.engine import RunOptions

    config, quiet = _start(output, config_path)
    day = parse_as_of(as_of, config, allow_future=allow_future)
    record_ids: tuple[str, ...] | None = None
    if contact or email:
        key = (contact or email or "").strip()
        record_ids = (_resolve(config, key),)
    options = RunOptions(
        "resync",
        day,
        full=record_ids is None,
        dry_run=dry_run,
        allow_mass_change=allow_mass_change,
        record_ids=record_ids,
    )
    result = execute("resync", config, options, quiet=quiet or output.json)
    show(result, json_output=output.json, quiet=quiet, details=record_ids is not None)
    _finish(result)


def _resolve(config: Config, key: str) -> str:
    """The contact id for ``--contact``/``--email``, from the mirror."""
    from sync.state import State

    with State(config.state.path, read_only=True) as state:
        try:
            return state.find_contact(key)
        except InputError as exc:
            raise InputError(f"{exc.reason}; run `crmseg sync` first if it is new") from None


@app.command("plan")
@handles_errors
@output_options("json", "quiet", "log_format")
def plan_command(
    config_path: Path | None = ConfigOption,
    as_of: str | None = AsOfOption,
    details: bool = typer.Option(False, "--details", help="Also list every record's changes."),
    offline: bool = typer.Option(
        False, "--offline", help="Plan from the mirror as it is, without pulling."
    ),
    output: Output = Output(),
) -> None:
    """Show what a sync would change (counts per field and value), writing nothing."""
    from sync.engine import RunOptions

    config, quiet = _start(output, config_path)
    options = RunOptions("plan", parse_as_of(as_of, config), dry_run=True, pull=not offline)
    result = execute("plan", config, options, quiet=quiet or output.json)
    show(result, json_output=output.json, quiet=quiet, details=details)
