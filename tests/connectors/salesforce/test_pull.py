"""Pulls through SalesforceConnector against the stand-in: full and incremental, key-set
paging over shared timestamps, deletions, role changes, Bulk 2.0 and the field whitelist."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from connectors.base import Company, Contact, Cursor, Deal, ObjectType, Page
from connectors.errors import ConfigError
from connectors.salesforce import SalesforceConnector, from_api_name, to_api_name
from connectors.salesforce.records import parse_datetime
from connectors.sandbox.salesforce import SalesforceStandIn
from tests.connectors.salesforce.conftest import session_for

JOBS = r"/jobs/query$"


def pull_all(
    connector: SalesforceConnector,
    object_type: ObjectType,
    since: Cursor | None = None,
    properties: tuple[str, ...] = (),
) -> tuple[list[Any], list[str], list[Page[Any]]]:
    pages = list(connector.pull(object_type, since, properties))
    records = [r for p in pages for r in p.records]
    deleted = [d for p in pages for d in p.deleted_ids]
    return records, deleted, pages


def live(server: SalesforceStandIn, sobject: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in server.org.records[sobject].items() if not v["IsDeleted"]}


def just_before_now() -> Cursor:
    now = datetime.now(UTC)
    time.sleep(0.01)
    return Cursor(now, None)


@pytest.fixture(scope="module")
def shared_stamp_server() -> Iterator[SalesforceStandIn]:
    """250 contacts that all carry ONE SystemModstamp (a bulk update)."""
    with SalesforceStandIn(seed=5, contacts=250) as server:
        stamp = datetime(2026, 3, 31, 23, 59, 59, tzinfo=UTC)
        for rec in server.org.records["Contact"].values():
            rec["SystemModstamp"] = stamp
        yield server


# -- names --------------------------------------------------------------------------------
def test_tag_fields_map_to_custom_field_names_and_back() -> None:
    assert to_api_name("crmseg_abc") == "crmseg_abc__c"
    assert to_api_name("crmseg_abc__c") == "crmseg_abc__c"
    assert to_api_name("LeadSource") == "LeadSource"
    assert from_api_name("crmseg_abc__c") == "crmseg_abc"
    assert from_api_name("Industry__c") == "Industry__c"


@pytest.mark.parametrize(
    "evil",
    ["Id FROM User --", "Email, (SELECT Id FROM Cases)", "Name' OR Name != '", "Account.Name"],
)
def test_a_property_name_that_is_not_a_field_name_is_rejected_before_any_request(
    sf_server: SalesforceStandIn, connector: SalesforceConnector, evil: str
) -> None:
    with pytest.raises(ConfigError, match="is not a Salesforce field name") as exc:
        pull_all(connector, "contact", None, ("LeadSource", evil))
    assert repr(evil) in str(exc.value)
    assert len(sf_server.log.entries) == 0


# -- full pulls -------------------------------------------------------------------------------
def test_full_contact_pull_equals_the_org(
    sf_server: SalesforceStandIn, connector: SalesforceConnector
) -> None:
    records, deleted, _ = pull_all(connector, "contact", None, ("LeadSource", "crmseg_abc"))
    org = live(sf_server, "Contact")
    assert sorted(r.id for r in records) == sorted(org)
    assert deleted == []
    first = sorted(org)[0]
    want = org[first]
    got = next(r for r in records if r.id == first)
    assert got == Contact(
        id=first,
        email=want["Email"],
        first_name=want["FirstName"],
        last_name=want["LastName"],
        salutation=want["Salutation"],  # standard Contact fields since segments v2
        country=want["MailingCountry"],
        company_id=want["AccountId"],
        properties={"LeadSource": want["LeadSource"], "crmseg_abc": None},
        updated_at=want["SystemModstamp"],
        street=want["MailingStreet"],
        postal_code=want["MailingPostalCode"],
        city=want["MailingCity"],
    )
    assert connector.puller.missing["contact"] == ["crmseg_abc"]


def test_full_company_pull_equals_the_org(
    sf_server: SalesforceStandIn, connector: SalesforceConnector
) -> None:
    records, _, _ = pull_all(connector, "company", None, ("Industry",))
    org = live(sf_server, "Account")
    assert {r.id: (r.name, r.properties["Industry"]) for r in records} == {
        k: (v["Name"], v["Industry"]) for k, v in org.items()
    }
    assert all(isinstance(r, Company) for r in records)


def test_deal_contacts_come_from_every_role_deduplicated_and_sorted(
    sf_server: SalesforceStandIn, connector: SalesforceConnector
) -> None:
    opp = sorted(sf_server.ids["deal"].values())[0]
    contacts = sorted(sf_server.ids["contact"].values())
    roles = [
        r for r in live(sf_server, "OpportunityContactRole").values() if r["OpportunityId"] == opp
    ]
    before = {r["ContactId"] for r in roles}
    extra = next(c for c in reversed(contacts) if c not in before)
    sf_server.insert(
        "OpportunityContactRole", OpportunityId=opp, ContactId=extra, Role="Influencer"
    )
    sf_server.insert("OpportunityContactRole", OpportunityId=opp, ContactId=extra, Role="Other")
    records, _, _ = pull_all(connector, "deal")
    assert len(records) == len(live(sf_server, "Opportunity"))
    deal = next(r for r in records if r.id == opp)
    want = sf_server.org.records["Opportunity"][opp]
    assert deal == Deal(
        id=opp,
        amount=want["Amount"],
        close_date=want["CloseDate"],
        won=want["IsWon"],
        contact_ids=tuple(sorted(before | {extra})),
        company_ids=(want["AccountId"],) if want["AccountId"] else (),
        properties={},
        updated_at=want["SystemModstamp"],
    )
    assert isinstance(deal.amount, Decimal)


# -- incremental pulls ----------------------------------------------------------------------
def test_incremental_pull_returns_a_changed_contact_and_a_new_won_opportunity(
    sf_server: SalesforceStandIn, connector: SalesforceConnector
) -> None:
    since = just_before_now()
    contact = sorted(sf_server.ids["contact"].values())[3]
    sf_server.update(contact, LastName="Changed")
    opp = sf_server.add_won_opportunity(contact, Decimal("1234.50"), date(2026, 6, 1))
    contacts, deleted, pages = pull_all(connector, "contact", since)
    assert [(c.id, c.last_name) for c in contacts] == [(contact, "Changed")]
    assert deleted == []
    assert pages[-1].cursor is not None and pages[-1].cursor.last_id == contact
    deals, _, _ = pull_all(connector, "deal", since)
    assert [(d.id, d.amount, d.won, d.contact_ids) for d in deals] == [
        (opp, Decimal("1234.50"), True, (contact,))
    ]


def test_a_role_added_to_an_old_opportunity_re_yields_it_with_all_its_contacts(
    sf_server: SalesforceStandIn, connector: SalesforceConnector
) -> None:
    opp = sorted(sf_server.ids["deal"].values())[1]
    roles = live(sf_server, "OpportunityContactRole").values()
    before = {r["ContactId"] for r in roles if r["OpportunityId"] == opp}
    new = next(c for c in sorted(sf_server.ids["contact"].values()) if c not in before)
    since = just_before_now()
    sf_server.insert("OpportunityContactRole", OpportunityId=opp, ContactId=new, Role="Other")
    deals, _, pages = pull_all(connector, "deal", since)
    assert [(d.id, d.contact_ids) for d in deals] == [(opp, tuple(sorted(before | {new})))]
    assert pages[-1].cursor is not None and pages[-1].cursor.modified_at > since.modified_at


def test_a_deleted_role_re_yields_the_opportunity_without_that_contact(
    sf_server: SalesforceStandIn, connector: SalesforceConnector
) -> None:
    role_id, role = next(
        (k, v) for k, v in sorted(live(sf_server, "OpportunityContactRole").items())
    )
    opp = role["OpportunityId"]
    since = just_before_now()
    sf_server.delete(role_id)
    deals, _, _ = pull_all(connector, "deal", since)
    remaining = {
        r["ContactId"]
        for r in live(sf_server, "OpportunityContactRole").values()
        if r["OpportunityId"] == opp
    }
    assert [(d.id, d.contact_ids) for d in deals] == [(opp, tuple(sorted(remaining)))]


def _shared_stamp(server: SalesforceStandIn) -> datetime:
    stamps = {r["SystemModstamp"] for r in server.org.records["Contact"].values()}
    assert len(stamps) == 1
    return stamps.pop()


def test_rows_sharing_one_timestamp_across_pages_all_come_back_once(
    shared_stamp_server: SalesforceStandIn,
) -> None:
    server = shared_stamp_server
    stamp = _shared_stamp(server)
    connector = SalesforceConnector(session_for(server, query_page_size=200))
    records, _, pages = pull_all(connector, "contact", Cursor(stamp - timedelta(seconds=1)))
    assert len(pages) == 2  # 200 + 50: the boundary falls inside one timestamp
    assert sorted(r.id for r in records) == sorted(server.org.records["Contact"])
    assert len(records) == 250
    connector.session.close()


def test_an_expired_query_locator_restarts_after_the_last_row_yielded(
    shared_stamp_server: SalesforceStandIn,
) -> None:
    server = shared_stamp_server
    stamp = _shared_stamp(server)
    connector = SalesforceConnector(session_for(server, query_page_size=200))
    it = connector.pull("contact", Cursor(stamp), ())
    first = next(it)
    server.expire_query_cursors()
    rest = list(it)
    ids = [r.id for p in [first, *rest] for r in p.records]
    assert len(ids) == len(set(ids)) == 250
    assert first.cursor is not None and first.cursor.last_id == ids[199]
    calls = connector.api_calls()
    assert calls["queryAll"] == 2 and calls["query_more"] == 1  # page 2 failed: restarted
    connector.session.close()


def test_a_cursor_with_an_id_resumes_inside_a_shared_timestamp(
    shared_stamp_server: SalesforceStandIn,
) -> None:
    server = shared_stamp_server
    stamp = _shared_stamp(server)
    ids = sorted(server.org.records["Contact"])
    connector = SalesforceConnector(session_for(server))
    records, _, _ = pull_all(connector, "contact", Cursor(stamp, ids[99]))
    assert [r.id for r in records] == ids[100:]
    connector.session.close()


def test_a_cursor_with_milliseconds_is_exact() -> None:
    with SalesforceStandIn(seed=7, contacts=30) as server:
        stamp = datetime(2026, 1, 1, 12, 0, 0, 500_000, tzinfo=UTC)
        ids = sorted(server.org.records["Contact"])
        for i, cid in enumerate(ids):
            server.org.records["Contact"][cid]["SystemModstamp"] = stamp + timedelta(
                milliseconds=-250 if i < 10 else 0
            )
        connector = SalesforceConnector(session_for(server))
        records, _, _ = pull_all(connector, "contact", Cursor(stamp, ids[14]))
        assert [r.id for r in records] == ids[15:]
        connector.session.close()


def test_a_session_expiring_mid_pull_is_renewed_and_the_pull_completes(
    shared_stamp_server: SalesforceStandIn,
) -> None:
    server = shared_stamp_server
    connector = SalesforceConnector(session_for(server, query_page_size=200))
    it = connector.pull("contact", None, ())
    first = next(it)
    server.expire_sessions()
    rest = list(it)
    assert len(first.records) + sum(len(p.records) for p in rest) == 250
    assert connector.session.renewals == 1
    assert connector.api_calls()["oauth.token"] == 2
    connector.session.close()


# -- Bulk 2.0 -----------------------------------------------------------------------------------
def test_a_full_pull_above_the_threshold_reads_through_bulk_query_with_the_same_records(
    sf_server: SalesforceStandIn, connector: SalesforceConnector
) -> None:
    props = ("LeadSource", "HasOptedOutOfEmail", "crmseg_abc")
    rest_contacts, _, _ = pull_all(connector, "contact", None, props)
    rest_deals, _, _ = pull_all(connector, "deal")
    assert sf_server.log.count("POST", JOBS) == 0
    bulk = SalesforceConnector(session_for(sf_server, bulk_query_threshold=10))
    bulk_contacts, _, _ = pull_all(bulk, "contact", None, props)
    assert sf_server.log.count("POST", JOBS) == 1
    assert bulk.puller.paths["Contact"] == "bulk"
    assert sorted(bulk_contacts, key=lambda r: r.id) == sorted(rest_contacts, key=lambda r: r.id)
    bulk_deals, _, pages = pull_all(bulk, "deal")
    assert sf_server.log.count("POST", JOBS) == 3  # roles, then opportunities
    assert sorted(bulk_deals, key=lambda r: r.id) == sorted(rest_deals, key=lambda r: r.id)
    newest = max((d.updated_at, d.id) for d in bulk_deals if d.updated_at)
    assert pages[-1].cursor == Cursor(*newest)
    bulk.session.close()


def test_incremental_pulls_never_use_bulk(sf_server: SalesforceStandIn) -> None:
    connector = SalesforceConnector(session_for(sf_server, bulk_query_threshold=1))
    records, _, _ = pull_all(connector, "contact", Cursor(datetime(2000, 1, 1, tzinfo=UTC)))
    assert len(records) == 60
    assert sf_server.log.count("POST", JOBS) == 0
    connector.session.close()


def test_datetimes_parse_from_rest_and_bulk_formats() -> None:
    want = datetime(2013, 5, 20, 20, 49, 32, tzinfo=UTC)
    assert parse_datetime("2013-05-20T20:49:32.000+0000") == want
    assert parse_datetime("2013-05-20T20:49:32.000Z") == want
    assert parse_datetime("") is None


def test_a_multi_currency_org_reads_the_converted_amount(
    sf_server: SalesforceStandIn, connector: SalesforceConnector
) -> None:
    assert "Amount" in connector.puller.plan("deal", ()).fields
    sf_server.add_custom_field(
        "Opportunity", "CurrencyIsoCode", {"type": "Text", "label": "Currency", "length": 3}
    )
    plan = connector.puller.plan("deal", ())
    assert "convertCurrency(Amount)" in plan.fields and "Amount" not in plan.fields
    assert plan.mapper.amount_key == "Amount"


def test_an_explicit_amount_field_must_be_a_field_name(sf_server: SalesforceStandIn) -> None:
    connector = SalesforceConnector(session_for(sf_server, amount_field="Amount) FROM User --"))
    with pytest.raises(ConfigError, match="amount_property"):
        connector.pull("deal", None)
    connector.session.close()


def test_the_connector_declares_its_shape(connector: SalesforceConnector) -> None:
    assert connector.name == "salesforce"
    assert connector.max_batch_size == 200
    assert connector.lists_need_members is True
    assert connector.concurrency == 4


# -- big orgs ------------------------------------------------------------------------------
def test_a_big_object_is_sized_by_count_and_read_in_bulk_without_an_ordered_scan(
    sf_server: SalesforceStandIn,
) -> None:
    sf_server.time_out_queries_above(40)  # 60 contacts: an unfiltered ORDER BY times out
    bulk = SalesforceConnector(session_for(sf_server, bulk_query_threshold=10, attempts=2))
    records, _, _ = pull_all(bulk, "contact")
    assert sorted(r.id for r in records) == sorted(live(sf_server, "Contact"))
    assert bulk.puller.paths["Contact"] == "bulk"
    assert {e.status for e in sf_server.log.entries if e.endpoint == "query"} == {200}  # no timeout
    bulk.session.close()


def test_without_bulk_api_a_timing_out_pull_is_read_in_narrower_windows(
    sf_server: SalesforceStandIn,
) -> None:
    sf_server.disable_bulk_api()
    sf_server.time_out_queries_above(25)
    connector = SalesforceConnector(session_for(sf_server, bulk_query_threshold=10))
    records, _, pages = pull_all(connector, "contact")

    ids = [r.id for r in records]
    assert sorted(ids) == sorted(live(sf_server, "Contact")) and len(ids) == len(set(ids))
    keys = [(r.updated_at, r.id) for r in records]
    assert keys == sorted(keys)  # key-set order holds across windows
    assert connector.puller.paths["Contact"] == "rest" and connector.puller.narrowings >= 2
    assert pages[-1].cursor == Cursor(*keys[-1])
    # an incremental pull narrows the same way
    since = Cursor(datetime(2000, 1, 1, tzinfo=UTC))
    again, _, _ = pull_all(connector, "contact", since)
    assert sorted(r.id for r in again) == sorted(ids)
    connector.session.close()


def test_an_edit_during_a_long_full_pull_is_caught_by_the_next_incremental_pull(
    sf_server: SalesforceStandIn,
) -> None:
    """A Bulk job's pages are read minutes apart: a contact on page 1 is edited after that
    page was read, then a contact on the last page is edited and read with its new, later
    stamp. The full pull's cursor must not pass the first edit."""
    session = session_for(sf_server, bulk_query_threshold=10, bulk_page_size=20)
    connector = SalesforceConnector(session)
    pages = connector.pull("contact", None)
    first = next(pages)  # the job exists now; page 1 of 3 is read
    early = first.records[0].id
    (job,) = sf_server.state.bulk_jobs.values()
    late = str(job.result.rows[-1]["Id"])
    sf_server.update(early, Title="edited after its page was read")
    time.sleep(0.01)
    sf_server.update(late, Title="edited before its page is read")
    rest = list(pages)
    assert late in {r.id for r in rest[-1].records}
    cursor = rest[-1].cursor
    assert cursor is not None

    changed, _, _ = pull_all(connector, "contact", cursor)

    assert {early, late} <= {r.id for r in changed}
    session.close()


def test_above_the_bulk_threshold_a_multi_currency_org_yields_converted_amounts() -> None:
    rates = {
        "USD": Decimal(1),
        "EUR": Decimal("0.9"),
        "GBP": Decimal("0.8"),
        "CHF": Decimal("0.85"),
    }
    with SalesforceStandIn(seed=7, contacts=60, currencies=rates) as server:
        opps = live(server, "Opportunity")
        want = {
            rid: (Decimal(r["Amount"]) / rates[r["CurrencyIsoCode"]]).quantize(Decimal("0.01"))
            for rid, r in opps.items()
        }
        assert {r["CurrencyIsoCode"] for r in opps.values()} >= {"EUR", "USD"}
        for threshold in (10, 50_000):  # Bulk, then REST
            connector = SalesforceConnector(session_for(server, bulk_query_threshold=threshold))
            deals, _, _ = pull_all(connector, "deal")
            assert connector.puller.paths["Opportunity"] == ("bulk" if threshold == 10 else "rest")
            assert {d.id: d.amount for d in deals} == want
            connector.session.close()


# -- what the integration user may see ------------------------------------------------------
def test_without_view_all_data_the_pull_is_refused_unless_allowed(
    sf_server: SalesforceStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    from connectors.errors import PermissionDenied

    hidden = set(sorted(live(sf_server, "Contact"))[:20])
    sf_server.org.restrict_visibility(hidden)
    connector = SalesforceConnector(session_for(sf_server))
    with pytest.raises(PermissionDenied, match=r"View All Data.*partial_visibility_ok") as exc:
        pull_all(connector, "contact")
    assert exc.value.code == "PARTIAL_VISIBILITY"
    assert sf_server.log.count("GET", r"/query/$") == 1  # the check only: nothing pulled
    connector.session.close()

    allowed = SalesforceConnector(session_for(sf_server, partial_visibility_ok=True))
    records, _, _ = pull_all(allowed, "contact")
    assert len(records) == 40 and not hidden & {r.id for r in records}
    assert "lacks 'View All Data'" in caplog.text
    pull_all(allowed, "company")
    checks = [e for e in sf_server.log.entries if "PermissionsViewAllData" in str(e.query)]
    assert len(checks) == 2  # once per connector (one run), not per pull
    allowed.session.close()


def test_with_view_all_data_everything_is_pulled(
    sf_server: SalesforceStandIn, connector: SalesforceConnector
) -> None:
    records, _, _ = pull_all(connector, "contact")
    assert len(records) == 60 and connector.puller.sees_everything is True
