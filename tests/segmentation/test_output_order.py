"""docs/SEGMENTS.md "CSV files": one row per contact, sorted by contact id as a string."""

import csv

import duckdb
from conftest import AS_OF, CONTACT_COLUMNS, DEAL_COLUMNS, _write, contact, days_before, deal

from connectors.files import CsvLoader, write_tags
from segmentation import SegmentationConfig, segment

IDS = ["9", "10", "2", "100", "b", "A", "1"]


def test_rows_are_sorted_by_contact_id_as_string(seg):
    tags = seg([contact(i) for i in IDS], [deal("d1", 5, days_before(3), "9")])
    assert tags.order == sorted(IDS)
    assert tags.order == ["1", "10", "100", "2", "9", "A", "b"]


def test_one_row_per_contact_including_prospects(seg):
    tags = seg([contact(i) for i in IDS], [])
    assert set(tags) == set(IDS)
    assert all(t["lifecycle"] == "prospect" for t in tags.values())


def test_tags_csv_is_sorted_with_header_and_empty_cells(tmp_path):
    _write(tmp_path / "contacts.csv", CONTACT_COLUMNS, [contact(i) for i in ["9", "10", "2"]])
    _write(tmp_path / "deals.csv", DEAL_COLUMNS, [deal("d1", 5, days_before(3), "10")])
    con = duckdb.connect()
    CsvLoader(con, tmp_path).load()
    segment(con, SegmentationConfig(), AS_OF)
    out = tmp_path / "out" / "tags.csv"
    assert write_tags(con, out) == 3
    con.close()
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == [
        "contact_id",
        "abc",
        "abc_trend",
        "rfm_r",
        "rfm_f",
        "rfm_m",
        "rfm_score",
        "rfm_segment",
        "lifecycle",
        "interests",
        "data_quality",
    ]
    assert [r[0] for r in rows[1:]] == ["10", "2", "9"]
    assert rows[1] == ["10", "A", "new", "1", "1", "1", "111", "hibernating", "new", "", ""]
    assert rows[2] == ["2", "", "", "", "", "", "", "", "prospect", "", ""]
