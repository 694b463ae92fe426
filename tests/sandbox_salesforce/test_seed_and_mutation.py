"""The generator's dataset as an org, and the Python API tests use to change it."""

from __future__ import annotations

from collections import Counter
from datetime import date
from decimal import Decimal

from simple_salesforce import Salesforce

from connectors.sandbox.generator import generate
from connectors.sandbox.salesforce.app import SalesforceStandIn


def test_seeded_org_mirrors_the_generated_dataset(
    sf_server: SalesforceStandIn, sf: Salesforce
) -> None:
    ds = generate(seed=7, contacts=60)
    assert sf.query_all("SELECT Id FROM Account")["totalSize"] == len(ds.companies)
    assert sf.query_all("SELECT Id FROM Contact")["totalSize"] == len(ds.contacts)
    assert sf.query_all("SELECT Id FROM Opportunity")["totalSize"] == len(ds.deals)
    won = sf.query_all("SELECT Id FROM Opportunity WHERE IsWon = true")["totalSize"]
    assert won == sum(d.stage == "won" for d in ds.deals)
    amounts = {r["Amount"] for r in sf.query_all("SELECT Amount FROM Opportunity")["records"]}
    assert amounts == {d.amount for d in ds.deals}


def test_multi_contact_deals_have_several_roles_and_one_primary(sf: Salesforce) -> None:
    roles = sf.query_all(
        "SELECT OpportunityId, ContactId, IsPrimary, Opportunity.ContactId "
        "FROM OpportunityContactRole"
    )["records"]
    per_opp = Counter(r["OpportunityId"] for r in roles)
    assert max(per_opp.values()) > 1
    primaries = [r for r in roles if r["IsPrimary"]]
    assert len(primaries) == len(per_opp)
    assert all(r["Opportunity"]["ContactId"] == r["ContactId"] for r in primaries)


def test_adding_a_won_opportunity_creates_the_primary_role(
    sf_server: SalesforceStandIn, sf: Salesforce
) -> None:
    contact = sf.query("SELECT Id FROM Contact LIMIT 1")["records"][0]["Id"]
    opp = sf_server.add_won_opportunity(contact, Decimal("99.90"), date(2026, 6, 30))
    row = sf.query(
        f"SELECT IsWon, IsClosed, Amount, ContactId FROM Opportunity WHERE Id = '{opp}'"
    )["records"][0]
    assert (row["IsWon"], row["IsClosed"], row["ContactId"]) == (True, True, contact)
    role = sf.query(
        f"SELECT ContactId, IsPrimary FROM OpportunityContactRole WHERE OpportunityId = '{opp}'"
    )["records"]
    assert [(r["ContactId"], r["IsPrimary"]) for r in role] == [(contact, True)]


def test_mutations_bump_system_modstamp(sf_server: SalesforceStandIn, sf: Salesforce) -> None:
    contact = sf.query("SELECT Id, SystemModstamp FROM Contact ORDER BY SystemModstamp LIMIT 1")[
        "records"
    ][0]
    sf_server.update(contact["Id"], Title="Changed")
    after = sf.Contact.get(contact["Id"])["SystemModstamp"]
    assert after > contact["SystemModstamp"]


def test_deleting_a_record_bumps_its_modstamp_for_query_all_cursors(
    sf_server: SalesforceStandIn, sf: Salesforce
) -> None:
    opp = sf.query("SELECT Id, SystemModstamp FROM Opportunity ORDER BY SystemModstamp LIMIT 1")[
        "records"
    ][0]
    sf_server.delete(opp["Id"])
    cut = opp["SystemModstamp"][:19] + "Z"
    rows = sf.query_all(
        f"SELECT Id FROM Opportunity WHERE IsDeleted = true AND SystemModstamp > {cut}",
        include_deleted=True,
    )["records"]
    assert [r["Id"] for r in rows] == [opp["Id"]]


def test_same_seed_gives_the_same_org() -> None:
    first = SalesforceStandIn(seed=11, contacts=20)
    second = SalesforceStandIn(seed=11, contacts=20)
    names = [sorted(r["LastName"] for r in s.org.live("Contact")) for s in (first, second)]
    ids = [sorted(s.org.records["Opportunity"]) for s in (first, second)]
    assert names[0] == names[1] and ids[0] == ids[1]


def test_an_injected_clock_stamps_every_change() -> None:
    from datetime import UTC, datetime, timedelta

    now = [datetime(2026, 2, 1, 12, 0, tzinfo=UTC)]
    with SalesforceStandIn(contacts=3, clock=lambda: now[0]) as server:
        rid = server.insert("Contact", LastName="Timed")
        now[0] += timedelta(hours=1)
        server.update(rid, Title="Later")
        rec = server.client().Contact.get(rid)
        assert rec["CreatedDate"] == "2026-02-01T12:00:00.000+0000"
        assert rec["SystemModstamp"] == "2026-02-01T13:00:00.000+0000"
