"""What ``segment()`` leaves in the connection: the tables its callers read (``seg_tags``,
``seg_entity_tags``, ``seg_metrics``, ``seg_purchases``, ``seg_credits`` and the table
behind it), not the steps between, which are dropped once read so their memory is
reused."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from conftest import (
    AS_OF,
    CONTACT_COLUMNS,
    DEAL_COLUMNS,
    _write,
    contact,
    days_before,
    deal,
    fresh_connection,
)

from connectors.files import CsvLoader
from segmentation import SegmentationConfig, segment
from segmentation.config import InterestRule

#: Hand-listed: what sync, explain, report and tags.csv read after a compute.
KEPT = {
    "seg_tags",
    "seg_entity_tags",
    "seg_metrics",
    "seg_purchases",
    "seg_credit_parts",
    "seg_credits",
}

CONFIGS = {
    "contact": SegmentationConfig(),
    "company, every family": SegmentationConfig.model_validate(
        {
            "level": "company",
            "interests": [InterestRule(tag="red", contact_property="topics", any_of=["red"])],
            "properties": [
                {"family": "channel", "contact_property": "channel"},
                {"family": "industry", "company_property": "industry"},
            ],
            "rules": [{"family": "tier", "values": [{"value": "gold", "abc": ["A"]}]}],
        }
    ),
}


def _load(con: duckdb.DuckDBPyConnection, directory: Path) -> None:
    _write(
        directory / "contacts.csv",
        CONTACT_COLUMNS,
        [
            contact("1", company_id="k1", topics="red", channel="web"),
            contact("2", company_id="k1"),
            contact("3"),
        ],
        ["topics", "channel"],
    )
    _write(
        directory / "deals.csv",
        DEAL_COLUMNS,
        [
            deal("d1", "90", days_before(10), ["1", "2"], companies=["k1"]),
            deal("d2", "30", days_before(400), "3"),
        ],
    )
    _write(
        directory / "companies.csv",
        ["id", "name", "industry"],
        [{"id": "k1", "name": "K One", "industry": "Retail"}],
    )
    CsvLoader(con, directory).load(["topics", "channel"], [], ["industry"])


def _seg_relations(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE table_name LIKE 'seg\\_%' ESCAPE '\\' "
        "UNION ALL SELECT view_name FROM duckdb_views() WHERE view_name LIKE 'seg\\_%' "
        "ESCAPE '\\'"
    ).fetchall()
    return {str(r[0]) for r in rows}


@pytest.mark.parametrize("name", CONFIGS)
def test_only_the_tables_callers_read_are_left(tmp_path: Path, name: str) -> None:
    with fresh_connection() as con:
        _load(con, tmp_path)
        report = segment(con, CONFIGS[name], AS_OF)
        assert _seg_relations(con) == KEPT
        # What ``crmseg explain`` reads still answers: d1 (90) split between contacts 1
        # and 2, or wholly credited to company k1.
        shares = con.execute(
            "SELECT c.entity_id, c.share FROM seg_credits c JOIN seg_purchases p "
            "USING (deal_id) WHERE c.deal_id = 'd1' ORDER BY 1"
        ).fetchall()
    credited = {str(e): report.revenue(int(s)) for e, s in shares}
    if name.startswith("company"):
        assert credited == {"k1": 90}
    else:
        assert credited == {"1": 45, "2": 45}
