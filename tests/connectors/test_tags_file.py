"""``tags.csv`` lists contacts in contact-id order (as strings) without sorting them a
second time: ``seg_tags`` is built in that order and DuckDB keeps it (docs/SEGMENTS.md
"CSV files"; DuckDB's "Order Preservation")."""

from __future__ import annotations

import csv
import random
from datetime import date
from pathlib import Path

import pytest

from connectors.files import CsvLoader, write_tags
from segmentation import SegmentationConfig, segment
from segmentation.inputs import connect

AS_OF = date(2026, 6, 30)
CONTACTS = 30_000
#: More than one of DuckDB's row groups (122,880 rows each).
ROWS = 200_000


def _export(folder: Path) -> list[str]:
    """A contacts file in shuffled id order, every third contact with a won deal; the ids."""
    ids = [f"{i}" for i in range(CONTACTS)]
    random.Random(7).shuffle(ids)
    with (folder / "contacts.csv").open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(
            ["id", "email", "first_name", "last_name", "salutation", "country", "company_id"]
        )
        out.writerows([i, "", "", "", "", "", ""] for i in ids)
    with (folder / "deals.csv").open("w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["id", "amount", "close_date", "won", "contact_ids", "company_ids"])
        out.writerows(
            [f"d{i}", f"{int(i) % 97 + 1}.50", "2026-05-01", "true", i, ""] for i in ids[::3]
        )
    return ids


def test_tags_csv_is_in_contact_id_order_whatever_the_file_order(tmp_path: Path) -> None:
    ids = _export(tmp_path)
    con = connect()
    CsvLoader(con, tmp_path).load()
    segment(con, SegmentationConfig(), AS_OF)
    out = tmp_path / "tags.csv"
    assert write_tags(con, out) == CONTACTS
    con.close()
    written = _ids(out)
    assert written == sorted(ids)
    assert written[:6] == ["0", "1", "10", "100", "1000", "10000"]


@pytest.mark.parametrize("preserve_order", [True, False])
def test_the_order_holds_across_row_groups_and_without_insertion_order(
    tmp_path: Path, preserve_order: bool
) -> None:
    """Two row groups of ``seg_tags`` written by two threads: DuckDB keeps the order
    it was built in; with ``preserve_insertion_order`` off it does not (the rows of
    this very table then come out of order), and ``write_tags`` sorts them itself."""
    ids = [f"{n:09d}x" for n in random.Random(3).sample(range(10**9), ROWS)]
    con = connect()
    con.execute("SET threads = 2")
    con.execute(f"SET preserve_insertion_order = {str(preserve_order).lower()}")
    con.execute(
        "CREATE TEMP TABLE seg_tags AS SELECT contact_id, 'A' AS abc "
        "FROM (SELECT unnest($1::VARCHAR[]) AS contact_id) ORDER BY contact_id",
        [ids],
    )
    out = tmp_path / "tags.csv"
    assert write_tags(con, out) == ROWS
    con.close()
    assert _ids(out) == sorted(ids)


def _ids(out: Path) -> list[str]:
    with out.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][:2] == ["contact_id", "abc"]
    return [r[0] for r in rows[1:]]


def test_seg_tags_is_stored_in_contact_id_order(tmp_path: Path) -> None:
    """What ``write_tags`` relies on: a plain scan of ``seg_tags`` is already sorted."""
    ids = _export(tmp_path)
    con = connect()
    CsvLoader(con, tmp_path).load()
    segment(con, SegmentationConfig(), AS_OF)
    scanned = [r[0] for r in con.execute("SELECT contact_id FROM seg_tags").fetchall()]
    con.close()
    assert scanned == sorted(ids)
