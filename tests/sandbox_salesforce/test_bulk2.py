"""Bulk API 2.0 ingest and query round trips through simple-salesforce's bulk2 handler."""

from __future__ import annotations

import csv
import io

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceOperationError

from connectors.sandbox.salesforce.app import SalesforceStandIn

WAIT = 0.01  # the client sleeps `wait` before each poll (notes §4.3)


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_ingest_insert_reports_counts_and_successful_results(sf: Salesforce) -> None:
    records = [{"LastName": f"Bulk{i}", "Email": f"b{i}@x.test"} for i in range(5)]
    (res,) = sf.bulk2.Contact.insert(records=records, wait=WAIT)
    assert res["numberRecordsProcessed"] == 5 and res["numberRecordsFailed"] == 0
    ok = _rows(sf.bulk2.Contact.get_successful_records(res["job_id"]))
    assert {r["LastName"] for r in ok} == {f"Bulk{i}" for i in range(5)}
    assert all(r["sf__Created"] == "true" and r["sf__Id"].startswith("003") for r in ok)
    assert sf.query("SELECT Id FROM Contact WHERE LastName LIKE 'Bulk%'")["totalSize"] == 5


def test_ingest_update_failures_do_not_raise_and_come_back_in_failed_results(
    sf: Salesforce,
) -> None:
    opps = [r["Id"] for r in sf.query("SELECT Id FROM Opportunity LIMIT 3")["records"]]
    records = [
        {"Id": opps[0], "StageName": "Closed Won"},
        {"Id": opps[1], "StageName": "Not A Stage"},
        {"Id": opps[2], "StageName": "Closed Lost"},
    ]
    (res,) = sf.bulk2.Opportunity.update(records=records, wait=WAIT)
    assert res["numberRecordsProcessed"] == 3 and res["numberRecordsFailed"] == 1
    (failed,) = _rows(sf.bulk2.Opportunity.get_failed_records(res["job_id"]))
    assert failed["sf__Id"] == opps[1]
    assert failed["sf__Error"].startswith("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:")
    assert sf.Opportunity.get(opps[2])["StageName"] == "Closed Lost"


def test_ingest_job_walks_through_the_documented_states(
    sf_server: SalesforceStandIn, sf: Salesforce
) -> None:
    sf.bulk2.Contact.insert(records=[{"LastName": "Stateful"}], wait=WAIT)
    wire = [
        (e.method, e.endpoint, e.status)
        for e in sf_server.log.entries
        if e.endpoint.startswith("bulk2")
    ]
    assert wire[:3] == [
        ("POST", "bulk2 ingest create", 200),
        ("PUT", "bulk2 ingest upload", 201),
        ("PATCH", "bulk2 ingest state", 200),
    ]
    polls = [w for w in wire if w[1] == "bulk2 ingest get"]
    assert len(polls) >= 2  # InProgress first, then JobComplete


def test_ingest_with_an_unknown_column_fails_the_job(sf: Salesforce) -> None:
    with pytest.raises(SalesforceOperationError, match="Field name not found"):
        sf.bulk2.Contact.insert(records=[{"LastName": "X", "Bogus__c": "1"}], wait=WAIT)


def test_ingest_delete_soft_deletes(sf: Salesforce) -> None:
    victim = sf.query("SELECT Id FROM Contact LIMIT 1")["records"][0]["Id"]
    (res,) = sf.bulk2.Contact.delete(records=[{"Id": victim}], wait=WAIT)
    assert res["numberRecordsFailed"] == 0
    assert (
        sf.query_all(f"SELECT IsDeleted FROM Contact WHERE Id = '{victim}'", include_deleted=True)[
            "records"
        ][0]["IsDeleted"]
        is True
    )


def test_query_job_pages_csv_by_locator_until_null(
    sf_server: SalesforceStandIn, sf: Salesforce
) -> None:
    pages = list(
        sf.bulk2.Contact.query(
            "SELECT Id, LastName, Account.Name FROM Contact", max_records=25, wait=WAIT
        )
    )
    total = sf.query("SELECT Id FROM Contact")["totalSize"]
    assert len(pages) == -(-total // 25)
    rows = [r for page in pages for r in _rows(page)]
    assert len({r["Id"] for r in rows}) == total
    assert list(rows[0]) == ["Id", "LastName", "Account.Name"]
    result_calls = [e for e in sf_server.log.entries if e.endpoint == "bulk2 query results"]
    assert "locator" not in result_calls[0].query and "locator" in result_calls[1].query


def test_query_all_job_includes_deleted_rows(sf_server: SalesforceStandIn, sf: Salesforce) -> None:
    victim = sf.query("SELECT Id FROM Contact LIMIT 1")["records"][0]["Id"]
    sf_server.delete(victim)
    (page,) = sf.bulk2.Contact.query_all(
        "SELECT Id, IsDeleted FROM Contact WHERE IsDeleted = true", wait=WAIT
    )
    assert _rows(page) == [{"Id": victim, "IsDeleted": "true"}]


def test_query_job_with_an_unknown_field_is_refused_at_create(sf: Salesforce) -> None:
    from simple_salesforce.exceptions import SalesforceMalformedRequest

    with pytest.raises(SalesforceMalformedRequest) as exc:
        list(sf.bulk2.Contact.query("SELECT Nope FROM Contact", wait=WAIT))
    assert exc.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_parallel_jobs_get_distinct_ids_and_all_rows_land(sf: Salesforce) -> None:
    records = [{"LastName": f"Par{i}"} for i in range(6)]
    results = sf.bulk2.Contact.insert(records=records, batch_size=2, concurrency=3, wait=WAIT)
    assert len({r["job_id"] for r in results}) == 3
    assert sum(r["numberRecordsProcessed"] for r in results) == 6
    assert sf.query("SELECT Id FROM Contact WHERE LastName LIKE 'Par%'")["totalSize"] == 6


def test_query_job_pages_are_read_when_served_not_snapshotted(
    sf_server: SalesforceStandIn, sf: Salesforce
) -> None:
    pages = sf.bulk2.Contact.query("SELECT Id, Title FROM Contact", max_records=30, wait=WAIT)
    first = _rows(next(pages))
    (job,) = sf_server.state.bulk_jobs.values()
    late = str(job.result.rows[-1]["Id"])
    sf_server.update(late, Title="changed mid-job")
    rest = [r for page in pages for r in _rows(page)]
    assert {r["Id"]: r["Title"] for r in rest}[late] == "changed mid-job"
    assert len(first) + len(rest) == 60


def test_a_multi_currency_org_converts_amounts_in_rest_and_bulk() -> None:
    from decimal import Decimal

    rates = {"USD": Decimal(1), "EUR": Decimal("0.9"), "GBP": Decimal("0.8")}
    with SalesforceStandIn(seed=3, contacts=0, currencies=rates) as server:
        sf = server.client()
        account = server.insert("Account", Name="Acme")
        opp = server.insert(
            "Opportunity",
            Name="Big",
            StageName="Closed Won",
            AccountId=account,
            CloseDate="2026-01-02",
            Amount=Decimal("90"),
            CurrencyIsoCode="EUR",
        )
        rest = sf.query("SELECT Id, CurrencyIsoCode, convertCurrency(Amount) FROM Opportunity")
        (row,) = rest["records"]
        assert (row["Id"], row["CurrencyIsoCode"], row["Amount"]) == (opp, "EUR", 100.0)
        (page,) = list(
            sf.bulk2.Opportunity.query(
                "SELECT Id, convertCurrency(Amount) FROM Opportunity", wait=WAIT
            )
        )
        header, values = page.strip().splitlines()
        assert header == '"Id","convertCurrency(Amount)"'  # not REST's "Amount"
        assert values == f'"{opp}","100.00"'
        plain = sf.query("SELECT Amount FROM Opportunity")["records"][0]["Amount"]
        assert plain == 90.0
        server_single = SalesforceStandIn(contacts=0).start()
        try:
            with pytest.raises(Exception, match="multiple currencies"):
                server_single.client().query("SELECT convertCurrency(Amount) FROM Opportunity")
        finally:
            server_single.stop()
