"""docs/SEGMENTS.md "Lifecycle": the first matching rule wins."""

import pytest
from conftest import contact, days_before, deal, run_segmentation


def _life(seg, purchase_days, lost_days=(), **config):
    deals = [deal(f"p{i}", 10, days_before(d), "1") for i, d in enumerate(purchase_days)]
    deals += [deal(f"l{i}", 10, days_before(d), "1", won=False) for i, d in enumerate(lost_days)]
    return seg([contact("1")], deals, **config)["1"]["lifecycle"]


#: One contact each, the default rules: (what it pins, days ago of each purchase, of
#: each lost deal, its stage).
CASES = [
    ("no_purchase_ever_is_prospect", [], [], "prospect"),
    ("only_lost_deals_is_prospect", [], [5, 10], "prospect"),
    ("recency_above_inactive_days_is_inactive", [366], [], "inactive"),
    ("recency_equal_to_inactive_days_is_at_risk_not_inactive", [365], [], "at_risk"),
    ("recency_above_active_days_is_at_risk", [181], [], "at_risk"),
    ("recency_equal_to_active_days_is_not_at_risk", [180], [], "active"),
    # gap 400 > 365, but recency 400 > 365
    ("inactive_wins_over_reactivated", [400, 800], [], "inactive"),
    # gap 400 > 365, but recency 200 > 180
    ("at_risk_wins_over_reactivated", [200, 600], [], "at_risk"),
    ("gap_above_inactive_days_is_reactivated", [10, 400], [], "reactivated"),
    # gap exactly 365; first purchase 375 days ago, 1 purchase in window -> repeat
    ("gap_equal_to_inactive_days_is_not_reactivated", [10, 375], [], "repeat"),
    # latest gap 10 days; the 490-day gap to the first purchase does not count
    ("reactivated_uses_gap_between_latest_and_the_one_before", [10, 20, 500], [], "repeat"),
    # latest two purchases on the same day: gap 0 -> not reactivated
    ("same_day_purchases_have_gap_zero", [10, 10, 500], [], "repeat"),
    ("reactivated_wins_over_loyal", [10, 400, 401, 402, 403], [], "reactivated"),
    ("first_purchase_at_new_days_is_new", [90], [], "new"),
    ("first_purchase_beyond_new_days_is_not_new", [91], [], "active"),
    ("new_wins_over_loyal", [1, 2, 3, 4], [], "new"),
    ("new_wins_over_repeat", [10, 80], [], "new"),
    # latest purchase 5 days ago, first 100 days ago: not new
    ("new_uses_first_purchase_ever", [5, 100], [], "repeat"),
    ("frequency_reaching_loyal_purchases_is_loyal", [100, 110, 120], [], "loyal"),
    # 3 purchases ever but only 2 in the window
    ("loyal_counts_only_window_purchases", [50, 100, 370], [], "repeat"),
    ("two_purchases_ever_is_repeat", [100, 150], [], "repeat"),
    ("two_same_day_purchases_are_repeat", [100, 100], [], "repeat"),
    ("one_purchase_between_new_and_active_days_is_active", [100], [], "active"),
    ("lost_deals_do_not_count_as_purchases_for_lifecycle", [100], [5, 200], "active"),
    ("purchase_today_is_new", [0], [], "new"),
    ("purchase_yesterday_is_new", [1], [], "new"),
]


@pytest.fixture(scope="module")
def stages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every case's contact in one run: a contact's lifecycle reads its own deals only."""
    contacts, deals = [], []
    for n, (name, purchase_days, lost_days, _) in enumerate(CASES):
        contacts.append(contact(name))
        deals += [deal(f"p{n}_{i}", 10, days_before(d), name) for i, d in enumerate(purchase_days)]
        deals += [
            deal(f"l{n}_{i}", 10, days_before(d), name, won=False) for i, d in enumerate(lost_days)
        ]
    tags = run_segmentation(tmp_path_factory.mktemp("lifecycle"), contacts, deals)
    return {name: tags[name]["lifecycle"] for name, *_ in CASES}


@pytest.mark.parametrize(
    ("name", "expected"), [(c[0], c[3]) for c in CASES], ids=[c[0] for c in CASES]
)
def test_default_rules(stages: dict[str, str], name: str, expected: str):
    assert stages[name] == expected


def test_reactivated_wins_over_new(seg):
    # inactive_days 30: gap 45 > 30; first purchase 50 days ago would be new
    assert _life(seg, [5, 50], active_days=20, inactive_days=30) == "reactivated"


def test_loyal_purchases_is_configurable(seg):
    assert _life(seg, [100, 110], loyal_purchases=2) == "loyal"


def test_split_deal_counts_one_purchase_for_each_contact(seg):
    deals = [deal(f"d{i}", 30, days_before(100 + i), ["1", "2"]) for i in range(3)]
    tags = seg([contact("1"), contact("2")], deals)
    assert tags["1"]["lifecycle"] == tags["2"]["lifecycle"] == "loyal"
