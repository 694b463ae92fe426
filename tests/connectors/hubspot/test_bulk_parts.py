"""A large tag write split over several imports processed at once (HubSpot runs three)."""

from __future__ import annotations

import logging

import pytest

from connectors.base import TagUpdate
from connectors.hubspot.import_files import split
from connectors.sandbox.hubspot import HubSpotStandIn
from tests.connectors.hubspot.test_bulk import bulk, updates
from tests.sandbox_hubspot.test_exports_imports import add_tag_properties


def parted(sandbox: HubSpotStandIn, part_rows: int = 5, **kw: object):  # type: ignore[no-untyped-def]
    c = bulk(sandbox, **kw)
    c.importer.part_rows = part_rows
    return c


def test_split_makes_contiguous_parts_of_near_equal_size() -> None:
    items = updates(range(1, 11), {"crmseg_abc": "A"})
    parts = split(items, 3)
    assert [len(p) for p in parts] == [4, 3, 3]
    assert [u for p in parts for u in p] == items


def test_many_updates_go_through_three_imports_at_once(sandbox: HubSpotStandIn) -> None:
    sandbox.bulk.instant()
    add_tag_properties(sandbox)
    c = parted(sandbox)
    batch = updates(range(1, 31), {"crmseg_abc": "B"})
    batch += updates(range(31, 41), {"crmseg_abc": "C", "crmseg_interests": "solar"})
    results = c.write_bulk(batch)
    assert results is not None and [r.record_id for r in results] == [u.record_id for u in batch]
    assert all(r.ok for r in results)
    jobs = list(sandbox.imports.jobs.values())
    # 40 rows, at least 5 per part, at most 3 parts: 14 + 13 + 13 rows
    assert sorted(j.rows for j in jobs) == [13, 13, 14]
    assert sorted(j.name.rsplit(" ", 3)[-3:][0] for j in jobs) == ["1", "2", "3"]
    assert sandbox.get("contacts", 1)["crmseg_abc"] == "B"
    assert sandbox.get("contacts", 40)["crmseg_interests"] == "solar"
    assert "objects.batch.update" not in c.api_calls()
    assert c.api_calls()["imports.start"] == 3 and c.api_calls()["imports.errors"] == 3


def test_fewer_rows_than_two_parts_stay_one_import(sandbox: HubSpotStandIn) -> None:
    sandbox.bulk.instant()
    add_tag_properties(sandbox)
    c = parted(sandbox, part_rows=11)
    assert c.write_bulk(updates(range(1, 21), {"crmseg_abc": "A"})) is not None
    (job,) = sandbox.imports.jobs.values()
    assert job.rows == 20 and "part" not in job.name


def test_row_errors_of_a_later_part_map_back_to_their_records(sandbox: HubSpotStandIn) -> None:
    sandbox.bulk.instant()
    add_tag_properties(sandbox)
    batch = updates(range(1, 31), {"crmseg_abc": "A"})
    batch[27] = TagUpdate("contact", "28", {"crmseg_abc": "Z"})  # in the third part
    results = parted(sandbox).write_bulk(batch)
    assert results is not None
    bad = {r.record_id for r in results if not r.ok}
    assert bad == {"28"}
    assert sandbox.get("contacts", 29)["crmseg_abc"] == "A"


def test_a_part_refused_after_others_started_goes_in_batches(
    sandbox: HubSpotStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    sandbox.bulk.instant()
    sandbox.bulk.import_delay_seconds = 1.0  # the first two still process at the third start
    sandbox.bulk.imports_concurrent = 2
    add_tag_properties(sandbox)
    c = parted(sandbox)
    batch = updates(range(1, 31), {"crmseg_abc": "C"})
    with caplog.at_level(logging.WARNING):
        results = c.write_bulk(batch)
    assert results is not None and [r.record_id for r in results] == [u.record_id for u in batch]
    assert all(r.ok for r in results)
    assert len(sandbox.imports.jobs) == 2
    assert c.api_calls()["objects.batch.update"] == 1  # the third part's 10 records
    assert all(sandbox.get("contacts", i)["crmseg_abc"] == "C" for i in range(1, 31))
    assert "refused the import" in caplog.text


def test_lost_start_answer_of_one_part_makes_no_twin(sandbox: HubSpotStandIn) -> None:
    sandbox.bulk.instant()
    add_tag_properties(sandbox)
    sandbox.faults.slow_responses(1, 1.5, path=r"^/crm/v3/imports/?$")
    c = parted(sandbox, timeout_seconds=0.5)
    results = c.write_bulk(updates(range(1, 31), {"crmseg_abc": "B"}))
    assert results is not None and all(r.ok for r in results)
    assert len(sandbox.imports.jobs) == 3  # one per part, none twice
    assert all(sandbox.get("contacts", i)["crmseg_abc"] == "B" for i in range(1, 31))


def test_the_same_parts_again_follow_the_existing_imports(sandbox: HubSpotStandIn) -> None:
    sandbox.bulk.instant()
    add_tag_properties(sandbox)
    batch = updates(range(1, 31), {"crmseg_abc": "B"})
    assert parted(sandbox).write_bulk(batch) is not None
    assert parted(sandbox).write_bulk(batch) is not None
    assert len(sandbox.imports.jobs) == 3
