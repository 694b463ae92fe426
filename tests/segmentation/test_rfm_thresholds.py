"""docs/SEGMENTS.md "RFM", thresholds method: k = edges strictly below the value."""

from conftest import contact, days_before, deal

EDGES = {
    "rfm_method": "thresholds",
    "rfm_r_edges": [30, 90, 180, 365],
    "rfm_f_edges": [1, 2, 3, 5],
    "rfm_m_edges": ["100", "500", "1000", "5000"],
}


def test_recency_thresholds_score_5_minus_k(seg):
    recencies = {
        "a": 10,
        "b": 30,
        "c": 31,
        "d": 90,
        "e": 91,
        "f": 180,
        "g": 181,
        "h": 365,
        "i": 366,
        "j": 400,
    }
    tags = seg(
        [contact(c) for c in recencies],
        [deal(f"d{c}", 1, days_before(r), c) for c, r in recencies.items()],
        **EDGES,
    )
    expected = {"a": 5, "b": 5, "c": 4, "d": 4, "e": 3, "f": 3, "g": 2, "h": 2, "i": 1, "j": 1}
    assert {c: tags[c]["rfm_r"] for c in recencies} == expected


def test_frequency_thresholds_score_1_plus_k(seg):
    freqs = {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6}
    deals = [
        deal(f"{c}-{k}", 1, days_before(10 + k), c) for c, f in freqs.items() for k in range(f)
    ]
    tags = seg([contact(c) for c in freqs], deals, **EDGES)
    expected = {"a": 1, "b": 2, "c": 3, "d": 4, "e": 4, "f": 5}
    assert {c: tags[c]["rfm_f"] for c in freqs} == expected


def test_monetary_thresholds_score_1_plus_k(seg):
    amounts = {
        "a": "-50",
        "b": "0",
        "c": "100",
        "d": "100.01",
        "e": "500",
        "f": "999.99",
        "g": "1000.000000001",
        "h": "5000",
        "i": "5000.01",
    }
    tags = seg(
        [contact(c) for c in amounts],
        [deal(f"d{c}", a, days_before(10), c) for c, a in amounts.items()],
        **EDGES,
    )
    expected = {"a": 1, "b": 1, "c": 1, "d": 2, "e": 2, "f": 3, "g": 4, "h": 4, "i": 5}
    assert {c: tags[c]["rfm_m"] for c in amounts} == expected


def test_threshold_scores_do_not_depend_on_other_customers(seg):
    one = seg([contact("a")], [deal("d", 600, days_before(100), "a")], **EDGES)
    many = seg(
        [contact("a"), contact("b"), contact("c")],
        [
            deal("d", 600, days_before(100), "a"),
            deal("e", 9000, days_before(1), "b"),
            deal("f", 1, days_before(300), "c"),
        ],
        **EDGES,
    )
    assert one["a"]["rfm_score"] == many["a"]["rfm_score"] == "313"


def test_thresholds_leave_non_customers_empty(seg):
    tags = seg([contact("a"), contact("b")], [deal("d", 600, days_before(100), "a")], **EDGES)
    assert tags["b"]["rfm_score"] is None and tags["b"]["rfm_r"] is None


def test_zero_window_frequency_scores_1_with_thresholds(seg):
    tags = seg([contact("a")], [deal("d", 600, days_before(500), "a")], **EDGES)
    assert tags["a"]["rfm_score"] == "111"


def test_monetary_thresholds_compare_exact_split_shares(seg):
    # 100 split 3 ways = 33.333...: above 33.33 and 33.3333333333, below 33.3333333334
    edges = dict(EDGES, rfm_m_edges=["33.33", "33.3333333333", "33.3333333334", "50"])
    tags = seg(
        [contact(c) for c in "abc"], [deal("d", 100, days_before(10), ["a", "b", "c"])], **edges
    )
    assert {tags[c]["rfm_m"] for c in "abc"} == {3}


def test_monetary_thresholds_with_negative_edges(seg):
    edges = dict(EDGES, rfm_m_edges=["-10", "0", "0.005", "20"])
    amounts = {"a": "-10", "b": "-5", "c": "0", "d": "0.01", "e": "20.000000000001"}
    tags = seg(
        [contact(c) for c in amounts],
        [deal(f"d{c}", a, days_before(10), c) for c, a in amounts.items()],
        **edges,
    )
    assert {c: tags[c]["rfm_m"] for c in amounts} == {"a": 1, "b": 2, "c": 2, "d": 4, "e": 5}


def test_fractional_recency_and_frequency_edges(seg):
    edges = dict(
        EDGES, rfm_r_edges=["30.5", "60", "90", "120"], rfm_f_edges=["0.5", "1.5", "2", "3"]
    )
    tags = seg(
        [contact("a"), contact("b")],
        [
            deal("a1", 1, days_before(30), "a"),
            deal("b1", 1, days_before(31), "b"),
            deal("b2", 1, days_before(40), "b"),
        ],
        **edges,
    )
    assert (tags["a"]["rfm_r"], tags["a"]["rfm_f"]) == (5, 2)
    assert (tags["b"]["rfm_r"], tags["b"]["rfm_f"]) == (4, 3)
