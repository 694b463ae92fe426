"""ABC class and its trend (docs/SEGMENTS.md "ABC class", "ABC trend").

Both periods (today's window and the previous one) are ranked by one query,
partitioned by period, so the trend compares classes computed by the very same
rule. Thresholds are compared exactly: ``before / total < a`` is evaluated as
``before * a_den < a_num * total`` on integers.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import duckdb

#: One statement, so a run pays one statement's fixed cost for the whole step:
#:
#: * ``abc_input``: customers (at least one purchase by the period's date) and their
#:   window revenue, today's window and the previous one;
#: * ``walked``: ``before`` is the positive revenue of the customers with a strictly
#:   greater revenue: the frame runs from the top to the current row's peers and
#:   excludes them (``EXCLUDE GROUP``), so equal revenues get equal classes and no order
#:   among equals is needed. The customer (or group) crossing abc_a stays A;
#: * ``classed``: each period's class;
#: * the trend: new when there was no class before; up / down / same by A > B > C.
#:   Empty for non-customers.
ABC_TREND = """
CREATE OR REPLACE TEMP TABLE seg_abc_trend AS
WITH abc_input AS (
    SELECT 'now' AS period, entity_id, revenue FROM seg_metrics WHERE purchases_ever > 0
    UNION ALL
    SELECT 'prev' AS period, entity_id, prev_revenue FROM seg_metrics WHERE prev_purchases_ever > 0
),
walked AS (
    SELECT period, entity_id, revenue,
           COALESCE(sum(greatest(revenue, 0)) OVER (
               PARTITION BY period ORDER BY revenue DESC
               RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW EXCLUDE GROUP), 0) AS before,
           sum(greatest(revenue, 0)) OVER (PARTITION BY period) AS total
    FROM abc_input
),
classed AS (
    SELECT period, entity_id,
           CASE
               WHEN total = 0 OR revenue <= 0 THEN 'C'
               WHEN before * CAST($a_den AS HUGEINT) < CAST($a_num AS HUGEINT) * total THEN 'A'
               WHEN before * CAST($ab_den AS HUGEINT) < CAST($ab_num AS HUGEINT) * total THEN 'B'
               ELSE 'C'
           END AS abc
    FROM walked
)
SELECT now.entity_id, now.abc,
       CASE
           WHEN prev.abc IS NULL THEN 'new'
           WHEN now.abc < prev.abc THEN 'up'
           WHEN now.abc > prev.abc THEN 'down'
           ELSE 'same'
       END AS abc_trend
FROM classed now
LEFT JOIN classed prev ON prev.period = 'prev' AND prev.entity_id = now.entity_id
WHERE now.period = 'now'
"""


def _ratio(value: Decimal) -> tuple[int, int]:
    fraction = Fraction(value)
    return fraction.numerator, fraction.denominator


def build(con: duckdb.DuckDBPyConnection, abc_a: Decimal, abc_b: Decimal) -> None:
    """Fill seg_abc_trend (today's class and trend)."""
    a_num, a_den = _ratio(abc_a)
    ab_num, ab_den = _ratio(abc_a + abc_b)
    con.execute(ABC_TREND, {"a_num": a_num, "a_den": a_den, "ab_num": ab_num, "ab_den": ab_den})
