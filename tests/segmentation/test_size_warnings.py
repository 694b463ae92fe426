"""docs/SEGMENTS.md "Segment size warnings": values held by 1 .. min_segment_size - 1 contacts."""

from __future__ import annotations

from conftest import contact, days_before, deal


def _warned(tags):
    return {(w.family, w.value): w.contacts for w in tags.report.warnings}


def test_small_values_are_warned_per_family_and_tags_do_not_change(seg):
    contacts = [contact(str(i)) for i in range(1, 6)] + [contact("6", email="")]
    deals = [deal("d1", "10", days_before(5), "1")]
    plain = seg(contacts, deals, min_segment_size=0)
    tags = seg(contacts, deals, min_segment_size=5)
    assert {c: dict(t) for c, t in tags.items()} == {c: dict(t) for c, t in plain.items()}
    assert plain.report.warnings == ()
    warned = _warned(tags)
    # one customer: abc A, trend new, R 1 F 1 (hibernating), lifecycle new -> 1 each
    assert warned[("abc", "A")] == 1
    assert warned[("abc_trend", "new")] == 1
    assert warned[("rfm_segment", "hibernating")] == 1
    assert warned[("lifecycle", "new")] == 1
    assert warned[("data_quality", "missing_email")] == 1
    # five prospects: not fewer than 5
    assert ("lifecycle", "prospect") not in warned


def test_boundary_is_strictly_fewer_than_min_segment_size(seg):
    contacts = [contact(str(i)) for i in range(1, 4)]
    assert ("lifecycle", "prospect") in _warned(seg(contacts, min_segment_size=4))
    assert ("lifecycle", "prospect") not in _warned(seg(contacts, min_segment_size=3))


def test_multi_values_count_per_single_value_and_families_are_counted(seg):
    contacts = [
        contact("1", email="", first_name="", last_name="", source="Web"),
        contact("2", email="", source="Web"),
        contact("3", source="Fair"),
    ]
    rules = [{"family": "vip", "values": [{"value": "no", "revenue_max": "0"}]}]
    tags = seg(
        contacts,
        properties=[{"family": "channel", "contact_property": "source"}],
        rules=rules,
        min_segment_size=3,
    )
    warned = _warned(tags)
    assert warned[("data_quality", "missing_email")] == 2
    assert warned[("data_quality", "missing_name")] == 1
    assert warned[("channel", "web")] == 2 and warned[("channel", "fair")] == 1
    assert ("vip", "no") not in warned  # 3 contacts
    families = [w.family for w in tags.report.warnings]
    assert families == sorted(
        families, key=["lifecycle", "channel", "vip", "interests", "data_quality"].index
    )


def test_company_level_counts_contacts(seg):
    contacts = [contact(str(i), company_id="k1") for i in range(1, 4)]
    deals = [deal("d1", "10", days_before(5), [], companies=["k1"])]
    tags = seg(
        contacts, deals, companies=[{"id": "k1", "name": "K"}], level="company", min_segment_size=4
    )
    assert _warned(tags)[("abc", "A")] == 3
