"""The ``crmseg`` command line: parse, call the library, print.

Exit codes are listed in :mod:`sync.cli_common`, the shared options in
:mod:`sync.cli_options`; the commands that run the engine live in :mod:`sync.cli_sync`,
those that read the state file in :mod:`sync.cli_view`.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import sys
import time
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from connectors.errors import InputError
from sync import cli_sync, cli_view
from sync.cli_common import (
    EXIT_FAILURE,
    Level,
    app,
    fail,
    handles_errors,
    parse_as_of,
    quiet_broken_pipe,
    read_config,
)
from sync.cli_options import AsOfOption, ConfigOption, Output, output_options
from sync.output import print_json, print_table, print_warnings, stderr
from sync.report import cli as report_cli

if TYPE_CHECKING:
    import duckdb

    from segmentation import SegmentationConfig
    from sync.demo import DEMO_INTERESTS, SAMPLE_AS_OF

try:  # typer 0.2x ships its own copy of click
    from typer._click.exceptions import ClickException, UsageError
except ImportError:  # pragma: no cover - older typer, on click itself
    from click.exceptions import ClickException, UsageError  # type: ignore[no-redef]

__all__ = ["DEMO_INTERESTS", "SAMPLE_AS_OF", "app", "cli_sync", "cli_view", "main", "report_cli"]

#: Each command imports what only it needs (DuckDB and the segmentation engine, the CSV
#: loader, the sandbox and its generator, the report's templates) when it runs:
#: ``crmseg --help``, ``status`` or ``sync`` do not pay for the others' imports.
_FROM_DEMO = ("DEMO_INTERESTS", "SAMPLE_AS_OF")


def __getattr__(name: str) -> Any:
    if name in _FROM_DEMO:
        from sync import demo

        return getattr(demo, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def run_demo(*args: Any, **kwargs: Any) -> dict[str, Any]:
    """:func:`sync.demo.run_demo`, imported when the demo runs."""
    from sync.demo import run_demo as run

    return run(*args, **kwargs)


def run_segmentation(
    input_dir: Path, config: SegmentationConfig, as_of: date
) -> tuple[duckdb.DuckDBPyConnection, dict[str, Any]]:
    """Load a CSV export and segment it; returns the connection holding the results."""
    from connectors.files import CsvLoader
    from segmentation import InterestRule, segment
    from segmentation.inputs import connect
    from sync.summary import summarize

    if not input_dir.is_dir():
        raise InputError("not a directory", file=str(input_dir))
    con = connect()
    rules: list[InterestRule] = config.interests
    loaded = CsvLoader(con, input_dir).load(
        [r.property for r in rules if r.source == "contact"]
        + [p.property for p in config.properties if p.source == "contact"],
        [r.property for r in rules if r.source == "deal"],
        [p.property for p in config.properties if p.source == "company"],
        currency=config.currency,
        currency_rates=config.currency_rates,
    )
    report = segment(con, config, as_of)
    summary = summarize(con, report)
    summary["input"] = loaded
    return con, summary


def check_out(out: Path, input_dir: Path) -> None:
    """Refuse an ``--out`` that would overwrite an input, is a folder, or cannot be written,
    before anything is read (the write itself is atomic)."""
    target = out.expanduser().resolve()
    inputs = {(input_dir / n).resolve() for n in ("contacts.csv", "deals.csv", "companies.csv")}
    if target in inputs:
        raise InputError(
            "--out names one of the input files; write tags.csv elsewhere", file=str(out)
        )
    if target.is_dir():
        raise InputError("--out is a directory; give a file name such as tags.csv", file=str(out))
    folder = next((p for p in (target.parent, *target.parent.parents) if p.exists()), None)
    if folder is None or not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise InputError(
            f"--out cannot be written here (no writable folder {target.parent})", file=str(out)
        )
    if target.exists() and not os.access(target, os.W_OK):
        raise InputError("--out exists and is not writable", file=str(out))


@app.command("segment")
@handles_errors
@output_options("json", "quiet")
def segment_command(
    input_dir: Path = typer.Option(
        ..., "--input", "-i", help="Folder with contacts.csv, deals.csv and optional companies.csv."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write tags.csv."),
    as_of: str | None = AsOfOption,
    config_path: Path | None = ConfigOption,
    level: Level | None = typer.Option(None, "--level", help="Segment contacts or companies."),
    output: Output = Output(),
) -> None:
    """Segment a CSV export and write one row of tags per contact (written atomically)."""
    from connectors.files import write_tags

    config = read_config(config_path, quiet=output.quiet)
    check_out(out, input_dir)
    seg = config.segmentation
    if level is not None:
        seg = seg.model_copy(update={"level": level.value})
    day = parse_as_of(as_of, config)
    started = time.perf_counter()
    talk = not output.quiet
    with stderr.status("Segmenting…", spinner="dots") if talk else contextlib.nullcontext():
        con, summary = run_segmentation(input_dir, seg, day)
        written = write_tags(con, out)
    summary.update(
        out=str(out), rows_written=written, seconds=round(time.perf_counter() - started, 3)
    )
    if output.json:
        print_json(summary)
    elif talk:
        stderr.print(
            f"Wrote {written} contacts to {out} (as of {day}, level {seg.level}) in "
            f"{summary['seconds']} s; {summary['customers']} customers, "
            f"{summary['orphan_deals']} deals without a {seg.level}"
            + (f"; revenue in {seg.currency}." if seg.currency else "."),
            markup=False,
            highlight=False,
        )
        print_warnings(summary)


class DemoCrm(StrEnum):
    hubspot = "hubspot"
    salesforce = "salesforce"


@app.command("demo")
@handles_errors
@output_options("json")
def demo_command(
    crm: DemoCrm = typer.Option(DemoCrm.hubspot, "--crm", help="Which CRM sandbox to sync."),
    output: Output = Output(),
    report_out: Path = typer.Option(
        Path("crmseg-demo-report.html"), "--report-out", help="Where to write the demo's report."
    ),
) -> None:
    """Sync a local CRM sandbox (300 generated contacts) twice: tags written, then
    nothing left to write. Shows the segments and the API calls used, and writes the
    HTML report of the demo data."""
    from sync.progress import reporter

    with reporter(not output.json) as progress:
        demo = run_demo(progress, crm.value, report=report_out)
    if output.json:
        print_json(demo)
        return
    first, second, segments = demo["first_sync"], demo["second_sync"], demo["segments"]
    stderr.print(
        f"{crm.value.capitalize()} sandbox on 127.0.0.1: {segments['contacts']} contacts, "
        f"{segments['customers']} customers, segmented as of {segments['as_of']}; revenue in "
        f"{segments['currency']}.",
        markup=False,
        highlight=False,
    )
    print_table(
        "Contacts per ABC class",
        ["abc", "contacts", f"revenue ({segments['currency']})", "revenue share %"],
        [
            (r["abc"], r["contacts"], r["revenue"], r["revenue_share_percent"])
            for r in segments["abc"]
        ],
    )
    print_table(
        "Contacts per lifecycle stage",
        ["lifecycle", "contacts"],
        list(segments["lifecycle"].items()),
    )
    print_table(
        "Contacts per RFM segment",
        ["rfm_segment", "contacts"],
        list(segments["rfm_segment"].items()),
    )
    print_warnings(segments)
    endpoints = sorted(set(first["api_calls"]) | set(second["api_calls"]))
    print_table(
        "API calls",
        ["endpoint", "first sync", "second sync"],
        [(e, first["api_calls"].get(e, 0), second["api_calls"].get(e, 0)) for e in endpoints],
    )
    stderr.print(
        f"First sync wrote {first['written']} contacts in {first['seconds']} s; the second "
        f"found {second['plan']['records']} to change and wrote {second['written']}.",
        markup=False,
        highlight=False,
    )
    stderr.print(f"Report: {Path(demo['report']).resolve()}", markup=False, highlight=False)


def _talks_to_machines(argv: list[str]) -> tuple[bool, bool]:
    """Whether ``--json`` and ``--log-format json`` were asked for."""
    log_json = "--log-format=json" in argv or any(
        a == "--log-format" and b == "json" for a, b in itertools.pairwise(argv)
    )
    return "--json" in argv, log_json


def _run_for_machines(*, json_output: bool, log_json: bool) -> int:
    """As ``app()``, but a usage error (an unknown option, a value out of range) is
    reported the way the command was asked to talk, so a script reading ``--json``
    gets its failure object for those too."""
    try:
        rv = app(standalone_mode=False)
    except ClickException as exc:
        where = f"{exc.ctx.command_path}: " if isinstance(exc, UsageError) and exc.ctx else ""
        fail(
            exc.exit_code,
            "usage",
            [where + exc.format_message()],
            json_output=json_output,
            log_json=log_json,
        )
        return exc.exit_code
    except typer.Abort:
        fail(EXIT_FAILURE, "interrupted", ["aborted"], json_output=json_output, log_json=log_json)
        return EXIT_FAILURE
    return rv if isinstance(rv, int) else 0


def main() -> None:
    """Console entry point: unexpected failures exit 1, with a traceback only under --debug."""
    json_output, log_json = _talks_to_machines(sys.argv[1:])
    try:
        if json_output or log_json:
            sys.exit(_run_for_machines(json_output=json_output, log_json=log_json))
        app()
    except BrokenPipeError:
        sys.exit(quiet_broken_pipe().exit_code)
    except Exception as exc:  # typer.Exit never reaches here: standalone mode handles it
        if "--debug" in sys.argv[1:]:
            raise
        message = f"unexpected failure: {type(exc).__name__}: {exc}"
        stderr.print(
            f"Error: {message} (run with --debug for the traceback)",
            markup=False,
            highlight=False,
        )
        if "--json" in sys.argv[1:]:
            error = {"kind": "unexpected", "message": message}
            print(json.dumps({"status": "failed", "exit_code": EXIT_FAILURE, "error": error}))
        sys.exit(EXIT_FAILURE)


if __name__ == "__main__":
    main()
