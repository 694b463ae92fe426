"""The ``crmseg`` command line: parse, call the library, print.

Exit codes: 0 ok, 2 bad usage / config / input (nothing written),
1 unexpected failure. Tracebacks only with ``--debug``.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from enum import StrEnum
from importlib import metadata, resources
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import typer

from connectors.errors import ConfigError, CrmsegError, InputError
from connectors.files import CsvLoader, write_tags
from connectors.sandbox.cli import sandbox_app
from segmentation import InterestRule, SegmentationConfig, segment
from segmentation.inputs import connect
from sync.config import Config, load_config
from sync.output import print_json, print_table, stderr
from sync.summary import summarize

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2

#: The date the shipped sample data was generated for; the demo segments as of it
#: so its figures are the same on every machine and every day.
SAMPLE_AS_OF = date(2026, 6, 30)

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
        except InputError as exc:
            stderr.print(f"Error: {exc}", markup=False, highlight=False)
            raise typer.Exit(EXIT_USAGE) from None
        except CrmsegError as exc:
            stderr.print(f"Error: {exc}", markup=False, highlight=False)
            raise typer.Exit(EXIT_FAILURE) from None

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


def run_segmentation(
    input_dir: Path, config: SegmentationConfig, as_of: date
) -> tuple[duckdb.DuckDBPyConnection, dict[str, Any]]:
    """Load a CSV export and segment it; returns the connection holding the results."""
    if not input_dir.is_dir():
        raise InputError("not a directory", file=str(input_dir))
    con = connect()
    rules: list[InterestRule] = config.interests
    loaded = CsvLoader(con, input_dir).load(
        [r.property for r in rules if r.source == "contact"],
        [r.property for r in rules if r.source == "deal"],
    )
    report = segment(con, config, as_of)
    summary = summarize(con, report)
    summary["input"] = loaded
    return con, summary


@app.command("segment")
@handles_errors
def segment_command(
    input_dir: Path = typer.Option(
        ..., "--input", "-i", help="Folder with contacts.csv, deals.csv and optional companies.csv."
    ),
    out: Path = typer.Option(..., "--out", "-o", help="Where to write tags.csv."),
    as_of: str | None = typer.Option(None, "--as-of", help="Compute as of this date (YYYY-MM-DD)."),
    config_path: Path | None = typer.Option(None, "--config", "-c", help="TOML config file."),
    level: Level | None = typer.Option(None, "--level", help="Segment contacts or companies."),
    json_output: bool = typer.Option(False, "--json", help="Print a JSON summary on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or summary on stderr."),
) -> None:
    """Segment a CSV export and write one row of tags per contact (written atomically)."""
    config = load_config(config_path)
    seg = config.segmentation
    if level is not None:
        seg = seg.model_copy(update={"level": level.value})
    day = parse_as_of(as_of, config)
    started = time.perf_counter()
    with stderr.status("Segmenting…", spinner="dots") if not quiet else contextlib.nullcontext():
        con, summary = run_segmentation(input_dir, seg, day)
        written = write_tags(con, out)
    summary.update(
        out=str(out), rows_written=written, seconds=round(time.perf_counter() - started, 3)
    )
    if json_output:
        print_json(summary)
    elif not quiet:
        stderr.print(
            f"Wrote {written} contacts to {out} (as of {day}, level {seg.level}) in "
            f"{summary['seconds']} s; {summary['customers']} customers, "
            f"{summary['orphan_deals']} deals without a {seg.level}.",
            markup=False,
            highlight=False,
        )


DEMO_INTERESTS = [
    InterestRule(tag="security", contact_property="topics", any_of=["security"]),
    InterestRule(tag="cloud", contact_property="topics", any_of=["cloud"]),
    InterestRule(tag="learning", contact_property="topics", any_of=["training"]),
    InterestRule(tag="learning", deal_property="product_line", any_of=["training"]),
    InterestRule(tag="enterprise", deal_property="product_line", any_of=["enterprise"]),
]


@app.command("demo")
@handles_errors
def demo_command(
    json_output: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Segment the built-in sample CRM export (300 contacts) and show the segments."""
    sample = resources.files("sync") / "sample"
    with resources.as_file(sample) as sample_dir:
        config = SegmentationConfig(interests=DEMO_INTERESTS)
        _, summary = run_segmentation(Path(sample_dir), config, SAMPLE_AS_OF)
    if json_output:
        print_json(summary)
        return
    stderr.print(
        f"Sample CRM export: {summary['contacts']} contacts, {summary['customers']} customers, "
        f"segmented as of {summary['as_of']}.",
        markup=False,
        highlight=False,
    )
    print_table(
        "Contacts per ABC class",
        ["abc", "contacts", "revenue", "revenue share %"],
        [
            (r["abc"], r["contacts"], r["revenue"], r["revenue_share_percent"])
            for r in summary["abc"]
        ],
    )
    print_table(
        "Contacts per lifecycle stage",
        ["lifecycle", "contacts"],
        list(summary["lifecycle"].items()),
    )
    print_table(
        "Contacts per RFM segment",
        ["rfm_segment", "contacts"],
        list(summary["rfm_segment"].items()),
    )


def main() -> None:
    """Console entry point: unexpected failures exit 1, with a traceback only under --debug."""
    try:
        app()
    except Exception as exc:  # typer.Exit never reaches here: standalone mode handles it
        if "--debug" in sys.argv[1:]:
            raise
        stderr.print(
            f"Error: unexpected failure: {type(exc).__name__}: {exc} (run with --debug for the "
            "traceback)",
            markup=False,
            highlight=False,
        )
        sys.exit(EXIT_FAILURE)


if __name__ == "__main__":
    main()
