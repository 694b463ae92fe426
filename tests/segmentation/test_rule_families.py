"""docs/SEGMENTS.md "Rule families": each condition key at its inclusive boundary, first match
wins, prospects, company level, and config errors naming the key."""

from __future__ import annotations

import pytest
from conftest import contact, days_before, deal, run_segmentation
from pydantic import ValidationError

from segmentation import SegmentationConfig


def _shop():
    """1: 3 purchases in the window, 300 (avg 100), last 10 days ago: A (before 0), RFM R 4
    F 3 (potential_loyalist). 2: 1 purchase, 100, 30 days ago: A (before 300/400), R 2 F 1
    (hibernating). 3: only a purchase 400 days ago: revenue 0, C, inactive, R 1 F 1
    (hibernating). 4: a prospect (no purchase)."""
    contacts = [contact(c) for c in "1234"]
    deals = [
        deal("a1", "100", days_before(10), "1"),
        deal("a2", "100", days_before(20), "1"),
        deal("a3", "100", days_before(30), "1"),
        deal("b1", "100", days_before(30), "2"),
        deal("c1", "500", days_before(400), "3"),
    ]
    return contacts, deals


@pytest.fixture
def shop():
    return _shop()


#: (condition, which of the shop's contacts 1-4 it tags)
BOUNDARIES = [
    ({}, "xxxx"),
    ({"abc": ["A"]}, "xx.."),
    ({"abc": ["B", "C"]}, "..x."),
    ({"abc_trend": ["new"]}, "xx.."),
    ({"abc_trend": ["down"]}, "..x."),
    ({"lifecycle": ["prospect"]}, "...x"),
    ({"lifecycle": ["inactive", "new"]}, "xxx."),
    ({"rfm_segment": ["hibernating", "at_risk"]}, ".xx."),
    ({"rfm_segment": ["potential_loyalist"]}, "x..."),
    ({"revenue_min": "300"}, "x..."),
    ({"revenue_min": "300.01"}, "...."),
    ({"revenue_max": "100"}, ".xxx"),
    ({"revenue_max": "99.99"}, "..xx"),
    ({"revenue_max": "0"}, "..xx"),
    ({"frequency_min": 1}, "xx.."),
    ({"frequency_min": 3}, "x..."),
    ({"frequency_max": 1}, ".xxx"),
    ({"frequency_max": 0}, "..xx"),
    ({"purchases_min": 1}, "xxx."),
    ({"purchases_min": 3}, "x..."),
    ({"recency_max": 30}, "xx.."),
    ({"recency_max": 29}, "x..."),
    ({"recency_max": 400}, "xxx."),
    ({"average_order_max": "100"}, "xx.."),
    ({"average_order_max": "99.99"}, "...."),
    ({"abc": ["A"], "frequency_min": 4}, "...."),
]


@pytest.fixture(scope="module")
def boundaries(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """What each condition tags in the shop, all in one run: one family per condition
    (``tier0``, ``tier1``, ...), each of one value ``x``; a family's values never read
    another family's."""
    rules = [
        {"family": f"tier{n}", "values": [{"value": "x", **condition}]}
        for n, (condition, _) in enumerate(BOUNDARIES)
    ]
    tags = run_segmentation(tmp_path_factory.mktemp("rules"), *_shop(), rules=rules)
    return [
        "".join("x" if tags[c][f"tier{n}"] == "x" else "." for c in "1234")
        for n in range(len(BOUNDARIES))
    ]


@pytest.mark.parametrize(("condition", "expected"), BOUNDARIES)
def test_each_condition_at_its_boundary(boundaries, condition, expected):
    assert boundaries[BOUNDARIES.index((condition, expected))] == expected


def test_average_order_is_exact_for_split_amounts(seg):
    # 100 split 3 ways: 33.333... per contact, above 33.33, at most 33.34
    contacts = [contact(c) for c in "123"]
    deals = [deal("d", "100", days_before(5), ["1", "2", "3"])]
    conditions = [
        {"average_order_max": "33.33"},
        {"average_order_max": "33.34"},
        {"revenue_min": "33.333333333333"},
        {"revenue_max": "33.333333333333"},
    ]
    # one family per condition, in one run
    rules = [
        {"family": f"tier{n}", "values": [{"value": "x", **condition}]}
        for n, condition in enumerate(conditions)
    ]
    tags = seg(contacts, deals, rules=rules)["1"]
    assert tags["tier0"] is None
    assert tags["tier1"] == "x"
    assert tags["tier2"] == "x"
    assert tags["tier3"] is None


def test_first_value_whose_conditions_all_hold_wins(seg, shop):
    rules = [
        {
            "family": "tier",
            "values": [
                {"value": "platinum", "abc": ["A"], "frequency_min": 6},
                {"value": "gold", "abc": ["A", "B"]},
                {"value": "silver", "lifecycle": ["new", "inactive"]},
            ],
        }
    ]
    tags = seg(*shop, rules=rules)
    # 1 and 2 are A with fewer than 6 purchases: not platinum but gold
    assert tags["1"]["tier"] == tags["2"]["tier"] == "gold"
    assert tags["3"]["tier"] == "silver"  # C, inactive
    assert tags["4"]["tier"] is None  # prospect: nothing matches


def test_company_level_companies_decide_and_contacts_without_company_are_prospects(seg):
    contacts = [contact("1", company_id="k1"), contact("2", company_id="k1"), contact("3")]
    deals = [deal("d1", "50", days_before(5), ["1"], companies=["k1"])]
    rules = [
        {
            "family": "fit",
            "values": [
                {"value": "customer", "purchases_min": 1},
                {"value": "none", "revenue_max": "0"},
            ],
        }
    ]
    tags = seg(contacts, deals, companies=[{"id": "k1", "name": "K"}], level="company", rules=rules)
    assert [tags[c]["fit"] for c in "123"] == ["customer", "customer", "none"]
    assert tags.entities["k1"]["fit"] == "customer"


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ({"value": "x", "frequncy_min": 3}, "rules.0.values.0.frequncy_min"),
        ({"value": "x", "abc": ["D"]}, "rules.0.values.0.abc"),
        ({"value": "x", "lifecycle": ["churned"]}, "rules.0.values.0.lifecycle"),
        ({"value": "x", "rfm_segment": ["champions"]}, "rules.0.values.0.rfm_segment"),
        ({"value": "x", "abc_trend": ["flat"]}, "rules.0.values.0.abc_trend"),
        ({"value": "x", "revenue_min": "lots"}, "rules.0.values.0.revenue_min"),
        ({"value": "x", "recency_max": -1}, "rules.0.values.0.recency_max"),
        ({"value": "a;b"}, "rules.0.values.0.value"),
    ],
)
def test_bad_condition_is_a_config_error_naming_the_key(value, key):
    with pytest.raises(ValidationError) as err:
        SegmentationConfig.model_validate({"rules": [{"family": "tier", "values": [value]}]})
    assert key in str(err.value)


def test_a_value_may_not_repeat_in_its_family():
    with pytest.raises(ValidationError, match="appears twice"):
        SegmentationConfig.model_validate(
            {"rules": [{"family": "tier", "values": [{"value": "a"}, {"value": "a"}]}]}
        )
