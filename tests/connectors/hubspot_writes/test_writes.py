"""write_batch: absolute tag values land, one result per update in input order, per-record
failures (207, merged ids, a bad option inside a 400) are isolated, foreign names refused."""

from __future__ import annotations

from dataclasses import replace

import pytest

from connectors.base import TagUpdate
from connectors.errors import RecordRejected, SchemaMismatch
from connectors.hubspot.fields import HubSpotTransport, ensure_fields
from connectors.hubspot.writes import NOT_UPDATED, write_batch
from connectors.sandbox.hubspot import HubSpotStandIn

from . import INTERESTS, LIFECYCLE

BATCH_UPDATE = r"^/crm/v3/objects/contacts/batch/update$"


@pytest.fixture(autouse=True)
def _tag_fields(hs: HubSpotStandIn, transport: HubSpotTransport) -> None:
    ensure_fields(transport, "contact", [LIFECYCLE, INTERESTS])
    hs.log.clear()


def upd(record_id: str, **values: str | None) -> TagUpdate:
    return TagUpdate("contact", record_id, values)


def tags(hs: HubSpotStandIn, record_id: str) -> tuple[str | None, str | None]:
    props = hs.get("contacts", int(record_id))
    assert props is not None
    return props.get("crmseg_lifecycle"), props.get("crmseg_interests")


def test_values_land_in_one_call_and_multi_values_are_semicolon_joined(
    hs: HubSpotStandIn, transport: HubSpotTransport, contact_ids: list[str]
) -> None:
    a, b, c = contact_ids[:3]
    results = write_batch(
        transport,
        [
            upd(a, crmseg_lifecycle="active", crmseg_interests="a;c"),
            upd(b, crmseg_lifecycle="at_risk"),
            upd(c, crmseg_interests="b"),
        ],
    )

    assert [(r.record_id, r.ok, r.error) for r in results] == [
        (a, True, None),
        (b, True, None),
        (c, True, None),
    ]
    assert tags(hs, a) == ("active", "a;c")
    assert tags(hs, b) == ("at_risk", None)
    assert tags(hs, c) == (None, "b")
    assert hs.log.count("POST", BATCH_UPDATE) == 1
    assert len(hs.log) == 1


def test_207_failure_is_reported_for_exactly_that_record_and_the_others_are_written(
    hs: HubSpotStandIn, transport: HubSpotTransport, contact_ids: list[str]
) -> None:
    a, b, c = contact_ids[:3]
    hs.fail_batch_inputs(ids={b}, category="VALIDATION_ERROR", message="record is locked")

    results = write_batch(
        transport,
        [
            upd(a, crmseg_lifecycle="new"),
            upd(b, crmseg_lifecycle="new"),
            upd(c, crmseg_lifecycle="new"),
        ],
    )

    assert [(r.record_id, r.ok) for r in results] == [(a, True), (b, False), (c, True)]
    error = results[1].error
    assert isinstance(error, RecordRejected)
    assert (error.crm, error.object_type, error.record_id, error.code) == (
        "hubspot",
        "contact",
        b,
        "VALIDATION_ERROR",
    )
    assert error.message == "record is locked"
    assert tags(hs, a)[0] == "new"
    assert tags(hs, b)[0] is None
    assert tags(hs, c)[0] == "new"
    assert hs.log.count("POST", BATCH_UPDATE) == 1


def test_traced_batch_reports_an_invalid_option_per_record_in_one_call(
    hs: HubSpotStandIn, transport: HubSpotTransport, contact_ids: list[str]
) -> None:
    ids = contact_ids[:8]
    updates = [upd(i, crmseg_lifecycle="active") for i in ids]
    updates[5] = upd(ids[5], crmseg_lifecycle="churned")  # not an option of crmseg_lifecycle

    results = write_batch(transport, updates)

    assert [(r.record_id, r.ok) for r in results] == [(i, i != ids[5]) for i in ids]
    error = results[5].error
    assert isinstance(error, RecordRejected)
    assert (error.record_id, error.code) == (ids[5], "VALIDATION_ERROR")
    assert "INVALID_OPTION on crmseg_lifecycle" in str(error)
    assert [tags(hs, i)[0] for i in ids] == ["active"] * 5 + [None] + ["active"] * 2
    assert hs.log.count("POST", BATCH_UPDATE) == 1  # 207: no splitting needed


@pytest.mark.parametrize("bad", ["crmseg_missing", "hs_object_id"])
def test_traced_batch_with_a_property_crmseg_cannot_write_is_a_schema_error(
    hs: HubSpotStandIn, transport: HubSpotTransport, contact_ids: list[str], bad: str
) -> None:
    """In a 207, an unknown or read-only property is fatal (exit 5), not a rejected record."""
    if bad == "hs_object_id":  # a read-only property that passes crmseg's name check
        bad = "crmseg_readonly"
        schema = hs.state.schema
        prop = schema.get("contacts", "hs_object_id")
        assert prop is not None and prop.read_only_value
        schema.add("contacts", replace(prop, name=bad))
    updates = [upd(i, crmseg_lifecycle="new") for i in contact_ids[:4]]
    updates[2] = upd(contact_ids[2], **{bad: "x"})

    with pytest.raises(SchemaMismatch, match=f"on {bad}") as info:
        write_batch(transport, updates)
    assert info.value.code in ("PROPERTY_DOESNT_EXIST", "READ_ONLY_VALUE")
    assert hs.log.count("POST", BATCH_UPDATE) == 1


def test_invalid_option_is_isolated_by_splitting_and_the_rest_is_written(
    hs: HubSpotStandIn, transport: HubSpotTransport, contact_ids: list[str]
) -> None:
    hs.state.traced_updates_multi_status = False  # HubSpot answering 400 for the batch
    ids = contact_ids[:8]
    updates = [upd(i, crmseg_lifecycle="active") for i in ids]
    updates[5] = upd(ids[5], crmseg_lifecycle="churned")  # not an option of crmseg_lifecycle

    results = write_batch(transport, updates)

    assert [(r.record_id, r.ok) for r in results] == [(i, i != ids[5]) for i in ids]
    error = results[5].error
    assert isinstance(error, RecordRejected)
    assert (error.record_id, error.object_type, error.status, error.code) == (
        ids[5],
        "contact",
        400,
        "VALIDATION_ERROR",
    )
    assert "INVALID_OPTION on crmseg_lifecycle" in str(error)
    assert [tags(hs, i)[0] for i in ids] == ["active"] * 5 + [None] + ["active"] * 2
    # [0..7] fails -> [0..3] ok, [4..7] fails -> [4,5] fails -> [4] ok, [5] fails; [6,7] ok
    assert hs.log.count("POST", BATCH_UPDATE) == 7


def test_two_bad_records_in_a_full_batch_cost_a_bounded_number_of_calls(
    hs: HubSpotStandIn, transport: HubSpotTransport
) -> None:
    hs.state.traced_updates_multi_status = False  # HubSpot answering 400 for the batch
    ids = [str(hs.create("contacts", {"email": f"p{i}@example.com"})) for i in range(100)]
    updates = [upd(i, crmseg_interests="a;b") for i in ids]
    updates[10] = upd(ids[10], crmseg_interests="a;zzz")
    updates[90] = upd(ids[90], crmseg_interests="nope")

    results = write_batch(transport, updates)

    assert [r.record_id for r in results if not r.ok] == [ids[10], ids[90]]
    assert sum(r.ok for r in results) == 98
    # root [0:100] fails, split into two failing halves: 1 + 2 calls; then 2 calls per split
    # of a failing part: id 10 via [0:50] [0:25] [0:12] [6:12] [9:12] [10:12] -> 6 splits,
    # id 90 via [50:100] [75:100] [87:100] [87:93] [90:93] -> 5 splits: 3 + 12 + 10 = 25
    # calls instead of 100 single-record ones.
    assert hs.log.count("POST", BATCH_UPDATE) == 25


def test_merged_record_missing_from_results_names_the_new_record(
    hs: HubSpotStandIn, transport: HubSpotTransport, contact_ids: list[str]
) -> None:
    primary, loser, other = contact_ids[:3]
    hs.merge("contacts", int(primary), int(loser))
    new_id = str(max(int(i) for i in hs.state.store.ids("contacts")))

    results = write_batch(
        transport, [upd(loser, crmseg_lifecycle="new"), upd(other, crmseg_lifecycle="new")]
    )

    assert [(r.record_id, r.ok, r.merged_into) for r in results] == [
        (loser, False, new_id),
        (other, True, None),
    ]
    assert tags(hs, new_id)[0] is None  # the merged record was not silently tagged either
    assert hs.log.count("GET", rf"/crm/v3/objects/contacts/{loser}$") == 1


def test_deleted_record_missing_from_results_is_rejected(
    hs: HubSpotStandIn, transport: HubSpotTransport, contact_ids: list[str]
) -> None:
    gone, other = contact_ids[:2]
    hs.state.store.records("contacts")[int(gone)].merged_into = (
        10**9
    )  # silently dropped, unresolvable

    results = write_batch(
        transport, [upd(gone, crmseg_lifecycle="new"), upd(other, crmseg_lifecycle="new")]
    )

    assert [(r.record_id, r.ok, r.merged_into) for r in results] == [
        (gone, False, None),
        (other, True, None),
    ]
    error = results[0].error
    assert isinstance(error, RecordRejected)
    assert (error.message, error.record_id, error.object_type) == (NOT_UPDATED, gone, "contact")


def test_unknown_id_is_reported_as_not_found(
    hs: HubSpotStandIn, transport: HubSpotTransport, contact_ids: list[str]
) -> None:
    results = write_batch(
        transport,
        [upd("999999", crmseg_lifecycle="new"), upd(contact_ids[0], crmseg_lifecycle="new")],
    )

    assert [(r.record_id, r.ok) for r in results] == [("999999", False), (contact_ids[0], True)]
    assert results[0].error is not None and results[0].error.code == "OBJECT_NOT_FOUND"


def test_property_that_does_not_exist_stops_the_run_without_splitting(
    hs: HubSpotStandIn, transport: HubSpotTransport, contact_ids: list[str]
) -> None:
    hs.state.traced_updates_multi_status = False  # HubSpot answering 400 for the batch
    updates = [upd(i, crmseg_missing="x") for i in contact_ids[:8]]

    with pytest.raises(SchemaMismatch, match="PROPERTY_DOESNT_EXIST on crmseg_missing"):
        write_batch(transport, updates)
    assert hs.log.count("POST", BATCH_UPDATE) == 1


@pytest.mark.parametrize(
    "updates",
    [
        [TagUpdate("contact", "1", {"crmseg_lifecycle": "new", "lifecyclestage": "lead"})],
        [TagUpdate("contact", "1", {"email": "x@example.com"})],
        [TagUpdate("contact", "1", {"crmseg_lifecycle": "new"}), TagUpdate("company", "2", {})],
        [TagUpdate("contact", "1", {}), TagUpdate("contact", "1", {})],
        [TagUpdate("contact", str(i), {}) for i in range(101)],
    ],
    ids=["foreign-property", "email", "mixed-object-types", "duplicate-id", "over-100"],
)
def test_bad_batches_are_refused_before_any_call(
    hs: HubSpotStandIn, transport: HubSpotTransport, updates: list[TagUpdate]
) -> None:
    with pytest.raises(ValueError):
        write_batch(transport, updates)
    assert len(hs.log) == 0


def test_empty_batch_makes_no_call(hs: HubSpotStandIn, transport: HubSpotTransport) -> None:
    assert write_batch(transport, []) == []
    assert len(hs.log) == 0
