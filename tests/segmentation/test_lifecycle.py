"""docs/SEGMENTS.md "Lifecycle": the first matching rule wins."""

import pytest
from conftest import contact, days_before, deal


def _life(seg, purchase_days, lost_days=(), **config):
    deals = [deal(f"p{i}", 10, days_before(d), "1") for i, d in enumerate(purchase_days)]
    deals += [deal(f"l{i}", 10, days_before(d), "1", won=False) for i, d in enumerate(lost_days)]
    return seg([contact("1")], deals, **config)["1"]["lifecycle"]


def test_no_purchase_ever_is_prospect(seg):
    assert _life(seg, []) == "prospect"


def test_only_lost_deals_is_prospect(seg):
    assert _life(seg, [], lost_days=[5, 10]) == "prospect"


def test_recency_above_inactive_days_is_inactive(seg):
    assert _life(seg, [366]) == "inactive"


def test_recency_equal_to_inactive_days_is_at_risk_not_inactive(seg):
    assert _life(seg, [365]) == "at_risk"


def test_recency_above_active_days_is_at_risk(seg):
    assert _life(seg, [181]) == "at_risk"


def test_recency_equal_to_active_days_is_not_at_risk(seg):
    assert _life(seg, [180]) == "active"


def test_inactive_wins_over_reactivated(seg):
    # gap 400 > 365, but recency 400 > 365
    assert _life(seg, [400, 800]) == "inactive"


def test_at_risk_wins_over_reactivated(seg):
    # gap 400 > 365, but recency 200 > 180
    assert _life(seg, [200, 600]) == "at_risk"


def test_gap_above_inactive_days_is_reactivated(seg):
    assert _life(seg, [10, 400]) == "reactivated"


def test_gap_equal_to_inactive_days_is_not_reactivated(seg):
    # gap exactly 365; first purchase 375 days ago, 1 purchase in window -> repeat
    assert _life(seg, [10, 375]) == "repeat"


def test_reactivated_uses_gap_between_latest_and_the_one_before(seg):
    # latest gap 10 days; the 490-day gap to the first purchase does not count
    assert _life(seg, [10, 20, 500]) == "repeat"


def test_same_day_purchases_have_gap_zero(seg):
    # latest two purchases on the same day: gap 0 -> not reactivated
    assert _life(seg, [10, 10, 500]) == "repeat"


def test_reactivated_wins_over_new(seg):
    # inactive_days 30: gap 45 > 30; first purchase 50 days ago would be new
    assert _life(seg, [5, 50], active_days=20, inactive_days=30) == "reactivated"


def test_reactivated_wins_over_loyal(seg):
    assert _life(seg, [10, 400, 401, 402, 403]) == "reactivated"


def test_first_purchase_at_new_days_is_new(seg):
    assert _life(seg, [90]) == "new"


def test_first_purchase_beyond_new_days_is_not_new(seg):
    assert _life(seg, [91]) == "active"


def test_new_wins_over_loyal(seg):
    assert _life(seg, [1, 2, 3, 4]) == "new"


def test_new_wins_over_repeat(seg):
    assert _life(seg, [10, 80]) == "new"


def test_new_uses_first_purchase_ever(seg):
    # latest purchase 5 days ago, first 100 days ago: not new
    assert _life(seg, [5, 100]) == "repeat"


def test_frequency_reaching_loyal_purchases_is_loyal(seg):
    assert _life(seg, [100, 110, 120]) == "loyal"


def test_loyal_counts_only_window_purchases(seg):
    # 3 purchases ever but only 2 in the window
    assert _life(seg, [50, 100, 370]) == "repeat"


def test_loyal_purchases_is_configurable(seg):
    assert _life(seg, [100, 110], loyal_purchases=2) == "loyal"


def test_two_purchases_ever_is_repeat(seg):
    assert _life(seg, [100, 150]) == "repeat"


def test_two_same_day_purchases_are_repeat(seg):
    assert _life(seg, [100, 100]) == "repeat"


def test_one_purchase_between_new_and_active_days_is_active(seg):
    assert _life(seg, [100]) == "active"


def test_lost_deals_do_not_count_as_purchases_for_lifecycle(seg):
    assert _life(seg, [100], lost_days=[5, 200]) == "active"


@pytest.mark.parametrize("days", [0, 1])
def test_purchase_today_or_yesterday_is_new(seg, days):
    assert _life(seg, [days]) == "new"


def test_split_deal_counts_one_purchase_for_each_contact(seg):
    deals = [deal(f"d{i}", 30, days_before(100 + i), ["1", "2"]) for i in range(3)]
    tags = seg([contact("1"), contact("2")], deals)
    assert tags["1"]["lifecycle"] == tags["2"]["lifecycle"] == "loyal"
