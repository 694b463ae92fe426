"""Full pulls through CRM exports and tag writes through CRM imports, with small thresholds."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from hubspot import HubSpot

from connectors.base import TagUpdate
from connectors.errors import RecordRejected
from connectors.hubspot import HubSpotConnector, Transport
from connectors.sandbox.hubspot import HubSpotStandIn
from tests.connectors.hubspot.conftest import settings_for, transport_for
from tests.fakeclock import FakeClock
from tests.sandbox_hubspot.test_exports_imports import add_tag_properties


def on_one_clock(hs: HubSpotStandIn, token: str | None = None, **kw: Any) -> Transport:
    """A transport on a fake clock the stand-in's exports and imports also follow: a
    job poll's wait moves HubSpot's processing on by as much, and takes no real time."""
    clock = FakeClock()
    hs.bulk.clock = clock
    return Transport(token or hs.token, settings_for(hs, **kw), clock=clock)


def bulk(hs: HubSpotStandIn, token: str | None = None, **kw: Any) -> HubSpotConnector:
    return HubSpotConnector(on_one_clock(hs, token, **kw), export_threshold=10, import_threshold=10)


def plain(hs: HubSpotStandIn) -> HubSpotConnector:
    return HubSpotConnector(transport_for(hs))


def pulled(c: HubSpotConnector, object_type: str, props: tuple[str, ...] = ()) -> dict[str, Any]:
    out = {}
    for page in c.pull(object_type, None, props):  # type: ignore[arg-type]
        for r in page.records:
            out[r.id] = r
    return out


# -- exports ------------------------------------------------------------------------------
@pytest.mark.parametrize("object_type", ["contact", "company", "deal"])
def test_export_pull_gives_the_same_records_as_list_pages(
    sandbox: HubSpotStandIn, object_type: str
) -> None:
    sandbox.bulk.instant()
    # a contact with two companies: the file has no primary flag
    sandbox.associate("contacts", 4, "companies", 3, primary=False)
    sandbox.associate("contacts", 4, "companies", 1, primary=True)
    for i in range(10):
        sandbox.create("companies", {"name": f"Extra {i}"})
    c = bulk(sandbox)
    via_export = pulled(c, object_type, ("salutation",) if object_type == "contact" else ())
    assert c.exporter.paths[object_type] == "export"
    via_list = pulled(
        plain(sandbox), object_type, ("salutation",) if object_type == "contact" else ()
    )
    assert via_export == via_list and len(via_export) > 5
    calls = c.api_calls()
    assert calls["exports.start"] == 1 and "objects.list" not in calls
    assert calls["objects.search.count"] == 1
    if object_type == "contact":
        assert via_export["4"].company_id == "1"


def test_export_pull_pages_cursor_and_zip_of_several_files(sandbox: HubSpotStandIn) -> None:
    sandbox.bulk.instant().export_rows_per_file = 25
    for i in range(1500):
        sandbox.create("companies", {"name": f"Extra {i}"})
    c = bulk(sandbox)
    pages = list(c.pull("company", None))
    assert [len(p.records) for p in pages] == [1000, 507]
    newest = max((r for p in pages for r in p.records), key=lambda r: (r.updated_at, int(r.id)))
    assert pages[-1].cursor is not None and pages[-1].cursor.last_id == newest.id


def test_at_or_below_the_threshold_list_pages_are_used(sandbox: HubSpotStandIn) -> None:
    c = HubSpotConnector(transport_for(sandbox), export_threshold=60, import_threshold=10)
    assert len(pulled(c, "contact")) == 60
    assert c.exporter.paths["contact"] == "list" and "exports.start" not in c.api_calls()


def test_missing_export_scope_falls_back_to_list_pages_with_one_warning(
    sandbox: HubSpotStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    scopes = {f"crm.objects.{t}.read" for t in ("contacts", "companies", "deals")}
    sandbox.add_token("pat-no-export", scopes)
    c = bulk(sandbox, "pat-no-export")
    with caplog.at_level(logging.WARNING):
        assert len(pulled(c, "contact")) == 60
        assert len(pulled(c, "deal")) > 0
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "crm.export" in warnings[0].getMessage()
    assert c.api_calls()["exports.start"] == 1  # not asked again in the same run


def test_export_refused_by_the_daily_cap_falls_back(
    sandbox: HubSpotStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.bulk.instant().exports_per_day = 0
    c = bulk(sandbox)
    with caplog.at_level(logging.WARNING):
        assert len(pulled(c, "contact")) == 60
    assert "rolling 24 hour" in caplog.text and c.exporter.paths["contact"] == "list"


def test_lost_status_response_is_asked_again_without_a_second_export(
    sandbox: HubSpotStandIn,
) -> None:
    sandbox.bulk.instant()
    sandbox.faults.drop_connections(1, path=r"/status$")
    c = bulk(sandbox)
    assert len(pulled(c, "contact")) == 60
    assert len(sandbox.exports.jobs) == 1
    assert c.api_calls()["exports.status"] == 2


def test_a_lost_start_answer_starts_a_second_export_and_one_is_read(
    sandbox: HubSpotStandIn,
) -> None:
    """HubSpot answers the export's task id only in the start answer and offers no way
    to find an export without it (no listing, no idempotency key): a start whose
    answer is lost is started again. An export only reads, so the twin costs one of
    the day's exports and its processing time, and nothing is read twice."""
    sandbox.bulk.instant()
    sandbox.lose_responses(1, r"^/crm/v3/exports/export/async$")
    c = bulk(sandbox)
    assert len(pulled(c, "contact")) == 60
    assert len(sandbox.exports.jobs) == 2  # the lost one ran too
    assert c.api_calls()["exports.start"] == 2 and c.api_calls()["exports.status"] == 1


def test_expired_download_url_is_replaced_by_a_fresh_one(sandbox: HubSpotStandIn) -> None:
    sandbox.bulk.instant()
    sandbox.faults.error_burst(1, 403, path=r"^/sandbox/exports/")
    c = bulk(sandbox)
    assert len(pulled(c, "contact")) == 60
    assert c.api_calls()["exports.status"] == 2 and len(sandbox.exports.jobs) == 1


def test_export_waits_for_processing_time(sandbox: HubSpotStandIn) -> None:
    sandbox.bulk.export_delay_seconds = 0.3
    c = bulk(sandbox)
    assert len(pulled(c, "contact")) == 60
    # the first status answer said "processing": the pull polled again until the file was ready
    assert c.api_calls()["exports.status"] >= 2


# -- imports ------------------------------------------------------------------------------
def updates(ids: range, values: dict[str, str | None]) -> list[TagUpdate]:
    return [TagUpdate("contact", str(i), values) for i in ids]


def test_import_writes_every_update_in_one_job(sandbox: HubSpotStandIn) -> None:
    sandbox.bulk.instant()
    add_tag_properties(sandbox)
    sandbox.update("contacts", 2, {"crmseg_interests": "eco"})
    c = bulk(sandbox)
    batch = updates(range(1, 31), {"crmseg_abc": "B", "crmseg_interests": "solar;wind"})
    batch += updates(range(31, 41), {"crmseg_abc": "C"})
    results = c.write_bulk(batch)
    assert results is not None and [r.ok for r in results] == [True] * 40
    assert (
        len(sandbox.imports.jobs) == 1 and len(next(iter(sandbox.imports.jobs.values())).files) == 2
    )
    assert sandbox.get("contacts", 2)["crmseg_interests"] == "solar;wind"  # replaced, not appended
    assert sandbox.get("contacts", 35)["crmseg_abc"] == "C"
    assert sandbox.get("contacts", 35).get("crmseg_interests") is None
    assert "objects.batch.update" not in c.api_calls()


def test_at_or_below_the_threshold_batches_are_used(sandbox: HubSpotStandIn) -> None:
    add_tag_properties(sandbox)
    assert bulk(sandbox).write_bulk(updates(range(1, 11), {"crmseg_abc": "A"})) is None


def test_per_row_import_errors_become_rejected_records(sandbox: HubSpotStandIn) -> None:
    sandbox.bulk.instant()
    add_tag_properties(sandbox)
    batch = updates(range(1, 21), {"crmseg_abc": "A"})
    batch[4] = TagUpdate("contact", "5", {"crmseg_abc": "Z"})
    batch.append(TagUpdate("contact", "999999", {"crmseg_abc": "A"}))
    results = bulk(sandbox).write_bulk(batch)
    assert results is not None
    bad = {r.record_id: r.error for r in results if not r.ok}
    assert set(bad) == {"5", "999999"}
    assert isinstance(bad["5"], RecordRejected) and "Z" in str(bad["5"])
    assert bad["5"].code == "INVALID_OPTION" and bad["5"].record_id == "5"
    assert sandbox.get("contacts", 6)["crmseg_abc"] == "A"


def test_clearing_a_tag_goes_through_batch_updates(sandbox: HubSpotStandIn) -> None:
    sandbox.bulk.instant()
    add_tag_properties(sandbox)
    sandbox.update("contacts", 50, {"crmseg_abc": "A"})
    c = bulk(sandbox)
    batch = [
        *updates(range(1, 21), {"crmseg_abc": "B"}),
        TagUpdate("contact", "50", {"crmseg_abc": None}),
    ]
    results = c.write_bulk(batch)
    assert results is not None and all(r.ok for r in results)
    assert sandbox.get("contacts", 50).get("crmseg_abc") is None
    assert c.api_calls()["objects.batch.update"] == 1
    job = next(iter(sandbox.imports.jobs.values()))
    assert job.rows == 20


def test_missing_import_scope_falls_back_to_batches_with_one_warning(
    sandbox: HubSpotStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    add_tag_properties(sandbox)
    sandbox.add_token("pat-no-import", {"crm.objects.contacts.write", "crm.objects.contacts.read"})
    c = bulk(sandbox, "pat-no-import")
    with caplog.at_level(logging.WARNING):
        assert c.write_bulk(updates(range(1, 21), {"crmseg_abc": "A"})) is None
        assert c.write_bulk(updates(range(21, 41), {"crmseg_abc": "A"})) is None
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "crm.import" in warnings[0]


@pytest.mark.parametrize("limit", ["imports_per_day", "imports_concurrent", "import_rows_per_day"])
def test_import_limits_reached_fall_back_to_batches_with_a_warning(
    sandbox: HubSpotStandIn, caplog: pytest.LogCaptureFixture, limit: str
) -> None:
    add_tag_properties(sandbox)
    setattr(sandbox.bulk, limit, 0)
    with caplog.at_level(logging.WARNING):
        assert bulk(sandbox).write_bulk(updates(range(1, 21), {"crmseg_abc": "A"})) is None
    assert "refused the import" in caplog.text


def test_lost_import_start_answer_follows_the_import_it_created(sandbox: HubSpotStandIn) -> None:
    sandbox.bulk.instant()
    add_tag_properties(sandbox)
    sandbox.faults.slow_responses(1, 1.5, path=r"^/crm/v3/imports/?$")
    c = bulk(sandbox, timeout_seconds=0.5)
    results = c.write_bulk(updates(range(1, 21), {"crmseg_abc": "C"}))
    assert results is not None and all(r.ok for r in results)
    assert len(sandbox.imports.jobs) == 1  # no twin
    assert sandbox.get("contacts", 20)["crmseg_abc"] == "C"


def test_lost_import_status_answer_is_asked_again(sandbox: HubSpotStandIn) -> None:
    sandbox.bulk.instant()
    add_tag_properties(sandbox)
    sandbox.faults.drop_connections(1, path=r"^/crm/v3/imports/\d+$")
    c = bulk(sandbox)
    results = c.write_bulk(updates(range(1, 21), {"crmseg_abc": "C"}))
    assert results is not None and all(r.ok for r in results)
    assert len(sandbox.imports.jobs) == 1 and c.api_calls()["imports.get"] == 2


def test_same_content_again_follows_the_existing_import(sandbox: HubSpotStandIn) -> None:
    sandbox.bulk.instant()
    add_tag_properties(sandbox)
    batch = updates(range(1, 21), {"crmseg_abc": "B"})
    assert bulk(sandbox).write_bulk(batch) is not None
    assert bulk(sandbox).write_bulk(batch) is not None
    assert len(sandbox.imports.jobs) == 1


def test_pull_waits_for_an_import_still_processing(sandbox: HubSpotStandIn, tmp_path: Path) -> None:
    add_tag_properties(sandbox)
    sandbox.bulk.import_delay_seconds = 0.5
    path = tmp_path / "contacts-1-1.csv"
    path.write_text("id,crmseg_abc\n7,C\n")
    request = {
        "name": "crmseg contacts 0123456789abcdef",
        "importOperations": {"0-1": "UPDATE"},
        "files": [
            {
                "fileName": path.name,
                "fileFormat": "CSV",
                "fileImportPage": {
                    "hasHeader": True,
                    "columnMappings": [
                        {
                            "columnObjectTypeId": "0-1",
                            "columnName": "id",
                            "propertyName": "hs_object_id",
                            "columnType": "HUBSPOT_OBJECT_ID",
                        },
                        {
                            "columnObjectTypeId": "0-1",
                            "columnName": "crmseg_abc",
                            "propertyName": "crmseg_abc",
                        },
                    ],
                },
            }
        ],
    }
    transport = on_one_clock(sandbox)
    HubSpot(**sandbox.client_settings()).crm.imports.core_api.create(
        files=str(path), import_request=json.dumps(request)
    )
    c = HubSpotConnector(transport, export_threshold=0, import_threshold=10)
    records = pulled(c, "contact", ("crmseg_abc",))
    assert records["7"].properties["crmseg_abc"] == "C"
    assert c.api_calls()["imports.list"] == 1


def test_daily_allowance_check_covers_export_status_polls() -> None:
    from connectors.errors import BudgetExhausted
    from connectors.sandbox.hubspot import LimitConfig

    with HubSpotStandIn(seed=7, contacts=60, limits=LimitConfig(enabled=False, daily=40)) as hs:
        c = bulk(hs)
        hs.bulk.export_delay_seconds = 3600.0  # longer than the polls the allowance pays for
        with pytest.raises(BudgetExhausted):
            pulled(c, "contact")
        calls = c.api_calls()
        assert calls["exports.start"] == 1
        # stopped at the 5 % reserve of 40: every poll was checked against the allowance
        assert sum(calls.values()) <= 39 and calls["exports.status"] >= 30


def test_incremental_pull_with_many_changes_reads_an_export(sandbox: HubSpotStandIn) -> None:
    from datetime import UTC, datetime, timedelta

    from connectors.base import Cursor

    sandbox.bulk.instant()
    since = Cursor(datetime.now(UTC) - timedelta(seconds=5))
    for cid in range(10, 25):
        sandbox.set_property("contacts", cid, "salutation", "Dr.")
    sandbox.merge("contacts", 2, 3)
    sandbox.archive("contacts", 4)
    c = bulk(sandbox)
    pages = list(c.pull("contact", since, ("salutation",)))
    assert c.exporter.paths["contact"] == "export"
    records = {r.id: r for p in pages for r in p.records}
    assert len(records) == 58 and records["12"].salutation == "Dr."
    deleted = {d for p in pages for d in p.deleted_ids}
    assert {"3", "4"} <= deleted
    assert pages[-1].cursor is not None and pages[-1].cursor.modified_at >= since.modified_at
    assert c.api_calls()["objects.list.archived"] >= 1


def test_incremental_pull_with_few_changes_searches(sandbox: HubSpotStandIn) -> None:
    from datetime import UTC, datetime, timedelta

    from connectors.base import Cursor

    since = Cursor(datetime.now(UTC) - timedelta(seconds=5))
    for cid in range(10, 15):
        sandbox.set_property("contacts", cid, "salutation", "Dr.")
    c = bulk(sandbox)
    records = {r.id for p in c.pull("contact", since, ("salutation",)) for r in p.records}
    assert records == {str(i) for i in range(10, 15)}
    assert "exports.start" not in c.api_calls()
