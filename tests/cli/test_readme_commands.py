"""The README's Usage block names every command of the ``crmseg`` app and, on that
command's own line, every one of its options; short forms (``-c``) are named in the
README too. The app is introspected, so a new command or option without its line
in the README fails here."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
import typer.main
from typer.testing import CliRunner

try:  # typer 0.2x ships its own copy of click
    from typer._click.core import Command, Context
except ImportError:  # pragma: no cover - older typer, on click itself
    from click import Command, Context  # type: ignore[no-redef]

from sync.cli import app

README = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")


def _usage_lines() -> list[str]:
    match = re.search(r"^## Usage\n+```sh\n(.*?)^```", README, re.MULTILINE | re.DOTALL)
    assert match, "README has no ```sh block under ## Usage"
    return match.group(1).splitlines()


def _commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Command]]:
    """Every command below ``group``, by its path (``("sandbox", "serve")``)."""
    ctx = Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None
        if command.hidden:
            continue
        if hasattr(command, "list_commands"):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


def _names(command: Command) -> tuple[list[str], list[str]]:
    """The long and the short names of a command's options (``--help`` aside)."""
    long: list[str] = []
    short: list[str] = []
    for param in command.params:
        if param.param_type_name != "option" or getattr(param, "hidden", False):
            continue
        for opt in (*param.opts, *param.secondary_opts):
            (long if opt.startswith("--") else short).append(opt)
    return long, short


ROOT = typer.main.get_command(app)
COMMANDS = list(_commands(ROOT))


def test_the_app_has_the_commands_this_test_walks():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"sync", "status", "audit", "report", "sandbox serve"} <= names
    assert len(names) >= 12


@pytest.mark.parametrize("path,command", COMMANDS, ids=[" ".join(p) for p, _ in COMMANDS])
def test_every_command_and_option_is_on_its_usage_line(path, command):
    assert CliRunner().invoke(app, [*path, "--help"]).exit_code == 0, path
    prefix = "crmseg " + " ".join(path)
    lines = [ln for ln in _usage_lines() if ln == prefix or ln.startswith(prefix + " ")]
    assert lines, f"the README's Usage block has no line for `{prefix}`"
    words = set(re.findall(r"--?[A-Za-z][\w-]*", " ".join(lines)))
    long, short = _names(command)
    missing = [opt for opt in long if opt not in words]
    assert not missing, f"`{prefix}` options missing from its README usage line: {missing}"
    unnamed = [opt for opt in short if not re.search(rf"`{opt}`|\[{opt}\b", README)]
    assert not unnamed, f"`{prefix}` short options never named in the README: {unnamed}"


def test_the_root_options_are_in_the_readme():
    long, short = _names(ROOT)
    assert not short
    for opt in long:
        assert re.search(rf"crmseg {opt}\b|`{opt}`", README), opt


def test_a_missing_option_is_caught():
    """The check itself: an option the README lacks is reported (the test can fail)."""

    probe = typer.Typer(add_completion=False)

    @probe.command()
    def one(not_documented_anywhere: str = typer.Option("", "--not-documented-anywhere")) -> None:
        """A command the README does not know."""

    long, _ = _names(typer.main.get_command(probe))
    words = set(re.findall(r"--?[A-Za-z][\w-]*", " ".join(_usage_lines())))
    assert long == ["--not-documented-anywhere"] and long[0] not in words
