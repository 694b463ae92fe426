"""The commands that talk to a CRM through the state file: ``sync``, ``resync``,
``plan``, ``status``, ``history``, ``explain`` and ``snapshot``."""

from __future__ import annotations

import fcntl
import logging
from contextlib import nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import typer

from connectors.base import Connector, ListSpec, ObjectType
from connectors.errors import ConfigError, InputError
from segmentation import segment
from sync.cli_common import EXIT_PARTIAL, app, handles_errors, parse_as_of, read_config
from sync.cli_signals import Interrupted
from sync.config import LISTABLE_FAMILIES, Config
from sync.connect import open_connector, source_id
from sync.engine import Engine, RunOptions, RunResult
from sync.explain import explain, find_contact
from sync.fields import families, field_specs, list_name
from sync.lock import run_lock
from sync.logs import LogFormat, configure, event
from sync.output import print_json, print_table, print_warnings, stderr, stdout
from sync.progress import reporter
from sync.state import CACHE_HINT, State, StateError, io_message, prepare_folder

log = logging.getLogger("crmseg.sync")

ConfigOption = typer.Option(None, "--config", "-c", help="TOML config file.")
AsOfOption = typer.Option(None, "--as-of", help="Compute as of this date (YYYY-MM-DD).")
JsonOption = typer.Option(False, "--json", help="Print a JSON summary on stdout.")
QuietOption = typer.Option(False, "--quiet", "-q", help="No progress bars or summary on stderr.")
DryRunOption = typer.Option(False, "--dry-run", help="Pull and plan, but write nothing to the CRM.")
MassOption = typer.Option(
    False, "--allow-mass-change", help="Let a run change more than [sync] mass_change_share."
)
LogFormatOption = typer.Option(LogFormat.text, "--log-format", help="Log lines as text or JSON.")
FutureOption = typer.Option(
    False, "--allow-future", help="Let --as-of be later than today (tags for a future day)."
)


def _start(log_format: LogFormat, config_path: Path | None, *, quiet: bool) -> tuple[Config, bool]:
    """Logging, then the config (its first line says which file); returns the config
    and whether people-facing text is off (``--quiet`` or JSON logs)."""
    configure(log_format)
    log_json = log_format is LogFormat.json
    config = read_config(config_path, quiet=quiet, log_json=log_json)
    return config, quiet or log_json


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
        exc.detail = _interrupted_detail(state)  # type: ignore[attr-defined]
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
        ListSpec(list_name(family, value), "contact", f"crmseg_{family}", value)
        for family, value in config.lists.entries()
    ]
    if specs:
        lines += connector.plan_lists(specs) or []
    return lines


def _interrupted_detail(state: State) -> str:
    """What the line after a signal says: the run, as recorded, and what it wrote."""
    row = state.con.execute("SELECT id, status FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    if row is None:
        return "nothing was written"
    written = state.con.execute(
        "SELECT count(DISTINCT (object_type, record_id)) FROM audit "
        "WHERE run_id = ? AND status = 'written'",
        [row[0]],
    ).fetchone()
    n = int(written[0]) if written else 0
    return (
        f"run {row[0]} recorded as {row[1]} after writing {n} records; the next "
        "`crmseg sync` goes on from there"
    )


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
def sync_command(
    config_path: Path | None = ConfigOption,
    as_of: str | None = AsOfOption,
    dry_run: bool = DryRunOption,
    allow_mass_change: bool = MassOption,
    full: bool = typer.Option(False, "--full", help="Pull everything, not only what changed."),
    json_output: bool = JsonOption,
    quiet: bool = QuietOption,
    log_format: LogFormat = LogFormatOption,
    allow_future: bool = FutureOption,
) -> None:
    """Pull what changed, recompute every contact's tags, write only what differs."""
    config, quiet = _start(log_format, config_path, quiet=quiet)
    options = RunOptions(
        "sync",
        parse_as_of(as_of, config, allow_future=allow_future),
        full=full,
        dry_run=dry_run,
        allow_mass_change=allow_mass_change,
    )
    result = execute("sync", config, options, quiet=quiet or json_output)
    show(result, json_output=json_output, quiet=quiet)
    _finish(result)


@app.command("resync")
@handles_errors
def resync_command(
    config_path: Path | None = ConfigOption,
    contact: str | None = typer.Option(None, "--contact", help="Only this contact id."),
    email: str | None = typer.Option(None, "--email", help="Only the contact with this e-mail."),
    as_of: str | None = AsOfOption,
    dry_run: bool = DryRunOption,
    allow_mass_change: bool = MassOption,
    json_output: bool = JsonOption,
    quiet: bool = QuietOption,
    log_format: LogFormat = LogFormatOption,
    allow_future: bool = FutureOption,
) -> None:
    """Pull everything again and reconcile every tag with the values the CRM holds
    (or, with --contact / --email, rewrite one contact's tags)."""
    if contact is not None and email is not None:
        raise ConfigError("give --contact or --email, not both")
    for flag, given in (("--contact", contact), ("--email", email)):
        if given is not None and not given.strip():
            raise ConfigError(f"{flag}: an empty value names no contact")
    config, quiet = _start(log_format, config_path, quiet=quiet)
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
    result = execute("resync", config, options, quiet=quiet or json_output)
    show(result, json_output=json_output, quiet=quiet, details=record_ids is not None)
    _finish(result)


def _resolve(config: Config, key: str) -> str:
    """The contact id for ``--contact``/``--email``, from the mirror."""
    with State(config.state.path, read_only=True) as state:
        try:
            return find_contact(state.con, key)
        except InputError as exc:
            raise InputError(f"{exc.reason}; run `crmseg sync` first if it is new") from None


@app.command("plan")
@handles_errors
def plan_command(
    config_path: Path | None = ConfigOption,
    as_of: str | None = AsOfOption,
    details: bool = typer.Option(False, "--details", help="Also list every record's changes."),
    offline: bool = typer.Option(
        False, "--offline", help="Plan from the mirror as it is, without pulling."
    ),
    json_output: bool = JsonOption,
    quiet: bool = QuietOption,
    log_format: LogFormat = LogFormatOption,
) -> None:
    """Show what a sync would change (counts per field and value), writing nothing."""
    config, quiet = _start(log_format, config_path, quiet=quiet)
    options = RunOptions("plan", parse_as_of(as_of, config), dry_run=True, pull=not offline)
    result = execute("plan", config, options, quiet=quiet or json_output)
    show(result, json_output=json_output, quiet=quiet, details=details)


@app.command("status")
@handles_errors
def status_command(
    config_path: Path | None = ConfigOption,
    runs: int = typer.Option(10, "--runs", min=1, help="How many recent runs to show."),
    json_output: bool = JsonOption,
) -> None:
    """Recent runs, pull cursors, and how fresh the tags in the CRM are."""
    config = read_config(config_path)
    running = lock_held(config.state.path)
    with State(config.state.path, read_only=True) as state:
        account = state.account()
        copied = state.copied
        recent = state.con.execute(
            "SELECT id, command, status, started_at, finished_at, as_of, dry_run, error "
            "FROM runs ORDER BY id DESC LIMIT ?",
            [runs],
        ).fetchall()
        pulls = state.con.execute(
            "SELECT object_type, cursor_modified_at, last_pull_at, last_full_at FROM pulls "
            "ORDER BY object_type"
        ).fetchall()
        last_ok = state.con.execute(
            "SELECT max(finished_at) FROM runs WHERE status IN ('ok', 'partial') AND NOT dry_run"
        ).fetchone()
        mirror = {t: state.mirror_count(t) for t in ("contact", "company", "deal")}
    last = last_ok[0] if last_ok else None
    age_hours = (
        round((datetime.now(UTC).replace(tzinfo=None) - last).total_seconds() / 3600, 1)
        if last
        else None
    )
    if not running:
        # A run marked running while nobody holds the lock was killed before it could
        # record its end; the next run records it as interrupted.
        recent = [(*r[:2], "interrupted" if r[2] == "running" else r[2], *r[3:]) for r in recent]
    payload: dict[str, Any] = {
        "state": str(config.state.path),
        "account": account,
        "sync_running": running,
        "last_successful_sync": last,
        "hours_since_last_successful_sync": age_hours,
        "mirror": mirror,
        "pulls": [
            {"object_type": p[0], "cursor": p[1], "last_pull": p[2], "last_full_pull": p[3]}
            for p in pulls
        ],
        "runs": [
            {
                "id": r[0],
                "command": r[1],
                "status": r[2],
                "started_at": r[3],
                "finished_at": r[4],
                "as_of": r[5],
                "dry_run": r[6],
                "error": r[7],
            }
            for r in recent
        ],
    }
    if json_output:
        print_json(payload)
        return
    print_table(
        "Recent runs",
        ["run", "command", "status", "started (UTC)", "as of", "error"],
        [(r[0], r[1] + (" (dry run)" if r[6] else ""), r[2], r[3], r[5], r[7]) for r in recent],
    )
    print_table(
        "Mirror and cursors",
        ["object", "records", "changes seen up to", "last pull", "last full pull"],
        [(p[0], mirror.get(p[0], 0), p[1], p[2], p[3]) for p in pulls],
    )
    stderr.print(
        f"State file {config.state.path} belongs to {account or 'no account yet'}"
        + ("; a sync is running (read from a copy)" if copied else ""),
        markup=False,
        highlight=False,
    )
    stderr.print(
        f"Last successful sync: {last or 'never'}"
        + (f" ({age_hours} hours ago)" if age_hours is not None else ""),
        markup=False,
        highlight=False,
    )


def lock_held(state_path: Path) -> bool:
    """Whether a crmseg run holds the state file's lock right now (see ``sync.lock``)."""
    path = state_path.with_name(state_path.name + ".lock")
    if not path.exists():
        return False
    with path.open("a+", encoding="utf-8") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
        return False


def _when(moment: datetime | None) -> str | None:
    return moment.isoformat(sep=" ", timespec="seconds") if moment else None


@app.command("history")
@handles_errors
def history_command(
    config_path: Path | None = ConfigOption,
    family: str = typer.Option("lifecycle", "--family", help="Tag family to show."),
    runs: int = typer.Option(12, "--runs", min=1, help="How many recent runs to show."),
    json_output: bool = JsonOption,
) -> None:
    """Segment sizes over time: contacts per value of one tag family, per run."""
    config = read_config(config_path)
    families = (*LISTABLE_FAMILIES, "rfm_score", *config.segmentation.family_names)
    if family not in families:
        raise ConfigError(f"--family: {family!r} is not one of {', '.join(families)}")
    with State(config.state.path, read_only=True) as state:
        rows = state.con.execute(
            """SELECT s.run_id, s.as_of, s.value, s.contacts FROM segment_sizes s
            WHERE s.family = ? AND s.run_id IN (
                SELECT DISTINCT run_id FROM segment_sizes ORDER BY run_id DESC LIMIT ?)
            ORDER BY s.run_id, s.value""",
            [family, runs],
        ).fetchall()
    by_run: dict[int, dict[str, Any]] = {}
    values: list[str] = []
    for run_id, day, value, n in rows:
        by_run.setdefault(run_id, {"run": run_id, "as_of": day.isoformat(), "sizes": {}})
        by_run[run_id]["sizes"][value] = n
        if value not in values:
            values.append(value)
    if json_output:
        print_json({"family": family, "runs": list(by_run.values())})
        return
    print_table(
        f"Contacts per {family}",
        ["run", "as of", *values],
        [(r["run"], r["as_of"], *(r["sizes"].get(v, 0) for v in values)) for r in by_run.values()],
    )


@app.command("explain")
@handles_errors
def explain_command(
    contact: str = typer.Argument(..., help="Contact id or e-mail."),
    config_path: Path | None = ConfigOption,
    as_of: str | None = AsOfOption,
    json_output: bool = JsonOption,
) -> None:
    """Show one contact's inputs (purchases, window sums, scores) and why each tag has
    its value, from the mirror (no CRM call)."""
    config = read_config(config_path)
    day = parse_as_of(as_of, config)
    with State(config.state.path, read_only=True) as state:
        contact_id = find_contact(state.con, contact)
        report = segment(state.con, config.segmentation, day)
        result = explain(state.con, contact_id, config.segmentation, report)
        held = dict(
            state.con.execute(
                "SELECT field, value FROM crm_values WHERE object_type = 'contact' "
                "AND record_id = ?",
                [contact_id],
            ).fetchall()
        )
    result["crm_values"] = held
    if json_output:
        print_json(result)
        return
    c = result["contact"]
    stdout.print(
        f"Contact {c['id']} <{c['email'] or 'no e-mail'}> as of {result['as_of']} "
        f"(level {result['level']})",
        markup=False,
        highlight=False,
    )
    if result["purchases"]:
        print_table(
            "Purchases credited",
            ["deal", "close date", "amount", "credited", "in window"],
            [
                (
                    p["deal"],
                    p["close_date"],
                    p["amount"],
                    p["credited"],
                    "yes" if p["in_window"] else "",
                )
                for p in result["purchases"]
            ],
        )
    if "metrics" in result:
        print_table("Figures", ["figure", "value"], list(result["metrics"].items()))
    print_table(
        "Tags",
        ["tag", "value", "in the CRM"],
        [
            (k, v, held.get(f"crmseg_{k}"))
            for k, v in result["tags"].items()
            if k not in ("rfm_r", "rfm_f", "rfm_m")
        ],
    )
    print_table("Why", ["tag", "reason"], list(result["reasons"].items()))


def snapshot_values(config: Config, family: str) -> tuple[str, ...] | None:
    """The values a snapshot of ``family`` may name (the options its field is provisioned
    with); ``None`` for a property family without a map, whose values are whatever the
    CRM property holds."""
    seg = config.segmentation
    if any(p.family == family and p.map is None for p in seg.properties):
        return None
    return next((f.options for f in families(seg) if f.column == family), ())


@app.command("snapshot")
@handles_errors
def snapshot_command(
    family: str = typer.Argument(..., help="Tag family, e.g. lifecycle."),
    value: str = typer.Argument(..., help="Tag value, e.g. at_risk."),
    config_path: Path | None = ConfigOption,
    name: str | None = typer.Option(None, "--name", help="List name (default: dated)."),
    dry_run: bool = DryRunOption,
    json_output: bool = JsonOption,
) -> None:
    """Freeze today's members of one segment into a static CRM list, for a campaign
    that must not change audience while it runs."""
    config = read_config(config_path)
    listable = (*LISTABLE_FAMILIES, *config.segmentation.family_names)
    if family not in listable:
        raise ConfigError(f"{family!r} is not one of {', '.join(listable)}")
    allowed = snapshot_values(config, family)
    if allowed is not None and value not in allowed:
        raise ConfigError(
            f"{family} has no value {value!r}; it takes "
            + (", ".join(allowed) if allowed else "no value (no interest rules configured)")
        )
    if not value.strip():
        raise ConfigError(f"{family}: an empty value")
    if name is not None and not name.strip():
        raise ConfigError("--name: an empty list name")
    connector = open_connector(config) if not dry_run else None
    account = connector.account_id() if connector is not None else None
    today = datetime.now(UTC).date().isoformat()
    list_title = name or f"{list_name(family, value)} · snapshot {today}"
    if not dry_run:
        prepare_folder(config.state.path)
    lock = run_lock(config.state.path, "snapshot") if not dry_run else nullcontext()
    with lock, State(config.state.path, read_only=dry_run) as state:
        if account is not None:
            state.check_account(account)
        ids = [
            str(r[0])
            for r in state.con.execute(
                "SELECT record_id FROM crm_values WHERE object_type = 'contact' AND field = ? "
                "AND list_contains(string_split(value, ';'), ?) ORDER BY record_id",
                [f"crmseg_{family}", value],
            ).fetchall()
        ]
    list_id = None
    if connector is not None:
        list_id = connector.snapshot_list(list_title, "contact", ids)
    payload = {"name": list_title, "list_id": list_id, "contacts": len(ids), "dry_run": dry_run}
    if json_output:
        print_json(payload)
        return
    verb = "Would create" if dry_run else "Created"
    stderr.print(
        f"{verb} static list {list_title!r} with {len(ids)} contacts"
        + (f" (id {list_id})" if list_id else ""),
        markup=False,
        highlight=False,
    )


@app.command("audit")
@handles_errors
def audit_command(
    config_path: Path | None = ConfigOption,
    run: int | None = typer.Option(None, "--run", min=1, help="Only this run."),
    contact: str | None = typer.Option(None, "--contact", help="Only this record id."),
    limit: int = typer.Option(200, "--limit", min=1, help="At most this many rows (newest first)."),
    json_output: bool = JsonOption,
) -> None:
    """What crmseg wrote when: old and new value, status and error of every field value
    written (or refused), newest first, from the state file (no CRM call)."""
    if contact is not None and not contact.strip():
        raise ConfigError("--contact: an empty value names no record")
    config = read_config(config_path)
    where: list[str] = []
    params: list[object] = []
    if run is not None:
        where.append("run_id = ?")
        params.append(run)
    if contact is not None:
        where.append("record_id = ?")
        params.append(contact.strip())
    sql = (
        "SELECT run_id, written_at, object_type, record_id, field, old_value, new_value, "
        "status, error FROM audit"
        + (f" WHERE {' AND '.join(where)}" if where else "")
        + " ORDER BY written_at DESC, run_id DESC, record_id, field LIMIT ?"
    )
    with State(config.state.path, read_only=True) as state:
        if (
            run is not None
            and not state.con.execute("SELECT 1 FROM runs WHERE id = ?", [run]).fetchone()
        ):
            raise InputError(f"--run: the state file has no run {run}")
        rows = state.con.execute(sql, [*params, limit]).fetchall()
    entries = [
        {
            "run": r[0],
            "written_at": _when(r[1]),
            "object_type": r[2],
            "record": r[3],
            "field": r[4],
            "old": r[5],
            "new": r[6],
            "status": r[7],
            "error": r[8],
        }
        for r in rows
    ]
    if json_output:
        print_json({"entries": entries, "count": len(entries)})
        return
    print_table(
        "Audit (newest first)",
        ["run", "written (UTC)", "record", "field", "old", "new", "status", "error"],
        [
            (
                e["run"],
                e["written_at"],
                f"{e['object_type']} {e['record']}",
                e["field"],
                e["old"],
                e["new"],
                e["status"],
                e["error"],
            )
            for e in entries
        ],
    )
