"""The container recipe: linted by hadolint, its build context computed by the Docker
SDK's own .dockerignore matcher, and built and run where a container engine answers."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from sync.config import Config, load_config
from tests.deploy.conftest import DEPLOY, PACKAGE_SOURCES, REPO, context_files, require_tool
from tests.deploy.test_kubernetes import pod_spec

DOCKERFILE = REPO / "Dockerfile"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        word, _, rest = line.partition(" ")
        result.append((word.upper(), rest.strip()))
    return result


def _final_stage() -> list[tuple[str, str]]:
    steps = instructions(DOCKERFILE.read_text(encoding="utf-8"))
    last_from = max(i for i, (word, _) in enumerate(steps) if word == "FROM")
    return steps[last_from:]


def _hadolint(path: Path) -> subprocess.CompletedProcess[str]:
    hadolint = require_tool("hadolint", "the Dockerfile lint")
    return subprocess.run(
        [hadolint, "--no-color", "--failure-threshold", "style", "--format", "json", str(path)],
        capture_output=True,
        text=True,
    )


def test_dockerfile_passes_hadolint_without_a_single_finding():
    result = _hadolint(DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == []


def test_hadolint_flags_a_careless_dockerfile_so_the_check_above_can_fail(tmp_path: Path):
    careless = tmp_path / "Dockerfile"
    careless.write_text("FROM python:latest\nRUN pip install crmseg\nCMD crmseg\n")
    result = _hadolint(careless)
    assert result.returncode != 0
    assert {"DL3007", "DL3013", "DL3025"} <= {f["code"] for f in json.loads(result.stdout)}


def test_build_context_holds_the_package_sources_and_nothing_secret(tmp_path: Path):
    root = tmp_path / "tree"
    shutil.copytree(
        REPO,
        root,
        ignore=shutil.ignore_patterns(".git", ".venv", ".ci-venv", "__pycache__", "*.egg-info"),
    )
    # What a work tree on an admin's machine may hold besides the sources.
    planted = [
        ".env",
        "state.duckdb",
        "sync/state.duckdb.wal",
        "connectors/.env.local",
        ".venv/bin/python",
        ".git/config",
        "sync/__pycache__/cli.cpython-311.pyc",
    ]
    for name in planted:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("HUBSPOT_ACCESS_TOKEN=pat-eu1-secret\n")
    context = context_files(root)
    assert not context & set(planted)
    top_level = {name.split("/")[0] for name in context}
    # The package sources, and the two files docker always sends.
    assert top_level == {".dockerignore", "Dockerfile", *PACKAGE_SOURCES}
    assert "sync/cli.py" in context and "sync/sample" in context
    assert not any(name.startswith(("tests", "benchmarks", "deploy")) for name in context)


def test_everything_the_dockerfile_copies_is_in_the_build_context():
    context = context_files(REPO)
    for word, arguments in instructions(DOCKERFILE.read_text(encoding="utf-8")):
        if word != "COPY" or arguments.startswith("--from"):
            continue
        *sources, _destination = shlex.split(arguments)
        for source in sources:
            assert source.rstrip("/") in context, f"COPY {source}: excluded by .dockerignore"


def test_image_runs_crmseg_as_the_non_root_user_the_cronjob_names():
    final = _final_stage()
    users = [arguments for word, arguments in final if word == "USER"]
    uid, gid = (int(part) for part in users[-1].split(":"))
    assert uid != 0 and gid != 0
    context = pod_spec()["securityContext"]
    assert (context["runAsUser"], context["runAsGroup"]) == (uid, gid)
    useradd = next(
        arguments for word, arguments in final if word == "RUN" and "useradd" in arguments
    )
    assert f"--uid {uid}" in useradd and f"--gid {gid}" in useradd
    entrypoints = [arguments for word, arguments in final if word == "ENTRYPOINT"]
    # The exec form: crmseg is PID 1 and receives SIGTERM itself, no shell in between.
    assert json.loads(entrypoints[-1]) == ["crmseg"]


def test_state_lands_on_the_volume_with_or_without_a_state_path(monkeypatch: pytest.MonkeyPatch):
    final = _final_stage()
    volumes = {v for word, a in final if word == "VOLUME" for v in json.loads(a)}
    env = dict(pair.split("=", 1) for word, a in final if word == "ENV" for pair in shlex.split(a))
    monkeypatch.setenv("XDG_DATA_HOME", env["XDG_DATA_HOME"])
    default_state = Config().state.path
    configured_state = load_config(DEPLOY / "crmseg.toml").state.path
    assert str(default_state.parent) in volumes
    assert str(configured_state.parent) in volumes


def test_no_secret_is_baked_into_the_image():
    for word, arguments in instructions(DOCKERFILE.read_text(encoding="utf-8")):
        if word in {"ENV", "ARG", "LABEL"}:
            upper = arguments.upper()
            assert not any(s in upper for s in ("TOKEN", "SECRET", "PRIVATE_KEY", "PASSWORD"))
        if word in {"COPY", "ADD"}:
            assert ".env" not in arguments and "crmseg.toml" not in arguments


def test_package_from_the_build_context_installs_and_runs_like_the_image(
    tmp_path: Path, package_wheel: Path
):
    """Without a container engine, the image's own install step from the same build
    context: only the files .dockerignore lets through, built (``package_wheel``),
    installed, and run."""
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    site = tmp_path / "site"
    subprocess.run(
        [*pip, "install", "--no-deps", "--target", str(site), str(package_wheel)],
        check=True,
        capture_output=True,
    )
    # The dependencies come from this environment; crmseg itself from the wheel.
    env = {**os.environ, "PYTHONPATH": str(site), "XDG_DATA_HOME": str(tmp_path / "data")}
    crmseg = [sys.executable, "-c", "from sync.cli import main; main()"]
    where = subprocess.run(
        [sys.executable, "-c", "import sync; print(sync.__file__)"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(site)
    version = subprocess.run(
        [*crmseg, "--version"], env=env, cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert version.stdout.strip() == "crmseg 0.1.0"
    demo = subprocess.run(
        [*crmseg, "demo", "--json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    result = json.loads(demo.stdout)
    assert result["first_sync"]["written"] == 300
    assert result["second_sync"]["written"] == 0


def _engine() -> str:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("NOT CHECKED: no docker client, so the image was not built or run")
    try:
        probe = subprocess.run([docker, "info"], capture_output=True, text=True, timeout=60)
    except subprocess.TimeoutExpired:
        probe = None
    if probe is None or probe.returncode != 0:
        pytest.skip(
            "NOT CHECKED: no container engine answers `docker info`, so the image was not "
            "built and `crmseg --version` / `crmseg demo` were not run in it"
        )
    return docker


@pytest.mark.slow
def test_image_builds_and_runs_version_and_demo():
    docker = _engine()
    tag = f"crmseg-test:{uuid.uuid4().hex[:12]}"
    subprocess.run([docker, "build", "--quiet", "-t", tag, str(REPO)], check=True, timeout=1800)
    try:
        run = [docker, "run", "--rm", "--network", "none", "--read-only", "--tmpfs", "/tmp", tag]
        version = subprocess.run([*run, "--version"], capture_output=True, text=True, check=True)
        assert version.stdout.strip() == "crmseg 0.1.0"
        demo = subprocess.run(
            [*run, "demo", "--json"], capture_output=True, text=True, timeout=600, check=True
        )
        result = json.loads(demo.stdout)
        assert result["first_sync"]["written"] == 300
        assert result["second_sync"]["written"] == 0
        whoami = subprocess.run(
            [docker, "run", "--rm", "--entrypoint", "id", tag, "-u"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert whoami.stdout.strip() == str(pod_spec()["securityContext"]["runAsUser"])
    finally:
        subprocess.run([docker, "image", "rm", "-f", tag], capture_output=True, env=os.environ)
