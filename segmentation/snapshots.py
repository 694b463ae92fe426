"""Tags and figures of one entity as of several dates, side by side.

Why: the questions a report answers compare two moments -- which customers
moved from B to A since the previous window, who went to sleep since the last
run. ``segment`` leaves only one date's results in its ``seg_*`` tables, so
``keep`` copies the per-entity tags and figures of a date into a table of its
own before the next date is computed. Every value comes from ``segment``
itself: the comparison uses the very rules the tags were written with.
"""

from __future__ import annotations

import re
from datetime import date

import duckdb

from segmentation.config import SegmentationConfig
from segmentation.engine import SegmentationReport, segment

#: Per entity: every tag of ``seg_entity_tags`` plus the window figures. Revenue
#: stays in the integer units of that date's report (see ``SegmentationReport``).
KEEP = """
CREATE OR REPLACE TEMP TABLE {table} AS
SELECT e.*, m.revenue AS revenue_units, m.frequency, m.purchases_ever, m.first_purchase,
       m.last_purchase
FROM seg_entity_tags e JOIN seg_metrics m USING (entity_id)
"""

_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def keep(
    con: duckdb.DuckDBPyConnection, config: SegmentationConfig, day: date, table: str
) -> SegmentationReport:
    """Segment as of ``day`` and copy its per-entity results into the temp table ``table``.

    The ``seg_*`` tables then hold ``day``'s results, so the date a caller wants
    to work with last must be computed last.
    """
    if not _NAME.match(table):
        raise ValueError(f"not a plain table name: {table!r}")
    report = segment(con, config, day)
    con.execute(KEEP.format(table=table))
    return report
