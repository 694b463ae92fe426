"""The pull's JSON reading: HubSpot's answers as written by hand -> wire records,
without the client's generated models (timestamps, null and non-string properties,
inline and v4 associations, paging cursors)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.hubspot.pull_json import (
    errors,
    inline_associations,
    next_after,
    results,
    timestamp,
    v4_results,
    wire,
)
from connectors.hubspot.records import Assoc


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-06-30T12:34:56.789Z", datetime(2026, 6, 30, 12, 34, 56, 789_000, tzinfo=UTC)),
        ("2026-06-30T12:34:56Z", datetime(2026, 6, 30, 12, 34, 56, tzinfo=UTC)),
        ("2026-06-30T12:34:56.5Z", datetime(2026, 6, 30, 12, 34, 56, 500_000, tzinfo=UTC)),
        # more than microseconds: the rest is cut, as HubSpot's millis never need
        ("2026-06-30T12:34:56.1234567Z", datetime(2026, 6, 30, 12, 34, 56, 123_456, tzinfo=UTC)),
        ("2026-06-30T14:34:56.789+02:00", datetime(2026, 6, 30, 12, 34, 56, 789_000, tzinfo=UTC)),
        ("2026-07-01T01:04:56-11:30", datetime(2026, 7, 1, 12, 34, 56, tzinfo=UTC)),
        ("2026-06-30T12:34:56", datetime(2026, 6, 30, 12, 34, 56, tzinfo=UTC)),  # no zone: UTC
        ("2026-06-30", datetime(2026, 6, 30, tzinfo=UTC)),
        ("86400000", datetime(1970, 1, 2, tzinfo=UTC)),  # epoch milliseconds
        (None, None),
        ("", None),
    ],
)
def test_timestamps_with_and_without_millis_z_or_offset(
    raw: str | None, expected: datetime | None
) -> None:
    got = timestamp(raw)
    assert got == expected
    if got is not None:
        assert got.utcoffset() is not None and got.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


@pytest.mark.parametrize("raw", ["yesterday", "2026-13-01T00:00:00Z", 1_782_822_896_789])
def test_anything_else_is_not_a_timestamp(raw: object) -> None:
    with pytest.raises(ValueError):
        timestamp(raw)


def test_an_object_keeps_null_properties_and_stringifies_others() -> None:
    obj = {
        "id": "101",
        "properties": {"email": None, "firstname": "Ada", "num_notes": 3, "flag": True},
        "createdAt": "not read at all",
        "updatedAt": "2026-06-30T08:00:00Z",
        "archived": False,
    }
    w = wire(obj, "contact")
    assert w.id == "101"
    assert dict(w.properties) == {
        "email": None,
        "firstname": "Ada",
        "num_notes": "3",
        "flag": "True",
    }
    assert w.updated_at == datetime(2026, 6, 30, 8, 0, tzinfo=UTC)
    assert w.associations == {}


def test_the_stamp_falls_back_to_the_last_modified_property() -> None:
    missing = {"id": 7, "properties": {"hs_lastmodifieddate": "2026-06-01T00:00:00.250Z"}}
    unreadable = {**missing, "updatedAt": "soon"}
    for obj in (missing, unreadable):
        w = wire(obj, "deal")
        assert w.id == "7"
        assert w.updated_at == datetime(2026, 6, 1, 0, 0, 0, 250_000, tzinfo=UTC)
    # contacts read lastmodifieddate, not hs_lastmodifieddate
    assert wire(missing, "contact").updated_at is None
    assert wire({"id": "1", "properties": None}, "contact").properties == {}


def test_inline_associations_primary_type_labels_and_cap() -> None:
    obj = {
        "id": "1",
        "associations": {
            "companies": {
                "results": [
                    {"id": "30", "type": "contact_to_company_unlabeled"},
                    {"id": "20", "type": "contact_to_company"},
                    {"id": "40", "type": "billing_contact"},
                ],
                "paging": {"next": {"after": "MTAw", "link": None}},
            },
            "deals": {"results": []},
        },
    }
    assert inline_associations(obj, "companies") == (
        [Assoc("30", primary=False), Assoc("20", primary=True), Assoc("40", primary=False)],
        True,
    )
    assert inline_associations(obj, "deals") == ([], False)
    assert inline_associations(obj, "contacts") is None
    assert inline_associations({"id": "2"}, "companies") is None


def test_v4_results_number_ids_category_and_type_id_and_paging() -> None:
    page = {
        "status": "COMPLETE",
        "results": [
            {
                "from": {"id": "11"},
                "to": [
                    {
                        "toObjectId": 501,
                        "associationTypes": [
                            {"category": "USER_DEFINED", "typeId": 1, "label": "Billing"},
                        ],
                    },
                    {
                        "toObjectId": 502,
                        "associationTypes": [
                            {"category": "HUBSPOT_DEFINED", "typeId": 279, "label": None},
                            {"category": "HUBSPOT_DEFINED", "typeId": 1, "label": "Primary"},
                        ],
                    },
                ],
                "paging": {"next": {"after": "NTAw"}},
            },
            {"from": {"id": "12"}, "to": []},
        ],
        "errors": [{"status": "error", "category": "OBJECT_NOT_FOUND", "message": "none"}],
    }
    assert list(v4_results(page)) == [
        ("11", [Assoc("501", primary=False), Assoc("502", primary=True)], "NTAw"),
        ("12", [], None),
    ]
    assert [e["category"] for e in errors(page)] == ["OBJECT_NOT_FOUND"]


@pytest.mark.parametrize(
    ("page", "after"),
    [
        ({"results": [], "paging": {"next": {"after": "200", "link": None}}}, "200"),
        ({"results": [], "paging": {"next": {"after": 400}}}, "400"),
        ({"results": [], "paging": {"next": {"after": ""}}}, None),
        ({"results": [], "paging": {"next": None}}, None),
        ({"results": [], "paging": None}, None),
        ({"results": []}, None),
        (None, None),
    ],
)
def test_next_after_is_the_cursor_or_none_on_the_last_page(page: object, after: str | None) -> None:
    assert next_after(page) == after


def test_results_and_errors_of_odd_answers_are_empty() -> None:
    assert results(None) == [] and results({"results": None}) == [] and results([]) == []
    assert errors({"errors": None}) == [] and errors({}) == []
