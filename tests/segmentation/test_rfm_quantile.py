"""docs/SEGMENTS.md "RFM", quantile method: score = 1 + floor(5 * worse / n)."""

from conftest import contact, days_before, deal


def _freq_run(seg, freqs):
    """Contact i gets freqs[i] purchases (amount 1 each, same latest date)."""
    contacts, deals = [], []
    for cid, f in freqs.items():
        contacts.append(contact(cid))
        deals += [deal(f"{cid}-{k}", 1, days_before(10 + k), cid) for k in range(f)]
    return seg(contacts, deals)


def test_five_distinct_frequencies_score_1_to_5(seg):
    tags = _freq_run(seg, {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5})
    assert [tags[c]["rfm_f"] for c in "abcde"] == [1, 2, 3, 4, 5]


def test_equal_frequencies_get_equal_scores(seg):
    tags = _freq_run(seg, {"a": 1, "b": 1, "c": 2, "d": 3, "e": 3})
    # worse: 0, 0, 2, 3, 3 with n = 5
    assert [tags[c]["rfm_f"] for c in "abcde"] == [1, 1, 3, 4, 4]


def test_single_customer_scores_111(seg):
    tags = seg([contact("1"), contact("2")], [deal("d", 50, days_before(3), "1")])
    assert tags["1"]["rfm_score"] == "111"
    assert tags["2"]["rfm_score"] is None


def test_two_customers_score_1_and_3(seg):
    tags = _freq_run(seg, {"a": 1, "b": 2})
    assert [tags[c]["rfm_f"] for c in "ab"] == [1, 3]


def test_three_customers_score_1_2_4(seg):
    tags = _freq_run(seg, {"a": 1, "b": 2, "c": 3})
    assert [tags[c]["rfm_f"] for c in "abc"] == [1, 2, 4]


def test_seven_customers_use_floor(seg):
    tags = _freq_run(seg, {c: i + 1 for i, c in enumerate("abcdefg")})
    # 1 + floor(5w/7) for w = 0..6
    assert [tags[c]["rfm_f"] for c in "abcdefg"] == [1, 1, 2, 3, 3, 4, 5]


def test_non_customers_are_not_counted_in_n(seg):
    contacts = [contact(c) for c in "abxyz"]
    deals = [
        deal("d1", 1, days_before(10), "a"),
        deal("d2", 1, days_before(10), "b"),
        deal("d3", 1, days_before(11), "b"),
    ]
    tags = seg(contacts, deals)
    assert [tags[c]["rfm_f"] for c in "ab"] == [1, 3]
    for c in "xyz":
        assert tags[c]["rfm_r"] is None and tags[c]["rfm_f"] is None and tags[c]["rfm_m"] is None
        assert tags[c]["rfm_segment"] is None


def test_recency_larger_days_is_worse(seg):
    contacts = [contact(c) for c in "abcde"]
    deals = [
        deal(f"d{c}", 1, days_before(d), c) for c, d in zip("abcde", [1, 2, 3, 4, 5], strict=True)
    ]
    tags = seg(contacts, deals)
    assert [tags[c]["rfm_r"] for c in "abcde"] == [5, 4, 3, 2, 1]


def test_equal_recency_gets_equal_scores(seg):
    contacts = [contact(c) for c in "abcd"]
    deals = [
        deal("da", 1, days_before(5), "a"),
        deal("db", 1, days_before(5), "b"),
        deal("dc", 1, days_before(9), "c"),
        deal("dd", 1, days_before(9), "d"),
    ]
    tags = seg(contacts, deals)
    # a, b: worse = 2 of n = 4 -> 1 + floor(10/4) = 3
    assert [tags[c]["rfm_r"] for c in "abcd"] == [3, 3, 1, 1]


def test_monetary_smaller_revenue_is_worse_and_ties_are_equal(seg):
    contacts = [contact(c) for c in "abcde"]
    amounts = ["-1", "0", "5", "5", "7.5"]
    deals = [deal(f"d{c}", a, days_before(10), c) for c, a in zip("abcde", amounts, strict=True)]
    tags = seg(contacts, deals)
    # worse: 0, 1, 2, 2, 4
    assert [tags[c]["rfm_m"] for c in "abcde"] == [1, 2, 3, 3, 5]


def test_monetary_uses_window_revenue_not_lifetime(seg):
    contacts = [contact("a"), contact("b")]
    deals = [
        deal("d1", 1000, days_before(400), "a"),
        deal("d2", 1, days_before(10), "a"),
        deal("d3", 2, days_before(10), "b"),
    ]
    tags = seg(contacts, deals)
    assert [tags[c]["rfm_m"] for c in "ab"] == [1, 3]


def test_rfm_score_concatenates_r_f_m_digits(seg):
    # recency, frequency, revenue for five customers, chosen so that "1" scores 5, 3, 4
    spec = {
        "1": (1, 3, 400),
        "2": (2, 5, 100),
        "3": (3, 4, 200),
        "4": (4, 2, 500),
        "5": (5, 1, 300),
    }
    contacts, deals = [], []
    for cid, (rec, freq, rev) in spec.items():
        contacts.append(contact(cid))
        for k in range(freq):
            deals.append(deal(f"{cid}-{k}", rev if k == 0 else 0, days_before(rec + 10 * k), cid))
    tags = seg(contacts, deals)
    assert tags["1"]["rfm_score"] == "534"
    assert tags["2"]["rfm_score"] == "451"
    assert tags["3"]["rfm_score"] == "342"
    assert tags["4"]["rfm_score"] == "225"
    assert tags["5"]["rfm_score"] == "113"
    assert (tags["1"]["rfm_r"], tags["1"]["rfm_f"], tags["1"]["rfm_m"]) == (5, 3, 4)
    assert tags["1"]["rfm_segment"] == "potential_loyalist"
    assert tags["2"]["rfm_segment"] == "loyal"
    assert tags["3"]["rfm_segment"] == "loyal"
    assert tags["4"]["rfm_segment"] == "hibernating"
    assert tags["5"]["rfm_segment"] == "hibernating"


def test_customer_with_purchases_only_before_the_window_scores_f1_m1(seg):
    contacts = [contact("a"), contact("b")]
    deals = [deal("d1", 1000, days_before(500), "a"), deal("d2", 1, days_before(10), "b")]
    tags = seg(contacts, deals)
    # a is inactive: F = M = 1; b is the only active customer: worse = 0 of 1 -> 1
    # (v1 ranked a in: b scored F 3, M 3). R among all: a worse -> 1, b -> 1 + 5*1//2 = 3
    assert [(tags[c]["rfm_r"], tags[c]["rfm_f"], tags[c]["rfm_m"]) for c in "ab"] == [
        (1, 1, 1),
        (3, 1, 1),
    ]


def test_f_and_m_rank_among_the_active_with_ties(seg):
    # active: b (1 purchase), c (2), d (2), e (3); inactive: a (old purchases only)
    contacts = [contact(c) for c in "abcde"]
    deals = [
        deal("a1", 500, days_before(400), "a"),
        deal("a2", 500, days_before(401), "a"),
        deal("a3", 500, days_before(402), "a"),
        deal("a4", 500, days_before(403), "a"),
        deal("b1", 10, days_before(5), "b"),
        deal("c1", 10, days_before(5), "c"),
        deal("c2", 10, days_before(6), "c"),
        deal("d1", 10, days_before(5), "d"),
        deal("d2", 10, days_before(6), "d"),
        deal("e1", 10, days_before(5), "e"),
        deal("e2", 10, days_before(6), "e"),
        deal("e3", 10, days_before(7), "e"),
    ]
    tags = seg(contacts, deals)
    # n_active = 4. F: b worse 0 -> 1; c, d worse 1 -> 1 + 5//4 = 2; e worse 3 -> 1 + 15//4 = 4
    # M (10, 20, 20, 30): the same ranks. a: F = M = 1 despite 4 purchases and 2000.
    assert [(tags[c]["rfm_f"], tags[c]["rfm_m"]) for c in "abcde"] == [
        (1, 1),
        (1, 1),
        (2, 2),
        (2, 2),
        (4, 4),
    ]
