"""docs/SEGMENTS.md "Window": as_of - window_days < close_date <= as_of."""

from conftest import contact, days_before, deal


def test_purchase_on_as_of_minus_window_days_is_outside_the_window(seg):
    # contact 1's only purchase is exactly window_days before as_of: revenue 0 -> C.
    tags = seg(
        [contact("1"), contact("2")],
        [deal("d1", 100, days_before(365), "1"), deal("d2", 1, days_before(364), "2")],
    )
    assert tags["1"]["abc"] == "C"
    assert tags["2"]["abc"] == "A"


def test_purchase_on_as_of_is_inside_the_window(seg):
    tags = seg(
        [contact("1"), contact("2")],
        [deal("d1", 100, days_before(0), "1"), deal("d2", 1, days_before(400), "2")],
    )
    assert tags["1"]["abc"] == "A"
    assert tags["2"]["abc"] == "C"


def test_window_days_is_configurable(seg):
    tags = seg(
        [contact("1"), contact("2")],
        [deal("d1", 100, days_before(30), "1"), deal("d2", 1, days_before(29), "2")],
        window_days=30,
    )
    assert tags["1"]["abc"] == "C"
    assert tags["2"]["abc"] == "A"


def test_frequency_counts_only_purchases_in_the_window(seg):
    # contact 1: 2 purchases in the window; contact 2: 1 in the window + 5 older ones.
    deals = [
        deal("a1", 1, days_before(10), "1"),
        deal("a2", 1, days_before(20), "1"),
        deal("b1", 1, days_before(10), "2"),
    ]
    deals += [deal(f"old{i}", 1, days_before(365 + i), "2") for i in range(5)]
    tags = seg([contact("1"), contact("2")], deals)
    # n = 2: the better frequency has worse = 1 -> 1 + floor(5/2) = 3.
    assert tags["1"]["rfm_f"] == 3
    assert tags["2"]["rfm_f"] == 1


def test_recency_uses_the_latest_purchase_ever_even_outside_the_window(seg):
    tags = seg(
        [contact("1"), contact("2")],
        [deal("d1", 5, days_before(500), "1"), deal("d2", 5, days_before(700), "2")],
    )
    # both customers with revenue 0 in the window, recency 500 vs 700
    assert tags["1"]["abc"] == "C" and tags["2"]["abc"] == "C"
    assert tags["1"]["rfm_r"] == 3
    assert tags["2"]["rfm_r"] == 1
    assert tags["1"]["lifecycle"] == "inactive"
