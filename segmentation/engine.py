"""Runs the rules of docs/SEGMENTS.md in order over the input tables.

``segment(con, config, as_of)`` reads the tables of ``segmentation.inputs`` in
``con`` and leaves its results in temporary tables of that connection:

* ``seg_tags``: one row per contact, the columns of ``tag_columns(config)``
  (``TAG_COLUMNS``, then one per property family, then one per rule family);
* ``seg_entity_tags``: one row per entity of the level (contact or company);
* ``seg_metrics``: the per-entity inputs (purchases, window sums, dates), which
  ``crmseg explain`` shows.

plus ``seg_purchases`` and ``seg_credits`` (each purchase's share per entity), which
``crmseg explain`` reads too. The tables of the steps between are dropped as soon
as the next step has read them, so a run's peak memory is the inputs plus a few
steps, not every step at once.

It writes nothing else and talks to no CRM, so the same data and ``as_of``
always give the same tags.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import duckdb

from segmentation import abc, families, interests, lifecycle, purchases, quality, rfm, warnings
from segmentation.config import TAG_COLUMNS, SegmentationConfig
from segmentation.errors import InputError
from segmentation.families import quote
from segmentation.warnings import SizeWarning

__all__ = ["TAG_COLUMNS", "SegmentationReport", "segment", "tag_columns"]

ENTITY_TAGS = """
CREATE OR REPLACE TEMP TABLE seg_entity_tags AS
SELECT m.entity_id, a.abc, a.abc_trend, r.rfm_r, r.rfm_f, r.rfm_m, r.rfm_score, r.rfm_segment,
       l.lifecycle{extra_columns}
FROM seg_metrics m
LEFT JOIN seg_abc_trend a USING (entity_id)
LEFT JOIN seg_rfm r USING (entity_id)
JOIN seg_lifecycle l USING (entity_id){extra_joins}
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
       q.data_quality{extra_columns}
FROM contacts c
LEFT JOIN seg_entity_tags e ON e.entity_id = {entity_key}
LEFT JOIN seg_interests i ON i.contact_id = c.id
LEFT JOIN seg_quality q ON q.contact_id = c.id{extra_joins}
ORDER BY c.id
"""


#: The steps' tables, each dropped once the table built from it exists, so the memory
#: they hold is reused by the next step instead of adding to the peak. What stays is
#: what callers read: seg_tags, seg_entity_tags, seg_metrics, seg_purchases and
#: seg_credits (with seg_credit_parts behind it).
READ_BY_ENTITY_TAGS = (
    "seg_abc_trend",
    "seg_rfm",
    "seg_lifecycle",
    "seg_rules",
    "seg_company_property_tags",
)
READ_BY_TAGS = (
    "seg_interests",
    "seg_quality",
    "seg_property_tags",
    "seg_property_values",
    "seg_property_raw",
    "seg_property_map",
    "seg_rules_prospect",
)


def _drops(tables: tuple[str, ...]) -> str:
    """The statements dropping ``tables`` (fixed names, never user input), to run in the
    same ``execute`` as the statement that read them last."""
    return "".join(f";\nDROP TABLE IF EXISTS {t}" for t in tables)


def tag_columns(config: SegmentationConfig) -> tuple[str, ...]:
    """The columns of ``seg_tags`` and ``tags.csv`` for this config, in order."""
    return TAG_COLUMNS + config.family_names


def _family_sql(config: SegmentationConfig) -> dict[str, str]:
    """The extra columns and joins of ENTITY_TAGS and TAGS (family names are validated
    identifiers, quoted all the same)."""
    entity_columns, entity_joins, tag_cols, tag_joins = "", "", "", ""
    company_families = [p.family for p in config.properties if p.source == "company"]
    if config.level == "company" and company_families:
        entity_columns += "".join(f", cp.{quote(f)}" for f in company_families)
        entity_joins += "\nLEFT JOIN seg_company_property_tags cp ON cp.company_id = m.entity_id"
    if config.properties:
        tag_cols += "".join(f", pt.{quote(p.family)}" for p in config.properties)
        tag_joins += "\nLEFT JOIN seg_property_tags pt ON pt.contact_id = c.id"
    if config.rules:
        entity_columns += "".join(f", ru.{quote(r.family)}" for r in config.rules)
        entity_joins += "\nLEFT JOIN seg_rules ru ON ru.entity_id = m.entity_id"
        tag_cols += "".join(
            f", CASE WHEN e.entity_id IS NULL THEN rp.{quote(r.family)} "
            f"ELSE e.{quote(r.family)} END AS {quote(r.family)}"
            for r in config.rules
        )
        tag_joins += "\nCROSS JOIN seg_rules_prospect rp"
    return {
        "entity_columns": entity_columns,
        "entity_joins": entity_joins,
        "tag_columns": tag_cols,
        "tag_joins": tag_joins,
    }


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
    #: The reporting currency, when the config names it (``[segmentation] currency``).
    currency: str | None = None
    #: Tag values held by fewer than ``min_segment_size`` contacts (docs/SEGMENTS.md
    #: "Segment size warnings").
    warnings: tuple[SizeWarning, ...] = ()
    min_segment_size: int = 20

    def revenue(self, units: int) -> Decimal:
        return Decimal(units) / Decimal(self.units_per_unit)


def _entity_steps(
    con: duckdb.DuckDBPyConnection, config: SegmentationConfig, as_of: date
) -> tuple[int, int, int, dict[str, str]]:
    """Every step up to ``seg_entity_tags``; returns (split denominator, orphan deals,
    rate scale, the family SQL of TAGS)."""
    try:
        denominator, orphans, rate_scale = purchases.build(
            con, config.level, as_of, config.window_days, config.currency_rates
        )
    except duckdb.OutOfRangeException as exc:
        raise InputError(f"deal amounts too large to sum exactly: {exc}") from exc
    units_per_unit = purchases.units_per_currency_unit(denominator, rate_scale)
    abc.build(con, config.abc_a, config.abc_b)
    rfm.build(con, config, units_per_unit)
    lifecycle.build(con, config, as_of)
    interests.build(con, config.interests, as_of, config.window_days)
    quality.build(con, config.quality_checks)
    families.build_properties(con, config)
    families.build_rules(con, config, units_per_unit)
    extra = _family_sql(config)
    # seg_company_property_values, the view behind seg_company_property_tags, goes with it.
    con.execute(
        ENTITY_TAGS.format(extra_columns=extra["entity_columns"], extra_joins=extra["entity_joins"])
        + ";\nDROP VIEW IF EXISTS seg_company_property_values"
        + _drops(READ_BY_ENTITY_TAGS)
    )
    return denominator, orphans, rate_scale, extra


def segment(
    con: duckdb.DuckDBPyConnection, config: SegmentationConfig, as_of: date
) -> SegmentationReport:
    """Compute every tag for every contact as of ``as_of``."""
    denominator, orphans, rate_scale, extra = _entity_steps(con, config, as_of)
    # The key is one of two fixed column names, never user input.
    counts = con.execute(
        TAGS.format(
            entity_key=CONTACT_TAGS[config.level],
            extra_columns=extra["tag_columns"],
            extra_joins=extra["tag_joins"],
        )
        + _drops(READ_BY_TAGS)
        + ";\nSELECT (SELECT count(*) FROM contacts), count(*), "
        "count(*) FILTER (WHERE purchases_ever > 0) FROM seg_metrics"
    ).fetchone()
    assert counts is not None
    return SegmentationReport(
        as_of=as_of,
        level=config.level,
        contacts=int(counts[0]),
        entities=int(counts[1]),
        customers=int(counts[2]),
        orphan_deals=orphans,
        units_per_unit=purchases.units_per_currency_unit(denominator, rate_scale),
        currency=config.currency,
        warnings=warnings.size_warnings(con, config),
        min_segment_size=config.min_segment_size,
    )
