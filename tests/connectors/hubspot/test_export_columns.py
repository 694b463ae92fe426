"""An export file read by DuckDB into column batches (``ExportColumns``) stores exactly
the mirror rows the row reader's records store; files holding values only the row
reader reads are left to it."""

from __future__ import annotations

import gc
import os
import zipfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connectors.base import ObjectType, Page
from connectors.errors import CrmError
from connectors.hubspot.export_rows import ExportColumns, RowReader, csv_files, rows
from connectors.hubspot.pull_core import _CursorTracker
from connectors.hubspot.records import Assoc, RecordMapper
from connectors.scratch import ScratchDir
from sync.state import State

MAPPER = RecordMapper(won_stages={"closedwon", "won2"})
PROPS: dict[str, list[str]] = {
    "contact": [
        "hs_object_id",
        "email",
        "firstname",
        "lastname",
        "salutation",
        "country",
        "address",
        "zip",
        "city",
        "hs_analytics_source",
        "crmseg_interests",
        "crmseg_gone",
        "lastmodifieddate",
        "hs_merged_object_ids",
    ],
    "company": ["hs_object_id", "name", "industry", "hs_lastmodifieddate"],
    "deal": [
        "hs_object_id",
        "amount",
        "closedate",
        "dealstage",
        "pipeline",
        "hs_lastmodifieddate",
        "hs_merged_object_ids",
    ],
}
REQUESTED: dict[str, list[str]] = {
    "contact": ["salutation", "hs_analytics_source", "crmseg_interests", "crmseg_gone", "nothere"],
    "company": ["industry"],
    "deal": ["pipeline"],
}
#: The complete company lists HubSpot's v4 read answers for contacts with several.
V4 = {
    "4": [Assoc("30"), Assoc("10", primary=True)],
    "5": [Assoc("30"), Assoc("9")],
    "6": [],
}
TABLES = (
    "mirror_contacts",
    "mirror_companies",
    "mirror_deals",
    "mirror_deal_contacts",
    "mirror_deal_companies",
    "mirror_properties",
    "crm_values",
    "own_writes",
)

CONTACTS = (
    "\ufeffhs_object_id,email,firstname,lastname,salutation,country,address,zip,city,"
    "hs_analytics_source,crmseg_interests,lastmodifieddate,hs_merged_object_ids,"
    "Associated Company IDs\r\n"
    '1,a@x.test,"Zoë ""Z"", Jr.","multi\r\nline",Mr,DE,Hauptstr. 1,10115,Berlin,'
    "ORGANIC,wind;eco;wind,1700000000123,,10\r\n"
    '2,"",,,"",,,,,,"",1700000000123,,\r\n'
    "3,c@x.test,,,,,,,,,eco,1600000000000,7;8,11\r\n"
    "4,d@x.test,,,,,,,,,,1699999999999,,30;10\r\n"
    "5,e@x.test,,,,,,,,,solar,,,30;9\r\n"
    "6,f@x.test,,,,,,,,, ,0,,12;12\r\n"
)
COMPANIES = (
    "hs_object_id,name,industry,hs_lastmodifieddate\n"
    "10,Acme,SOFTWARE,1700000000000\n"
    "11,,,\n"
    '12,"Comma, Inc",,1700000000001\n'
)
DEALS = (
    "hs_object_id,amount,closedate,dealstage,pipeline,hs_lastmodifieddate,"
    "hs_merged_object_ids,Associated Contact IDs,Associated Company IDs\n"
    "100,73612.39,1675641600000,closedwon,default,1669215470000,,3;1;3,10\n"
    "101,-0.5,,closedlost,,1669215470000,,,\n"
    "102,,2026-02-28,won2,default,,,2,10;11;10\n"
    "103,007,86399999,,,1669215470001,,,\n"
)


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return str(path)


def fetch(ids: list[str]) -> dict[str, list[Assoc]]:
    return {i: V4.get(i, []) for i in ids}


def dump(state: State) -> dict[str, list[tuple[Any, ...]]]:
    return {t: sorted(state.con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in TABLES}


def row_path(state: State, object_type: ObjectType, files: list[str]) -> Any:
    """What the export pull's row path stores: each row a wire record, contacts with
    several companies completed by the v4 read, mapped, applied as one page."""
    reader = RowReader(object_type, PROPS[object_type])
    tracker = _CursorTracker(None)
    records = []
    for path in files:
        for row in rows(path):
            w = reader.wire(row)
            if object_type == "contact" and len(w.associations.get("companies", [])) > 1:
                w.associations["companies"] = fetch([w.id])[w.id]
            records.append(MAPPER.record(object_type, w, REQUESTED[object_type]))
            tracker.see(w.id, w.updated_at)
    state.begin_pull(full=True)
    state.apply(object_type, Page(records), full=True)
    return tracker.cursor


def column_path(state: State, object_type: ObjectType, files: list[str]) -> ExportColumns:
    batch = ExportColumns.prepare(
        object_type, files, PROPS[object_type], REQUESTED[object_type], MAPPER, fetch
    )
    assert batch is not None, "the file should be read by DuckDB"
    state.begin_pull(full=True)
    assert state.apply_columns(object_type, batch, full=True) is False
    return batch


def both(tmp_path: Path, object_type: ObjectType, files: list[str]) -> tuple[Any, Any]:
    with State(tmp_path / "rows.duckdb") as a, State(tmp_path / "columns.duckdb") as b:
        for s in (a, b):  # stamps of crmseg's own writes: one stale, one current
            s.record_stamps(object_type, [("1", datetime(2020, 1, 1, tzinfo=UTC))])
            s.record_stamps(object_type, [("3", datetime.fromtimestamp(1600000000, tz=UTC))])
        cursor = row_path(a, object_type, files)
        batch = column_path(b, object_type, files)
        assert dump(b) == dump(a)
        assert batch.cursor == cursor
        assert a.seen_count() == b.seen_count() == batch.count
        return dump(b), batch


def test_contacts_edge_values_store_the_row_paths_mirror(tmp_path: Path) -> None:
    mirror, batch = both(tmp_path, "contact", [write(tmp_path, "c.csv", CONTACTS)])
    contacts = {r[0]: r for r in mirror["mirror_contacts"]}
    # quotes, commas, a CRLF inside a field, a BOM before the header
    assert contacts["1"][1:4] == ("a@x.test", 'Zoë "Z", Jr.', "multi\r\nline")
    assert contacts["1"][7] == datetime(2023, 11, 14, 22, 13, 20, 123000)
    assert contacts["2"][1:7] == (None,) * 6  # empty (quoted or not) is None
    # one company: that one; several: the v4 read's primary, else the lowest id
    assert [contacts[i][6] for i in "13456"] == ["10", "11", "10", "9", None]
    assert contacts["5"][7] is None
    # multi-checkbox values held normalised; a blank one not at all
    assert mirror["crm_values"] == [
        ("contact", "1", "crmseg_interests", "eco;wind"),
        ("contact", "3", "crmseg_interests", "eco"),
        ("contact", "5", "crmseg_interests", "solar"),
    ]
    assert ("contact", "1", "hs_analytics_source", "ORGANIC") in mirror["mirror_properties"]
    # the stale stamp of 1 is forgotten, the current one of 3 kept
    assert mirror["own_writes"] == [("contact", "3", datetime(2020, 9, 13, 12, 26, 40))]
    # the newest stamp is shared by 1 and 2: the higher id resumes
    assert batch.cursor is not None and batch.cursor.last_id == "2"
    assert batch.cursor.modified_at == datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)


def test_companies_store_the_row_paths_mirror(tmp_path: Path) -> None:
    mirror, _ = both(tmp_path, "company", [write(tmp_path, "co.csv", COMPANIES)])
    assert ("12", "Comma, Inc", datetime(2023, 11, 14, 22, 13, 20, 1000)) in mirror[
        "mirror_companies"
    ]


def test_deals_store_the_row_paths_mirror(tmp_path: Path) -> None:
    mirror, _ = both(tmp_path, "deal", [write(tmp_path, "d.csv", DEALS)])
    deals = {r[0]: r for r in mirror["mirror_deals"]}
    amounts = [deals[i][1] for i in ("100", "101", "103")]
    assert amounts == [Decimal("73612.39"), Decimal("-0.5"), Decimal(7)]
    assert deals["102"][1] is None
    assert [deals[i][3] for i in ("100", "101", "102", "103")] == [True, False, True, False]
    assert str(deals["102"][2]) == "2026-02-28" and str(deals["103"][2]) == "1970-01-01"
    # duplicated associated ids are stored once
    assert mirror["mirror_deal_contacts"] == [("100", "1"), ("100", "3"), ("102", "2")]
    assert mirror["mirror_deal_companies"] == [("100", "10"), ("102", "10"), ("102", "11")]


def test_a_zip_of_several_files_reads_every_file(tmp_path: Path) -> None:
    lines = DEALS.splitlines(keepends=True)
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("deal-export-2.csv", "".join([lines[0], *lines[3:]]))
        zf.writestr("deal-export-1.csv", "".join(lines[:3]))
    work = tmp_path / "work"
    work.mkdir()
    files = csv_files(str(archive), str(work))
    assert len(files) == 2
    mirror, batch = both(tmp_path, "deal", files)
    assert batch.count == 4 and len(mirror["mirror_deals"]) == 4


def test_a_full_pull_replaces_what_the_mirror_held(tmp_path: Path) -> None:
    path = write(tmp_path, "c.csv", CONTACTS)
    with State(tmp_path / "s.duckdb") as state:
        column_path(state, "contact", [path])
        state.commit_pull("contact", [], None, full=True, started_at=datetime.now(UTC))
        first = dump(state)
        column_path(state, "contact", [path])  # the same records again: no twins
        assert dump(state) == first


@pytest.mark.parametrize(
    ("object_type", "column", "value"),
    [
        ("contact", "hs_object_id", " 7"),  # the row reader strips ids
        ("contact", "hs_object_id", "1"),  # a duplicate id: the last row wins there
        ("contact", "lastmodifieddate", "2026-01-01T10:00:00Z"),  # an ISO stamp
        ("contact", "lastmodifieddate", "99999999999999"),  # beyond 2106
        ("contact", "Associated Company IDs", "10; 11"),
        ("contact", "Associated Company IDs", "10;"),
        ("deal", "amount", " 12.5"),
        ("deal", "amount", "1e3"),
        ("deal", "amount", "abc"),  # the row reader names the deal and the value
        ("deal", "closedate", "2026-02-30"),
        ("deal", "closedate", "-1000"),
    ],
)
def test_values_only_the_row_reader_reads_leave_the_file_to_it(
    tmp_path: Path, object_type: ObjectType, column: str, value: str
) -> None:
    text = CONTACTS if object_type == "contact" else DEALS
    lines = text.splitlines(keepends=True)
    names = lines[0].lstrip("\ufeff").rstrip("\r\n").split(",")
    at = 3 if object_type == "contact" else 1  # a row without quoted commas
    cells = lines[at].rstrip("\r\n").split(",")
    cells[names.index(column)] = f'"{value}"'
    lines[at] = ",".join(cells) + "\n"
    changed = lines
    path = write(tmp_path, "odd.csv", "".join(changed))
    batch = ExportColumns.prepare(
        object_type, [path], PROPS[object_type], REQUESTED[object_type], MAPPER, fetch
    )
    assert batch is None


def test_a_file_whose_rows_do_not_fit_its_header_is_left_to_the_row_reader(
    tmp_path: Path,
) -> None:
    path = write(tmp_path, "bad.csv", "hs_object_id,name,hs_lastmodifieddate\n1,a,2,3\n")
    assert ExportColumns.prepare("company", [path], PROPS["company"], [], MAPPER, fetch) is None


def test_files_with_different_headers_are_left_to_the_row_reader(tmp_path: Path) -> None:
    a = write(tmp_path, "a.csv", "hs_object_id,name\n1,a\n")
    b = write(tmp_path, "b.csv", "hs_object_id,industry\n2,b\n")
    assert ExportColumns.prepare("company", [a, b], PROPS["company"], [], MAPPER, fetch) is None


def test_a_file_gone_before_it_is_stored_is_a_crm_error(tmp_path: Path) -> None:
    path = write(tmp_path, "co.csv", COMPANIES)
    batch = ExportColumns.prepare("company", [path], PROPS["company"], [], MAPPER, fetch)
    assert batch is not None
    os.unlink(path)
    with State(tmp_path / "s.duckdb") as state, pytest.raises(CrmError, match="companies"):
        state.begin_pull(full=True)
        state.apply_columns("company", batch, full=True)


def test_the_batch_removes_its_files_when_closed_or_dropped(tmp_path: Path) -> None:
    for closed in (True, False):
        scratch = ScratchDir("export", root=str(tmp_path))
        work = Path(scratch.path)
        path = write(work, "co.csv", COMPANIES)
        batch = ExportColumns.prepare("company", [path], PROPS["company"], [], MAPPER, fetch)
        assert batch is not None
        batch.attach(scratch)
        assert work.exists()
        if closed:
            batch.close()
        else:
            del batch
            gc.collect()
        assert not work.exists()


def test_several_companies_are_read_in_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import connectors.hubspot.export_rows as export_rows

    monkeypatch.setattr(export_rows, "AMBIGUOUS_CHUNK", 2)
    asked: list[list[str]] = []

    def counting(ids: list[str]) -> dict[str, list[Assoc]]:
        asked.append(ids)
        return fetch(ids)

    path = write(tmp_path, "c.csv", CONTACTS)
    batch = ExportColumns.prepare(
        "contact", [path], PROPS["contact"], REQUESTED["contact"], MAPPER, counting
    )
    assert batch is not None
    assert sorted(i for chunk in asked for i in chunk) == ["4", "5", "6"]
    assert [len(chunk) for chunk in asked] == [2, 1]
    assert batch.companies == {"4": "10", "5": "9", "6": None}
