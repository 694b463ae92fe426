"""The wait between status polls of an export or import job."""

from __future__ import annotations

from connectors.hubspot import exports, imports
from connectors.hubspot.job_polls import poll_wait


def test_polls_back_off_to_two_seconds() -> None:
    """A job is found done half a wait after it finished, on average: the cap is what
    the last export and import of a first sync add to its wall time."""
    assert [poll_wait(n) for n in range(7)] == [0.5, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0]


def test_a_job_polled_thousands_of_times_never_overflows() -> None:
    # 0.5 * 2**1024 is past the largest float: the wait must stay capped, not raise
    assert poll_wait(1_024) == 2.0 and poll_wait(100_000) == 2.0


def test_exports_and_imports_wait_alike() -> None:
    assert exports.poll_wait is imports.poll_wait is poll_wait
