"""The state file: one DuckDB database holding the CRM mirror, the pull cursors,
the values crmseg last saw in (or wrote to) the CRM, the run log, the audit of
every change written and the segment sizes per run.

Why one file: the segmentation runs as SQL right over the mirror, and a run's
bookkeeping commits in the same transactions as the data it describes. The
mirror is a cache: if the file is lost, the next run pulls everything again
and, because the plan diffs against values pulled from the CRM, writes only
what is really different.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb

from connectors.base import Company, Contact, Cursor, Deal, ObjectType, Page
from connectors.errors import AccountMismatch, StateError
from segmentation.inputs import AMOUNT_TYPE
from sync.fields import owned

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
CREATE OR REPLACE TEMP VIEW contacts AS
    SELECT id, email, first_name, last_name, salutation, country, company_id,
           street, postal_code, city FROM mirror_contacts;
CREATE OR REPLACE TEMP VIEW companies AS SELECT id, name FROM mirror_companies;
CREATE OR REPLACE TEMP VIEW deals AS SELECT id, amount, close_date, won FROM mirror_deals;
CREATE OR REPLACE TEMP VIEW deal_contacts AS SELECT deal_id, contact_id FROM mirror_deal_contacts;
CREATE OR REPLACE TEMP VIEW deal_companies AS SELECT deal_id, company_id FROM mirror_deal_companies;
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


@dataclass(frozen=True)
class PullState:
    properties: tuple[str, ...]
    cursor: Cursor | None
    last_full_at: datetime | None
    last_pull_at: datetime | None


#: How long a run waits for a reader (``crmseg status``...) to let go of the file.
READER_WAIT_SECONDS = 10.0

#: What every state-file message ends with: the file is a cache.
CACHE_HINT = (
    "the state file is only a cache: move it away (or set another [state] path) and "
    "crmseg pulls everything again"
)


def prepare_folder(path: Path) -> None:
    """Create the state file's folder, or say why it cannot be."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StateError(
            f"{path}: cannot create the state file's folder ({exc.strerror}); "
            "set [state] path to a writable place"
        ) from None


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _locked(exc: BaseException) -> bool:
    """Whether DuckDB refused the file because another process holds its lock."""
    text = str(exc)
    return "Could not set lock" in text or "Conflicting lock" in text


def io_message(path: Path, exc: BaseException) -> str:
    text = str(exc)
    if _locked(exc):
        return f"{path}: another process holds the state file; is another crmseg run using it?"
    if "No space left" in text or "disk full" in text.lower():
        return f"{path}: no space left on the device holding the state file; free some space"
    if "not a valid DuckDB database" in text or "Corrupt" in text or "corrupt" in text:
        return f"{path}: not a crmseg state file (damaged or another kind of file); {CACHE_HINT}"
    if "Permission denied" in text or "read-only" in text.lower():
        return (
            f"{path}: cannot write the state file (permission denied or read-only file "
            "system); set [state] path to a writable place"
        )
    return f"{path}: cannot use the state file ({_first_line(exc)}); {CACHE_HINT}"


def now() -> datetime:
    """UTC now, naive: the state file stores UTC timestamps without a zone."""
    return datetime.now(UTC).replace(tzinfo=None)


def _naive(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(UTC).replace(tzinfo=None)


class State:
    """An open state file. One process at a time (``sync.lock`` guards it)."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        #: Set when the file was locked by a running sync and a copy was read instead.
        self.copied = False
        self._copy_dir: tempfile.TemporaryDirectory[str] | None = None
        if path.is_dir():
            raise StateError(f"{path}: is a directory, not a state file; {CACHE_HINT}")
        if not read_only:
            prepare_folder(path)
        elif not path.exists():
            raise StateError(f"{path}: no state file yet; run `crmseg sync` first")
        try:
            self.con = self._connect(path, read_only) if read_only else self._connect_rw(path)
        except duckdb.IOException as exc:
            if read_only and _locked(exc):
                self.con = self._connect_copy(path)
            else:
                raise StateError(io_message(path, exc)) from None
        except duckdb.Error as exc:
            raise StateError(
                f"{path}: not a crmseg state file ({_first_line(exc)}); {CACHE_HINT}"
            ) from None
        try:
            self.con.execute("SET enable_progress_bar = false")
            if not read_only:
                self.con.execute(SCHEMA)
                self._check_version()
            elif self.meta_table_missing():
                raise StateError(f"{path}: not a crmseg state file (no meta table); {CACHE_HINT}")
            elif self._schema_outdated():
                # A file from an older crmseg, read before any sync upgraded it: read an
                # upgraded copy, since a reader must not change the file.
                self.con.close()
                self.con = self._connect_copy(path)
                self.con.execute(SCHEMA)
            self.con.execute(INPUT_VIEWS)
        except duckdb.Error as exc:
            self.con.close()
            raise StateError(io_message(path, exc)) from None

    @staticmethod
    def _connect(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(path), read_only=read_only)

    @classmethod
    def _connect_rw(cls, path: Path) -> duckdb.DuckDBPyConnection:
        """Open for writing. ``status``, ``history`` and ``explain`` may hold the file for
        a moment (they read it while nobody writes): wait for them, a few seconds."""
        deadline = time.monotonic() + READER_WAIT_SECONDS
        while True:
            try:
                return cls._connect(path, False)
            except duckdb.IOException as exc:
                if not _locked(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def _connect_copy(self, path: Path) -> duckdb.DuckDBPyConnection:
        """A running sync holds the file: read a copy of it (with its write-ahead log)."""
        self._copy_dir = tempfile.TemporaryDirectory(prefix="crmseg-state-")
        copy = Path(self._copy_dir.name) / path.name
        for attempt in range(3):
            try:
                shutil.copyfile(path, copy)
                wal = path.with_name(path.name + ".wal")
                if wal.exists():
                    shutil.copyfile(wal, copy.with_name(copy.name + ".wal"))
                con = duckdb.connect(str(copy))
                self.copied = True
                return con
            except (OSError, duckdb.Error):
                if attempt == 2:
                    raise StateError(
                        f"{path}: a running sync holds the state file and no consistent copy "
                        "could be read; try again when it has finished"
                    ) from None
                time.sleep(0.2)
        raise AssertionError("unreachable")

    def _schema_outdated(self) -> bool:
        """Whether the mirror lacks columns a newer crmseg added (``SCHEMA``'s ALTERs)."""
        row = self.con.execute(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = 'mirror_contacts' AND column_name = 'city'"
        ).fetchone()
        return not row or row[0] == 0

    def meta_table_missing(self) -> bool:
        row = self.con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'"
        ).fetchone()
        return not row or row[0] == 0

    def close(self) -> None:
        self.con.close()
        if self._copy_dir is not None:
            self._copy_dir.cleanup()

    def __enter__(self) -> State:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- meta ------------------------------------------------------------------
    def _check_version(self) -> None:
        found = self.meta("schema_version")
        if found is None:
            self.set_meta("schema_version", SCHEMA_VERSION)
        elif found != SCHEMA_VERSION:
            raise StateError(
                f"{self.path}: state file of schema {found}, this crmseg uses "
                f"{SCHEMA_VERSION}; {CACHE_HINT}"
            )

    def meta(self, key: str) -> str | None:
        row = self.con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self.con.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])

    def bind_source(self, source: str) -> bool:
        """Tie the mirror to one API endpoint (files without an account binding); a
        different one empties it. True if emptied."""
        known = self.meta("source")
        if known == source:
            return False
        self.con.execute("BEGIN")
        emptied = known is not None and self.meta("account") is None
        if emptied:
            self.forget_mirror()
        self.set_meta("source", source)
        self.con.execute("COMMIT")
        return emptied

    def account(self) -> str | None:
        """The CRM account the state file belongs to (``None`` before the first run)."""
        return self.meta("account")

    def check_account(self, account: str) -> None:
        """Refuse a state file of another account, before anything is pulled or written."""
        known = self.account()
        if known is not None and known != account:
            raise AccountMismatch(
                f"{self.path} belongs to {known}, but the credentials are for {account}. "
                "Nothing was pulled or written. Give this account its own [state] path, or "
                "move the file away (it is only a cache: crmseg then pulls everything again)"
            )

    def bind_account(self, account: str, source: str) -> bool:
        """Record the account at the first run (after a connection to it succeeded).

        A file of another account is refused (``AccountMismatch``); the same account
        behind another URL (a proxy) keeps its mirror. A file written before accounts
        were recorded is adopted, emptied first if its API endpoint differs.
        Returns whether the mirror was emptied.
        """
        self.check_account(account)
        emptied = self.bind_source(source) if self.account() is None else False
        if self.account() is None or self.meta("source") != source:
            self.con.execute("BEGIN")
            self.set_meta("account", account)
            self.set_meta("source", source)
            self.con.execute("COMMIT")
        return emptied

    def forget_mirror(self) -> None:
        for table in (
            "mirror_contacts",
            "mirror_companies",
            "mirror_deals",
            "mirror_deal_contacts",
            "mirror_deal_companies",
            "mirror_properties",
            "crm_values",
            "own_writes",
            "pulls",
        ):
            self.con.execute(f"DELETE FROM {table}")

    # -- pulls -----------------------------------------------------------------
    def pull_state(self, object_type: ObjectType) -> PullState | None:
        row = self.con.execute(
            "SELECT properties, cursor_modified_at, cursor_last_id, last_full_at, last_pull_at "
            "FROM pulls WHERE object_type = ?",
            [object_type],
        ).fetchone()
        if row is None:
            return None
        modified_at = _utc(row[1])
        cursor = Cursor(modified_at, row[2]) if modified_at is not None else None
        return PullState(tuple(json.loads(row[0])), cursor, _utc(row[3]), _utc(row[4]))

    def mirror_count(self, object_type: ObjectType) -> int:
        row = self.con.execute(f"SELECT count(*) FROM {TABLE[object_type]}").fetchone()
        return int(row[0]) if row else 0

    def linked(self, object_type: ObjectType, ids: Sequence[str]) -> bool:
        """Whether deals (or, for companies, contacts) point at any of ``ids``.

        When such a record is merged away the CRM moves its links to the survivor
        without touching the linked records' modification stamps, so only a full
        pull of the linking objects sees the new links.
        """
        if not ids or object_type == "deal":
            return False
        sql = (
            "SELECT 1 FROM mirror_deal_contacts WHERE contact_id IN (SELECT unnest($1::VARCHAR[]))"
            if object_type == "contact"
            else "SELECT 1 FROM mirror_deal_companies WHERE company_id IN "
            "(SELECT unnest($1::VARCHAR[])) UNION ALL SELECT 1 FROM mirror_contacts "
            "WHERE company_id IN (SELECT unnest($1::VARCHAR[]))"
        )
        return self.con.execute(sql + " LIMIT 1", [list(ids)]).fetchone() is not None

    def apply(self, object_type: ObjectType, page: Page[Any], *, full: bool) -> bool:
        """Upsert one page into the mirror (inside the caller's transaction).

        In a full pull, ids are also noted in ``seen_ids`` so that ``sweep`` can
        drop what the CRM no longer has. Returns whether a deleted record was
        linked from other records (see ``linked``).
        """
        records = list(page.records)
        ids = [r.id for r in records]
        if ids:
            self._forget_stale_stamps(object_type, records)
            self._delete(object_type, ids, keep_stamps=True)
            if object_type == "contact":
                self._insert_contacts(records)
            elif object_type == "company":
                self._insert_companies(records)
            else:
                self._insert_deals(records)
            self._insert_properties(object_type, records)
            if full:
                self.con.execute("INSERT INTO seen_ids SELECT unnest($1::VARCHAR[])", [ids])
        deleted = [i for i in page.deleted_ids if i not in set(ids)]
        relink = self.linked(object_type, deleted)
        if deleted:
            self._delete(object_type, deleted)
        return relink

    def begin_pull(self, *, full: bool) -> None:
        self.con.execute("BEGIN")
        if full:
            self.con.execute("CREATE OR REPLACE TEMP TABLE seen_ids (id VARCHAR)")

    def seen_count(self) -> int:
        row = self.con.execute("SELECT count(DISTINCT id) FROM seen_ids").fetchone()
        return int(row[0]) if row else 0

    def sweep(self, object_type: ObjectType) -> tuple[int, bool]:
        """After a full pull: drop records the CRM no longer returned. Returns how many,
        and whether any was linked from other records."""
        gone = [
            str(r[0])
            for r in self.con.execute(
                f"SELECT id FROM {TABLE[object_type]} WHERE id NOT IN (SELECT id FROM seen_ids)"
            ).fetchall()
        ]
        relink = self.linked(object_type, gone)
        if gone:
            self._delete(object_type, gone)
        return len(gone), relink

    def commit_pull(
        self,
        object_type: ObjectType,
        properties: Sequence[str],
        cursor: Cursor | None,
        *,
        full: bool,
        started_at: datetime,
    ) -> None:
        previous = self.pull_state(object_type)
        if cursor is None and previous is not None:
            cursor = previous.cursor
        last_full = started_at if full else (previous.last_full_at if previous else None)
        self.con.execute(
            "INSERT OR REPLACE INTO pulls VALUES (?, ?, ?, ?, ?, ?)",
            [
                object_type,
                json.dumps(sorted(properties)),
                _naive(cursor.modified_at) if cursor else None,
                cursor.last_id if cursor else None,
                _naive(last_full),
                _naive(started_at),
            ],
        )
        self.con.execute("COMMIT")

    def rollback(self) -> None:
        """Undo the open transaction. A failing rollback (the transaction already gone,
        the disk full) must not hide the error that led here, so it is swallowed."""
        with contextlib.suppress(duckdb.Error):
            self.con.execute("ROLLBACK")

    def _delete(
        self, object_type: ObjectType, ids: list[str], *, keep_stamps: bool = False
    ) -> None:
        """Remove records with everything hanging off them (properties, held values,
        a deal's links, the stamps of crmseg's writes unless ``keep_stamps``)."""
        params = [ids]
        if not keep_stamps:
            self.con.execute(
                "DELETE FROM own_writes WHERE object_type = $2 AND record_id IN "
                "(SELECT unnest($1::VARCHAR[]))",
                [ids, object_type],
            )
        self.con.execute(
            f"DELETE FROM {TABLE[object_type]} WHERE id IN (SELECT unnest($1::VARCHAR[]))",
            params,
        )
        self.con.execute(
            "DELETE FROM mirror_properties WHERE object_type = $2 AND record_id IN "
            "(SELECT unnest($1::VARCHAR[]))",
            [ids, object_type],
        )
        self.con.execute(
            "DELETE FROM crm_values WHERE object_type = $2 AND record_id IN "
            "(SELECT unnest($1::VARCHAR[]))",
            [ids, object_type],
        )
        if object_type == "deal":
            for table in ("mirror_deal_contacts", "mirror_deal_companies"):
                self.con.execute(
                    f"DELETE FROM {table} WHERE deal_id IN (SELECT unnest($1::VARCHAR[]))", params
                )

    def _insert_contacts(self, records: list[Contact]) -> None:
        self.con.execute(
            "INSERT INTO mirror_contacts (id, email, first_name, last_name, salutation, country, "
            "company_id, updated_at, street, postal_code, city) "
            "SELECT unnest($1::VARCHAR[]), unnest($2::VARCHAR[]), "
            "unnest($3::VARCHAR[]), unnest($4::VARCHAR[]), unnest($5::VARCHAR[]), "
            "unnest($6::VARCHAR[]), unnest($7::VARCHAR[]), unnest($8::TIMESTAMP[]), "
            "unnest($9::VARCHAR[]), unnest($10::VARCHAR[]), unnest($11::VARCHAR[])",
            [
                [r.id for r in records],
                [r.email for r in records],
                [r.first_name for r in records],
                [r.last_name for r in records],
                [r.salutation for r in records],
                [r.country for r in records],
                [r.company_id for r in records],
                [_naive(r.updated_at) for r in records],
                [r.street for r in records],
                [r.postal_code for r in records],
                [r.city for r in records],
            ],
        )

    def _insert_companies(self, records: list[Company]) -> None:
        self.con.execute(
            "INSERT INTO mirror_companies SELECT unnest($1::VARCHAR[]), unnest($2::VARCHAR[]), "
            "unnest($3::TIMESTAMP[])",
            [
                [r.id for r in records],
                [r.name for r in records],
                [_naive(r.updated_at) for r in records],
            ],
        )

    def _insert_deals(self, records: list[Deal]) -> None:
        self.con.execute(
            f"INSERT INTO mirror_deals SELECT unnest($1::VARCHAR[]), "
            f"unnest($2::VARCHAR[])::{AMOUNT_TYPE}, unnest($3::DATE[]), unnest($4::BOOLEAN[]), "
            "unnest($5::TIMESTAMP[])",
            [
                [r.id for r in records],
                [None if r.amount is None else str(r.amount) for r in records],
                [r.close_date for r in records],
                [r.won for r in records],
                [_naive(r.updated_at) for r in records],
            ],
        )
        for table, attr in (
            ("mirror_deal_contacts", "contact_ids"),
            ("mirror_deal_companies", "company_ids"),
        ):
            pairs = [(r.id, other) for r in records for other in getattr(r, attr)]
            if pairs:
                self.con.execute(
                    f"INSERT INTO {table} SELECT unnest($1::VARCHAR[]), unnest($2::VARCHAR[])",
                    [[p[0] for p in pairs], [p[1] for p in pairs]],
                )

    def _insert_properties(
        self, object_type: ObjectType, records: Sequence[Contact | Company | Deal]
    ) -> None:
        plain: list[tuple[str, str, str | None]] = []
        held: list[tuple[str, str, str]] = []
        for r in records:
            for name, value in r.properties.items():
                if owned(name):
                    if value not in (None, ""):
                        held.append((r.id, name, value))
                elif value is not None:
                    plain.append((r.id, name, value))
        if plain:
            self.con.execute(
                "INSERT INTO mirror_properties SELECT $4, unnest($1::VARCHAR[]), "
                "unnest($2::VARCHAR[]), unnest($3::VARCHAR[])",
                [[p[0] for p in plain], [p[1] for p in plain], [p[2] for p in plain], object_type],
            )
        if held:
            self.con.execute(
                f"INSERT OR REPLACE INTO crm_values SELECT * FROM (SELECT $4 AS t, "
                f"unnest($1::VARCHAR[]) AS id, unnest($2::VARCHAR[]) AS f, "
                f"{NORMALISE.format(v='unnest($3::VARCHAR[])')} AS v) WHERE v IS NOT NULL",
                [[p[0] for p in held], [p[1] for p in held], [p[2] for p in held], object_type],
            )

    # -- crmseg's own writes -------------------------------------------------------
    def _forget_stale_stamps(self, object_type: ObjectType, records: Sequence[Any]) -> None:
        """Drop the write stamps of records pulled with another stamp: changed since."""
        self.con.execute(
            "DELETE FROM own_writes o USING (SELECT unnest($2::VARCHAR[]) AS id, "
            "unnest($3::TIMESTAMP[]) AS at) p WHERE o.object_type = $1 AND o.record_id = p.id "
            "AND o.updated_at IS DISTINCT FROM p.at",
            [object_type, [r.id for r in records], [_naive(r.updated_at) for r in records]],
        )

    def record_stamps(
        self, object_type: ObjectType, stamps: Sequence[tuple[str, datetime]]
    ) -> None:
        """Store the modification stamps the CRM answered for crmseg's writes."""
        if not stamps:
            return
        self.con.execute(
            "INSERT OR REPLACE INTO own_writes SELECT $1, unnest($2::VARCHAR[]), "
            "unnest($3::TIMESTAMP[])",
            [object_type, [s[0] for s in stamps], [_naive(s[1]) for s in stamps]],
        )

    def own_writes(self, object_type: ObjectType, since: datetime) -> dict[str, datetime]:
        """Record id -> stamp of crmseg's own last write, for writes at or after ``since``."""
        rows = self.con.execute(
            "SELECT record_id, updated_at FROM own_writes WHERE object_type = ? "
            "AND updated_at >= ?",
            [object_type, _naive(since)],
        ).fetchall()
        return {str(r[0]): _utc(r[1]) for r in rows}  # type: ignore[misc]

    def unchanged(self, object_type: ObjectType, records: Sequence[Any]) -> set[str]:
        """Ids of ``records`` whose pulled values equal the mirror's (associations aside):
        a record whose stamp is crmseg's own write and that holds nothing new."""
        if not records or object_type == "deal":
            return set()
        # Called from a pull, which may run on a prefetch thread while the engine
        # writes through ``self.con``: a connection of its own keeps the two apart.
        with self.con.cursor() as con:
            return self._unchanged(con, object_type, records)

    def _unchanged(
        self, con: duckdb.DuckDBPyConnection, object_type: ObjectType, records: Sequence[Any]
    ) -> set[str]:
        table = TABLE[object_type]
        columns = [
            str(r[0])
            for r in con.execute(f"DESCRIBE {table}").fetchall()
            if r[0] not in ("id", "company_id", "updated_at")
        ]
        ids = [r.id for r in records]
        rows = con.execute(
            f"SELECT id, {', '.join(columns)} FROM {table} WHERE id IN "
            "(SELECT unnest($1::VARCHAR[]))",
            [ids],
        ).fetchall()
        mirror = {str(r[0]): r[1:] for r in rows}
        props: dict[str, dict[str, str | None]] = {}
        for rid, name, value in con.execute(
            "SELECT record_id, name, value FROM mirror_properties WHERE object_type = $2 AND "
            "record_id IN (SELECT unnest($1::VARCHAR[])) UNION ALL SELECT record_id, field, "
            "value FROM crm_values WHERE object_type = $2 AND record_id IN "
            "(SELECT unnest($1::VARCHAR[]))",
            [ids, object_type],
        ).fetchall():
            props.setdefault(str(rid), {})[str(name)] = value
        same: set[str] = set()
        for r in records:
            if r.id not in mirror:
                continue
            if tuple(getattr(r, c, None) for c in columns) != mirror[r.id]:
                continue
            held = props.get(r.id, {})
            pulled = {
                k: (_norm_multi(v) if owned(k) else v)
                for k, v in r.properties.items()
                if v not in (None, "")
            }
            if pulled == {k: v for k, v in held.items() if v not in (None, "")}:
                same.add(r.id)
        return same

    # -- written values ----------------------------------------------------------
    def record_written(
        self,
        run_id: int,
        object_type: ObjectType,
        changes: Iterable[tuple[str, str, str | None, str | None]],
        *,
        ok: bool,
        error: str | None = None,
    ) -> None:
        """Store (record, field, old, new) changes as written (or failed) at once, so a
        crash mid-write costs at most a few repeated, harmless writes."""
        rows = list(changes)
        if not rows:
            return
        at = now()
        self.con.execute("BEGIN")
        self.con.execute(
            "INSERT INTO audit SELECT $1, $2, $3, unnest($4::VARCHAR[]), unnest($5::VARCHAR[]), "
            "unnest($6::VARCHAR[]), unnest($7::VARCHAR[]), $8, $9",
            [
                run_id,
                at,
                object_type,
                [r[0] for r in rows],
                [r[1] for r in rows],
                [r[2] for r in rows],
                [r[3] for r in rows],
                "written" if ok else "failed",
                error,
            ],
        )
        if ok:
            self.con.execute(
                "DELETE FROM crm_values WHERE object_type = $1 AND (record_id, field) IN "
                "(SELECT unnest($2::VARCHAR[]), unnest($3::VARCHAR[]))",
                [object_type, [r[0] for r in rows], [r[1] for r in rows]],
            )
            kept = [r for r in rows if r[3] not in (None, "")]
            if kept:
                self.con.execute(
                    "INSERT INTO crm_values SELECT $1, unnest($2::VARCHAR[]), "
                    "unnest($3::VARCHAR[]), unnest($4::VARCHAR[])",
                    [object_type, [r[0] for r in kept], [r[1] for r in kept], [r[3] for r in kept]],
                )
        self.con.execute("COMMIT")

    # -- runs ------------------------------------------------------------------
    def start_run(self, command: str, as_of: date | None, *, dry_run: bool) -> int:
        row = self.con.execute("SELECT nextval('run_ids')").fetchone()
        assert row is not None
        run_id = int(row[0])
        self.con.execute(
            "INSERT INTO runs (id, command, started_at, status, as_of, dry_run) "
            "VALUES (?, ?, ?, 'running', ?, ?)",
            [run_id, command, now(), as_of, dry_run],
        )
        return run_id

    def finish_run(
        self, run_id: int, status: str, summary: dict[str, Any], error: str | None = None
    ) -> None:
        # A run ends outside any transaction: what a signal cut short is undone first
        # (a no-op after a clean run), so the end itself is committed.
        self.rollback()
        self.con.execute(
            "UPDATE runs SET finished_at = ?, status = ?, summary = ?, error = ? WHERE id = ?",
            [now(), status, json.dumps(summary, default=str), error, run_id],
        )

    def close_abandoned_runs(self) -> int:
        """Runs still marked running when a new run holds the lock were killed before
        recording their end (SIGKILL, power loss): they are marked interrupted."""
        rows = self.con.execute(
            "UPDATE runs SET status = 'interrupted', finished_at = COALESCE(finished_at, ?), "
            "error = COALESCE(error, 'the process ended before recording the end of the run') "
            "WHERE status = 'running' RETURNING id",
            [now()],
        ).fetchall()
        return len(rows)

    def record_sizes(self, run_id: int, as_of: date, families: Sequence[str]) -> None:
        """Contacts per value of each tag family (multi-values count once per value)."""
        for family in families:
            # ``family`` is one of the fixed tag column names, never user input.
            self.con.execute(
                f"""INSERT INTO segment_sizes
                SELECT ?, ?, '{family}', v, count(*) FROM (
                    SELECT unnest(string_split(COALESCE({family}, ''), ';')) AS v FROM seg_tags
                ) WHERE v <> '' GROUP BY v""",
                [run_id, as_of],
            )


def _norm_multi(value: str) -> str:
    """What ``NORMALISE`` makes of a multi-value in SQL: sorted, distinct, ``;``-joined."""
    return ";".join(sorted({x for x in value.split(";") if x.strip()}))


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
