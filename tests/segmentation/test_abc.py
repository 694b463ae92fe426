"""docs/SEGMENTS.md "ABC class"."""

from conftest import contact, days_before, deal


def _run(seg, revenues, **kwargs):
    """One purchase per contact id with the given amount (None: a prospect)."""
    contacts = [contact(cid) for cid in revenues]
    deals = [
        deal(f"d{cid}", amount, days_before(10), cid)
        for cid, amount in revenues.items()
        if amount is not None
    ]
    return seg(contacts, deals, **kwargs)


def test_customer_crossing_80_percent_is_still_a(seg):
    tags = _run(seg, {"1": 50, "2": 40, "3": 10})
    # before: 0, 0.5 (crosses to 0.9, still A), 0.9 -> B
    assert [tags[c]["abc"] for c in "123"] == ["A", "A", "B"]


def test_before_exactly_80_percent_is_b(seg):
    tags = _run(seg, {"1": 80, "2": 20})
    assert [tags[c]["abc"] for c in "12"] == ["A", "B"]


def test_before_exactly_95_percent_is_c(seg):
    tags = _run(seg, {"1": 70, "2": 20, "3": 5, "4": 3, "5": 2})
    # before: 0, 0.7, 0.9, 0.95, 0.98
    assert [tags[c]["abc"] for c in "12345"] == ["A", "A", "B", "C", "C"]


def test_before_exactly_95_percent_is_c_with_exact_decimal_sums(seg):
    contacts = [contact(c) for c in "123"]
    deals = [
        deal("a", "0.10", days_before(10), "1"),
        deal("b", "0.20", days_before(11), "1"),
        deal("c", "0.40", days_before(12), "1"),
        deal("d", "0.25", days_before(10), "2"),
        deal("e", "0.05", days_before(10), "3"),
    ]
    tags = seg(contacts, deals)
    # revenues 0.70, 0.25, 0.05 (total 1.00): before 0, 0.70, 0.95
    assert [tags[c]["abc"] for c in "123"] == ["A", "A", "C"]


def test_equal_revenues_get_equal_classes_whatever_their_ids(seg):
    # v1 walked ties by id ("10" before "9"); v2: both have before = 0.90 -> B
    tags = _run(seg, {"1": 90, "10": 5, "9": 5})
    assert [tags[c]["abc"] for c in ("1", "10", "9")] == ["A", "B", "B"]


def test_tie_group_straddling_80_percent_is_all_a(seg):
    # revenues 50, 20, 20, 10 (total 100). The two 20s: before = 0.50 for both (only
    # the 50 is strictly greater) -> A, although together they pass 80 % (0.50 -> 0.90).
    tags = _run(seg, {"1": 50, "2": 20, "3": 20, "4": 10})
    assert [tags[c]["abc"] for c in "1234"] == ["A", "A", "A", "B"]


def test_tie_group_straddling_95_percent_is_all_b(seg):
    # revenues 85, 4, 4, 4, 3 (total 100): the 4s have before 0.85 (< 0.95) -> B though
    # the group ends at 0.97; the 3 has before 0.97 -> C.
    tags = _run(seg, {"1": 85, "2": 4, "3": 4, "4": 4, "5": 3})
    assert [tags[c]["abc"] for c in "12345"] == ["A", "B", "B", "B", "C"]


def test_tie_group_starting_exactly_at_80_percent_is_all_b(seg):
    # revenues 80, 10, 10: before of each 10 is 0.80 (not < 0.80) -> B, never split
    tags = _run(seg, {"1": 80, "2": 10, "3": 10})
    assert [tags[c]["abc"] for c in "123"] == ["A", "B", "B"]


def test_tie_of_exact_decimal_sums_is_one_group(seg):
    # 0.10 + 0.20 (two deals) equals 0.30 (one deal): one tie group, before 0.70 for both
    contacts = [contact(c) for c in "123"]
    deals = [
        deal("a", "1.40", days_before(10), "1"),
        deal("b", "0.10", days_before(10), "2"),
        deal("c", "0.20", days_before(11), "2"),
        deal("d", "0.30", days_before(10), "3"),
    ]
    tags = seg(contacts, deals)
    # total 2.00: 1.40 -> before 0; the 0.30s -> before 0.70 -> A
    assert [tags[c]["abc"] for c in "123"] == ["A", "A", "A"]


def test_zero_revenue_customer_is_c(seg):
    tags = _run(seg, {"1": 100, "2": 0})
    assert tags["2"]["abc"] == "C"


def test_negative_revenue_customer_is_c(seg):
    tags = _run(seg, {"1": 100, "2": -10})
    assert tags["1"]["abc"] == "A"
    assert tags["2"]["abc"] == "C"


def test_negative_revenue_does_not_reduce_the_total(seg):
    # total = 100 (positive revenues only): before 0, 0.85, 0.95
    tags = _run(seg, {"1": 85, "2": 10, "3": 5, "4": -50})
    assert [tags[c]["abc"] for c in "1234"] == ["A", "B", "C", "C"]


def test_total_zero_makes_every_customer_c(seg):
    tags = _run(seg, {"1": 0, "2": -5, "3": None})
    assert tags["1"]["abc"] == "C"
    assert tags["2"]["abc"] == "C"
    assert tags["3"]["abc"] is None


def test_customer_with_purchases_only_outside_window_is_c(seg):
    tags = seg(
        [contact("1"), contact("2")],
        [deal("d1", 1000, days_before(500), "1"), deal("d2", 1, days_before(1), "2")],
    )
    assert tags["1"]["abc"] == "C"
    assert tags["2"]["abc"] == "A"


def test_non_customer_has_no_class(seg):
    tags = _run(seg, {"1": 100, "2": None})
    assert tags["2"]["abc"] is None


def test_single_positive_customer_is_a(seg):
    tags = _run(seg, {"1": "0.01"})
    assert tags["1"]["abc"] == "A"


def test_abc_parameters_are_configurable(seg):
    tags = _run(seg, {"1": 50, "2": 30, "3": 20}, abc_a="0.5", abc_b="0.3")
    # before 0 -> A; 0.5 -> not < 0.5, < 0.8 -> B; 0.8 -> C
    assert [tags[c]["abc"] for c in "123"] == ["A", "B", "C"]


def test_equal_split_shares_tie(seg):
    contacts = [contact(c) for c in "123"]
    deals = [deal("d1", 70, days_before(10), "1"), deal("d2", 30, days_before(10), ["3", "2"])]
    tags = seg(contacts, deals)
    # 2 and 3 tie at 15: before 0.70 for both -> A (v1 gave "3" before 0.85 -> B)
    assert [tags[c]["abc"] for c in "123"] == ["A", "A", "A"]
