"""RFM scores and segment (docs/SEGMENTS.md "RFM").

Quantile method: ``worse`` (customers of the group with a strictly worse value)
is ``rank() - 1`` over the values ordered from worst to best, which gives equal
values equal scores by construction. R ranks all customers; F and M rank only
the active ones (a purchase in the window), partitioned apart from the inactive,
who score F = 1 and M = 1. Thresholds method: ``k`` counts the edges a value is
strictly greater than, for every customer alike.
"""

from __future__ import annotations

import math
from decimal import Decimal

import duckdb

from segmentation.config import SegmentationConfig

#: R from recency_days (larger is worse) among all customers (n); F from frequency
#: and M from revenue (smaller is worse) among the active (n_active):
#: score = 1 + floor(5 * worse / group size), at most 5.
QUANTILE_SCORES = """
WITH worse AS (
    SELECT entity_id, frequency > 0 AS active,
           rank() OVER (ORDER BY recency_days DESC) - 1 AS r_worse,
           rank() OVER (PARTITION BY frequency > 0 ORDER BY frequency ASC) - 1 AS f_worse,
           rank() OVER (PARTITION BY frequency > 0 ORDER BY revenue ASC) - 1 AS m_worse,
           count(*) OVER () AS n,
           count(*) OVER (PARTITION BY frequency > 0) AS n_group
    FROM seg_metrics WHERE purchases_ever > 0
)
SELECT entity_id,
       CAST(least(5, 1 + (5 * r_worse) // n) AS INTEGER) AS rfm_r,
       CAST(CASE WHEN active THEN least(5, 1 + (5 * f_worse) // n_group) ELSE 1 END AS INTEGER)
           AS rfm_f,
       CAST(CASE WHEN active THEN least(5, 1 + (5 * m_worse) // n_group) ELSE 1 END AS INTEGER)
           AS rfm_m
FROM worse
"""

#: k = number of edges the value is strictly greater than; F, M = 1 + k; R = 5 - k.
#: M edges arrive as revenue units, floored: for an integer x, x > e <=> x > floor(e).
THRESHOLD_SCORES = """
SELECT entity_id,
       CAST(5 - ((recency_days > $r1)::INT + (recency_days > $r2)::INT
               + (recency_days > $r3)::INT + (recency_days > $r4)::INT) AS INTEGER) AS rfm_r,
       CAST(1 + ((frequency > $f1)::INT + (frequency > $f2)::INT
               + (frequency > $f3)::INT + (frequency > $f4)::INT) AS INTEGER) AS rfm_f,
       CAST(1 + ((revenue > CAST($m1 AS HUGEINT))::INT + (revenue > CAST($m2 AS HUGEINT))::INT
               + (revenue > CAST($m3 AS HUGEINT))::INT + (revenue > CAST($m4 AS HUGEINT))::INT)
            AS INTEGER) AS rfm_m
FROM seg_metrics WHERE purchases_ever > 0
"""

#: The segment grid of docs/SEGMENTS.md, rows R = 5..1, columns F = 1..5.
SEGMENT_GRID: dict[int, tuple[str, str, str, str, str]] = {
    5: ("new_customer", "potential_loyalist", "potential_loyalist", "champion", "champion"),
    4: ("promising", "potential_loyalist", "potential_loyalist", "loyal", "loyal"),
    3: ("about_to_sleep", "about_to_sleep", "need_attention", "loyal", "loyal"),
    2: ("hibernating", "hibernating", "at_risk", "at_risk", "cannot_lose"),
    1: ("hibernating", "hibernating", "at_risk", "at_risk", "cannot_lose"),
}

#: The grid as a constant of the query (25 rows), not a table filled per run.
GRID_VALUES = ", ".join(
    f"({r}, {f}, '{segment}')"
    for r, row in SEGMENT_GRID.items()
    for f, segment in enumerate(row, start=1)
)

#: One statement: the scores (one of the two queries above), the score string and the
#: segment; each statement costs a run more than the few rows it computes.
RFM = """
CREATE OR REPLACE TEMP TABLE seg_rfm AS
WITH scores AS ({scores}),
grid (r, f, segment) AS (VALUES {grid})
SELECT s.entity_id, s.rfm_r, s.rfm_f, s.rfm_m,
       CAST(s.rfm_r AS VARCHAR) || CAST(s.rfm_f AS VARCHAR) || CAST(s.rfm_m AS VARCHAR)
           AS rfm_score,
       g.segment AS rfm_segment
FROM scores s JOIN grid g ON g.r = s.rfm_r AND g.f = s.rfm_f
"""
QUANTILE_RFM = RFM.format(scores=QUANTILE_SCORES, grid=GRID_VALUES)
THRESHOLD_RFM = RFM.format(scores=THRESHOLD_SCORES, grid=GRID_VALUES)


def _edge_params(letter: str, edges: list[Decimal]) -> dict[str, object]:
    return {f"{letter}{i}": edge for i, edge in enumerate(edges, start=1)}


def build(con: duckdb.DuckDBPyConnection, config: SegmentationConfig, units_per_unit: int) -> None:
    """Fill seg_rfm with the three scores, the score string and the segment."""
    if config.rfm_method == "quantile":
        con.execute(QUANTILE_RFM)
        return
    assert config.rfm_r_edges and config.rfm_f_edges and config.rfm_m_edges
    m_units = [math.floor(edge * units_per_unit) for edge in config.rfm_m_edges]
    con.execute(
        THRESHOLD_RFM,
        {
            **_edge_params("r", config.rfm_r_edges),
            **_edge_params("f", config.rfm_f_edges),
            **{f"m{i}": str(u) for i, u in enumerate(m_units, start=1)},
        },
    )
