"""The tables the segmentation reads: the canonical shape every source is loaded into.

Connectors (CSV files, the CRM mirror) fill these; the rules read nothing else.
Money is ``DECIMAL(38, 12)``: exact, with room for any real-world amount.
Extra properties live in long tables so any property can be named by an
interest rule without changing the schema.

Every contact, company and deal also has an integer ``key``, unique in its table; each
link carries its deal's key (NULL when the deal is not in ``deals``), and a contact link
its contact's (NULL when the contact is unknown: the CSV loader gets it from the join
that counts the dangling ids anyway). The purchase side joins, de-duplicates and counts
on these integers instead of hashing two string ids per link, which is most of its cost
at millions of deals; the ids stay for everything that shows or matches them. The keys
are 4-byte integers here (a record's place in its file); the CRM mirror's views give
its row ids, any integer type will do.
A company link has no company key: at contact level nothing would read it, and the
company level looks the few company links up itself.
"""

from __future__ import annotations

import duckdb

AMOUNT_SCALE = 12
AMOUNT_TYPE = f"DECIMAL(38, {AMOUNT_SCALE})"

INPUT_TABLES_DDL = f"""
CREATE TABLE IF NOT EXISTS contacts (
    id VARCHAR NOT NULL,
    email VARCHAR, first_name VARCHAR, last_name VARCHAR,
    salutation VARCHAR, country VARCHAR, company_id VARCHAR,
    street VARCHAR, postal_code VARCHAR, city VARCHAR, key INTEGER
);
CREATE TABLE IF NOT EXISTS companies (id VARCHAR NOT NULL, name VARCHAR, key INTEGER);
CREATE TABLE IF NOT EXISTS deals (
    id VARCHAR NOT NULL, amount {AMOUNT_TYPE}, close_date DATE, won BOOLEAN NOT NULL,
    key INTEGER
);
-- Every link as named (repeats and unknown ids kept), with the keys of its ends.
CREATE TABLE IF NOT EXISTS deal_contacts (
    deal_id VARCHAR NOT NULL, contact_id VARCHAR NOT NULL, deal_key INTEGER, contact_key INTEGER
);
CREATE TABLE IF NOT EXISTS deal_companies (
    deal_id VARCHAR NOT NULL, company_id VARCHAR NOT NULL, deal_key INTEGER
);
CREATE TABLE IF NOT EXISTS contact_properties (
    contact_id VARCHAR NOT NULL, name VARCHAR NOT NULL, value VARCHAR
);
CREATE TABLE IF NOT EXISTS deal_properties (
    deal_id VARCHAR NOT NULL, name VARCHAR NOT NULL, value VARCHAR
);
CREATE TABLE IF NOT EXISTS company_properties (
    company_id VARCHAR NOT NULL, name VARCHAR NOT NULL, value VARCHAR
);
-- The currency of a deal whose amount is not yet in the reporting currency (CSV
-- exports); CRM amounts arrive converted and leave this empty.
CREATE TABLE IF NOT EXISTS deal_currencies (deal_id VARCHAR NOT NULL, currency VARCHAR NOT NULL);
"""

INPUT_TABLES = (
    "contacts",
    "companies",
    "deals",
    "deal_contacts",
    "deal_companies",
    "contact_properties",
    "deal_properties",
    "company_properties",
    "deal_currencies",
)


def connect() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for segmenting; DuckDB's own progress bar stays off (crmseg
    shows its own, on stderr, and only when asked)."""
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    return con


def create_input_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(INPUT_TABLES_DDL)
