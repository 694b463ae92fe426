"""The licence: the Apache License 2.0 word for word, and shipped inside the wheel."""

from __future__ import annotations

import hashlib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

from tests.deploy.conftest import REPO

#: SHA-256 of the licence text as the Apache Software Foundation publishes it
#: (LICENSE-2.0.txt, the same bytes as Debian's /usr/share/common-licenses/Apache-2.0).
APACHE_2_SHA256 = "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30"
DEBIAN_COPY = Path("/usr/share/common-licenses/Apache-2.0")


def test_license_is_the_unmodified_apache_2_text():
    text = (REPO / "LICENSE").read_bytes()
    assert hashlib.sha256(text).hexdigest() == APACHE_2_SHA256
    assert b"Version 2.0, January 2004" in text


def test_license_matches_the_copy_debian_ships_where_there_is_one():
    if not DEBIAN_COPY.exists():
        pytest.skip(f"NOT CHECKED: {DEBIAN_COPY} is not on this machine")
    assert (REPO / "LICENSE").read_bytes() == DEBIAN_COPY.read_bytes()


def test_notice_names_the_project_and_the_license():
    notice = (REPO / "NOTICE").read_text(encoding="utf-8")
    assert notice.startswith("crmseg\nCopyright ")
    assert "Apache License, Version 2.0" in notice


def test_wheel_carries_license_and_notice_and_declares_the_spdx_expression(package_wheel: Path):
    with zipfile.ZipFile(package_wheel) as archive:
        names = set(archive.namelist())
        dist_info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        assert archive.read(f"{dist_info}/licenses/LICENSE") == (REPO / "LICENSE").read_bytes()
        assert archive.read(f"{dist_info}/licenses/NOTICE") == (REPO / "NOTICE").read_bytes()
        metadata = Parser().parsestr(archive.read(f"{dist_info}/METADATA").decode())
    assert metadata["License-Expression"] == "Apache-2.0"
    assert sorted(metadata.get_all("License-File") or []) == ["LICENSE", "NOTICE"]
