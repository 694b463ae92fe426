"""Lifecycle stage (docs/SEGMENTS.md "Lifecycle"): the first rule that matches wins.

The CASE below lists the rules in the table's order; the reactivation gap is
the days between the two latest purchase dates (0 for two on one day).
"""

from __future__ import annotations

from datetime import date

import duckdb

from segmentation.config import SegmentationConfig

LIFECYCLE = """
CREATE OR REPLACE TEMP TABLE seg_lifecycle AS
SELECT entity_id,
       CASE
           WHEN purchases_ever = 0 THEN 'prospect'
           WHEN recency_days > $inactive_days THEN 'inactive'
           WHEN recency_days > $active_days THEN 'at_risk'
           WHEN purchases_ever >= 2 AND latest_two[1] - latest_two[2] > $inactive_days
               THEN 'reactivated'
           WHEN CAST($as_of AS DATE) - first_purchase <= $new_days THEN 'new'
           WHEN frequency >= $loyal_purchases THEN 'loyal'
           WHEN purchases_ever >= 2 THEN 'repeat'
           ELSE 'active'
       END AS lifecycle
FROM seg_metrics
"""


def build(con: duckdb.DuckDBPyConnection, config: SegmentationConfig, as_of: date) -> None:
    con.execute(
        LIFECYCLE,
        {
            "as_of": as_of,
            "inactive_days": config.inactive_days,
            "active_days": config.active_days,
            "new_days": config.new_days,
            "loyal_purchases": config.loyal_purchases,
        },
    )
