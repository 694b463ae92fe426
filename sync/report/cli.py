"""``crmseg report``: write the HTML report (and print its figures with ``--json``)."""

from __future__ import annotations

import webbrowser
from pathlib import Path

import typer

from sync.cli_common import app, handles_errors, parse_as_of
from sync.cli_options import ConfigOption, Output, output_options
from sync.output import print_json, stderr


@app.command("report")
@handles_errors
@output_options("json")
def report_command(
    config_path: Path | None = ConfigOption,
    input_dir: Path | None = typer.Option(
        None,
        "--input",
        "-i",
        help="Report on a CSV export (contacts.csv, deals.csv) instead of the state file.",
    ),
    as_of: str | None = typer.Option(None, "--as-of", help="Report as of this date (YYYY-MM-DD)."),
    out: Path | None = typer.Option(
        None, "--out", "-o", help="Where to write the HTML file (default: [report] output)."
    ),
    open_it: bool = typer.Option(False, "--open", help="Open the report in the web browser."),
    output: Output = Output(),
) -> None:
    """One self-contained HTML page with the segments: overview, ABC and its migration,
    RFM grid, lifecycle flows, interests and data quality, history. Reads the state
    file of `crmseg sync` (no CRM call) or, with --input, a CSV export."""
    # Imported here, not by every crmseg process: the templates (jinja2), the state
    # file and the segmentation engine are this command's alone.
    from sync.config import load_config
    from sync.report.build import report_from_export, report_from_state
    from sync.report.render import render, write
    from sync.state import State

    config = load_config(config_path)
    day = parse_as_of(as_of, config)
    if input_dir is not None:
        figures = report_from_export(input_dir, config, day)
    else:
        with State(config.state.path, read_only=True) as state:
            figures = report_from_state(state, config, day)
    target = write(render(figures), out or config.report.output)
    if output.json:
        print_json({**figures, "report": str(target)})
    else:
        o = figures["overview"]
        stderr.print(
            f"Wrote the report for {o['contacts']} contacts ({o['customers']} customers) as of "
            f"{day} to {target}",
            markup=False,
            highlight=False,
        )
    if open_it:
        webbrowser.open(target.resolve().as_uri())
