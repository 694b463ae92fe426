"""What a ``crmseg`` process imports before it runs a command: each command imports
what only it needs, so ``--help``, ``--version`` and ``status`` do not start by loading
the report's templates, the engine or the demo's sandboxes."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.operator.conftest import ROOT

#: Modules that belong to one command each (``report``, ``sync``/``plan``/``resync``,
#: ``segment``, ``demo``, ``--version``) or to reading a state file.
OTHER_COMMANDS_MODULES = (
    "jinja2",
    "sync.report.build",
    "sync.report.render",
    "sync.engine",
    "sync.runner",
    "sync.plan",
    "sync.state",
    "sync.explain",
    "sync.connect",
    "sync.config",
    "connectors.files",
    "connectors.csv_loader",
    "sync.demo",
    "connectors.sandbox.generator",
    "rich.progress",
    "sync.summary",
    "duckdb",
    "pydantic",
    "segmentation.config",
    "segmentation.engine",
)

LOADED = f"""
import json, sys
import sync.cli
print(json.dumps(sorted(m for m in {OTHER_COMMANDS_MODULES!r} if m in sys.modules)))
"""


def test_importing_the_command_line_loads_no_single_commands_modules() -> None:
    """A process of its own: this one has imported everything already."""
    done = subprocess.run(
        [sys.executable, "-c", LOADED],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout) == []
