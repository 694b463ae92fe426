"""Shared test set-up: no real CRM credential ever reaches a test; the Hypothesis
profiles; the opt-in time budget of a unit test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

#: Folders whose tests run crmseg end to end: commands against a stand-in, subprocesses,
#: a browser, a built wheel. Each such test is marked ``e2e`` (they may take longer
#: than the 2 s a unit test gets); elsewhere a test is marked one by one.
E2E_FOLDERS = ("e2e_hubspot", "e2e_salesforce", "operator", "deploy", "report")
_HERE = Path(__file__).parent

#: ``HYPOTHESIS_PROFILE=thorough`` (or ``--hypothesis-profile thorough``) runs every
#: property test with ten times its examples: Hypothesis's 100 become 1000, and a test
#: that asks for ``n`` per 100 (``tests/segmentation/test_invariants_hypothesis.py``)
#: gets ``10 * n``. The default command runs the default profile (or Hypothesis's
#: ``ci`` profile, derandomized, where a CI variable is set).
settings.register_profile("thorough", max_examples=1000, deadline=None)
if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])

#: Set to a number of seconds (``CRMSEG_TEST_BUDGET=2``) to fail every test whose call
#: takes longer and is not marked ``e2e``. Off by default: timings on a shared or loaded
#: machine are noise, and no normal run asserts on time.
BUDGET_VARIABLE = "CRMSEG_TEST_BUDGET"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.path))
        if path.is_relative_to(_HERE) and path.relative_to(_HERE).parts[0] in E2E_FOLDERS:
            item.add_marker(pytest.mark.e2e)


def over_budget(item: pytest.Item, report: pytest.TestReport, budget: float) -> str | None:
    """Why a passed unit test's call is over ``budget`` seconds, or None when it is not."""
    if report.when != "call" or not report.passed or report.duration <= budget:
        return None
    if item.get_closest_marker("e2e") is not None:
        return None
    return (
        f"{item.nodeid} took {report.duration:.2f} s, over the {BUDGET_VARIABLE} of "
        f"{budget:g} s: make it wait less (a fake clock, a smaller input), or mark it "
        "e2e if it runs crmseg end to end"
    )


_BUDGET = pytest.StashKey[float | None]()


def pytest_configure(config: pytest.Config) -> None:
    value = os.environ.get(BUDGET_VARIABLE, "").strip()
    try:
        config.stash[_BUDGET] = float(value) if value else None
    except ValueError:
        raise pytest.UsageError(f"{BUDGET_VARIABLE}={value!r} is not a number of seconds") from None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    budget = item.config.stash.get(_BUDGET, None)
    if budget is None:
        return
    report: pytest.TestReport = outcome.get_result()
    reason = over_budget(item, report, budget)
    if reason is not None:
        report.outcome = "failed"
        report.longrepr = reason


@pytest.fixture(autouse=True)
def _no_real_crm_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("HUBSPOT_", "SALESFORCE_", "SF_")):
            monkeypatch.delenv(name, raising=False)
