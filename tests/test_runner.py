"""The test runner's own settings (``tests/conftest.py``): the opt-in time budget of a
unit test and the ``thorough`` Hypothesis profile, each run in a throw-away suite."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

pytest_plugins = ("pytester",)

CONFTEST = (Path(__file__).parent / "conftest.py").read_text(encoding="utf-8")
#: Its slow tests sleep past the 0.1 s budget that the budget test sets, and no longer.
SUITE = """
import time

import pytest


def test_quick():
    pass


def test_slow():
    time.sleep(0.15)


@pytest.mark.e2e
def test_slow_end_to_end():
    time.sleep(0.15)
"""


@pytest.fixture
def suite(pytester: pytest.Pytester) -> Iterator[pytest.Pytester]:
    """A suite with this repository's conftest, from Hypothesis's default profile (this
    run's may be ``thorough``); the profile the suite loads is undone after."""
    profile = settings.get_current_profile_name()
    settings.load_profile("default")
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\nmarkers =\n    e2e: end to end\n")
    yield pytester
    settings.load_profile(profile)


def test_without_a_budget_slow_tests_pass(suite: pytest.Pytester, monkeypatch) -> None:
    monkeypatch.delenv("CRMSEG_TEST_BUDGET", raising=False)
    suite.makepyfile(SUITE)
    suite.runpytest().assert_outcomes(passed=3)


def test_a_budget_fails_the_slow_unit_test_only(suite: pytest.Pytester, monkeypatch) -> None:
    monkeypatch.setenv("CRMSEG_TEST_BUDGET", "0.1")
    suite.makepyfile(SUITE)
    result = suite.runpytest()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*test_slow took 0.* s, over the CRMSEG_TEST_BUDGET of 0.1 s*"])
    assert "test_slow_end_to_end took" not in result.stdout.str()


PROPERTY_SUITE = """
from hypothesis import given, settings, strategies as st

SEEN = []


@settings(max_examples=max(1, 7 * settings.default.max_examples // 100), database=None)
@given(st.integers())
def test_counted(n):
    SEEN.append(n)


def test_count():
    assert len(SEEN) == {expected}, len(SEEN)
"""


@pytest.mark.parametrize(("profile", "expected"), [("", 7), ("thorough", 70)])
def test_the_thorough_profile_runs_ten_times_the_examples(
    suite: pytest.Pytester, monkeypatch, profile: str, expected: int
) -> None:
    monkeypatch.setenv("HYPOTHESIS_PROFILE", profile)
    suite.makepyfile(PROPERTY_SUITE.format(expected=expected))
    suite.runpytest().assert_outcomes(passed=2)


RETAINED_SUITE = """
def test_passes(tmp_path):
    (tmp_path / "left").write_text("x")


def test_fails(tmp_path):
    (tmp_path / "left").write_text("x")
    assert False
"""


def test_only_a_failed_tests_tmp_path_outlives_it(
    pytestconfig: pytest.Config, pytester: pytest.Pytester
) -> None:
    """A passed test's ``tmp_path`` goes at its teardown, in the worker that ran it; so
    the next session's start has only failures' folders (worth a look) to clear away,
    not every file of an earlier suite in one process before any test runs."""
    policy = pytestconfig.getini("tmp_path_retention_policy")
    assert policy == "failed"
    pytester.makeini(f"[pytest]\ntmp_path_retention_policy = {policy}\n")
    pytester.makepyfile(RETAINED_SUITE)
    basetemp = pytester.path / "basetemp"
    pytester.runpytest(f"--basetemp={basetemp}").assert_outcomes(passed=1, failed=1)
    assert sorted(p.relative_to(basetemp).as_posix() for p in basetemp.rglob("left")) == [
        "test_fails0/left"
    ]
