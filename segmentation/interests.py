"""Interest tags (docs/SEGMENTS.md "Interests").

A rule matches when one of its terms is a case-insensitive substring of one of
the ``;``-separated values of the named property: on the contact itself, or on
any deal listing the contact (won or not) whose close date is empty or in the
window. Rules arrive as bound lists (one row per term, unnested in the query), so
property names and terms are data, never SQL, and the step is one statement.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb

from segmentation.config import InterestRule

INTERESTS = """
CREATE OR REPLACE TEMP TABLE seg_interests AS
WITH rules AS (
    SELECT unnest(CAST($tags AS VARCHAR[])) AS tag,
           unnest(CAST($sources AS VARCHAR[])) AS source,
           unnest(CAST($properties AS VARCHAR[])) AS property,
           unnest(CAST($terms AS VARCHAR[])) AS term
),
terms AS (
    SELECT tag, source, property, lower(term) AS term FROM rules
),
contact_values AS (
    SELECT p.contact_id, p.name, lower(unnest(string_split(p.value, ';'))) AS value
    FROM contact_properties p
    WHERE p.value IS NOT NULL AND p.name IN (SELECT property FROM terms WHERE source = 'contact')
),
window_deals AS (
    SELECT id AS deal_id FROM deals
    WHERE close_date IS NULL OR (close_date > $window_start AND close_date <= $as_of)
),
deal_values AS (
    SELECT DISTINCT l.contact_id, p.name, lower(unnest(string_split(p.value, ';'))) AS value
    FROM deal_properties p
    JOIN window_deals w ON w.deal_id = p.deal_id
    JOIN deal_contacts l ON l.deal_id = p.deal_id
    WHERE p.value IS NOT NULL AND p.name IN (SELECT property FROM terms WHERE source = 'deal')
),
matches AS (
    SELECT v.contact_id, t.tag FROM contact_values v
    JOIN terms t ON t.source = 'contact' AND t.property = v.name AND contains(v.value, t.term)
    UNION
    SELECT v.contact_id, t.tag FROM deal_values v
    JOIN terms t ON t.source = 'deal' AND t.property = v.name AND contains(v.value, t.term)
)
SELECT contact_id, array_to_string(list_sort(list_distinct(list(tag))), ';') AS interests
FROM matches GROUP BY contact_id
"""


def build(
    con: duckdb.DuckDBPyConnection, rules: list[InterestRule], as_of: date, window_days: int
) -> None:
    rows = [(r.tag, r.source, r.property, term) for r in rules for term in r.any_of]
    con.execute(
        INTERESTS,
        {
            "tags": [row[0] for row in rows],
            "sources": [row[1] for row in rows],
            "properties": [row[2] for row in rows],
            "terms": [row[3] for row in rows],
            "as_of": as_of,
            "window_start": as_of - timedelta(days=window_days),
        },
    )
