"""Property-based invariants of docs/SEGMENTS.md over small random data sets."""

from __future__ import annotations

import datetime
import random
import tempfile
from fractions import Fraction
from pathlib import Path

from conftest import AS_OF, contact, deal, run_segmentation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def examples(n: int) -> settings:
    """``n`` examples per 100 of the profile's ``max_examples``; no example database.

    Each example segments a data set in DuckDB (about 0.15 s, nearly all of it per SQL
    statement, not per row: a smaller data set is not cheaper), so the default profile's
    ``n`` keeps each test near 1.5 s; ``HYPOTHESIS_PROFILE=thorough`` (``tests/conftest.py``)
    runs ten times as many.
    """
    return settings(
        max_examples=max(1, n * settings.default.max_examples // 100),
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


SETTINGS = examples(8)
ID_POOL = ["1", "2", "9", "10", "11", "a", "B"]
AMOUNTS = st.one_of(
    st.sampled_from([None, "0", "0.10", "0.20", "0.30", "100", "-5", "33.33", "50"]),
    st.integers(-500, 20000).map(lambda c: f"{c / 100:.2f}" if c % 7 else str(c)),
)
OFFSETS = st.one_of(
    st.none(), st.sampled_from([-3, 0, 1, 364, 365, 366, 730]), st.integers(-5, 800)
)
GRID = {
    5: ["new_customer", "potential_loyalist", "potential_loyalist", "champion", "champion"],
    4: ["promising", "potential_loyalist", "potential_loyalist", "loyal", "loyal"],
    3: ["about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"],
    2: ["hibernating", "hibernating", "at_risk", "at_risk", "cannot_lose"],
    1: ["hibernating", "hibernating", "at_risk", "at_risk", "cannot_lose"],
}


@st.composite
def datasets(draw):
    ids = draw(st.lists(st.sampled_from(ID_POOL), min_size=1, max_size=6, unique=True))
    n_deals = draw(st.integers(0, 9))
    deals = []
    for k in range(n_deals):
        offset = draw(OFFSETS)
        close = None if offset is None else (AS_OF - datetime.timedelta(days=offset)).isoformat()
        who = draw(st.lists(st.sampled_from(ids), max_size=3, unique=True))
        deals.append(deal(f"d{k}", draw(AMOUNTS), close, who, won=draw(st.booleans())))
    return [contact(i) for i in ids], deals


def run(contacts, deals, **kwargs):
    with tempfile.TemporaryDirectory() as tmp:
        result = run_segmentation(Path(tmp), contacts, deals, **kwargs)
        return {cid: tuple(tags.values()) for cid, tags in result.items()}, result


def metrics(contacts, deals, as_of=AS_OF, window=365):
    """Independent recomputation of revenue, frequency and recency per contact."""
    out = {
        c["id"]: {"revenue": Fraction(0), "frequency": 0, "latest": None, "dates": []}
        for c in contacts
    }
    for d in deals:
        if d["won"] != "true" or not d["close_date"] or not d["contact_ids"]:
            continue
        close = datetime.date.fromisoformat(d["close_date"])
        if close > as_of:
            continue
        who = d["contact_ids"].split(";")
        share = Fraction(d["amount"] or "0") / len(who)
        for cid in who:
            m = out[cid]
            m["latest"] = close if m["latest"] is None else max(m["latest"], close)
            m["dates"].append(close)
            if (as_of - close).days < window:
                m["revenue"] += share
                m["frequency"] += 1
    for m in out.values():
        m["recency"] = None if m["latest"] is None else (as_of - m["latest"]).days
        m["dates"].sort()
    return out


def reference_abc(ms):
    """ABC exactly as docs/SEGMENTS.md states it, on exact fractions."""
    customers = [c for c, m in ms.items() if m["latest"] is not None]
    total = sum((ms[c]["revenue"] for c in customers if ms[c]["revenue"] > 0), Fraction(0))
    classes = {}
    for c in customers:
        rev = ms[c]["revenue"]
        if total == 0 or rev <= 0:
            classes[c] = "C"
        else:
            # v2: only strictly greater revenues come before (equal revenue, equal class)
            before = (
                sum((ms[o]["revenue"] for o in customers if ms[o]["revenue"] > rev), Fraction(0))
                / total
            )
            classes[c] = (
                "A" if before < Fraction("0.80") else ("B" if before < Fraction("0.95") else "C")
            )
    return classes


def reference_lifecycle(m, as_of=AS_OF):
    dates = m["dates"]
    if not dates:
        return "prospect"
    if m["recency"] > 365:
        return "inactive"
    if m["recency"] > 180:
        return "at_risk"
    if len(dates) >= 2 and (dates[-1] - dates[-2]).days > 365:
        return "reactivated"
    if (as_of - dates[0]).days <= 90:
        return "new"
    if m["frequency"] >= 3:
        return "loyal"
    if len(dates) >= 2:
        return "repeat"
    return "active"


@SETTINGS
@given(datasets())
def test_rfm_scores_are_always_1_to_5_and_empty_for_non_customers(data):
    contacts, deals = data
    _, tags = run(contacts, deals)
    ms = metrics(contacts, deals)
    for cid, t in tags.items():
        if ms[cid]["latest"] is None:
            assert (t["rfm_r"], t["rfm_f"], t["rfm_m"], t["rfm_score"], t["rfm_segment"]) == (
                None,
                None,
                None,
                None,
                None,
            )
            assert t["abc"] is None and t["abc_trend"] is None and t["lifecycle"] == "prospect"
        else:
            for letter in ("rfm_r", "rfm_f", "rfm_m"):
                assert 1 <= t[letter] <= 5
            assert t["rfm_score"] == f"{t['rfm_r']}{t['rfm_f']}{t['rfm_m']}"
            assert t["rfm_segment"] == GRID[t["rfm_r"]][t["rfm_f"] - 1]


@examples(8)
@given(datasets())
def test_lifecycle_matches_first_matching_rule(data):
    contacts, deals = data
    _, tags = run(contacts, deals)
    ms = metrics(contacts, deals)
    for cid, t in tags.items():
        assert t["lifecycle"] == reference_lifecycle(ms[cid]), ms[cid]


@SETTINGS
@given(datasets())
def test_equal_values_get_equal_scores_and_scores_follow_the_formula(data):
    contacts, deals = data
    _, tags = run(contacts, deals)
    ms = metrics(contacts, deals)
    customers = [c for c, m in ms.items() if m["latest"] is not None]
    active = [c for c in customers if ms[c]["frequency"] > 0]
    # higher is better for every key below (R: smaller recency is better); v2: R ranks
    # among all customers, F and M among the active, the inactive score F = M = 1
    keys = {
        "rfm_r": (lambda m: -m["recency"], customers),
        "rfm_f": (lambda m: m["frequency"], active),
        "rfm_m": (lambda m: m["revenue"], active),
    }
    for letter, (key, group) in keys.items():
        for a in group:
            for b in group:
                if key(ms[a]) == key(ms[b]):
                    assert tags[a][letter] == tags[b][letter]
                elif key(ms[a]) > key(ms[b]):
                    assert tags[a][letter] >= tags[b][letter]
            worse = sum(1 for b in group if key(ms[b]) < key(ms[a]))
            assert tags[a][letter] == min(5, 1 + (5 * worse) // len(group))
        for a in customers:
            if a not in group:
                assert tags[a][letter] == 1


@SETTINGS
@given(datasets())
def test_every_a_revenue_at_least_every_b_at_least_every_c(data):
    contacts, deals = data
    _, tags = run(contacts, deals)
    ms = metrics(contacts, deals)
    by_class: dict[str, list[Fraction]] = {"A": [], "B": [], "C": []}
    for cid, t in tags.items():
        if t["abc"] is not None:
            by_class[t["abc"]].append(ms[cid]["revenue"])
    for hi, lo in (("A", "B"), ("B", "C"), ("A", "C")):
        if by_class[hi] and by_class[lo]:
            assert min(by_class[hi]) >= max(by_class[lo])
    assert all(r > 0 for r in by_class["A"] + by_class["B"])
    # and the classes are exactly the Pareto walk of docs/SEGMENTS.md, trend included
    now = reference_abc(ms)
    before = reference_abc(metrics(contacts, deals, AS_OF - datetime.timedelta(days=365)))
    rank = {"A": 3, "B": 2, "C": 1}
    for cid, t in tags.items():
        assert t["abc"] == now.get(cid)
        if cid not in now:
            expected_trend = None
        elif cid not in before:
            expected_trend = "new"
        else:
            diff = rank[now[cid]] - rank[before[cid]]
            expected_trend = "up" if diff > 0 else ("down" if diff < 0 else "same")
        assert t["abc_trend"] == expected_trend, (cid, now, before)


@examples(4)
@given(datasets(), st.randoms(use_true_random=False))
def test_shuffling_input_rows_never_changes_output(data, rnd: random.Random):
    contacts, deals = data
    first, _ = run(contacts, deals)
    contacts2 = contacts[:]
    rnd.shuffle(contacts2)
    deals2 = []
    for d in deals:
        d2 = dict(d)
        who = d["contact_ids"].split(";") if d["contact_ids"] else []
        rnd.shuffle(who)
        d2["contact_ids"] = ";".join(who)
        deals2.append(d2)
    rnd.shuffle(deals2)
    second, _ = run(contacts2, deals2)
    assert first == second


@examples(3)
@given(datasets())
def test_same_data_and_as_of_give_identical_output(data):
    contacts, deals = data
    first, r1 = run(contacts, deals)
    second, r2 = run(contacts, deals)
    assert first == second
    assert r1.order == r2.order == sorted(first)
    assert r1.report == r2.report


@st.composite
def company_datasets(draw):
    companies = ["co1", "co2", "10", "9"]
    ids = draw(st.lists(st.sampled_from(ID_POOL), min_size=1, max_size=6, unique=True))
    contacts = [contact(i, company_id=draw(st.sampled_from([*companies, ""]))) for i in ids]
    deals = []
    for k in range(draw(st.integers(0, 7))):
        offset = draw(OFFSETS)
        close = None if offset is None else (AS_OF - datetime.timedelta(days=offset)).isoformat()
        deals.append(
            deal(
                f"d{k}",
                draw(AMOUNTS),
                close,
                draw(st.lists(st.sampled_from(ids), max_size=2, unique=True)),
                won=draw(st.booleans()),
                companies=draw(st.lists(st.sampled_from(companies), max_size=2, unique=True)),
            )
        )
    return contacts, deals, [{"id": c, "name": c} for c in companies]


@examples(5)
@given(company_datasets())
def test_company_level_contacts_inherit_company_tags_and_loners_are_prospects(data):
    contacts, deals, companies = data
    _, tags = run(contacts, deals, companies=companies, level="company")
    inherited = [
        "abc",
        "abc_trend",
        "rfm_r",
        "rfm_f",
        "rfm_m",
        "rfm_score",
        "rfm_segment",
        "lifecycle",
    ]
    by_company: dict[str, list] = {}
    for c in contacts:
        t = tags[c["id"]]
        if not c["company_id"]:
            assert t["lifecycle"] == "prospect"
            assert all(t[k] is None for k in inherited if k != "lifecycle")
        else:
            by_company.setdefault(c["company_id"], []).append([t[k] for k in inherited])
    for rows in by_company.values():
        assert all(r == rows[0] for r in rows)
    # orphans: deals without a company
    assert tags.report.orphan_deals == sum(1 for d in deals if not d["company_ids"])
    # company metrics recomputed with companies in place of contacts
    as_contacts = [{"id": c["id"]} for c in companies]
    as_deals = [dict(d, contact_ids=d["company_ids"]) for d in deals]
    ms = metrics(as_contacts, as_deals)
    for c in contacts:
        if c["company_id"]:
            expected = reference_lifecycle(ms[c["company_id"]])
            assert tags[c["id"]]["lifecycle"] == expected
            assert tags[c["id"]]["abc"] == reference_abc(ms).get(c["company_id"])


EMAILS = [
    "",
    " ",
    "a@b.co",
    "A@B.CO",
    " a@b.co ",
    "foo",
    "FOO",
    "a@b",
    "x@@y.z",
    "@y.z",
    "x@y.",
    "Ö@x.de",
    "ö@x.de",
]
VALUES = ["", "eco", "ECO-line", "green;x", "x; GrEen", "ec;o", "Öko", "none", None]
INTEREST_RULES = [
    {"tag": "eco", "contact_property": "topics", "any_of": ["eco", "öko"]},
    {"tag": "green", "deal_property": "product_line", "any_of": ["GREEN"]},
    {"tag": "eco", "deal_property": "product_line", "any_of": ["ec"]},
]


def reference_interests(contact_row, deals, as_of=AS_OF, window=365):
    def matches(value, terms):
        parts = (value or "").split(";")
        return any(t.lower() in p.lower() for p in parts for t in terms)

    tags = set()
    for rule in INTEREST_RULES:
        if "contact_property" in rule:
            if matches(contact_row.get("topics"), rule["any_of"]):
                tags.add(rule["tag"])
            continue
        for d in deals:
            if contact_row["id"] not in (d["contact_ids"].split(";") if d["contact_ids"] else []):
                continue
            if d["close_date"]:
                days = (as_of - datetime.date.fromisoformat(d["close_date"])).days
                if not 0 <= days < window:
                    continue
            if matches(d.get("product_line"), rule["any_of"]):
                tags.add(rule["tag"])
    return ";".join(sorted(tags)) or None


def reference_quality(c, contacts):
    email = c["email"].strip()
    issues = []
    if email == "":
        issues.append("missing_email")
    else:
        local, _, domain = email.partition("@")
        if not (email.count("@") == 1 and local and domain and "." in domain):
            issues.append("invalid_email")
        if sum(1 for o in contacts if o["email"].strip().lower() == email.lower()) > 1:
            issues.append("duplicate_email")
    if c["first_name"] == "" and c["last_name"] == "":
        issues.append("missing_name")
    if c["country"] == "":
        issues.append("missing_country")
    return ";".join(sorted(issues)) or None


@st.composite
def people_datasets(draw):
    ids = draw(st.lists(st.sampled_from(ID_POOL), min_size=1, max_size=6, unique=True))
    contacts = [
        contact(
            i,
            email=draw(st.sampled_from(EMAILS)),
            first_name=draw(st.sampled_from(["", "Ann"])),
            last_name=draw(st.sampled_from(["", "Lee"])),
            country=draw(st.sampled_from(["", "DE"])),
            topics=draw(st.sampled_from(VALUES)),
        )
        for i in ids
    ]
    deals = []
    for k in range(draw(st.integers(0, 6))):
        offset = draw(OFFSETS)
        close = None if offset is None else (AS_OF - datetime.timedelta(days=offset)).isoformat()
        deals.append(
            deal(
                f"d{k}",
                "1",
                close,
                draw(st.lists(st.sampled_from(ids), max_size=3, unique=True)),
                won=draw(st.booleans()),
                product_line=draw(st.sampled_from(VALUES)),
            )
        )
    return contacts, deals


@examples(8)
@given(people_datasets())
def test_interests_and_data_quality_match_their_definitions(data):
    contacts, deals = data
    _, tags = run(
        contacts,
        deals,
        contact_properties=["topics"],
        deal_properties=["product_line"],
        interests=INTEREST_RULES,
    )
    for c in contacts:
        assert tags[c["id"]]["interests"] == reference_interests(c, deals), c
        assert tags[c["id"]]["data_quality"] == reference_quality(c, contacts), c


# -- v2: hygiene checks, property families and rule families, re-implemented -----------

SALUTATIONS = ["", " ", "Dr", "Ms"]
ADDRESS = ["", " ", "Hauptstraße 1", "10115", "Berlin"]
RAW_VALUES = [
    "",
    "  ",
    "Lebensmittel & Getränke",
    "lebensmittel  &  getränke ",
    "STEEL",
    " steel",
    "Messe München",
    "--",
    "B2B/SaaS",
    None,
]
MAP = {"Steel": "steel", "LEBENSMITTEL & GETRÄNKE": "food"}


def reference_quality_v2(c, contacts, checks):
    issues = set((reference_quality(c, contacts) or "").split(";")) - {""}
    if c["salutation"].strip() == "":
        issues.add("missing_salutation")
    if any(c[k].strip() == "" for k in ("street", "postal_code", "city")):
        issues.add("missing_address")
    return ";".join(sorted(i for i in issues if i in checks)) or None


def reference_normalise(raw):
    out, word = [], ""
    for ch in raw.lower():
        if ch.isalnum():
            word += ch
        elif word:
            out.append(word)
            word = ""
    if word:
        out.append(word)
    return "_".join(out)


def reference_property(raw, mapping):
    if raw is None or raw.strip() == "":
        return None
    if mapping is not None:
        folded = {k.strip().lower(): v for k, v in mapping.items()}
        return folded.get(raw.strip().lower(), "other")
    return reference_normalise(raw.strip()) or None


CHECKS = st.lists(
    st.sampled_from(
        [
            "duplicate_email",
            "invalid_email",
            "missing_address",
            "missing_country",
            "missing_email",
            "missing_name",
            "missing_salutation",
        ]
    ),
    unique=True,
)


@st.composite
def hygiene_datasets(draw):
    ids = draw(st.lists(st.sampled_from(ID_POOL), min_size=1, max_size=6, unique=True))
    contacts = [
        contact(
            i,
            email=draw(st.sampled_from(EMAILS)),
            salutation=draw(st.sampled_from(SALUTATIONS)),
            street=draw(st.sampled_from(ADDRESS)),
            postal_code=draw(st.sampled_from(ADDRESS)),
            city=draw(st.sampled_from(ADDRESS)),
            source=draw(st.sampled_from(RAW_VALUES)),
        )
        for i in ids
    ]
    return contacts, draw(CHECKS)


@examples(8)
@given(hygiene_datasets())
def test_v2_quality_checks_and_property_families_match_their_definitions(data):
    contacts, checks = data
    families = [
        {"family": "plain", "contact_property": "source"},
        {"family": "mapped", "contact_property": "source", "map": MAP},
    ]
    _, tags = run(contacts, [], quality_checks=checks, properties=families)
    for c in contacts:
        t = tags[c["id"]]
        assert t["data_quality"] == reference_quality_v2(c, contacts, checks), c
        assert t["plain"] == reference_property(c["source"], None), c
        assert t["mapped"] == reference_property(c["source"], MAP), c


RULE_VALUES = st.fixed_dictionaries(
    {},
    optional={
        "abc": st.lists(st.sampled_from(["A", "B", "C"]), min_size=1, unique=True),
        "lifecycle": st.lists(
            st.sampled_from(
                [
                    "prospect",
                    "new",
                    "active",
                    "repeat",
                    "loyal",
                    "at_risk",
                    "inactive",
                    "reactivated",
                ]
            ),
            min_size=1,
            unique=True,
        ),
        "revenue_min": st.sampled_from(["0", "0.10", "33.33", "100"]),
        "revenue_max": st.sampled_from(["0", "0.30", "50", "100"]),
        "frequency_min": st.integers(0, 3),
        "frequency_max": st.integers(0, 3),
        "purchases_min": st.integers(0, 3),
        "recency_max": st.sampled_from([0, 1, 364, 365, 400]),
        "average_order_max": st.sampled_from(["0", "0.10", "33.34", "100"]),
    },
)


def reference_rule(values, t, m, ever):
    for v in values:
        ok = True
        for key in ("abc", "lifecycle"):
            if key in v:
                ok &= t[key] in v[key]
        revenue, freq = m["revenue"], m["frequency"]
        if "revenue_min" in v:
            ok &= revenue >= Fraction(v["revenue_min"])
        if "revenue_max" in v:
            ok &= revenue <= Fraction(v["revenue_max"])
        if "frequency_min" in v:
            ok &= freq >= v["frequency_min"]
        if "frequency_max" in v:
            ok &= freq <= v["frequency_max"]
        if "purchases_min" in v:
            ok &= ever >= v["purchases_min"]
        if "recency_max" in v:
            ok &= m["recency"] is not None and m["recency"] <= v["recency_max"]
        if "average_order_max" in v:
            ok &= freq > 0 and revenue / freq <= Fraction(v["average_order_max"])
        if ok:
            return v["value"]
    return None


@examples(8)
@given(datasets(), st.lists(RULE_VALUES, min_size=1, max_size=3))
def test_v2_rule_families_give_the_first_value_whose_conditions_all_hold(data, conditions):
    contacts, deals = data
    values = [dict(c, value=f"v{i}") for i, c in enumerate(conditions)]
    _, tags = run(contacts, deals, rules=[{"family": "tier", "values": values}])
    ms = metrics(contacts, deals)
    for cid, t in tags.items():
        assert t["tier"] == reference_rule(values, t, ms[cid], len(ms[cid]["dates"])), (
            cid,
            ms[cid],
            t,
        )
