"""One ``crmseg demo`` per test run, shared by the tests that only read what it printed
and the report it wrote.

A demo is two whole syncs against a fresh sandbox: seconds of CPU every time. The
first test to ask, in whichever worker process, runs it for real as a user does
(progress shown, tables printed) and keeps what it printed and what the demo computed
in the run's shared temporary folder; the others read that. Asking for other output
options (``--json``) runs the command again with those options, printing that same
result, so the two syncs run once. A test that runs the demo differently (another
process, a pipe) runs its own. The report goes to a temporary folder, never to the
working directory.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from typer.testing import CliRunner

import sync.cli
from sync.cli import app


@dataclass(frozen=True)
class DemoRun:
    exit_code: int
    stdout: str
    #: What the terminal shows: stdout and stderr.
    output: str
    report: Path


_RUNS: dict[tuple[str, ...], DemoRun] = {}


def _invoke(options: tuple[str, ...], report: Path) -> DemoRun:
    result = CliRunner().invoke(app, ["demo", *options, "--report-out", str(report)])
    return DemoRun(result.exit_code, result.stdout, result.output, report)


@contextlib.contextmanager
def _shared(factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The folder every worker process of this run sees, held by this process."""
    base = factory.getbasetemp()
    folder = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    with (folder / "demo.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield folder
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _real_run(factory: pytest.TempPathFactory) -> tuple[DemoRun, dict[str, Any] | None]:
    """``crmseg demo``, once per test run; its run and what ``run_demo`` returned (as
    ``--json`` prints it: values it cannot print as JSON are their text)."""
    with _shared(factory) as folder:
        kept = folder / "demo.json"
        if kept.exists():
            saved = json.loads(kept.read_text(encoding="utf-8"))
            run = DemoRun(**{**saved["run"], "report": Path(saved["run"]["report"])})
            return run, saved["computed"]
        real = sync.cli.run_demo
        computed: list[dict[str, Any]] = []

        def recorded(*args: Any, **kwargs: Any) -> dict[str, Any]:
            computed.append(real(*args, **kwargs))
            return computed[0]

        report = factory.mktemp("demo") / "demo.html"
        with mock.patch.object(sync.cli, "run_demo", recorded):
            run = _invoke((), report)
        printed = json.loads(json.dumps(computed[0], default=str)) if computed else None
        kept.write_text(
            json.dumps({"run": {**asdict(run), "report": str(report)}, "computed": printed}),
            encoding="utf-8",
        )
        return run, printed


def demo(tmp_path_factory: pytest.TempPathFactory, *options: str) -> DemoRun:
    """``crmseg demo OPTIONS --report-out <temporary file>``, the syncs run once per
    test run (``options`` are output options only)."""
    if options not in _RUNS:
        run, computed = _real_run(tmp_path_factory)
        _RUNS[()] = run
        if options and computed is None:  # the real run failed before it computed anything
            return run
        if options:
            with mock.patch.object(sync.cli, "run_demo", lambda *a, **k: computed):
                _RUNS[options] = _invoke(options, run.report)
    return _RUNS[options]
