"""The commands that read the state file: ``status``, ``history``, ``explain``,
``snapshot`` (which also creates one CRM list) and ``audit``. Every read is a
``State`` method (:mod:`sync.state_queries`); these only check options and print."""

from __future__ import annotations

import fcntl
from contextlib import nullcontext
from dataclasses import asdict, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from connectors.errors import ConfigError, InputError
from connectors.naming import field_name
from sync.cli_common import app, handles_errors, parse_as_of, read_config
from sync.cli_options import AsOfOption, ConfigOption, DryRunOption, Output, output_options
from sync.lock import run_lock
from sync.output import print_json, print_table, stderr, stdout

if TYPE_CHECKING:
    from sync.config import Config

# Each command imports the state file, the explainer or the CRM connection when it
# runs: a crmseg process registers every command but runs one.


@app.command("status")
@handles_errors
@output_options("json")
def status_command(
    config_path: Path | None = ConfigOption,
    runs: int = typer.Option(10, "--runs", min=1, help="How many recent runs to show."),
    output: Output = Output(),
) -> None:
    """Recent runs, pull cursors, and how fresh the tags in the CRM are."""
    from sync.state import State

    config = read_config(config_path)
    running = lock_held(config.state.path)
    with State(config.state.path, read_only=True) as state:
        account = state.account()
        copied = state.copied
        recent = state.recent_runs(runs)
        pulls = state.pull_records()
        last = state.last_successful_sync()
        mirror = {t: state.mirror_count(t) for t in ("contact", "company", "deal")}
    age_hours = (
        round((datetime.now(UTC).replace(tzinfo=None) - last).total_seconds() / 3600, 1)
        if last
        else None
    )
    if not running:
        # A run marked running while nobody holds the lock was killed before it could
        # record its end; the next run records it as interrupted.
        recent = [replace(r, status="interrupted") if r.status == "running" else r for r in recent]
    payload: dict[str, Any] = {
        "state": str(config.state.path),
        "account": account,
        "sync_running": running,
        "last_successful_sync": last,
        "hours_since_last_successful_sync": age_hours,
        "mirror": mirror,
        "pulls": [
            {
                "object_type": p.object_type,
                "cursor": p.cursor,
                "last_pull": p.last_pull,
                "last_full_pull": p.last_full_pull,
            }
            for p in pulls
        ],
        "runs": [asdict(r) for r in recent],
    }
    if output.json:
        print_json(payload)
        return
    print_table(
        "Recent runs",
        ["run", "command", "status", "started (UTC)", "as of", "error"],
        [
            (
                r.id,
                r.command + (" (dry run)" if r.dry_run else ""),
                r.status,
                r.started_at,
                r.as_of,
                r.error,
            )
            for r in recent
        ],
    )
    print_table(
        "Mirror and cursors",
        ["object", "records", "changes seen up to", "last pull", "last full pull"],
        [
            (p.object_type, mirror.get(p.object_type, 0), p.cursor, p.last_pull, p.last_full_pull)
            for p in pulls
        ],
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
@output_options("json")
def history_command(
    config_path: Path | None = ConfigOption,
    family: str = typer.Option("lifecycle", "--family", help="Tag family to show."),
    runs: int = typer.Option(12, "--runs", min=1, help="How many recent runs to show."),
    output: Output = Output(),
) -> None:
    """Segment sizes over time: contacts per value of one tag family, per run."""
    from sync.config import LISTABLE_FAMILIES
    from sync.state import State

    config = read_config(config_path)
    families = (*LISTABLE_FAMILIES, "rfm_score", *config.segmentation.family_names)
    if family not in families:
        raise ConfigError(f"--family: {family!r} is not one of {', '.join(families)}")
    with State(config.state.path, read_only=True) as state:
        sizes = state.segment_sizes(family, runs)
    by_run: dict[int, dict[str, Any]] = {}
    values: list[str] = []
    for size in sizes:
        by_run.setdefault(
            size.run_id, {"run": size.run_id, "as_of": size.as_of.isoformat(), "sizes": {}}
        )
        by_run[size.run_id]["sizes"][size.value] = size.contacts
        if size.value not in values:
            values.append(size.value)
    if output.json:
        print_json({"family": family, "runs": list(by_run.values())})
        return
    print_table(
        f"Contacts per {family}",
        ["run", "as of", *values],
        [(r["run"], r["as_of"], *(r["sizes"].get(v, 0) for v in values)) for r in by_run.values()],
    )


@app.command("explain")
@handles_errors
@output_options("json")
def explain_command(
    contact: str = typer.Argument(..., help="Contact id or e-mail."),
    config_path: Path | None = ConfigOption,
    as_of: str | None = AsOfOption,
    output: Output = Output(),
) -> None:
    """Show one contact's inputs (purchases, window sums, scores) and why each tag has
    its value, from the mirror (no CRM call)."""
    from sync.explain import explain_contact
    from sync.state import State

    config = read_config(config_path)
    day = parse_as_of(as_of, config)
    with State(config.state.path, read_only=True) as state:
        result = explain_contact(state, contact, config.segmentation, day)
    held = result["crm_values"]
    if output.json:
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
            (k, v, held.get(field_name(k)))
            for k, v in result["tags"].items()
            if k not in ("rfm_r", "rfm_f", "rfm_m")
        ],
    )
    print_table("Why", ["tag", "reason"], list(result["reasons"].items()))


def snapshot_values(config: Config, family: str) -> tuple[str, ...] | None:
    """The values a snapshot of ``family`` may name (the options its field is provisioned
    with); ``None`` for a property family without a map, whose values are whatever the
    CRM property holds."""
    from sync.fields import families

    seg = config.segmentation
    if any(p.family == family and p.map is None for p in seg.properties):
        return None
    return next((f.options for f in families(seg) if f.column == family), ())


@app.command("snapshot")
@handles_errors
@output_options("json")
def snapshot_command(
    family: str = typer.Argument(..., help="Tag family, e.g. lifecycle."),
    value: str = typer.Argument(..., help="Tag value, e.g. at_risk."),
    config_path: Path | None = ConfigOption,
    name: str | None = typer.Option(None, "--name", help="List name (default: dated)."),
    dry_run: bool = DryRunOption,
    output: Output = Output(),
) -> None:
    """Freeze today's members of one segment into a static CRM list, for a campaign
    that must not change audience while it runs."""
    from sync.config import LISTABLE_FAMILIES
    from sync.connect import open_connector
    from sync.fields import list_name
    from sync.state import State, prepare_folder

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
        ids = state.holders("contact", field_name(family), value)
    list_id = None
    if connector is not None:
        list_id = connector.snapshot_list(list_title, "contact", ids)
    payload = {"name": list_title, "list_id": list_id, "contacts": len(ids), "dry_run": dry_run}
    if output.json:
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
@output_options("json")
def audit_command(
    config_path: Path | None = ConfigOption,
    run: int | None = typer.Option(None, "--run", min=1, help="Only this run."),
    contact: str | None = typer.Option(None, "--contact", help="Only this record id."),
    limit: int = typer.Option(200, "--limit", min=1, help="At most this many rows (newest first)."),
    output: Output = Output(),
) -> None:
    """What crmseg wrote when: old and new value, status and error of every field value
    written (or refused), newest first, from the state file (no CRM call)."""
    from sync.state import State

    if contact is not None and not contact.strip():
        raise ConfigError("--contact: an empty value names no record")
    config = read_config(config_path)
    with State(config.state.path, read_only=True) as state:
        if run is not None and not state.has_run(run):
            raise InputError(f"--run: the state file has no run {run}")
        rows = state.audit_entries(
            run_id=run, record_id=contact.strip() if contact is not None else None, limit=limit
        )
    entries = [
        {
            "run": r.run_id,
            "written_at": _when(r.written_at),
            "object_type": r.object_type,
            "record": r.record_id,
            "field": r.field,
            "old": r.old,
            "new": r.new,
            "status": r.status,
            "error": r.error,
        }
        for r in rows
    ]
    if output.json:
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
