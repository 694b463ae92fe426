"""The CRM mirror inside the state file: pages of a pull upserted, records the CRM
no longer has swept away, the pull cursors, and the stamps of crmseg's own writes
that let a rerun skip what only crmseg changed."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from connectors.base import (
    COLUMN_BATCH_COLUMNS,
    ColumnBatch,
    Company,
    Contact,
    Cursor,
    Deal,
    ObjectType,
    Page,
)
from connectors.naming import PREFIX
from segmentation.inputs import AMOUNT_TYPE
from sync.fields import owned
from sync.state_sql import NORMALISE, TABLE, Connected, naive, utc


@dataclass(frozen=True)
class PullState:
    properties: tuple[str, ...]
    cursor: Cursor | None
    last_full_at: datetime | None
    last_pull_at: datetime | None


class Mirror(Connected):
    """The mirror's reads and writes (a part of ``sync.state.State``)."""

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
        modified_at = utc(row[1])
        cursor = Cursor(modified_at, row[2]) if modified_at is not None else None
        return PullState(tuple(json.loads(row[0])), cursor, utc(row[3]), utc(row[4]))

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

    def apply_columns(self, object_type: ObjectType, batch: ColumnBatch, *, full: bool) -> bool:
        """Store a :class:`~connectors.base.ColumnBatch` as :meth:`apply` stores a page
        of the same records: the same statements, reading the staged tables instead
        of Python lists. A batch has no deletions, so no link moves (``False``)."""
        batch.stage(self.con)
        try:
            staged = "SELECT id FROM staged_records"
            self.con.execute(
                "DELETE FROM own_writes o USING staged_records p WHERE o.object_type = $1 "
                "AND o.record_id = p.id AND o.updated_at IS DISTINCT FROM p.updated_at",
                [object_type],
            )
            self._delete_in(object_type, staged, [], keep_stamps=True)
            names = COLUMN_BATCH_COLUMNS[object_type]
            typed = [f"{c}::{AMOUNT_TYPE}" if c == "amount" else c for c in names]
            self.con.execute(
                f"INSERT INTO {TABLE[object_type]} ({', '.join(names)}) "
                f"SELECT {', '.join(typed)} FROM staged_records"
            )
            if object_type == "deal":
                for table, other in (
                    ("mirror_deal_contacts", "contact_id"),
                    ("mirror_deal_companies", "company_id"),
                ):
                    stage = f"staged_{table.removeprefix('mirror_')}"
                    self.con.execute(
                        f"INSERT INTO {table} (deal_id, {other}) SELECT deal_id, {other} "
                        f"FROM {stage}"
                    )
            owned_sql = f"starts_with(name, '{PREFIX}')"
            self.con.execute(
                "INSERT INTO mirror_properties SELECT $1, record_id, name, value "
                f"FROM staged_properties WHERE value IS NOT NULL AND NOT {owned_sql}",
                [object_type],
            )
            self.con.execute(
                "INSERT OR REPLACE INTO crm_values SELECT * FROM (SELECT $1 AS t, record_id, "
                f"name, {NORMALISE.format(v='value')} AS v FROM staged_properties "
                f"WHERE value <> '' AND {owned_sql}) WHERE v IS NOT NULL",
                [object_type],
            )
            if full:
                self.con.execute(f"INSERT INTO seen_ids {staged}")
        finally:
            batch.unstage(self.con)
        return False

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
        """Store the pull's cursor and times, and commit the pull. Without a new
        ``cursor`` the previous one stays; a pull that is not ``full`` keeps the
        previous full pull's time. One statement: the previous row is read in it."""
        self.con.execute(
            "INSERT OR REPLACE INTO pulls SELECT $1, $2, "
            "CASE WHEN $3 THEN $4 ELSE p.cursor_modified_at END, "
            "CASE WHEN $3 THEN $5 WHEN p.cursor_modified_at IS NOT NULL "
            "THEN p.cursor_last_id END, "
            "CASE WHEN $6 THEN $7 ELSE p.last_full_at END, $7 "
            "FROM (SELECT 1) LEFT JOIN pulls p ON p.object_type = $1",
            [
                object_type,
                json.dumps(sorted(properties)),
                cursor is not None,
                naive(cursor.modified_at) if cursor else None,
                cursor.last_id if cursor else None,
                full,
                naive(started_at),
            ],
        )
        self.con.execute("COMMIT")

    def _delete(
        self, object_type: ObjectType, ids: list[str], *, keep_stamps: bool = False
    ) -> None:
        """Remove records with everything hanging off them (properties, held values,
        a deal's links, the stamps of crmseg's writes unless ``keep_stamps``)."""
        self._delete_in(object_type, "SELECT unnest($1::VARCHAR[])", [ids], keep_stamps=keep_stamps)

    def _delete_in(
        self, object_type: ObjectType, ids: str, params: list[Any], *, keep_stamps: bool
    ) -> None:
        """:meth:`_delete` of the ids the query ``ids`` answers (with ``params``)."""
        mirror = TABLE[object_type]  # one of three fixed names (KeyError otherwise)
        kind = f"object_type = '{object_type}'"
        if not keep_stamps:
            self.con.execute(
                f"DELETE FROM own_writes WHERE {kind} AND record_id IN ({ids})", params
            )
        self.con.execute(f"DELETE FROM {mirror} WHERE id IN ({ids})", params)
        for table in ("mirror_properties", "crm_values"):
            self.con.execute(f"DELETE FROM {table} WHERE {kind} AND record_id IN ({ids})", params)
        if object_type == "deal":
            for table in ("mirror_deal_contacts", "mirror_deal_companies"):
                self.con.execute(f"DELETE FROM {table} WHERE deal_id IN ({ids})", params)

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
                [naive(r.updated_at) for r in records],
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
                [naive(r.updated_at) for r in records],
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
                [naive(r.updated_at) for r in records],
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
            [object_type, [r.id for r in records], [naive(r.updated_at) for r in records]],
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
            [object_type, [s[0] for s in stamps], [naive(s[1]) for s in stamps]],
        )

    def own_writes(self, object_type: ObjectType, since: datetime) -> dict[str, datetime]:
        """Record id -> stamp of crmseg's own last write, for writes at or after ``since``."""
        rows = self.con.execute(
            "SELECT record_id, updated_at FROM own_writes WHERE object_type = ? "
            "AND updated_at >= ?",
            [object_type, naive(since)],
        ).fetchall()
        return {str(r[0]): utc(r[1]) for r in rows}  # type: ignore[misc]

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


def _norm_multi(value: str) -> str:
    """What ``NORMALISE`` makes of a multi-value in SQL: sorted, distinct, ``;``-joined."""
    return ";".join(sorted({x for x in value.split(";") if x.strip()}))
