"""The limiter's safety margin is sized to its window (2.5 %), not a fixed 0.25 s."""

from __future__ import annotations

import pytest

from connectors.hubspot import HubSpotSettings, Transport
from connectors.ratelimit import margin_for


def test_margin_is_a_share_of_the_window_capped_by_the_setting() -> None:
    assert margin_for(10.0, 0.25) == pytest.approx(0.25)
    assert margin_for(1.0, 0.25) == pytest.approx(0.025)
    assert margin_for(1.0, 0.0) == 0.0
    assert margin_for(100.0, 0.25) == 0.25


def test_search_window_gets_a_tenth_of_the_standard_margin() -> None:
    t = Transport("pat-test", HubSpotSettings())
    assert t.limiters["standard"].span == pytest.approx(10.25)
    assert t.limiters["search"].span == pytest.approx(1.025)  # was 1.25: 20 % of the budget
