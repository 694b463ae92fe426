"""docs/SEGMENTS.md "Who is segmented": level = "company"."""

from conftest import contact, days_before, deal

COMPANIES = [{"id": i, "name": f"Co {i}"} for i in ("co1", "co2", "co3", "10", "9")]


def test_contacts_inherit_their_company_tags(seg):
    contacts = [
        contact("1", company_id="co1"),
        contact("2", company_id="co1"),
        contact("3", company_id="co2"),
    ]
    deals = [
        deal("d1", 90, days_before(10), "1", companies=["co1"]),
        deal("d2", 10, days_before(100), "3", companies=["co2"]),
    ]
    tags = seg(contacts, deals, companies=COMPANIES, level="company")
    keys = ["abc", "abc_trend", "rfm_r", "rfm_f", "rfm_m", "rfm_score", "rfm_segment", "lifecycle"]
    assert [tags["1"][k] for k in keys] == [tags["2"][k] for k in keys]
    assert tags["1"]["abc"] == "A" and tags["1"]["lifecycle"] == "new"
    # n = 2 companies: co1 more recent and more revenue, equal frequency 1
    assert tags["2"]["rfm_score"] == "313"
    assert tags["3"]["abc"] == "B" and tags["3"]["lifecycle"] == "active"
    assert tags["3"]["rfm_score"] == "111"


def test_purchase_is_credited_to_companies_not_to_listed_contacts(seg):
    # the deal lists contact 2 (company co2) but is credited to company co1
    contacts = [contact("1", company_id="co1"), contact("2", company_id="co2")]
    deals = [deal("d1", 50, days_before(10), "2", companies=["co1"])]
    tags = seg(contacts, deals, companies=COMPANIES, level="company")
    assert tags["1"]["lifecycle"] == "new"
    assert tags["2"]["lifecycle"] == "prospect"
    assert tags["2"]["abc"] is None


def test_contact_without_company_is_a_prospect(seg):
    contacts = [contact("1", company_id="co1"), contact("2")]
    deals = [deal("d1", 50, days_before(10), ["1", "2"], companies=["co1"])]
    tags = seg(contacts, deals, companies=COMPANIES, level="company")
    assert tags["2"]["lifecycle"] == "prospect"
    assert tags["2"]["abc"] is None and tags["2"]["rfm_score"] is None
    assert tags["2"]["abc_trend"] is None


def test_deal_without_company_is_an_orphan_at_company_level(seg):
    contacts = [contact("1", company_id="co1")]
    deals = [
        deal("d1", 50, days_before(10), "1"),
        deal("d2", 5, days_before(10), "1", companies=["co2"]),
    ]
    tags = seg(contacts, deals, companies=COMPANIES, level="company")
    assert tags.report.orphan_deals == 1
    assert tags["1"]["lifecycle"] == "prospect"


def test_amount_is_split_equally_among_companies(seg):
    contacts = [
        contact("1", company_id="co1"),
        contact("2", company_id="co2"),
        contact("3", company_id="co3"),
    ]
    deals = [
        deal("d1", 100, days_before(10), [], companies=["co1", "co2"]),
        deal("d2", "49.99", days_before(10), [], companies=["co3"]),
    ]
    tags = seg(contacts, deals, companies=COMPANIES, level="company")
    # revenues 50, 50, 49.99: worse 1, 1, 0 -> 2, 2, 1
    assert [tags[c]["rfm_m"] for c in "123"] == [2, 2, 1]
    assert tags.report.orphan_deals == 0


def test_companies_with_equal_revenue_share_their_class(seg):
    contacts = [
        contact("a", company_id="co1"),
        contact("b", company_id="10"),
        contact("c", company_id="9"),
    ]
    deals = [
        deal("d1", 90, days_before(10), [], companies=["co1"]),
        deal("d2", 5, days_before(10), [], companies=["10"]),
        deal("d3", 5, days_before(10), [], companies=["9"]),
    ]
    tags = seg(contacts, deals, companies=COMPANIES, level="company")
    # "10" and "9" both have before = 0.90 (v1 walked them by id: B, C)
    assert [tags[c]["abc"] for c in "abc"] == ["A", "B", "B"]


def test_companies_without_contacts_still_count_as_customers(seg):
    contacts = [contact("1", company_id="co1")]
    deals = [
        deal("d1", 1, days_before(10), [], companies=["co1"]),
        deal("d2", 1, days_before(11), [], companies=["co1"]),
        deal("d3", 1, days_before(10), [], companies=["co2"]),
    ]
    tags = seg(contacts, deals, companies=COMPANIES, level="company")
    # n = 2 companies: co1 has the better frequency -> 1 + floor(5/2) = 3
    assert tags["1"]["rfm_f"] == 3
    assert tags.report.customers == 2


def test_interests_and_quality_stay_per_contact_at_company_level(seg):
    contacts = [
        contact("1", company_id="co1", topics="eco"),
        contact("2", company_id="co1", topics="", country=""),
        contact("3", company_id="co1", topics=""),
    ]
    deals = [deal("d1", 10, days_before(10), "3", companies=["co1"], product_line="Green")]
    tags = seg(
        contacts,
        deals,
        companies=COMPANIES,
        level="company",
        contact_properties=["topics"],
        deal_properties=["product_line"],
        interests=[
            {"tag": "eco", "contact_property": "topics", "any_of": ["eco"]},
            {"tag": "green", "deal_property": "product_line", "any_of": ["green"]},
        ],
    )
    assert tags["1"]["interests"] == "eco"
    assert tags["2"]["interests"] is None
    assert tags["3"]["interests"] == "green"
    assert tags["2"]["data_quality"] == "missing_country"
    assert tags["1"]["data_quality"] is None
    assert tags["1"]["abc"] == tags["2"]["abc"] == tags["3"]["abc"] == "A"


def test_company_level_without_companies_csv(seg):
    contacts = [contact("1", company_id="co1"), contact("2", company_id="co1")]
    deals = [deal("d1", 10, days_before(10), [], companies=["co1"])]
    tags = seg(contacts, deals, level="company")
    assert tags["1"]["abc"] == tags["2"]["abc"] == "A"
