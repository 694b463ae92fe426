"""Data-quality flags (SEGMENTS.md "Data quality"), per contact, sorted.

Values are trimmed of surrounding whitespace before every check, so a name of
blanks is missing just like an empty one.
"""

from __future__ import annotations

import duckdb

WHITESPACE = " \t\n\r\x0b\x0c"

DATA_QUALITY = """
CREATE OR REPLACE TEMP TABLE seg_quality AS
WITH trimmed AS (
    SELECT id AS contact_id,
           trim(COALESCE(email, ''), $ws) AS email,
           trim(COALESCE(first_name, ''), $ws) AS first_name,
           trim(COALESCE(last_name, ''), $ws) AS last_name,
           trim(COALESCE(country, ''), $ws) AS country
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
           t.country = '' AS missing_country
    FROM trimmed t LEFT JOIN shared_emails s ON s.email_key = lower(t.email)
)
SELECT contact_id,
       nullif(concat_ws(';',
           CASE WHEN duplicate_email THEN 'duplicate_email' END,
           CASE WHEN invalid_email THEN 'invalid_email' END,
           CASE WHEN missing_country THEN 'missing_country' END,
           CASE WHEN missing_email THEN 'missing_email' END,
           CASE WHEN missing_name THEN 'missing_name' END
       ), '') AS data_quality
FROM checked
"""


def build(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(DATA_QUALITY, {"ws": WHITESPACE})
