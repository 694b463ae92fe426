"""The SOQL parser and evaluator on their own (no HTTP), including escaping round trips."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from simple_salesforce import format_soql

from connectors.sandbox.salesforce import writes
from connectors.sandbox.salesforce.errors import SfError
from connectors.sandbox.salesforce.soql_eval import execute
from connectors.sandbox.salesforce.soql_parse import parse
from connectors.sandbox.salesforce.store import Org, case_safe_id
from tests.unicode_text import utf8_text


@pytest.fixture(scope="module")
def org() -> Org:
    org = Org()
    acme = writes.insert(org, "Account", {"Name": "Acme"})
    writes.insert(org, "Contact", {"LastName": "Alpha", "AccountId": acme})
    writes.insert(org, "Contact", {"LastName": "Beta"})
    return org


def _names(org: Org, soql: str) -> list[str]:
    return [r["LastName"] for r in execute(org, soql, include_deleted=False).rows]


def test_case_safe_suffix_matches_the_documented_example() -> None:
    # Salesforce's own example: 001A0000006Vm9r -> 001A0000006Vm9rIAC
    assert case_safe_id("001A0000006Vm9r") == "001A0000006Vm9rIAC"


def test_keywords_and_field_names_are_case_insensitive(org: Org) -> None:
    assert _names(org, "select lastname from CONTACT where LASTNAME = 'alpha'") == ["Alpha"]


def test_fifteen_character_ids_match_their_eighteen_character_form(org: Org) -> None:
    rid = next(iter(org.records["Contact"]))
    assert (
        len(
            execute(
                org, f"SELECT Id FROM Contact WHERE Id = '{rid[:15]}'", include_deleted=False
            ).rows
        )
        == 1
    )


def test_order_by_puts_nulls_first_ascending_and_last_descending(org: Org) -> None:
    asc = execute(org, "SELECT LastName FROM Contact ORDER BY Account.Name", include_deleted=False)
    desc = execute(
        org, "SELECT LastName FROM Contact ORDER BY Account.Name DESC", include_deleted=False
    )
    assert [r["LastName"] for r in asc.rows] == ["Beta", "Alpha"]
    assert [r["LastName"] for r in desc.rows] == ["Alpha", "Beta"]


def test_relative_date_literals_are_ranges() -> None:
    org = Org()
    opp = {"Name": "o", "StageName": "Closed Won"}
    writes.insert(org, "Opportunity", {**opp, "CloseDate": "2026-01-10"})
    writes.insert(org, "Opportunity", {**opp, "CloseDate": "2025-12-01"})
    got = execute(
        org,
        "SELECT Id FROM Opportunity WHERE CloseDate = LAST_N_DAYS:30",
        include_deleted=False,
        today=date(2026, 1, 15),
    )
    assert len(got.rows) == 1


@pytest.mark.parametrize(
    "soql",
    [
        "SELECT Id FROM Contact WHERE LastName = 'a\\x'",  # unknown escape
        "SELECT Id FROM Contact WHERE LastName = 'open",
        "SELECT Id, FROM Contact",
        "SELECT Id FROM Contact LIMIT -1",
        "SELECT Id FROM Contact GROUP BY LastName",
    ],
)
def test_malformed_statements_are_malformed_query(soql: str) -> None:
    with pytest.raises(SfError) as exc:
        parse(soql)
    assert exc.value.error_code == "MALFORMED_QUERY"


@settings(max_examples=60, deadline=None)
@given(utf8_text(min_size=1, max_size=30, without="\x00").filter(lambda s: s.strip() == s))
def test_any_string_quoted_by_format_soql_matches_exactly_itself(text: str) -> None:
    org = Org()
    writes.insert(org, "Contact", {"LastName": text}, as_api_user=False)
    writes.insert(org, "Contact", {"LastName": text + "x"}, as_api_user=False)
    soql = format_soql("SELECT LastName FROM Contact WHERE LastName = {}", text)
    assert _names(org, soql) == [text]


@settings(max_examples=60, deadline=None)
@given(utf8_text(min_size=1, max_size=20, without="\x00"))
def test_like_escaping_from_format_soql_matches_literally(text: str) -> None:
    org = Org()
    writes.insert(org, "Contact", {"LastName": f"<{text}>"}, as_api_user=False)
    writes.insert(org, "Contact", {"LastName": "<zz>"}, as_api_user=False)
    soql = format_soql("SELECT LastName FROM Contact WHERE LastName LIKE '%{:like}%'", text)
    assert f"<{text}>" in _names(org, soql)
    if text.lower() != "zz" and text.lower() not in "<zz>":
        assert "<zz>" not in _names(org, soql)
