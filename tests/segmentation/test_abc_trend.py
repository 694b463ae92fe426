"""docs/SEGMENTS.md "ABC trend": previous window computed with as_of - window_days."""

from conftest import contact, days_before, deal

PREV = 400  # days before as_of: inside the previous window (365 < d <= 730 days before)
NOW = 10


def test_first_purchase_in_current_window_is_new(seg):
    tags = seg([contact("1")], [deal("d1", 10, days_before(NOW), "1")])
    assert tags["1"]["abc_trend"] == "new"


def test_c_to_a_is_up_and_a_to_c_is_down(seg):
    # previous: 2 -> 95 (A), 1 -> 5 (before 0.95 -> C); now: 1 -> 95 (A), 2 -> 5 (C)
    deals = [
        deal("p1", 5, days_before(PREV), "1"),
        deal("p2", 95, days_before(PREV), "2"),
        deal("n1", 95, days_before(NOW), "1"),
        deal("n2", 5, days_before(NOW), "2"),
    ]
    tags = seg([contact("1"), contact("2")], deals)
    assert (tags["1"]["abc"], tags["1"]["abc_trend"]) == ("A", "up")
    assert (tags["2"]["abc"], tags["2"]["abc_trend"]) == ("C", "down")


def test_b_to_a_is_up_and_a_to_b_is_down(seg):
    deals = [
        deal("p1", 90, days_before(PREV), "1"),
        deal("p2", 10, days_before(PREV), "2"),
        deal("n1", 10, days_before(NOW), "1"),
        deal("n2", 90, days_before(NOW), "2"),
    ]
    tags = seg([contact("1"), contact("2")], deals)
    assert (tags["1"]["abc"], tags["1"]["abc_trend"]) == ("B", "down")
    assert (tags["2"]["abc"], tags["2"]["abc_trend"]) == ("A", "up")


def test_c_to_b_is_up_and_b_to_c_is_down(seg):
    # previous: 1 -> 90 A, 2 -> 6 (before .90 -> B), 3 -> 4 (before .96 -> C)
    # now:      1 -> 90 A, 3 -> 6 (before .90 -> B), 2 -> 4 (before .96 -> C)
    deals = [
        deal("p1", 90, days_before(PREV), "1"),
        deal("p2", 6, days_before(PREV), "2"),
        deal("p3", 4, days_before(PREV), "3"),
        deal("n1", 90, days_before(NOW), "1"),
        deal("n2", 4, days_before(NOW), "2"),
        deal("n3", 6, days_before(NOW), "3"),
    ]
    tags = seg([contact(c) for c in "123"], deals)
    assert (tags["1"]["abc"], tags["1"]["abc_trend"]) == ("A", "same")
    assert (tags["2"]["abc"], tags["2"]["abc_trend"]) == ("C", "down")
    assert (tags["3"]["abc"], tags["3"]["abc_trend"]) == ("B", "up")


def test_purchase_on_as_of_minus_window_counts_for_the_previous_class(seg):
    # 365 days before as_of is the previous as_of itself: A then, revenue 0 (C) now
    tags = seg(
        [contact("1"), contact("2")],
        [deal("d1", 10, days_before(365), "1"), deal("d2", 10, days_before(364), "2")],
    )
    assert (tags["1"]["abc"], tags["1"]["abc_trend"]) == ("C", "down")
    assert (tags["2"]["abc"], tags["2"]["abc_trend"]) == ("A", "new")


def test_old_customer_with_no_revenue_in_either_window_is_same(seg):
    tags = seg(
        [contact("1"), contact("2")],
        [deal("d1", 10, days_before(800), "1"), deal("d2", 10, days_before(NOW), "2")],
    )
    assert (tags["1"]["abc"], tags["1"]["abc_trend"]) == ("C", "same")


def test_non_customer_has_empty_trend(seg):
    tags = seg([contact("1"), contact("2")], [deal("d1", 10, days_before(NOW), "1")])
    assert tags["2"]["abc_trend"] is None


def test_trend_previous_class_ignores_deals_after_previous_as_of(seg):
    # the previous run only sees purchases up to as_of - 365: a purchase 100 days ago
    # does not make contact 1 a previous customer
    tags = seg(
        [contact("1")],
        [deal("d1", 10, days_before(100), "1"), deal("d2", 10, days_before(200), "1")],
    )
    assert tags["1"]["abc_trend"] == "new"
