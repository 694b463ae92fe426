"""How the state file stores things: its schema, the views the segmentation reads
over the mirror, the normalised form of multi-values and its UTC timestamps.

Split from :mod:`sync.state` so the parts of ``State`` (:mod:`sync.state_mirror`,
:mod:`sync.state_runs`, :mod:`sync.state_queries`) share one definition of each.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from segmentation.inputs import AMOUNT_TYPE

SCHEMA_VERSION = "1"

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS mirror_contacts (
    id VARCHAR PRIMARY KEY, email VARCHAR, first_name VARCHAR, last_name VARCHAR,
    salutation VARCHAR, country VARCHAR, company_id VARCHAR, updated_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS mirror_companies (
    id VARCHAR PRIMARY KEY, name VARCHAR, updated_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS mirror_deals (
    id VARCHAR PRIMARY KEY, amount {AMOUNT_TYPE}, close_date DATE, won BOOLEAN NOT NULL,
    updated_at TIMESTAMP
);
CREATE TABLE IF NOT EXISTS mirror_deal_contacts (deal_id VARCHAR NOT NULL, contact_id VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS mirror_deal_companies (deal_id VARCHAR NOT NULL, company_id VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS mirror_properties (
    object_type VARCHAR NOT NULL, record_id VARCHAR NOT NULL, name VARCHAR NOT NULL, value VARCHAR
);
-- The crmseg_* values the CRM holds, as pulled or as last written by crmseg.
CREATE TABLE IF NOT EXISTS crm_values (
    object_type VARCHAR NOT NULL, record_id VARCHAR NOT NULL, field VARCHAR NOT NULL,
    value VARCHAR NOT NULL, PRIMARY KEY (object_type, record_id, field)
);
-- The modification stamp the CRM answered for crmseg's own last write of a record:
-- a record pulled with exactly that stamp changed only by that write.
CREATE TABLE IF NOT EXISTS own_writes (
    object_type VARCHAR NOT NULL, record_id VARCHAR NOT NULL, updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (object_type, record_id)
);
CREATE TABLE IF NOT EXISTS pulls (
    object_type VARCHAR PRIMARY KEY, properties VARCHAR NOT NULL,
    cursor_modified_at TIMESTAMP, cursor_last_id VARCHAR,
    last_full_at TIMESTAMP, last_pull_at TIMESTAMP
);
CREATE SEQUENCE IF NOT EXISTS run_ids START 1;
CREATE TABLE IF NOT EXISTS runs (
    id BIGINT PRIMARY KEY, command VARCHAR NOT NULL, started_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP, status VARCHAR NOT NULL, as_of DATE, dry_run BOOLEAN,
    summary VARCHAR, error VARCHAR
);
CREATE TABLE IF NOT EXISTS audit (
    run_id BIGINT NOT NULL, written_at TIMESTAMP NOT NULL, object_type VARCHAR NOT NULL,
    record_id VARCHAR NOT NULL, field VARCHAR NOT NULL, old_value VARCHAR, new_value VARCHAR,
    status VARCHAR NOT NULL, error VARCHAR
);
CREATE TABLE IF NOT EXISTS segment_sizes (
    run_id BIGINT NOT NULL, as_of DATE NOT NULL, family VARCHAR NOT NULL,
    value VARCHAR NOT NULL, contacts BIGINT NOT NULL
);
-- Segments v2: the postal address of contacts (added to state files made before it).
ALTER TABLE mirror_contacts ADD COLUMN IF NOT EXISTS street VARCHAR;
ALTER TABLE mirror_contacts ADD COLUMN IF NOT EXISTS postal_code VARCHAR;
ALTER TABLE mirror_contacts ADD COLUMN IF NOT EXISTS city VARCHAR;
"""

#: What the segmentation reads (``segmentation.inputs``), as views over the mirror.
INPUT_VIEWS = """
-- A record's key is its row id in the mirror (unique, and unchanged while the views are
-- read: nothing writes to the mirror during a compute); a link finds its deal's key,
-- and a contact link its contact's, by id (NULL where the id is not mirrored).
CREATE OR REPLACE TEMP VIEW contacts AS
    SELECT id, email, first_name, last_name, salutation, country, company_id,
           street, postal_code, city, rowid AS key FROM mirror_contacts;
CREATE OR REPLACE TEMP VIEW companies AS SELECT id, name, rowid AS key FROM mirror_companies;
CREATE OR REPLACE TEMP VIEW deals AS
    SELECT id, amount, close_date, won, rowid AS key FROM mirror_deals;
CREATE OR REPLACE TEMP VIEW deal_contacts AS
    SELECT l.deal_id, l.contact_id, d.rowid AS deal_key, c.rowid AS contact_key
    FROM mirror_deal_contacts l
    LEFT JOIN mirror_deals d ON d.id = l.deal_id
    LEFT JOIN mirror_contacts c ON c.id = l.contact_id;
CREATE OR REPLACE TEMP VIEW deal_companies AS
    SELECT l.deal_id, l.company_id, d.rowid AS deal_key
    FROM mirror_deal_companies l LEFT JOIN mirror_deals d ON d.id = l.deal_id;
CREATE OR REPLACE TEMP VIEW contact_properties AS
    SELECT record_id AS contact_id, name, value FROM mirror_properties WHERE object_type = 'contact';
CREATE OR REPLACE TEMP VIEW deal_properties AS
    SELECT record_id AS deal_id, name, value FROM mirror_properties WHERE object_type = 'deal';
CREATE OR REPLACE TEMP VIEW company_properties AS
    SELECT record_id AS company_id, name, value FROM mirror_properties
    WHERE object_type = 'company';
-- CRM amounts arrive in the reporting currency: nothing to convert.
CREATE OR REPLACE TEMP VIEW deal_currencies AS
    SELECT NULL::VARCHAR AS deal_id, NULL::VARCHAR AS currency WHERE false;
"""

#: Multi-values compare as sets: ``b;a`` in the CRM equals the ``a;b`` crmseg wants.
NORMALISE = "NULLIF(array_to_string(list_sort(list_distinct(list_filter(string_split({v}, ';'), lambda x: trim(x) <> ''))), ';'), '')"

TABLE = {"contact": "mirror_contacts", "company": "mirror_companies", "deal": "mirror_deals"}


def now() -> datetime:
    """UTC now, naive: the state file stores UTC timestamps without a zone."""
    return datetime.now(UTC).replace(tzinfo=None)


def naive(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


def utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


class Connected:
    """What every part of ``State`` stands on: the open connection and its file."""

    path: Path
    con: duckdb.DuckDBPyConnection

    def rollback(self) -> None:
        """Undo the open transaction. A failing rollback (the transaction already gone,
        the disk full) must not hide the error that led here, so it is swallowed."""
        with contextlib.suppress(duckdb.Error):
            self.con.execute("ROLLBACK")
