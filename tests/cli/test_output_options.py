"""The shared output options: one declaration, the command's own order, one ``Output``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from sync.cli_common import handles_errors
from sync.cli_options import Output, output_options
from sync.logs import LogFormat

SYNC = Path(__file__).parents[2] / "sync"
COMMAND_FILES = [*sorted(SYNC.glob("cli*.py")), SYNC / "report" / "cli.py"]


def _probe() -> tuple[typer.Typer, list[Output]]:
    app = typer.Typer(add_completion=False)
    seen: list[Output] = []

    @app.command()
    @handles_errors
    @output_options("json", "quiet", "log_format")
    def probe(
        first: int = typer.Option(1, "--first"),
        output: Output = Output(),
        last: str = typer.Option("x", "--last"),
    ) -> None:
        seen.append(output)
        typer.echo(f"{first} {last}")

    return app, seen


def test_the_options_arrive_as_one_output():
    app, seen = _probe()
    result = CliRunner().invoke(app, ["--last", "y", "--json", "-q", "--log-format", "json"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "1 y"
    assert seen == [Output(json=True, quiet=True, log_format=LogFormat.json)]
    assert seen[0].log_json and seen[0].silent


def test_defaults_when_not_given():
    app, seen = _probe()
    assert CliRunner().invoke(app, []).exit_code == 0
    assert seen == [Output(json=False, quiet=False, log_format=LogFormat.text)]
    assert not seen[0].silent


def test_help_lists_them_where_output_stands():
    app, _ = _probe()
    text = CliRunner().invoke(app, ["--help"]).stdout
    order = [m for m in re.findall(r"--[a-z-]+", text) if m != "--help"]
    assert order == ["--first", "--json", "--quiet", "--log-format", "--last"]


def test_only_the_named_options_are_added():
    app = typer.Typer(add_completion=False)

    @app.command()
    @output_options("json")
    def probe(output: Output = Output()) -> None:
        typer.echo(str(output.json))

    runner = CliRunner()
    assert runner.invoke(app, ["--json"]).stdout.strip() == "True"
    assert runner.invoke(app, ["--quiet"]).exit_code == 2


def test_a_command_without_output_is_refused():
    with pytest.raises(TypeError, match="output"):

        @output_options("json")
        def probe(json_output: bool = False) -> None: ...


@pytest.mark.parametrize("path", COMMAND_FILES, ids=lambda p: p.name)
def test_commands_declare_no_output_option_of_their_own(path: Path):
    """``--json``, ``--quiet`` and ``--log-format`` come only from ``output_options``."""
    if path.name == "cli_options.py":
        return
    source = path.read_text(encoding="utf-8")
    for flag in ('"--json"', '"--quiet"', '"--log-format"'):
        assert f"Option({flag}" not in source and f", {flag}" not in source, (path.name, flag)


@pytest.mark.parametrize("path", COMMAND_FILES, ids=lambda p: p.name)
def test_no_sql_in_the_command_line(path: Path):
    """The commands call ``State`` and engine methods; the queries live beside the state."""
    source = path.read_text(encoding="utf-8")
    assert ".con." not in source and ".execute(" not in source, path.name
    assert not re.search(r"\b(SELECT|INSERT|UPDATE|DELETE)\b", source), path.name
