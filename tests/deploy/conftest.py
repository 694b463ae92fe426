"""Shared by the deployment checks: where the files are, and how a check that needs
a system tool says loudly that it could not run."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from docker.utils.build import exclude_paths

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
#: What the package is built from (the same set the Dockerfile copies; the build
#: context holds exactly these).
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


def context_files(root: Path) -> set[str]:
    """What ``docker build`` sends from ``root``: the paths .dockerignore lets through,
    as the Docker SDK's own matcher computes them."""
    lines = (root / ".dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return set(exclude_paths(str(root), patterns, dockerfile="Dockerfile"))


def build_context(dest: Path) -> Path:
    """A copy of exactly the files of the image's build context."""
    for name in sorted(context_files(REPO)):
        source, target = REPO / name, dest / name
        if source.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, target)
    return dest


@pytest.fixture(scope="session")
def package_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel the image installs: built once from exactly its build context, which
    holds the package sources and nothing else
    (``test_build_context_holds_the_package_sources_and_nothing_secret``), so it is
    also the wheel ``pip install .`` builds. The tests that read or install it share it,
    across the worker processes of one run too: the first to need it builds it (seconds
    of CPU) while the others wait on a lock, then read the same file."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        tmp = tmp_path_factory.mktemp("wheel")
        return build_wheel(build_context(tmp / "context"), tmp / "dist")
    # every worker's base folder sits in this run's own one
    shared = tmp_path_factory.getbasetemp().parent / "package-wheel"
    shared.mkdir(exist_ok=True)
    with (shared / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        built = sorted((shared / "dist").glob("crmseg-*.whl"))
        if built:
            return built[0]
        return build_wheel(build_context(shared / "context"), shared / "dist")
