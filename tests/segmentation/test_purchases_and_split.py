"""docs/SEGMENTS.md "Inputs" (what a purchase is), "Money is exact", and contact-level splitting."""

import datetime
from fractions import Fraction

from conftest import AS_OF, contact, days_before, deal


def test_hundred_split_three_ways_ties_with_another_equal_split(seg):
    contacts = [contact(str(i)) for i in range(1, 7)]
    deals = [
        deal("d1", 100, days_before(10), ["1", "2", "3"]),
        deal("d2", 100, days_before(10), ["4", "5", "6"]),
    ]
    tags = seg(contacts, deals)
    # all six revenues are 100/3 and tie: worse = 0 -> M = 1 for all
    assert {tags[str(i)]["rfm_m"] for i in range(1, 7)} == {1}
    # one tie group: nobody is strictly greater, before = 0 -> A for all six
    assert [tags[str(i)]["abc"] for i in range(1, 7)] == ["A"] * 6


def test_split_share_is_exact_not_rounded_to_cents(seg):
    # 100/3 = 33.333... > 33.33 (carried with >= 10 decimal places)
    contacts = [contact(str(i)) for i in range(1, 5)]
    deals = [
        deal("d1", 100, days_before(10), ["1", "2", "3"]),
        deal("d2", "33.33", days_before(10), "4"),
    ]
    tags = seg(contacts, deals)
    # n = 4: contacts 1-3 have worse = 1 -> 1 + floor(5/4) = 2; contact 4 -> 1
    assert [tags[str(i)]["rfm_m"] for i in range(1, 5)] == [2, 2, 2, 1]


def test_split_purchase_counts_once_for_frequency_of_every_contact(seg):
    contacts = [contact(str(i)) for i in range(1, 4)]
    deals = [
        deal("d1", 10, days_before(10), ["1", "2"]),
        deal("d2", 10, days_before(20), ["1", "2"]),
        deal("d3", 10, days_before(5), "3"),
    ]
    tags = seg(contacts, deals)
    # frequency 2, 2, 1 -> worse 1, 1, 0 with n = 3 -> 1 + floor(5/3) = 2
    assert [tags[c]["rfm_f"] for c in "123"] == [2, 2, 1]
    # revenue 10, 10, 10: all M equal
    assert [tags[c]["rfm_m"] for c in "123"] == [1, 1, 1]


def test_point_one_plus_point_two_ties_with_point_three(seg):
    contacts = [contact(c) for c in "123"]
    deals = [
        deal("d1", "0.10", days_before(10), "1"),
        deal("d2", "0.20", days_before(11), "1"),
        deal("d3", "0.30", days_before(10), "2"),
        deal("d4", "0.29", days_before(10), "3"),
    ]
    tags = seg(contacts, deals)
    # revenues 0.30, 0.30, 0.29: worse = 1, 1, 0; n = 3 -> 2, 2, 1
    assert [tags[c]["rfm_m"] for c in "123"] == [2, 2, 1]


def test_empty_amount_counts_for_frequency_and_recency_and_zero_for_money(seg):
    contacts = [contact("1"), contact("2")]
    deals = [deal("d1", None, days_before(10), "1"), deal("d2", 5, days_before(100), "2")]
    tags = seg(contacts, deals)
    assert tags["1"]["lifecycle"] == "new"  # it is a purchase
    assert tags["1"]["abc"] == "C"  # revenue 0
    assert tags["2"]["abc"] == "A"
    assert (tags["1"]["rfm_r"], tags["1"]["rfm_f"], tags["1"]["rfm_m"]) == (3, 1, 1)
    assert (tags["2"]["rfm_r"], tags["2"]["rfm_f"], tags["2"]["rfm_m"]) == (1, 1, 3)


def test_won_deal_without_close_date_is_no_purchase(seg):
    tags = seg([contact("1")], [deal("d1", 100, None, "1", won=True)])
    assert tags["1"]["lifecycle"] == "prospect"
    assert tags["1"]["abc"] is None and tags["1"]["rfm_score"] is None


def test_lost_deal_is_no_purchase(seg):
    tags = seg([contact("1")], [deal("d1", 100, days_before(10), "1", won=False)])
    assert tags["1"]["lifecycle"] == "prospect"
    assert tags["1"]["abc"] is None


def test_future_dated_won_deal_is_no_purchase(seg):
    tags = seg(
        [contact("1"), contact("2")],
        [
            deal("d1", 100, (AS_OF + datetime.timedelta(days=1)).isoformat(), "1"),
            deal("d2", 1, days_before(50), "2"),
        ],
    )
    assert tags["1"]["lifecycle"] == "prospect"
    assert tags["1"]["abc"] is None
    assert tags["2"]["abc"] == "A"


def test_future_dated_deal_does_not_affect_recency_or_lifecycle(seg):
    tags = seg(
        [contact("1")],
        [
            deal("d1", 100, days_before(200), "1"),
            deal("d2", 100, (AS_OF + datetime.timedelta(days=3)).isoformat(), "1"),
        ],
    )
    assert tags["1"]["lifecycle"] == "at_risk"  # recency 200 > 180


def test_negative_amounts_are_summed_like_any_other(seg):
    contacts = [contact(c) for c in "123"]
    deals = [
        deal("d1", 100, days_before(10), "1"),
        deal("d2", -100, days_before(11), "1"),
        deal("d3", 10, days_before(10), "2"),
        deal("d4", "-5", days_before(10), "3"),
    ]
    tags = seg(contacts, deals)
    assert [tags[c]["abc"] for c in "123"] == ["C", "A", "C"]
    # revenues 0, 10, -5: worse 1, 2, 0; n = 3 -> 2, 4, 1
    assert [tags[c]["rfm_m"] for c in "123"] == [2, 4, 1]


def test_orphan_deals_are_counted_and_ignored(seg):
    tags = seg(
        [contact("1")],
        [
            deal("d1", 100, days_before(10), []),
            deal("d2", 50, days_before(10), [], companies=["co1"]),
            deal("d3", 10, days_before(10), "1"),
        ],
    )
    assert tags.report.orphan_deals == 2
    assert tags["1"]["abc"] == "A"
    assert tags.report.customers == 1


def test_no_orphans_when_every_deal_has_a_contact(seg):
    tags = seg([contact("1")], [deal("d1", 100, days_before(10), "1")])
    assert tags.report.orphan_deals == 0


def test_lost_deal_without_contacts_is_also_an_orphan(seg):
    tags = seg(
        [contact("1")],
        [
            deal("d1", 100, days_before(10), [], won=False),
            deal("d2", 100, days_before(10), "1", won=False),
        ],
    )
    assert tags.report.orphan_deals == 1


def test_deal_listing_only_unknown_contacts_is_an_orphan(seg):
    tags = seg(
        [contact("1")],
        [deal("d1", 100, days_before(10), "999"), deal("d2", 100, days_before(10), ["1", "998"])],
    )
    assert tags.report.orphan_deals == 1
    # an unknown id is no entity: contact 1 is the only customer
    assert tags["1"]["abc"] == "A"
    assert tags.report.customers == 1


def test_past_the_capped_denominator_shares_round_down(seg, monkeypatch):
    # With the cap at 2, a purchase of 1 split three ways cannot be split exactly:
    # each share is floor(10**12 * 2 / 3) units of 1 / (2 * 10**12), just under 1/3.
    from segmentation import purchases

    monkeypatch.setattr(purchases, "MAX_EXACT_SPLIT_DENOMINATOR", 2)
    tags = seg([contact(c) for c in "123"], [deal("d1", 1, days_before(10), ["1", "2", "3"])])
    assert tags.report.units_per_unit == 2 * 10**12
    share = Fraction(10**12 * 2 // 3, 2 * 10**12)
    assert share < Fraction(1, 3)
    assert tags.metrics == {"1": share, "2": share, "3": share}
