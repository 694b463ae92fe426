"""One run of the engine against a CRM, as ``sync``, ``resync`` and ``plan`` start it:
connect, lock the state file, bind it to the account, check the config against the
CRM (``preflight``), run the engine. The commands only parse and print."""

from __future__ import annotations

import logging

import duckdb

from connectors.base import Connector, ListSpec, ObjectType
from connectors.errors import ConfigError
from connectors.naming import field_name
from connectors.scratch import remove_stale
from sync.cli_signals import Interrupted
from sync.config import Config
from sync.connect import open_connector, source_id
from sync.engine import Engine, RunOptions, RunResult
from sync.fields import field_specs, list_name
from sync.lock import run_lock
from sync.logs import event
from sync.output import stderr
from sync.progress import reporter
from sync.state import CACHE_HINT, State, StateError, io_message, prepare_folder

log = logging.getLogger("crmseg.sync")


def execute(
    command: str,
    config: Config,
    options: RunOptions,
    *,
    quiet: bool,
) -> RunResult:
    """Connect, lock, open the state, check it belongs to the account, run the engine.

    The account is asked before the state file is touched: a typo in the URL fails
    here (exit 5) and leaves the mirror as it is.
    """
    connector = open_connector(config)
    prepare_folder(config.state.path)
    if config.state.path.is_dir():
        raise StateError(f"{config.state.path}: is a directory, not a state file; {CACHE_HINT}")
    with run_lock(config.state.path, command):
        account = connector.account_id() if options.pull else None
        with State(config.state.path) as state:
            return _run(command, config, options, connector, state, account, quiet=quiet)


def _run(
    command: str,
    config: Config,
    options: RunOptions,
    connector: Connector,
    state: State,
    account: str | None,
    *,
    quiet: bool,
) -> RunResult:
    """Bind the state to the account, then run the engine (under the lock)."""
    if account is not None and state.bind_account(account, source_id(config)):
        message = (
            "The state file held the mirror of another CRM endpoint; it was emptied "
            "and everything is pulled again."
        )
        log.warning(message)
        if not quiet:
            stderr.print(message, markup=False)
    state.close_abandoned_runs()
    remove_stale()  # temp folders of runs killed outright
    provisioning = preflight(connector, config, show=options.dry_run) if options.pull else None
    event(
        log,
        "run started",
        command=command,
        as_of=options.as_of,
        dry_run=options.dry_run,
        account=account or state.account(),
    )
    try:
        with reporter(not quiet) as progress:
            result = Engine(connector, state, config, progress).run(options)
    except Interrupted as exc:
        exc.detail = interrupted_detail(state)  # type: ignore[attr-defined]
        event(log, "run interrupted", signal=exc.name)
        raise
    except duckdb.Error as exc:
        raise StateError(io_message(config.state.path, exc)) from None
    if provisioning is not None and options.dry_run:
        result.summary["provisioning"] = provisioning
    event(log, "run finished", **{k: v for k, v in result.summary.items() if k != "plan"})
    return result


def preflight(connector: Connector, config: Config, *, show: bool) -> list[str] | None:
    """Before anything is pulled or written: every property an interest rule names
    exists (exit 2 otherwise), and, for a plan (``show``), what provisioning would
    create or change; an incompatible existing field is exit 5 here, before a write."""
    rules = list(enumerate(config.segmentation.interests))
    missing: set[tuple[str, str]] = set()
    sources: tuple[ObjectType, ...] = ("contact", "deal")
    for object_type in sources:
        names = sorted({r.property for _, r in rules if r.source == object_type})
        if names:
            missing |= {(object_type, n) for n in connector.missing_properties(object_type, names)}
    problems = [
        f"segmentation.interests[{i}].{rule.source}_property: the CRM has no {rule.source} "
        f"property {rule.property!r} (rule for tag {rule.tag!r}); check its internal name"
        for i, rule in rules
        if (rule.source, rule.property) in missing
    ]
    if problems:
        raise ConfigError(problems[0], problems)
    if not show:
        return None
    lines: list[str] = []
    tagged: tuple[ObjectType, ...] = ("contact", "company")
    for object_type in tagged:
        if object_type == "company" and config.segmentation.level != "company":
            continue
        planned = connector.plan_fields(object_type, field_specs(config.segmentation, object_type))
        lines += planned or []
    specs = [
        ListSpec(list_name(family, value), "contact", field_name(family), value)
        for family, value in config.lists.entries()
    ]
    if specs:
        lines += connector.plan_lists(specs) or []
    return lines


def interrupted_detail(state: State) -> str:
    """What the line after a signal says: the run, as recorded, and what it wrote."""
    run = state.latest_run()
    if run is None:
        return "nothing was written"
    n = state.records_written(run.id)
    return (
        f"run {run.id} recorded as {run.status} after writing {n} records; the next "
        "`crmseg sync` goes on from there"
    )
