"""Shared test set-up: no real CRM credential ever reaches a test."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

#: Folders whose tests run crmseg end to end: commands against a stand-in, subprocesses,
#: a browser, a built wheel. Each such test is marked ``e2e`` (they may take longer
#: than the 2 s a unit test gets); elsewhere a test is marked one by one.
E2E_FOLDERS = ("e2e_hubspot", "e2e_salesforce", "operator", "deploy", "report")
_HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.path))
        if path.is_relative_to(_HERE) and path.relative_to(_HERE).parts[0] in E2E_FOLDERS:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(autouse=True)
def _no_real_crm_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("HUBSPOT_", "SALESFORCE_", "SF_")):
            monkeypatch.delenv(name, raising=False)
