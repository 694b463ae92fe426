"""The README's install and scheduling sections: every deployment file is named there,
the scheduler table covers every exit code crmseg has, and the packages it warns about
are the ones the wheel really installs."""

from __future__ import annotations

import re
import signal
import zipfile
from pathlib import Path

import sync.cli_common as cli_common
from tests.deploy.conftest import DEPLOY, REPO

README = (REPO / "README.md").read_text(encoding="utf-8")


def _section(title: str) -> str:
    """The text under a heading, up to the next heading of the same or a higher level."""
    match = re.search(rf"^(#+) {re.escape(title)}\n", README, re.MULTILINE)
    assert match, f"README has no section {title!r}"
    level = len(match.group(1))
    rest = README[match.end() :]
    end = re.search(rf"^#{{1,{level}}} ", rest, re.MULTILINE)
    return rest[: end.start()] if end else rest


def test_every_deployment_file_is_named_in_the_readme():
    shipped = [p.relative_to(REPO).as_posix() for p in DEPLOY.rglob("*") if p.is_file()]
    shipped += ["Dockerfile", "LICENSE", "NOTICE"]
    missing = [name for name in shipped if name not in README]
    assert not missing, f"not named in the README: {missing}"


def test_scheduler_table_has_a_full_row_for_every_exit_code():
    codes = {value for name, value in vars(cli_common).items() if name.startswith("EXIT_")}
    codes.add(128 + signal.SIGTERM)  # the clean stop on SIGTERM
    rows = {}
    for line in _section("Exit codes for schedulers").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells and cells[0].isdigit():
            rows[int(cells[0])] = cells
    assert set(rows) == codes
    assert all(len(cells) == 5 and all(cells) for cells in rows.values())
    assert "SuccessExitStatus=143 6" in rows[6][3]
    assert "FailJob" in rows[3][4]


def test_install_section_warns_about_exactly_the_packages_the_wheel_installs(
    package_wheel: Path,
):
    install = _section("Install for production")
    assert "pipx install --global ." in install
    assert "python3 -m venv /opt/crmseg" in install
    with zipfile.ZipFile(package_wheel) as archive:
        top_level = next(n for n in archive.namelist() if n.endswith(".dist-info/top_level.txt"))
        packages = set(archive.read(top_level).decode().split())
    named = set(re.findall(r"`(\w+)`", install.split("top-level packages", 1)[1].split(".")[0]))
    assert named == packages
