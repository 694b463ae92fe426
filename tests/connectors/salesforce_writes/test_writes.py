"""write_batch and write_bulk: absolute tag values land, one result per update in input order,
per-record failures stay with their record, foreign names are refused before any call."""

from __future__ import annotations

import pytest

from connectors.base import FieldSpec, TagUpdate
from connectors.errors import CrmError, RecordRejected, SchemaMismatch
from connectors.salesforce.fields import ensure_fields
from connectors.salesforce.writes import _bulk_error, poll_wait, write_batch, write_bulk
from connectors.sandbox.salesforce import SalesforceStandIn

from . import INTERESTS, LIFECYCLE, add_open_fields, stored
from .conftest import HookedSession, StandInSession

COLLECTIONS = r"/composite/sobjects$"


@pytest.fixture(autouse=True)
def _tag_fields(sf_server: SalesforceStandIn) -> None:
    """The tag fields, readable and writable (``ensure_fields`` has its own tests)."""
    add_open_fields(sf_server, "Contact", LIFECYCLE, INTERESTS)
    add_open_fields(sf_server, "Account", LIFECYCLE)


def upd(record_id: str, **values: str | None) -> TagUpdate:
    return TagUpdate("contact", record_id, values)


def tags(session: HookedSession, record_id: str) -> tuple[str | None, str | None]:
    """Read back through the API, as the integration user."""
    row = session.sf.query(
        f"SELECT crmseg_lifecycle__c, crmseg_interests__c FROM Contact WHERE Id = '{record_id}'"
    )["records"][0]
    return row["crmseg_lifecycle__c"], row["crmseg_interests__c"]


def no_sleep(seconds: float) -> None:
    pass


# ----- write_batch ---------------------------------------------------------------------------


def test_values_land_in_one_call_and_multi_values_are_semicolon_joined(
    sf_server: SalesforceStandIn, session: HookedSession, contact_ids: list[str]
) -> None:
    a, b, c = contact_ids[:3]
    results = write_batch(
        session,
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
    assert sf_server.log.count("PATCH", COLLECTIONS) == 1
    assert len(sf_server.log) == 1
    assert tags(session, a) == ("active", "a;c")
    assert tags(session, b) == ("at_risk", None)
    assert tags(session, c) == (None, "b")


def test_company_values_land_on_the_account(
    sf_server: SalesforceStandIn, session: HookedSession
) -> None:
    account = sorted(r["Id"] for r in sf_server.org.live("Account"))[0]

    results = write_batch(session, [TagUpdate("company", account, {"crmseg_lifecycle": "new"})])

    assert [r.ok for r in results] == [True]
    assert stored(sf_server, account, "crmseg_lifecycle__c") == "new"


def test_locked_row_fails_only_that_record(
    sf_server: SalesforceStandIn, session: HookedSession, contact_ids: list[str]
) -> None:
    a, b, c = contact_ids[:3]
    sf_server.lock_rows(b)
    waits: list[float] = []

    results = write_batch(
        session,
        [
            upd(a, crmseg_lifecycle="new"),
            upd(b, crmseg_lifecycle="new"),
            upd(c, crmseg_lifecycle="new"),
        ],
        sleep=waits.append,
    )

    assert [(r.record_id, r.ok) for r in results] == [(a, True), (b, False), (c, True)]
    # The batch, then b alone three times with backoff, before b counts as failed.
    assert sf_server.log.count("PATCH", COLLECTIONS) == 4
    assert waits == [1.0, 2.0, 4.0]
    error = results[1].error
    assert isinstance(error, RecordRejected)
    assert (error.crm, error.object_type, error.record_id, error.code) == (
        "salesforce",
        "contact",
        b,
        "UNABLE_TO_LOCK_ROW",
    )
    assert [stored(sf_server, i, "crmseg_lifecycle__c") for i in (a, b, c)] == ["new", None, "new"]


def test_lock_backoff_waits_with_the_sessions_sleeper(
    sf_server: SalesforceStandIn,
    session: HookedSession,
    contact_ids: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waits: list[float] = []
    monkeypatch.setattr(session, "sleep", waits.append)
    sf_server.lock_rows(contact_ids[0])

    (result,) = write_batch(session, [upd(contact_ids[0], crmseg_lifecycle="new")])

    assert not result.ok
    assert waits == [1.0, 2.0, 4.0]  # the session's sleeper, never the wall clock


def test_invalid_picklist_value_fails_only_that_record(
    sf_server: SalesforceStandIn, session: HookedSession, contact_ids: list[str]
) -> None:
    a, b, c = contact_ids[:3]

    results = write_batch(
        session,
        [
            upd(a, crmseg_interests="a;b"),
            upd(b, crmseg_interests="a;zzz"),  # zzz is not a value of crmseg_interests
            upd(c, crmseg_lifecycle="churned"),  # nor churned of crmseg_lifecycle
        ],
    )

    assert [(r.record_id, r.ok) for r in results] == [(a, True), (b, False), (c, False)]
    for r in results[1:]:
        assert isinstance(r.error, RecordRejected)
        assert r.error.code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert "bad value for restricted picklist field: zzz" in str(results[1].error)
    assert stored(sf_server, a, "crmseg_interests__c") == "a;b"
    assert stored(sf_server, b, "crmseg_interests__c") is None
    assert sf_server.log.count("PATCH", COLLECTIONS) == 1


def test_unknown_id_is_rejected_for_that_record(
    session: HookedSession, contact_ids: list[str]
) -> None:
    ghost = "003000000000000AAA"

    results = write_batch(session, [upd(ghost, crmseg_lifecycle="new"), upd(contact_ids[0])])

    assert [(r.record_id, r.ok) for r in results] == [(ghost, False), (contact_ids[0], True)]
    assert results[0].error is not None
    assert results[0].error.code == "INVALID_CROSS_REFERENCE_KEY"


def test_field_that_does_not_exist_is_a_schema_mismatch(
    session: HookedSession, contact_ids: list[str]
) -> None:
    with pytest.raises(SchemaMismatch, match="run ensure_fields"):
        write_batch(session, [upd(contact_ids[0], crmseg_missing="x")])


@pytest.mark.parametrize(
    "updates",
    [
        [TagUpdate("contact", "003A", {"crmseg_lifecycle": "new", "LeadSource": "Web"})],
        [TagUpdate("contact", "003A", {"Email": "x@example.com"})],
        [
            TagUpdate("contact", "003A", {"crmseg_lifecycle": "new"}),
            TagUpdate("company", "001B", {}),
        ],
        [TagUpdate("contact", "003A", {}), TagUpdate("contact", "003A", {})],
        [TagUpdate("contact", f"003{i}", {}) for i in range(201)],
        [TagUpdate("deal", "006A", {"crmseg_lifecycle": "new"})],
    ],
    ids=["foreign-field", "email", "mixed-object-types", "duplicate-id", "over-200", "deal"],
)
def test_bad_batches_are_refused_before_any_call(
    sf_server: SalesforceStandIn, session: HookedSession, updates: list[TagUpdate]
) -> None:
    with pytest.raises(ValueError):
        write_batch(session, updates)
    assert len(sf_server.log) == 0
    assert session.endpoints == []


def test_empty_batch_makes_no_call(sf_server: SalesforceStandIn, session: HookedSession) -> None:
    assert write_batch(session, []) == []
    assert len(sf_server.log) == 0


# ----- write_bulk ----------------------------------------------------------------------------


def test_below_the_threshold_bulk_declines_without_a_call(
    sf_server: SalesforceStandIn, session: HookedSession, contact_ids: list[str]
) -> None:
    updates = [upd(i, crmseg_lifecycle="new") for i in contact_ids]

    assert write_bulk(session, updates, sleep=no_sleep) is None  # default threshold 10,000
    session.settings.bulk_ingest_threshold = len(updates)  # bulk only for *more* than this
    assert write_bulk(session, updates, sleep=no_sleep) is None
    assert len(sf_server.log) == 0


def test_bulk_writes_one_job_and_maps_every_row_back(
    sf_server: SalesforceStandIn, session: HookedSession, contact_ids: list[str]
) -> None:
    session.settings.bulk_ingest_threshold = 3
    a, b, c, d, e = contact_ids[:5]
    write_batch(session, [upd(d, crmseg_lifecycle="at_risk", crmseg_interests="c")])
    sf_server.log.clear()
    updates = [
        upd(a, crmseg_lifecycle="active", crmseg_interests="a;b"),
        upd(b, crmseg_lifecycle="churned"),  # not a value: fails
        upd(c, crmseg_interests="c"),  # lifecycle cell left empty: unchanged
        upd(d, crmseg_lifecycle=None),  # cleared with #N/A; interests left alone
        upd(e, crmseg_lifecycle="new", crmseg_interests=None),
    ]

    results = write_bulk(session, updates, sleep=no_sleep)

    assert results is not None
    assert [(r.record_id, r.ok) for r in results] == [
        (a, True),
        (b, False),
        (c, True),
        (d, True),
        (e, True),
    ]
    error = results[1].error
    assert isinstance(error, RecordRejected)
    assert (error.code, error.record_id, error.object_type, error.crm) == (
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        b,
        "contact",
        "salesforce",
    )
    assert "bad value for restricted picklist field: churned" in error.message
    assert tags(session, a) == ("active", "a;b")
    assert tags(session, b) == (None, None)
    assert tags(session, c) == (None, "c")
    assert tags(session, d) == (None, "c")
    assert tags(session, e) == ("new", None)
    assert sf_server.log.count("POST", r"/jobs/ingest$") == 1
    assert sf_server.log.count("PUT", r"/jobs/ingest/750\w+/batches$") == 1
    assert sf_server.log.count("PATCH", r"/jobs/ingest/750\w+$") == 1
    assert sf_server.log.count("PATCH", COLLECTIONS) == 0


def test_bulk_locked_row_is_reported_for_that_row(
    sf_server: SalesforceStandIn, session: HookedSession, contact_ids: list[str]
) -> None:
    session.settings.bulk_ingest_threshold = 2
    a, b, c = contact_ids[:3]
    sf_server.lock_rows(c)

    results = write_bulk(
        session, [upd(i, crmseg_lifecycle="new") for i in (a, b, c)], sleep=no_sleep
    )

    assert results is not None
    assert [(r.record_id, r.ok) for r in results] == [(a, True), (b, True), (c, False)]
    assert results[2].error is not None and results[2].error.code == "UNABLE_TO_LOCK_ROW"


def test_bulk_runs_one_job_per_object_type_and_keeps_input_order(
    sf_server: SalesforceStandIn, session: HookedSession, contact_ids: list[str]
) -> None:
    session.settings.bulk_ingest_threshold = 2
    account = sorted(r["Id"] for r in sf_server.org.live("Account"))[0]
    updates = [
        upd(contact_ids[0], crmseg_lifecycle="new"),
        TagUpdate("company", account, {"crmseg_lifecycle": "active"}),
        upd(contact_ids[1], crmseg_lifecycle="at_risk"),
    ]
    waits: list[float] = []

    results = write_bulk(session, updates, sleep=waits.append)

    assert results is not None
    assert [(r.record_id, r.ok) for r in results] == [
        (contact_ids[0], True),
        (account, True),
        (contact_ids[1], True),
    ]
    assert sf_server.log.count("POST", r"/jobs/ingest$") == 2
    assert stored(sf_server, account, "crmseg_lifecycle__c") == "active"
    # the stand-in moves a job one state per poll: InProgress, then JobComplete
    assert waits == [poll_wait(0), poll_wait(0)]


def test_bulk_refuses_foreign_fields_before_any_call(
    sf_server: SalesforceStandIn, session: HookedSession, contact_ids: list[str]
) -> None:
    session.settings.bulk_ingest_threshold = 0
    with pytest.raises(ValueError, match="refusing to write 'Email'"):
        write_bulk(session, [upd(contact_ids[0], Email="x@example.com")], sleep=no_sleep)
    assert len(sf_server.log) == 0


def test_poll_wait_backs_off_and_is_capped() -> None:
    assert [poll_wait(n) for n in range(8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]
    assert poll_wait(2_000) == 30.0  # a job polled for hours: no float overflow


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:Lifecycle: bad value for restricted "
            "picklist field: x:crmseg_lifecycle__c --",
            (
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "Lifecycle: bad value for restricted picklist field: x",
            ),
        ),
        (
            "UNABLE_TO_LOCK_ROW:unable to obtain exclusive access: --",
            ("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access"),
        ),
        ("something odd", ("UNKNOWN", "something odd")),
    ],
)
def test_bulk_error_column_is_split_into_code_and_message(
    text: str, expected: tuple[str, str]
) -> None:
    assert _bulk_error(text) == expected


def test_the_write_side_needs_only_call_settings_and_user_id_from_a_session(
    sf_server: SalesforceStandIn, contact_ids: list[str]
) -> None:
    minimal = StandInSession(
        sf_server.client(), bulk_ingest_threshold=1, user_id=sf_server.org.api_user_id
    )
    a, b = contact_ids[:2]
    ensure_fields(minimal, "contact", [FieldSpec("crmseg_tier", "Tier", ("gold", "silver"))])

    batch = write_batch(minimal, [TagUpdate("contact", a, {"crmseg_tier": "gold"})])
    bulk = write_bulk(
        minimal,
        [TagUpdate("contact", i, {"crmseg_tier": "silver"}) for i in (a, b)],
        sleep=no_sleep,
    )

    assert [r.ok for r in batch] == [True]
    assert bulk is not None and [r.ok for r in bulk] == [True, True]
    assert [stored(sf_server, i, "crmseg_tier__c") for i in (a, b)] == ["silver", "silver"]


def test_bulk_job_failing_on_an_ungranted_field_is_a_schema_mismatch(
    sf_server: SalesforceStandIn, session: HookedSession, contact_ids: list[str]
) -> None:
    sf_server.add_custom_field(
        "Contact",
        "crmseg_hidden__c",
        {"label": "Hidden", "type": "Text", "length": 20},
        open_to_api_user=False,
    )
    session.settings.bulk_ingest_threshold = 1
    updates = [upd(i, crmseg_hidden="x") for i in contact_ids[:2]]

    with pytest.raises(SchemaMismatch, match="Field name not found"):
        write_bulk(session, updates, sleep=no_sleep)


def test_a_row_lock_that_clears_is_written_on_the_retry(
    sf_server: SalesforceStandIn, session: HookedSession, contact_ids: list[str]
) -> None:
    a, b = contact_ids[:2]
    sf_server.lock_next_writes(1)  # the first record write of the batch meets a lock

    results = write_batch(
        session,
        [upd(a, crmseg_lifecycle="new"), upd(b, crmseg_lifecycle="new")],
        sleep=no_sleep,
    )

    assert [r.ok for r in results] == [True, True], [str(r.error) for r in results]
    assert sf_server.log.count("PATCH", COLLECTIONS) == 2
    assert [stored(sf_server, i, "crmseg_lifecycle__c") for i in (a, b)] == ["new", "new"]


def test_a_bulk_upload_whose_answer_is_lost_is_not_sent_twice(
    sf_server: SalesforceStandIn, session: HookedSession, contact_ids: list[str]
) -> None:
    add_open_fields(sf_server, "Contact", LIFECYCLE)
    session.settings.attempts = 3
    session.settings.bulk_ingest_threshold = 1
    sf_server.lose_responses(1, r"/jobs/ingest/\w+/batches$", "PUT")
    updates = [TagUpdate("contact", c, {"crmseg_lifecycle": "new"}) for c in contact_ids[:3]]

    with pytest.raises(CrmError):
        write_bulk(session, updates, sleep=no_sleep)

    assert len(sf_server.lost) == 1
    assert sf_server.log.count("PUT", r"/batches$") == 0  # the lost one is not logged
    (job,) = sf_server.state.bulk_jobs.values()
    assert (len(job.uploads), job.state) == (1, "Aborted")  # one upload, never run
    assert all(stored(sf_server, c, "crmseg_lifecycle__c") is None for c in contact_ids[:3])


def test_without_bulk_api_write_bulk_declines_and_batches_do_the_work(
    sf_server: SalesforceStandIn, session: HookedSession, contact_ids: list[str]
) -> None:
    add_open_fields(sf_server, "Contact", LIFECYCLE)
    session.settings.bulk_ingest_threshold = 1
    sf_server.disable_bulk_api()
    updates = [TagUpdate("contact", c, {"crmseg_lifecycle": "new"}) for c in contact_ids[:3]]

    assert write_bulk(session, updates, sleep=no_sleep) is None
    assert all(r.ok for r in write_batch(session, updates))
    assert [stored(sf_server, c, "crmseg_lifecycle__c") for c in contact_ids[:3]] == ["new"] * 3
