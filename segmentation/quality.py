"""Data-quality flags (docs/SEGMENTS.md "Data quality"), per contact, sorted.

Values are trimmed of surrounding whitespace before every check, so a name of
blanks is missing just like an empty one. Only the checks named in
``quality_checks`` are reported; the CASE list below is in sorted order, so the
joined value is sorted too.
"""

from __future__ import annotations

from collections.abc import Sequence

import duckdb

from segmentation.config import QUALITY_CHECKS

WHITESPACE = " \t\n\r\x0b\x0c"

DATA_QUALITY = """
CREATE OR REPLACE TEMP TABLE seg_quality AS
WITH trimmed AS (
    SELECT id AS contact_id,
           trim(COALESCE(email, ''), $ws) AS email,
           trim(COALESCE(first_name, ''), $ws) AS first_name,
           trim(COALESCE(last_name, ''), $ws) AS last_name,
           trim(COALESCE(country, ''), $ws) AS country,
           trim(COALESCE(salutation, ''), $ws) AS salutation,
           trim(COALESCE(street, ''), $ws) = '' OR trim(COALESCE(postal_code, ''), $ws) = ''
               OR trim(COALESCE(city, ''), $ws) = '' AS address_gap
    FROM contacts
),
shared_emails AS (
    SELECT lower(email) AS email_key FROM trimmed WHERE email <> ''
    GROUP BY 1 HAVING count(*) > 1
),
checked AS (
    SELECT t.contact_id,
           t.email = '' AS missing_email,
           t.email <> '' AND NOT (
               length(t.email) - length(replace(t.email, '@', '')) = 1
               AND split_part(t.email, '@', 1) <> ''
               AND split_part(t.email, '@', 2) <> ''
               AND contains(split_part(t.email, '@', 2), '.')
           ) AS invalid_email,
           s.email_key IS NOT NULL AS duplicate_email,
           t.first_name = '' AND t.last_name = '' AS missing_name,
           t.country = '' AS missing_country,
           t.salutation = '' AS missing_salutation,
           t.address_gap AS missing_address
    FROM trimmed t LEFT JOIN shared_emails s ON s.email_key = lower(t.email)
)
SELECT contact_id,
       nullif(concat_ws(';', {cases}), '') AS data_quality
FROM checked
"""


def build(con: duckdb.DuckDBPyConnection, checks: Sequence[str]) -> None:
    # Check names are validated config values (QUALITY_CHECKS), never free text.
    chosen = [c for c in QUALITY_CHECKS if c in checks]
    cases = ", ".join(f"CASE WHEN {c} THEN '{c}' END" for c in chosen) or "NULL"
    con.execute(DATA_QUALITY.format(cases=cases), {"ws": WHITESPACE})
