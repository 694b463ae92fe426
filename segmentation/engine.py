"""Runs the rules of SEGMENTS.md in order over the input tables.

``segment(con, config, as_of)`` reads the tables of ``segmentation.inputs`` in
``con`` and leaves its results in temporary tables of that connection:

* ``seg_tags``: one row per contact, the columns of ``TAG_COLUMNS``;
* ``seg_entity_tags``: one row per entity of the level (contact or company);
* ``seg_metrics``: the per-entity inputs (purchases, window sums, dates), which
  ``crmseg explain`` shows.

It writes nothing else and talks to no CRM, so the same data and ``as_of``
always give the same tags.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import duckdb

from connectors.errors import InputError
from segmentation import abc, interests, lifecycle, purchases, quality, rfm
from segmentation.config import SegmentationConfig

TAG_COLUMNS = (
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
)

ENTITY_TAGS = """
CREATE OR REPLACE TEMP TABLE seg_entity_tags AS
SELECT m.entity_id, a.abc, a.abc_trend, r.rfm_r, r.rfm_f, r.rfm_m, r.rfm_score, r.rfm_segment,
       l.lifecycle
FROM seg_metrics m
LEFT JOIN seg_abc_trend a USING (entity_id)
LEFT JOIN seg_rfm r USING (entity_id)
JOIN seg_lifecycle l USING (entity_id)
"""

#: Company level: contacts inherit their company's tags; contacts without a
#: (known) company are prospects with no purchases.
CONTACT_TAGS = {
    "contact": "c.id",
    "company": "c.company_id",
}

TAGS = """
CREATE OR REPLACE TEMP TABLE seg_tags AS
SELECT c.id AS contact_id, e.abc, e.abc_trend, e.rfm_r, e.rfm_f, e.rfm_m, e.rfm_score,
       e.rfm_segment, COALESCE(e.lifecycle, 'prospect') AS lifecycle, i.interests,
       q.data_quality
FROM contacts c
LEFT JOIN seg_entity_tags e ON e.entity_id = {entity_key}
LEFT JOIN seg_interests i ON i.contact_id = c.id
LEFT JOIN seg_quality q ON q.contact_id = c.id
ORDER BY c.id
"""


@dataclass(frozen=True)
class SegmentationReport:
    as_of: date
    level: str
    contacts: int
    entities: int
    customers: int
    orphan_deals: int
    #: Revenue units per currency unit: ``seg_metrics.revenue / units_per_unit``
    #: is the revenue in currency.
    units_per_unit: int

    def revenue(self, units: int) -> Decimal:
        return Decimal(units) / Decimal(self.units_per_unit)


def segment(
    con: duckdb.DuckDBPyConnection, config: SegmentationConfig, as_of: date
) -> SegmentationReport:
    """Compute every tag for every contact as of ``as_of``."""
    try:
        denominator, orphans = purchases.build(con, config.level, as_of, config.window_days)
    except duckdb.OutOfRangeException as exc:
        raise InputError(f"deal amounts too large to sum exactly: {exc}") from exc
    units_per_unit = purchases.units_per_currency_unit(denominator)
    abc.build(con, config.abc_a, config.abc_b)
    rfm.build(con, config, units_per_unit)
    lifecycle.build(con, config, as_of)
    interests.build(con, config.interests, as_of, config.window_days)
    quality.build(con)
    con.execute(ENTITY_TAGS)
    # The key is one of two fixed column names, never user input.
    con.execute(TAGS.format(entity_key=CONTACT_TAGS[config.level]))
    counts = con.execute(
        "SELECT (SELECT count(*) FROM contacts), count(*), count(*) FILTER (WHERE purchases_ever > 0)"
        " FROM seg_metrics"
    ).fetchone()
    assert counts is not None
    return SegmentationReport(
        as_of=as_of,
        level=config.level,
        contacts=int(counts[0]),
        entities=int(counts[1]),
        customers=int(counts[2]),
        orphan_deals=orphans,
        units_per_unit=units_per_unit,
    )
