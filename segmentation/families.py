"""Property families and rule families (docs/SEGMENTS.md "Property families", "Rule families").

Property families copy a contact's (or its company's) property into one clean
value. The normalisation is Python's own ``str.lower`` and ``str.isalnum``, as
docs/SEGMENTS.md defines it, applied to the *distinct* raw values only (a few
hundred industries or channels, however many contacts), so DuckDB's Unicode
tables never decide a tag.

Rule families are one CASE per family over the per-entity figures, the values
in configured order (the first whose conditions all hold wins). Every
condition value arrives as a bound parameter; money bounds are turned into
revenue units (``seg_metrics.revenue`` is an exact integer) and compared
exactly. A second, one-row table holds what a prospect with no purchase gets,
for contacts that are no entity of the level (company level, no company).
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

import duckdb

from segmentation.config import PropertyFamily, RuleFamily, RuleValue, SegmentationConfig


def quote(name: str) -> str:
    """A validated family name as a SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def normalise(raw: str) -> str:
    """Lowercase; each run of characters that are not letters or digits becomes one
    ``_``; leading and trailing ``_`` removed (``Messe München`` -> ``messe_münchen``)."""
    out: list[str] = []
    gap = False
    for ch in raw.lower():
        if ch.isalnum():
            if gap and out:
                out.append("_")
            out.append(ch)
            gap = False
        else:
            gap = True
    return "".join(out)


def property_value(family: PropertyFamily, raw: str | None) -> str | None:
    """The tag of one raw property value (``None`` for an empty one)."""
    if raw is None or raw.strip() == "":
        return None
    mapping = family.folded_map()
    if mapping is not None:
        return mapping.get(raw.strip().lower(), "other")
    return normalise(raw.strip()) or None


#: The families arrive as bound lists (family, source, property), not a table filled
#: row by row: one statement however many families.
RAW_VALUES = """
CREATE OR REPLACE TEMP TABLE seg_property_raw AS
WITH seg_property_families AS (
    SELECT unnest(CAST($families AS VARCHAR[])) AS family,
           unnest(CAST($sources AS VARCHAR[])) AS source,
           unnest(CAST($properties AS VARCHAR[])) AS property
)
SELECT p.contact_id AS record_id, 'contact' AS kind, f.family, any_value(p.value) AS raw
FROM contact_properties p JOIN seg_property_families f
    ON f.source = 'contact' AND f.property = p.name
WHERE p.value IS NOT NULL
GROUP BY ALL
UNION ALL
SELECT p.company_id, 'company', f.family, any_value(p.value)
FROM company_properties p JOIN seg_property_families f
    ON f.source = 'company' AND f.property = p.name
WHERE p.value IS NOT NULL
GROUP BY ALL
"""

#: Each distinct raw value's tag, computed in Python (see above), as bound lists: one
#: statement however many distinct values.
PROPERTY_MAP = """
CREATE OR REPLACE TEMP TABLE seg_property_map AS
SELECT unnest(CAST($families AS VARCHAR[])) AS family,
       unnest(CAST($raws AS VARCHAR[])) AS raw,
       unnest(CAST($values AS VARCHAR[])) AS value
"""

#: Per contact: its own value (contact_property) or its company's (company_property).
#: Two equi-joins, not one join on an OR: DuckDB can only hash-join an equality, and
#: an OR would compare every contact with every value.
CONTACT_VALUES = """
CREATE OR REPLACE TEMP TABLE seg_property_values AS
SELECT c.id AS contact_id, m.family, m.value
FROM contacts c
JOIN seg_property_raw r ON r.kind = 'contact' AND r.record_id = c.id
JOIN seg_property_map m ON m.family = r.family AND m.raw = r.raw
WHERE m.value IS NOT NULL
UNION ALL
SELECT c.id AS contact_id, m.family, m.value
FROM contacts c
JOIN seg_property_raw r ON r.kind = 'company' AND r.record_id = c.company_id
JOIN seg_property_map m ON m.family = r.family AND m.raw = r.raw
WHERE m.value IS NOT NULL
"""


def _pivot(table: str, key: str, families: list[str], out: str) -> str:
    columns = ", ".join(f"max(value) FILTER (WHERE family = '{f}') AS {quote(f)}" for f in families)
    return (
        f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT {key}, {columns} FROM {table} GROUP BY {key}"
    )


def build_properties(con: duckdb.DuckDBPyConnection, config: SegmentationConfig) -> None:
    """Fill seg_property_tags (per contact) and seg_company_property_tags (per company,
    the company_property families) with one column per property family."""
    families = config.properties
    if not families:
        return
    con.execute(
        RAW_VALUES,
        {
            "families": [f.family for f in families],
            "sources": [f.source for f in families],
            "properties": [f.property for f in families],
        },
    )
    by_name = {f.family: f for f in families}
    pairs = con.execute("SELECT DISTINCT family, raw FROM seg_property_raw").fetchall()
    con.execute(
        PROPERTY_MAP,
        {
            "families": [fam for fam, _ in pairs],
            "raws": [raw for _, raw in pairs],
            "values": [property_value(by_name[fam], raw) for fam, raw in pairs],
        },
    )
    con.execute(CONTACT_VALUES)
    names = [f.family for f in families]
    con.execute(_pivot("seg_property_values", "contact_id", names, "seg_property_tags"))
    company_names = [f.family for f in families if f.source == "company"]
    if company_names:
        con.execute(
            "CREATE OR REPLACE TEMP VIEW seg_company_property_values AS "
            "SELECT r.record_id AS company_id, m.family, m.value FROM seg_property_raw r "
            "JOIN seg_property_map m ON m.family = r.family AND m.raw = r.raw "
            "WHERE r.kind = 'company' AND m.value IS NOT NULL"
        )
        con.execute(
            _pivot(
                "seg_company_property_values",
                "company_id",
                company_names,
                "seg_company_property_tags",
            )
        )


#: The figures rule conditions read, per entity; plus the one prospect row. Each is the
#: input of one statement (``WITH rule_input AS (...)``), not a table of its own.
RULE_INPUT = """
SELECT m.entity_id, a.abc, a.abc_trend, l.lifecycle, r.rfm_segment,
       m.revenue, m.frequency, m.purchases_ever, m.recency_days
FROM seg_metrics m
LEFT JOIN seg_abc_trend a USING (entity_id)
LEFT JOIN seg_rfm r USING (entity_id)
JOIN seg_lifecycle l USING (entity_id)
"""

PROSPECT_INPUT = """
SELECT NULL::VARCHAR AS entity_id, NULL::VARCHAR AS abc, NULL::VARCHAR AS abc_trend,
       'prospect' AS lifecycle, NULL::VARCHAR AS rfm_segment, CAST(0 AS HUGEINT) AS revenue,
       0::BIGINT AS frequency, 0::BIGINT AS purchases_ever, NULL::BIGINT AS recency_days
"""


def _conditions(value: RuleValue, prefix: str, units_per_unit: int, params: dict[str, Any]) -> str:
    parts: list[str] = []
    for key in ("abc", "abc_trend", "lifecycle", "rfm_segment"):
        allowed = getattr(value, key)
        if allowed is not None:
            params[f"{prefix}_{key}"] = list(allowed)
            # An empty tag (NULL) matches none: COALESCE keeps NULL from leaking out.
            parts.append(
                f"COALESCE(list_contains(CAST(${prefix}_{key} AS VARCHAR[]), {key}), false)"
            )
    if value.revenue_min is not None:
        params[f"{prefix}_rmin"] = str(math.ceil(Fraction(value.revenue_min) * units_per_unit))
        parts.append(f"revenue >= CAST(${prefix}_rmin AS HUGEINT)")
    if value.revenue_max is not None:
        params[f"{prefix}_rmax"] = str(math.floor(Fraction(value.revenue_max) * units_per_unit))
        parts.append(f"revenue <= CAST(${prefix}_rmax AS HUGEINT)")
    for key, column, op in (
        ("frequency_min", "frequency", ">="),
        ("frequency_max", "frequency", "<="),
        ("purchases_min", "purchases_ever", ">="),
        ("recency_max", "recency_days", "<="),
    ):
        bound = getattr(value, key)
        if bound is not None:
            params[f"{prefix}_{key}"] = bound
            parts.append(f"COALESCE({column} {op} ${prefix}_{key}, false)")
    if value.average_order_max is not None:
        # revenue / frequency <= x  <=>  revenue * den <= num * frequency (frequency > 0)
        limit = Fraction(value.average_order_max) * units_per_unit
        params[f"{prefix}_avg_num"] = str(limit.numerator)
        params[f"{prefix}_avg_den"] = str(limit.denominator)
        parts.append(
            f"(frequency > 0 AND revenue * CAST(${prefix}_avg_den AS HUGEINT) "
            f"<= CAST(${prefix}_avg_num AS HUGEINT) * frequency)"
        )
    return " AND ".join(parts) or "true"


def _rule_case(family: RuleFamily, index: int, units_per_unit: int, params: dict[str, Any]) -> str:
    whens = []
    for j, value in enumerate(family.values):
        prefix = f"r{index}_{j}"
        params[f"{prefix}_value"] = value.value
        whens.append(
            f"WHEN {_conditions(value, prefix, units_per_unit, params)} THEN ${prefix}_value"
        )
    return f"CAST(CASE {' '.join(whens)} END AS VARCHAR) AS {quote(family.family)}"


def build_rules(
    con: duckdb.DuckDBPyConnection, config: SegmentationConfig, units_per_unit: int
) -> None:
    """Fill seg_rules (per entity) and seg_rules_prospect (one row) with one column per
    rule family."""
    if not config.rules:
        return
    for source, out in ((RULE_INPUT, "seg_rules"), (PROSPECT_INPUT, "seg_rules_prospect")):
        params: dict[str, Any] = {}
        cases = ", ".join(
            _rule_case(f, i, units_per_unit, params) for i, f in enumerate(config.rules)
        )
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {out} AS WITH rule_input AS ({source}) "
            f"SELECT entity_id, {cases} FROM rule_input",
            params,
        )
