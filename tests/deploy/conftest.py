"""Shared by the deployment checks: where the files are, and how a check that needs
a system tool says loudly that it could not run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
#: What the package is built from (the same set the Dockerfile copies).
PACKAGE_SOURCES = [
    "pyproject.toml",
    "README.md",
    "LICENSE",
    "NOTICE",
    "connectors",
    "segmentation",
    "sync",
]


def require_tool(name: str, why: str) -> str:
    """The tool's path; without it the test is skipped with a message naming what did
    not run, except in CI, where ``.ci/run`` installs the tool and its absence is a bug."""
    # The test extra's tools (hadolint) sit next to this interpreter, even when the
    # environment is not activated; system tools come from PATH.
    beside = Path(sys.executable).parent / name
    path = str(beside) if beside.is_file() else shutil.which(name)
    if path is None:
        message = f"NOT CHECKED: `{name}` is not installed, so {why} did not run"
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI installs it in .ci/run)")
        pytest.skip(message)
    return path


def build_wheel(source: Path, dist: Path) -> Path:
    """The crmseg wheel built from ``source`` with this environment's setuptools (the
    ``test`` extra brings a recent enough one), so no package index is needed."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--disable-pip-version-check",
            "--quiet",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(dist),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("crmseg-*.whl")
    return wheel


def package_source(dest: Path) -> Path:
    """A copy of what the package is built from, so a build leaves the work tree alone."""
    dest.mkdir(parents=True)
    for name in PACKAGE_SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(path, dest / name)
    return dest


@pytest.fixture(scope="session")
def package_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel of the package sources, built once for the tests that only read it."""
    tmp = tmp_path_factory.mktemp("wheel")
    return build_wheel(package_source(tmp / "src"), tmp / "dist")
