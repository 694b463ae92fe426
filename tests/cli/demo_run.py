"""One ``crmseg demo`` per test process and set of options, shared by the tests that
only read what it printed and the report it wrote.

A demo is two whole syncs against a fresh sandbox: seconds of CPU every time.
Tests that change nothing about the run get its one result; a test that runs the
demo differently (another process, a pipe) runs its own. The report goes to a
temporary folder, never to the working directory, so test processes running side
by side share no file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sync.cli import app


@dataclass(frozen=True)
class DemoRun:
    exit_code: int
    stdout: str
    #: What the terminal shows: stdout and stderr.
    output: str
    report: Path


_RUNS: dict[tuple[str, ...], DemoRun] = {}


def demo(tmp_path_factory: pytest.TempPathFactory, *options: str) -> DemoRun:
    """``crmseg demo OPTIONS --report-out <temporary file>``, run once per process."""
    if options not in _RUNS:
        report = tmp_path_factory.mktemp("demo") / "demo.html"
        result = CliRunner().invoke(app, ["demo", *options, "--report-out", str(report)])
        _RUNS[options] = DemoRun(result.exit_code, result.stdout, result.output, report)
    return _RUNS[options]
