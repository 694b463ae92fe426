"""Shared by the deployment checks: where the files are, and how a check that needs
a system tool says loudly that it could not run."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def require_tool(name: str, why: str) -> str:
    """The tool's path; without it the test is skipped with a message naming what did
    not run, except in CI, where ``.ci/run`` installs the tool and its absence is a bug."""
    path = shutil.which(name)
    if path is None:
        message = f"NOT CHECKED: `{name}` is not installed, so {why} did not run"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI installs it in .ci/run)")
        pytest.skip(message)
    return path
