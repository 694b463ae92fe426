"""The CRM mirror's input views give every record its row id as key and each link the
keys of its ends, so the purchase side credits the mirror's links as it does the CSV
loader's: a link named twice once, a link to a contact or deal that is not mirrored
not at all."""

from __future__ import annotations

from datetime import date

import duckdb

from segmentation import SegmentationConfig, segment
from sync.state_sql import INPUT_VIEWS, SCHEMA

AS_OF = date(2026, 6, 30)


def _mirror() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(SCHEMA)
    con.execute("INSERT INTO mirror_contacts (id, email) VALUES ('c1', 'a@b.de'), ('c2', 'c@d.de')")
    con.execute(
        "INSERT INTO mirror_deals (id, amount, close_date, won) VALUES "
        "('d1', 90, DATE '2026-06-01', true), ('d2', 10, DATE '2026-06-01', true)"
    )
    # d1: c1 twice, c2, and a contact that is not mirrored; d2: only the unknown one;
    # dX is not mirrored at all.
    con.execute(
        "INSERT INTO mirror_deal_contacts VALUES "
        "('d1', 'c1'), ('d1', 'c1'), ('d1', 'c2'), ('d1', 'cX'), ('d2', 'cX'), ('dX', 'c1')"
    )
    con.execute(INPUT_VIEWS)
    return con


def test_links_get_the_row_ids_of_their_ends():
    con = _mirror()
    assert con.execute("SELECT id, key FROM contacts ORDER BY id").fetchall() == [
        ("c1", 0),
        ("c2", 1),
    ]
    assert con.execute("SELECT id, key FROM deals ORDER BY id").fetchall() == [("d1", 0), ("d2", 1)]
    assert con.execute("SELECT * FROM deal_contacts ORDER BY ALL").fetchall() == [
        ("d1", "c1", 0, 0),
        ("d1", "c1", 0, 0),
        ("d1", "c2", 0, 1),
        ("d1", "cX", 0, None),
        ("d2", "cX", 1, None),
        ("dX", "c1", None, 0),
    ]


def test_a_repeated_link_counts_once_and_unknown_ends_not_at_all():
    con = _mirror()
    report = segment(con, SegmentationConfig(), AS_OF)
    # d1's 90 split between c1 and c2 (k = 2); d2 has no known contact: an orphan.
    assert report.orphan_deals == 1
    rows = con.execute(
        "SELECT entity_id, purchases_ever, revenue FROM seg_metrics ORDER BY entity_id"
    ).fetchall()
    assert [(e, n, report.revenue(int(r))) for e, n, r in rows] == [("c1", 1, 45), ("c2", 1, 45)]
    assert con.execute("SELECT deal_id, entity_id FROM seg_credits ORDER BY ALL").fetchall() == [
        ("d1", "c1"),
        ("d1", "c2"),
    ]
