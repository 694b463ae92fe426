"""Shared test set-up: no real CRM credential ever reaches a test."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _no_real_crm_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("HUBSPOT_", "SALESFORCE_", "SF_")):
            monkeypatch.delenv(name, raising=False)
