"""docs/SEGMENTS.md "Interests"."""

import datetime

from conftest import AS_OF, contact, days_before, deal

ECO_CONTACT = {
    "tag": "sustainability",
    "contact_property": "topics",
    "any_of": ["eco", "green", "nachhaltig"],
}
ECO_DEAL = {"tag": "sustainability", "deal_property": "product_line", "any_of": ["eco"]}


def _contacts(seg, topics, rules=(ECO_CONTACT,)):
    contacts = [contact(str(i), topics=t) for i, t in enumerate(topics)]
    return seg(contacts, [], contact_properties=["topics"], interests=list(rules))


def _deals(seg, deals, rules=(ECO_DEAL,)):
    return seg(
        [contact("1"), contact("2")], deals, deal_properties=["product_line"], interests=list(rules)
    )


def test_contact_property_matches_case_insensitive_substring(seg):
    tags = _contacts(seg, ["Eco-Friendly", "EVERGREEN", "Nachhaltigkeit", "sports", ""])
    assert [tags[str(i)]["interests"] for i in range(5)] == [
        "sustainability",
        "sustainability",
        "sustainability",
        None,
        None,
    ]


def test_uppercase_term_matches_lowercase_value(seg):
    rule = {"tag": "eco", "contact_property": "topics", "any_of": ["ECO"]}
    tags = _contacts(seg, ["eco"], rules=[rule])
    assert tags["0"]["interests"] == "eco"


def test_multi_value_property_is_split_on_semicolon(seg):
    tags = _contacts(seg, ["sports;GREEN living;music"])
    assert tags["0"]["interests"] == "sustainability"


def test_term_does_not_match_across_value_boundaries(seg):
    # values "ec" and "o": "eco" is not a substring of either value
    rule = {"tag": "eco", "contact_property": "topics", "any_of": ["c;o"]}
    tags = _contacts(seg, ["ec;ox"], rules=[rule])
    assert tags["0"]["interests"] is None


def test_tags_are_sorted_and_de_duplicated(seg):
    rules = [
        {"tag": "zeta", "contact_property": "topics", "any_of": ["z"]},
        {"tag": "alpha", "contact_property": "topics", "any_of": ["a"]},
        {"tag": "alpha", "contact_property": "topics", "any_of": ["b"]},
        {"tag": "Mid", "contact_property": "topics", "any_of": ["m"]},
    ]
    tags = _contacts(seg, ["z;a;b;m"], rules=rules)
    assert tags["0"]["interests"] == ";".join(sorted({"zeta", "alpha", "Mid"}))


def test_same_tag_from_contact_and_deal_rules_appears_once(seg):
    tags = seg(
        [contact("1", topics="eco")],
        [deal("d1", 1, days_before(10), "1", product_line="eco")],
        contact_properties=["topics"],
        deal_properties=["product_line"],
        interests=[ECO_CONTACT, ECO_DEAL],
    )
    assert tags["1"]["interests"] == "sustainability"


def test_deal_property_matches_for_won_deal_in_window(seg):
    tags = _deals(seg, [deal("d1", 1, days_before(10), "1", product_line="ECO line")])
    assert tags["1"]["interests"] == "sustainability"
    assert tags["2"]["interests"] is None


def test_deal_property_matches_for_lost_deal_in_window(seg):
    tags = _deals(seg, [deal("d1", 1, days_before(10), "1", won=False, product_line="eco")])
    assert tags["1"]["interests"] == "sustainability"
    assert tags["1"]["lifecycle"] == "prospect"


def test_deal_property_matches_for_open_deal_without_close_date(seg):
    tags = _deals(seg, [deal("d1", 1, None, "1", won=False, product_line="eco")])
    assert tags["1"]["interests"] == "sustainability"


def test_deal_property_matches_for_won_deal_without_close_date(seg):
    tags = _deals(seg, [deal("d1", 1, None, "1", won=True, product_line="eco")])
    assert tags["1"]["interests"] == "sustainability"


def test_deal_property_matches_for_deal_closing_on_as_of(seg):
    tags = _deals(seg, [deal("d1", 1, days_before(0), "1", product_line="eco")])
    assert tags["1"]["interests"] == "sustainability"


def test_deal_closing_on_as_of_minus_window_days_does_not_match(seg):
    tags = _deals(seg, [deal("d1", 1, days_before(365), "1", product_line="eco")])
    assert tags["1"]["interests"] is None


def test_deal_closing_before_the_window_does_not_match(seg):
    tags = _deals(seg, [deal("d1", 1, days_before(400), "1", product_line="eco")])
    assert tags["1"]["interests"] is None


def test_deal_closing_after_as_of_does_not_match(seg):
    future = (AS_OF + datetime.timedelta(days=5)).isoformat()
    tags = _deals(seg, [deal("d1", 1, future, "1", won=False, product_line="eco")])
    assert tags["1"]["interests"] is None


def test_deal_property_tags_every_associated_contact(seg):
    tags = _deals(seg, [deal("d1", 1, days_before(3), ["1", "2"], product_line="x;Eco")])
    assert tags["1"]["interests"] == tags["2"]["interests"] == "sustainability"


def test_deal_without_contacts_tags_nobody(seg):
    tags = _deals(seg, [deal("d1", 1, days_before(3), [], product_line="eco")])
    assert tags["1"]["interests"] is None and tags["2"]["interests"] is None


def test_contact_rule_does_not_look_at_deals_and_vice_versa(seg):
    rules = [
        {"tag": "c", "contact_property": "topics", "any_of": ["x"]},
        {"tag": "d", "deal_property": "product_line", "any_of": ["y"]},
    ]
    tags = seg(
        [contact("1", topics="y")],
        [deal("d1", 1, days_before(3), "1", product_line="x")],
        contact_properties=["topics"],
        deal_properties=["product_line"],
        interests=rules,
    )
    assert tags["1"]["interests"] is None


def test_no_rules_means_empty_interests(seg):
    tags = seg([contact("1", topics="eco")], [], contact_properties=["topics"])
    assert tags["1"]["interests"] is None


def test_case_insensitive_match_covers_non_ascii_letters(seg):
    rule = {"tag": "oeko", "contact_property": "topics", "any_of": ["öko"]}
    tags = _contacts(seg, ["ÖKOSTROM", "Bio-Öko", "oko"], rules=[rule])
    assert [tags[str(i)]["interests"] for i in range(3)] == ["oeko", "oeko", None]


def test_prospect_can_have_interests_from_an_open_deal(seg):
    tags = _deals(seg, [deal("d1", None, None, "2", won=False, product_line="Eco")])
    assert tags["2"]["interests"] == "sustainability"
    assert tags["2"]["lifecycle"] == "prospect"


def test_deal_interest_window_follows_window_days(seg):
    tags = seg(
        [contact("1"), contact("2")],
        [
            deal("d1", 1, days_before(30), "1", product_line="eco"),
            deal("d2", 1, days_before(29), "2", product_line="eco"),
        ],
        deal_properties=["product_line"],
        interests=[ECO_DEAL],
        window_days=30,
    )
    assert tags["1"]["interests"] is None
    assert tags["2"]["interests"] == "sustainability"
