"""CRM exports and imports in the stand-in, driven through hubspot-api-client (FACTS.md,
"Exports and imports")."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import urllib3
from hubspot import HubSpot
from hubspot.crm.exports import ApiException as ExportError
from hubspot.crm.imports import ApiException as ImportError_

from connectors.sandbox.hubspot import HubSpotStandIn, LimitConfig
from connectors.sandbox.hubspot.exports import read_rows
from connectors.sandbox.hubspot.schema import PropertyDef, _opts
from tests.fakeclock import FakeClock
from tests.sandbox_hubspot.conftest import make_client

VIEW = {
    "exportType": "VIEW",
    "format": "CSV",
    "exportName": "t",
    "objectType": "CONTACT",
    "objectProperties": ["hs_object_id", "email", "lastmodifieddate"],
    "exportInternalValuesOptions": ["NAMES", "VALUES"],
}


def _download(hs: HubSpotStandIn, url: str) -> urllib3.BaseHTTPResponse:
    return urllib3.PoolManager(ca_certs=hs.ca_path).request("GET", url)


def _export(client: HubSpot, body: dict[str, Any]) -> str:
    return str(client.crm.exports.public_exports_api.start(body).id)


def _status(client: HubSpot, task: str) -> Any:
    return client.crm.exports.public_exports_api.get_status(task)


# -- exports ----------------------------------------------------------------------------
def test_export_lists_every_record_with_internal_names_values_and_associated_ids(
    sandbox: HubSpotStandIn, client: HubSpot
) -> None:
    sandbox.bulk.instant()
    sandbox.associate("contacts", 3, "companies", 2)
    sandbox.associate("contacts", 3, "companies", 1, primary=False)
    body = {**VIEW, "associatedObjectType": ["COMPANY"]}
    st = _status(client, _export(client, body))
    assert st.status == "COMPLETE" and st.result
    rows = read_rows(_download(sandbox, st.result).data)
    assert len(rows) == 60
    assert list(rows[0]) == ["hs_object_id", "email", "lastmodifieddate", "Associated Company IDs"]
    third = next(r for r in rows if r["hs_object_id"] == "3")
    assert third["Associated Company IDs"].split(";") == sorted(
        third["Associated Company IDs"].split(";"), key=int
    )
    assert {"1", "2"} <= set(third["Associated Company IDs"].split(";"))
    assert third["lastmodifieddate"].isdigit()  # VALUES: epoch milliseconds


def test_export_waits_its_turn_and_takes_time_per_row(
    sandbox: HubSpotStandIn, client: HubSpot
) -> None:
    sandbox.bulk.clock = clock = FakeClock()
    sandbox.bulk.export_delay_seconds = 0.0
    sandbox.bulk.export_rows_per_second = 60.0  # 60 rows: 1 s each
    first, second = _export(client, VIEW), _export(client, VIEW)
    assert _status(client, first).status == "PROCESSING"
    assert _status(client, second).status == "PENDING"  # one export at a time
    clock.sleep(1.2)
    assert _status(client, first).status == "COMPLETE"
    assert _status(client, second).status == "PROCESSING"
    clock.sleep(0.7)
    assert _status(client, second).status == "PROCESSING"  # its second starts after the first
    clock.sleep(0.3)
    assert _status(client, second).status == "COMPLETE"


def test_status_stays_processing_until_the_file_is_written(
    sandbox: HubSpotStandIn, client: HubSpot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Writing a big export's file takes a while; its status answers PROCESSING meanwhile
    (as HubSpot's does) instead of the status request taking that long."""
    import threading

    from connectors.sandbox.hubspot import exports

    sandbox.bulk.instant()
    monkeypatch.setattr(exports, "PRODUCE_WAIT_SECONDS", 0.05)
    release = threading.Event()
    produce = sandbox.exports.produce

    def slow(job: Any) -> None:
        release.wait(10)
        produce(job)

    monkeypatch.setattr(sandbox.exports, "produce", slow)
    task = _export(client, VIEW)
    # the file is not written yet (its writer waits): no status request waits for it
    assert _status(client, task).status == "PROCESSING"
    assert _status(client, task).status == "PROCESSING"
    release.set()
    deadline = time.monotonic() + 10
    while (st := _status(client, task)).status != "COMPLETE" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert st.status == "COMPLETE" and len(read_rows(_download(sandbox, st.result).data)) == 60


def test_the_file_is_written_while_the_export_processes(
    sandbox: HubSpotStandIn, client: HubSpot
) -> None:
    """Writing the file is part of the processing time: it starts at the first status
    that finds the export processing, so the status once the time is up is COMPLETE
    at once (the file written meanwhile), not PROCESSING while it is written then."""
    sandbox.bulk.clock = clock = FakeClock()
    sandbox.bulk.export_delay_seconds = 10.0
    first, second = _export(client, VIEW), _export(client, VIEW)
    assert _status(client, second).status == "PENDING"
    assert not sandbox.exports.jobs[second].files  # a queued export writes nothing
    assert _status(client, first).status == "PROCESSING"
    deadline = time.monotonic() + 10
    while not sandbox.exports.jobs[first].files and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sandbox.exports.jobs[first].files  # written before its time is up
    assert _status(client, first).status == "PROCESSING"
    clock.sleep(10.1)
    st = _status(client, first)
    assert st.status == "COMPLETE" and len(read_rows(_download(sandbox, st.result).data)) == 60


def test_download_url_needs_no_token_and_expires(sandbox: HubSpotStandIn, client: HubSpot) -> None:
    sandbox.bulk.instant().export_url_seconds = 300
    sandbox.bulk.clock = clock = FakeClock()
    task = _export(client, VIEW)
    url = _status(client, task).result
    assert _download(sandbox, url).status == 200
    clock.sleep(299)
    assert _download(sandbox, url).status == 200
    clock.sleep(2)
    assert _download(sandbox, url).status == 403
    fresh = _status(client, task).result
    assert fresh != url and _download(sandbox, fresh).status == 200


def test_large_export_is_a_zip_of_files_of_at_most_rows_per_file(
    sandbox: HubSpotStandIn, client: HubSpot
) -> None:
    sandbox.bulk.instant().export_rows_per_file = 25
    data = _download(sandbox, _status(client, _export(client, VIEW)).result).data
    assert data[:2] == b"PK"
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        sizes = [len(zf.read(n).decode().splitlines()) - 1 for n in sorted(zf.namelist())]
    assert sizes == [25, 25, 10]
    assert len(read_rows(data)) == 60


def test_association_cap_per_row_unless_overridden(
    sandbox: HubSpotStandIn, client: HubSpot
) -> None:
    sandbox.bulk.instant().export_associations_per_row = 2
    for company in (1, 2, 3):
        sandbox.associate("contacts", 5, "companies", company, primary=company == 1)
    body = {**VIEW, "associatedObjectType": ["COMPANY"]}

    def ids(extra: dict[str, Any]) -> list[str]:
        rows = read_rows(
            _download(sandbox, _status(client, _export(client, {**body, **extra})).result).data
        )
        return next(r for r in rows if r["hs_object_id"] == "5")["Associated Company IDs"].split(
            ";"
        )

    assert len(ids({})) == 2
    assert len(ids({"overrideAssociatedObjectsPerDefinitionPerRowLimit": True})) >= 3


def test_a_filtered_view_export_holds_only_the_matching_records(
    sandbox: HubSpotStandIn, client: HubSpot
) -> None:
    sandbox.bulk.instant()
    sandbox.set_property("contacts", 4, "firstname", "Later")
    sandbox.set_property("contacts", 9, "firstname", "Later")
    stamps = sorted(int(r.updated) for r in sandbox.state.store.records("contacts").values())
    # the two edited contacts carry the two newest stamps
    window = {"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(stamps[-2])}
    body = {**VIEW, "publicCrmSearchRequest": {"filters": [window]}}
    st = _status(client, _export(client, body))
    rows = read_rows(_download(sandbox, st.result).data)
    assert sorted(r["hs_object_id"] for r in rows) == ["4", "9"]
    both = [window, {"propertyName": "hs_object_id", "operator": "LT", "value": "5"}]
    st = _status(client, _export(client, {**VIEW, "publicCrmSearchRequest": {"filters": both}}))
    assert [r["hs_object_id"] for r in read_rows(_download(sandbox, st.result).data)] == ["4"]


def test_a_filtered_export_takes_time_for_the_matching_rows_only(
    sandbox: HubSpotStandIn, client: HubSpot
) -> None:
    sandbox.bulk.clock = clock = FakeClock()
    sandbox.bulk.export_delay_seconds = 0.0
    sandbox.bulk.export_rows_per_second = 60.0  # all 60 rows: 1 s; one row: 1/60 s
    one = {"propertyName": "hs_object_id", "operator": "EQ", "value": "7"}
    task = _export(client, {**VIEW, "publicCrmSearchRequest": {"filters": [one]}})
    clock.sleep(0.2)
    assert _status(client, task).status == "COMPLETE"


def test_export_search_requests_beyond_filters_are_refused(
    sandbox: HubSpotStandIn, client: HubSpot
) -> None:
    for request in ({"query": "anna"}, {"filters": [{"propertyName": "email", "operator": "??"}]}):
        with pytest.raises(ExportError) as err:
            _export(client, {**VIEW, "publicCrmSearchRequest": request})
        assert err.value.status == 400


def test_thirty_exports_a_day_then_refused(sandbox: HubSpotStandIn, client: HubSpot) -> None:
    sandbox.bulk.instant().exports_per_day = 2
    _export(client, VIEW)
    _export(client, VIEW)
    with pytest.raises(ExportError) as e:
        _export(client, VIEW)
    assert e.value.status == 400 and "rolling 24 hour" in e.value.body


def test_exports_need_the_crm_export_scope(sandbox: HubSpotStandIn) -> None:
    sandbox.add_token("pat-no-export", {"crm.objects.contacts.read"})
    client = make_client(sandbox, access_token="pat-no-export")
    with pytest.raises(ExportError) as e:
        _export(client, VIEW)
    assert e.value.status == 403 and "crm.export" in e.value.body


# -- imports ----------------------------------------------------------------------------
def add_tag_properties(hs: HubSpotStandIn) -> None:
    """A crmseg select and a crmseg multi-checkbox property on contacts."""
    hs.state.schema.add(
        "contacts",
        PropertyDef(
            "crmseg_interests",
            "Interests",
            "enumeration",
            "checkbox",
            "crmseg",
            options=_opts("eco", "solar", "wind"),
        ),
    )
    hs.state.schema.add(
        "contacts",
        PropertyDef(
            "crmseg_abc", "ABC", "enumeration", "select", "crmseg", options=_opts("A", "B", "C")
        ),
    )


def _request(columns: list[str], name: str = "c.csv") -> dict[str, Any]:
    mappings = [
        {
            "columnObjectTypeId": "0-1",
            "columnName": "id",
            "propertyName": "hs_object_id",
            "columnType": "HUBSPOT_OBJECT_ID",
        }
    ] + [{"columnObjectTypeId": "0-1", "columnName": c, "propertyName": c} for c in columns]
    return {
        "name": "crmseg test",
        "importOperations": {"0-1": "UPDATE"},
        "files": [
            {
                "fileName": name,
                "fileFormat": "CSV",
                "fileImportPage": {"hasHeader": True, "columnMappings": mappings},
            }
        ],
    }


def _import(client: HubSpot, tmp_path: Path, text: str, columns: list[str]) -> Any:
    path = tmp_path / "c.csv"
    path.write_text(text)
    return client.crm.imports.core_api.create(
        files=str(path), import_request=json.dumps(_request(columns))
    )


def _wait_done(client: HubSpot, import_id: str) -> Any:
    for _ in range(200):
        got = client.crm.imports.core_api.get_by_id(int(import_id))
        if got.state in ("DONE", "FAILED", "CANCELED"):
            return got
        time.sleep(0.01)
    raise AssertionError("import did not finish")


def test_import_updates_by_record_id_with_replace_append_and_blank_semantics(
    sandbox: HubSpotStandIn, client: HubSpot, tmp_path: Path
) -> None:
    sandbox.bulk.instant()
    add_tag_properties(sandbox)
    sandbox.update("contacts", 1, {"crmseg_interests": "eco", "crmseg_abc": "A"})
    sandbox.update("contacts", 2, {"crmseg_interests": "eco", "crmseg_abc": "A"})
    sandbox.update("contacts", 3, {"crmseg_interests": "eco", "crmseg_abc": "A"})
    text = "id,crmseg_interests,crmseg_abc\n1,solar;wind,B\n2,;solar,\n3,,C\n"
    started = _import(client, tmp_path, text, ["crmseg_interests", "crmseg_abc"])
    assert started.state in ("STARTED", "PROCESSING")
    done = _wait_done(client, started.id)
    assert done.state == "DONE" and done.metadata.counters["UPDATED_OBJECTS"] == 3
    assert sandbox.get("contacts", 1)["crmseg_interests"] == "solar;wind"  # replaced
    assert sandbox.get("contacts", 1)["crmseg_abc"] == "B"
    assert sandbox.get("contacts", 2)["crmseg_interests"] == "eco;solar"  # leading ; appends
    assert sandbox.get("contacts", 2)["crmseg_abc"] == "A"  # blank: unchanged
    assert sandbox.get("contacts", 3)["crmseg_interests"] == "eco"
    assert sandbox.get("contacts", 3)["crmseg_abc"] == "C"


def test_import_errors_list_rejected_rows_with_their_data(
    sandbox: HubSpotStandIn, client: HubSpot, tmp_path: Path
) -> None:
    sandbox.bulk.instant()
    add_tag_properties(sandbox)
    text = "id,crmseg_abc\n1,B\n2,Z\n999999,A\n"
    done = _wait_done(client, _import(client, tmp_path, text, ["crmseg_abc"]).id)
    assert done.metadata.counters["ERRORS"] == 2
    errors = client.crm.imports.public_imports_api.get_errors(
        int(done.id), include_row_data=True, include_error_message=True
    ).results
    by_row = {e.source_data.row_data[0]: e for e in errors}
    assert set(by_row) == {"2", "999999"}
    assert by_row["2"].error_type == "INVALID_OPTION" and by_row["2"].invalid_value == "Z"
    assert by_row["999999"].error_type == "UNKNOWN_OBJECT_ID"
    assert sandbox.get("contacts", 1)["crmseg_abc"] == "B"
    assert sandbox.get("contacts", 2).get("crmseg_abc") is None  # the bad row wrote nothing


def test_import_rows_land_after_processing_time_even_without_polling(
    sandbox: HubSpotStandIn, client: HubSpot, tmp_path: Path
) -> None:
    """Processing follows the stand-in's clock: nobody polls, the clock passes the
    import's end, and its rows are written by the stand-in's own thread."""
    add_tag_properties(sandbox)
    sandbox.bulk.clock = clock = FakeClock()
    sandbox.bulk.import_delay_seconds = 5.0
    _import(client, tmp_path, "id,crmseg_abc\n4,C\n", ["crmseg_abc"])
    clock.sleep(4.9)
    time.sleep(0.1)  # several of the processing thread's looks at the clock
    assert sandbox.get("contacts", 4).get("crmseg_abc") is None
    clock.sleep(0.2)
    deadline = time.monotonic() + 5
    while sandbox.get("contacts", 4).get("crmseg_abc") is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sandbox.get("contacts", 4)["crmseg_abc"] == "C"
    (job,) = sandbox.imports.jobs.values()
    assert job.state == "DONE"


def test_a_status_request_after_the_processing_time_finds_the_import_done(
    sandbox: HubSpotStandIn, client: HubSpot, tmp_path: Path
) -> None:
    """The answer follows the clock exactly: one status request right after the end
    answers DONE with the rows written, whatever the processing thread is doing."""
    add_tag_properties(sandbox)
    sandbox.bulk.clock = clock = FakeClock()
    sandbox.bulk.import_delay_seconds, sandbox.bulk.import_rows_per_second = 4.0, 1.0
    started = _import(client, tmp_path, "id,crmseg_abc\n4,C\n", ["crmseg_abc"])
    assert client.crm.imports.core_api.get_by_id(int(started.id)).state == "STARTED"
    clock.sleep(4.9)  # its delay is over, its one row (1 s) not yet
    assert client.crm.imports.core_api.get_by_id(int(started.id)).state == "PROCESSING"
    assert sandbox.get("contacts", 4).get("crmseg_abc") is None
    clock.sleep(0.2)
    done = client.crm.imports.core_api.get_by_id(int(started.id))
    assert done.state == "DONE" and done.metadata.counters["UPDATED_OBJECTS"] == 1
    assert sandbox.get("contacts", 4)["crmseg_abc"] == "C"


def test_import_limits_rows_per_file_concurrency_and_per_day(
    sandbox: HubSpotStandIn, client: HubSpot, tmp_path: Path
) -> None:
    add_tag_properties(sandbox)
    cfg = sandbox.bulk
    cfg.import_rows_per_file = 2
    with pytest.raises(ImportError_) as e:
        _import(client, tmp_path, "id,crmseg_abc\n1,A\n2,A\n3,A\n", ["crmseg_abc"])
    assert e.value.status == 400 and "per file" in e.value.body
    cfg.import_rows_per_file, cfg.import_delay_seconds, cfg.imports_concurrent = 10, 30.0, 2
    first = _import(client, tmp_path, "id,crmseg_abc\n1,A\n", ["crmseg_abc"])
    _import(client, tmp_path, "id,crmseg_abc\n1,A\n", ["crmseg_abc"])
    with pytest.raises(ImportError_) as e:
        _import(client, tmp_path, "id,crmseg_abc\n1,A\n", ["crmseg_abc"])
    assert "at once" in e.value.body
    client.crm.imports.core_api.cancel(int(first.id))
    assert client.crm.imports.core_api.get_by_id(int(first.id)).state == "CANCELED"
    cfg.imports_per_day = 2
    with pytest.raises(ImportError_) as e:
        _import(client, tmp_path, "id,crmseg_abc\n1,A\n", ["crmseg_abc"])
    assert "rolling 24 hours" in e.value.body
    sandbox.imports.stop()


@pytest.mark.parametrize(("shared", "gap"), [(True, 3.0), (False, 1.0)])
def test_imports_processing_at_once_share_one_throughput_unless_configured_not_to(
    sandbox: HubSpotStandIn, client: HubSpot, tmp_path: Path, shared: bool, gap: float
) -> None:
    """Three imports may process at once; whether they share HubSpot's throughput is
    not documented, so by default they do (the slower case): 20 rows then 30 rows at
    10 rows/s, started together, end 3 s apart (the second's rows follow the first's);
    timed on their own, 1 s apart (30 rows against 20)."""
    add_tag_properties(sandbox)
    cfg = sandbox.bulk
    assert cfg.imports_share_throughput  # the default
    cfg.imports_share_throughput = shared
    cfg.import_delay_seconds, cfg.import_rows_per_second = 100.0, 10.0
    twenty = "id,crmseg_abc\n" + "".join(f"{i % 5 + 1},A\n" for i in range(20))
    thirty = "id,crmseg_abc\n" + "".join(f"{i % 5 + 1},B\n" for i in range(30))
    first = _import(client, tmp_path, twenty, ["crmseg_abc"])
    second = _import(client, tmp_path, thirty, ["crmseg_abc"])
    jobs = sandbox.imports.jobs
    assert jobs[str(second.id)].end - jobs[str(first.id)].end == pytest.approx(gap, abs=0.5)
    sandbox.imports.stop()


def test_imports_need_the_crm_import_scope(sandbox: HubSpotStandIn, tmp_path: Path) -> None:
    sandbox.add_token("pat-no-import", {"crm.objects.contacts.write"})
    client = make_client(sandbox, access_token="pat-no-import")
    with pytest.raises(ImportError_) as e:
        _import(client, tmp_path, "id,firstname\n1,A\n", ["firstname"])
    assert e.value.status == 403 and "crm.import" in e.value.body


def test_imports_list_newest_first(
    sandbox: HubSpotStandIn, client: HubSpot, tmp_path: Path
) -> None:
    sandbox.bulk.instant()
    a = _import(client, tmp_path, "id,firstname\n1,A\n", ["firstname"])
    b = _import(client, tmp_path, "id,firstname\n1,B\n", ["firstname"])
    listed = client.crm.imports.core_api.get_page().results
    assert [r.id for r in listed[:2]] == [b.id, a.id]


def test_rate_limits_count_export_and_import_calls(tmp_path: Path) -> None:
    with HubSpotStandIn(seed=1, contacts=5, limits=LimitConfig(daily=2)) as hs:
        hs.bulk.instant()
        client = make_client(hs)
        _export(client, VIEW)
        _import(client, tmp_path, "id,firstname\n1,A\n", ["firstname"])
        with pytest.raises(ExportError) as e:
            _export(client, VIEW)
        assert e.value.status == 429 and "daily" in e.value.body
