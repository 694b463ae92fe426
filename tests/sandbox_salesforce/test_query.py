"""REST query and queryAll: SOQL subset, paging by nextRecordsUrl, wire formats, errors."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from simple_salesforce import Salesforce, format_soql
from simple_salesforce.exceptions import SalesforceGeneralError, SalesforceMalformedRequest

from connectors.sandbox.salesforce.app import SalesforceStandIn


def test_default_page_is_2000_rows_and_next_page_url_is_a_services_data_path(
    big_server: SalesforceStandIn,
) -> None:
    sf = big_server.client()
    first = sf.query("SELECT Id FROM Contact")
    assert first["totalSize"] == 2100 and len(first["records"]) == 2000
    assert first["done"] is False
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/0r8")
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert second["done"] is True and "nextRecordsUrl" not in second
    assert len(second["records"]) == 100


def test_batch_size_header_pages_every_request_and_query_all_collects_everything(
    big_server: SalesforceStandIn,
) -> None:
    sf = big_server.client()
    before = big_server.log.count("GET", r"/query/0r8")
    rows = sf.query_all("SELECT Id FROM Contact", headers={"Sforce-Query-Options": "batchSize=500"})
    assert rows["totalSize"] == 2100 and len({r["Id"] for r in rows["records"]}) == 2100
    assert big_server.log.count("GET", r"/query/0r8") - before == 4  # 5 pages of <= 500


def test_batch_size_below_200_is_raised_to_the_minimum(big_server: SalesforceStandIn) -> None:
    page = big_server.client().query(
        "SELECT Id FROM Contact", headers={"Sforce-Query-Options": "batchSize=50"}
    )
    assert len(page["records"]) == 200


def test_query_more_accepts_a_bare_locator_identifier(big_server: SalesforceStandIn) -> None:
    sf = big_server.client()
    first = sf.query("SELECT Id FROM Contact")
    locator = first["nextRecordsUrl"].rsplit("/", 1)[1]
    assert len(sf.query_more(locator)["records"]) == 100


def test_unknown_locator_is_invalid_query_locator(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query_more("0r85g0000000zzzAAA-2000")
    assert exc.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_parent_fields_come_back_nested_with_attributes_or_null(
    sf_server: SalesforceStandIn, sf: Salesforce
) -> None:
    orphan = sf_server.insert("Contact", LastName="Nobody")
    rows = sf.query_all("SELECT Id, Account.Name FROM Contact")["records"]
    by_id = {r["Id"]: r for r in rows}
    assert by_id[orphan]["Account"] is None
    nested = next(r["Account"] for r in rows if r["Account"] is not None)
    assert nested["attributes"]["type"] == "Account" and nested["Name"]


def test_records_carry_type_and_url_attributes(sf: Salesforce) -> None:
    rec = sf.query("SELECT Id FROM Account LIMIT 1")["records"][0]
    assert rec["attributes"] == {
        "type": "Account",
        "url": f"/services/data/v59.0/sobjects/Account/{rec['Id']}",
    }
    assert len(rec["Id"]) == 18 and rec["Id"].startswith("001")


def test_money_dates_and_datetimes_use_the_documented_wire_formats(
    sf_server: SalesforceStandIn, sf: Salesforce
) -> None:
    contact = sf.query("SELECT Id FROM Contact LIMIT 1")["records"][0]["Id"]
    sf_server.add_won_opportunity(contact, "1234.50", date(2026, 3, 1))
    rec = sf.query(
        "SELECT Amount, CloseDate, SystemModstamp, IsWon FROM Opportunity WHERE Amount = 1234.50"
    )["records"][0]
    assert rec["Amount"] == Decimal("1234.50") and isinstance(rec["Amount"], Decimal)
    assert rec["CloseDate"] == "2026-03-01" and rec["IsWon"] is True
    stamp = rec["SystemModstamp"]
    assert stamp.endswith("+0000") and stamp[19] == "." and len(stamp) == 28
    assert datetime.fromisoformat(stamp).tzinfo is not None


def test_where_supports_comparisons_in_like_not_and_parentheses(
    sf_server: SalesforceStandIn, sf: Salesforce
) -> None:
    a = sf_server.insert("Contact", FirstName="Ann", LastName="Zed_1", Email="ann@x.test")
    b = sf_server.insert("Contact", FirstName="Bob", LastName="Zed%2")
    c = sf_server.insert("Contact", FirstName="Cy", LastName="Zedd")

    def ids(where: str) -> set[str]:
        return {r["Id"] for r in sf.query_all(f"SELECT Id FROM Contact WHERE {where}")["records"]}

    assert ids("LastName LIKE 'zed%'") == {a, b, c}
    assert ids(r"LastName LIKE 'Zed\_%'") == {a}
    assert ids(r"LastName LIKE 'Zed\%%'") == {b}
    assert ids("LastName LIKE 'Zed%' AND NOT (FirstName = 'Ann' OR FirstName = 'Bob')") == {c}
    assert ids("LastName IN ('Zed_1', 'Zedd')") == {a, c}
    assert ids("LastName LIKE 'Zed%' AND FirstName NOT IN ('Ann')") == {b, c}
    assert ids("LastName LIKE 'Zed%' AND Email != null") == {a}
    assert ids("LastName LIKE 'Zed%' AND Email = null") == {b, c}
    assert ids("LastName LIKE 'Zed%' AND FirstName > 'Ann' AND FirstName <= 'Bob'") == {b}
    assert ids(format_soql("LastName = {} OR LastName = {}", "zed_1", "Zedd")) == {a, c}


def test_date_and_datetime_literals_filter_unquoted(
    sf_server: SalesforceStandIn, sf: Salesforce
) -> None:
    contact = sf.query("SELECT Id FROM Contact LIMIT 1")["records"][0]["Id"]
    opp = sf_server.add_won_opportunity(contact, "10.00", date(2031, 5, 17))
    got = sf.query(
        "SELECT Id FROM Opportunity WHERE CloseDate >= 2031-05-17 AND CloseDate < 2031-05-18"
    )["records"]
    assert [r["Id"] for r in got] == [opp]
    stamp = sf.query(f"SELECT SystemModstamp FROM Opportunity WHERE Id = '{opp}'")["records"][0]
    cut = stamp["SystemModstamp"][:19] + "Z"
    newer = sf.query(f"SELECT Id FROM Opportunity WHERE SystemModstamp >= {cut}")["records"]
    assert opp in {r["Id"] for r in newer}
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id FROM Opportunity WHERE CloseDate = '2031-05-17'")
    assert exc.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_order_by_and_limit(sf: Salesforce) -> None:
    rows = sf.query("SELECT Id, Amount FROM Opportunity ORDER BY Amount DESC, Id LIMIT 5")
    amounts = [r["Amount"] for r in rows["records"]]
    assert len(amounts) == 5 and amounts == sorted(amounts, reverse=True)
    assert rows["totalSize"] == 5


def test_unknown_field_is_invalid_field_and_bad_syntax_is_malformed_query(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id, Nope__c FROM Contact")
    assert exc.value.content[0]["errorCode"] == "INVALID_FIELD"
    assert "No such column 'Nope__c'" in exc.value.content[0]["message"]
    for bad in (
        "SELECT FROM Contact",
        "SELECT Id FROM Contact WHERE",
        "SELECT Id FROM Contact WHERE Name = 'a' AND Name = 'b' OR Name = 'c'",
        "SELECT Id, COUNT() FROM Contact",
        "SELECT Id FROM Contact OFFSET 5",
    ):
        with pytest.raises(SalesforceMalformedRequest) as exc:
            sf.query(bad)
        assert exc.value.content[0]["errorCode"] == "MALFORMED_QUERY", bad


def test_query_hides_deleted_rows_and_query_all_shows_them_with_is_deleted(
    sf_server: SalesforceStandIn, sf: Salesforce
) -> None:
    victim = sf.query("SELECT Id FROM Contact LIMIT 1")["records"][0]["Id"]
    sf_server.delete(victim)
    live = {r["Id"] for r in sf.query_all("SELECT Id FROM Contact")["records"]}
    assert victim not in live
    gone = sf.query_all(
        "SELECT Id, IsDeleted FROM Contact WHERE IsDeleted = true", include_deleted=True
    )["records"]
    assert [(r["Id"], r["IsDeleted"]) for r in gone] == [(victim, True)]


def test_uri_longer_than_16384_bytes_is_refused_with_414(sf: Salesforce) -> None:
    ids = ",".join(f"'003{i:015d}'" for i in range(900))
    with pytest.raises(SalesforceGeneralError) as exc:
        sf.query(f"SELECT Id FROM Contact WHERE Id IN ({ids})")
    assert exc.value.status == 414


def test_expired_cursor_answers_invalid_query_locator(big_server: SalesforceStandIn) -> None:
    sf = big_server.client()
    first = sf.query("SELECT Id FROM Contact")
    big_server.expire_query_cursors()
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert exc.value.content[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_headers_pushing_the_request_past_16384_bytes_get_431(sf: Salesforce) -> None:
    with pytest.raises(SalesforceGeneralError) as exc:
        sf.query("SELECT Id FROM Contact", headers={"X-Padding": "p" * 17_000})
    assert exc.value.status == 431


def test_count_answers_only_the_total(sf: Salesforce) -> None:
    answer = sf.query("SELECT COUNT() FROM Contact WHERE LastName != null")
    assert (answer["totalSize"], answer["records"]) == (60, [])


def test_a_big_ordered_query_times_out_but_count_and_narrow_windows_do_not(
    sf_server: SalesforceStandIn, sf: Salesforce
) -> None:
    sf_server.time_out_queries_above(50)
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id FROM Contact ORDER BY SystemModstamp, Id")
    assert exc.value.content[0]["errorCode"] == "QUERY_TIMEOUT"
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] == 60
    assert len(sf.query("SELECT Id FROM Contact ORDER BY Id LIMIT 50")["records"]) == 50


def test_a_disabled_bulk_api_refuses_jobs(sf_server: SalesforceStandIn, sf: Salesforce) -> None:
    from simple_salesforce.exceptions import SalesforceRefusedRequest

    sf_server.disable_bulk_api()
    with pytest.raises(SalesforceRefusedRequest) as exc:
        sf.restful(
            "jobs/query",
            method="POST",
            json={"operation": "query", "query": "SELECT Id FROM Contact"},
        )
    assert exc.value.content[0]["errorCode"] == "API_DISABLED_FOR_ORG"
