"""Segment summaries over ``seg_tags`` / ``seg_metrics``: the figures a marketer
looks at first (how many contacts per class, stage and segment)."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import duckdb

from segmentation.engine import SegmentationReport

ABC_SUMMARY = """
SELECT COALESCE(t.abc, '(none)') AS abc, count(DISTINCT t.contact_id) AS contacts,
       (SELECT COALESCE(sum(greatest(m.revenue, 0)), 0) FROM seg_entity_tags e
        JOIN seg_metrics m USING (entity_id) WHERE e.abc IS NOT DISTINCT FROM t.abc) AS revenue
FROM seg_tags t GROUP BY t.abc ORDER BY t.abc NULLS LAST
"""


def _counts(con: duckdb.DuckDBPyConnection, column: str) -> list[tuple[str, int]]:
    # ``column`` is one of the fixed tag column names, never user input.
    rows = con.execute(
        f"SELECT COALESCE({column}, '(none)'), count(*) FROM seg_tags GROUP BY 1 ORDER BY 2 DESC, 1"
    ).fetchall()
    return [(str(k), int(n)) for k, n in rows]


def summarize(con: duckdb.DuckDBPyConnection, report: SegmentationReport) -> dict[str, Any]:
    abc_rows = con.execute(ABC_SUMMARY).fetchall()
    total = sum(int(r[2]) for r in abc_rows)
    abc = []
    for name, contacts, revenue in abc_rows:
        share = (
            (Decimal(int(revenue)) * 100 / Decimal(total)).quantize(
                Decimal("0.1"), rounding=ROUND_HALF_EVEN
            )
            if total
            else Decimal(0)
        )
        abc.append(
            {
                "abc": name,
                "contacts": int(contacts),
                "revenue": str(report.revenue(int(revenue)).quantize(Decimal("0.01"))),
                "revenue_share_percent": str(share),
            }
        )
    return {
        "as_of": report.as_of.isoformat(),
        "level": report.level,
        "contacts": report.contacts,
        "entities": report.entities,
        "customers": report.customers,
        "orphan_deals": report.orphan_deals,
        "currency": report.currency,
        "abc": abc,
        "lifecycle": dict(_counts(con, "lifecycle")),
        "rfm_segment": dict(_counts(con, "rfm_segment")),
        "warnings": [
            {
                "family": w.family,
                "value": w.value,
                "contacts": w.contacts,
                "message": w.message(report.min_segment_size),
            }
            for w in report.warnings
        ],
    }
