"""What the read-only commands show from the state file (``status``, ``history``,
``explain``, ``snapshot``, ``audit``, the line after a signal), as typed rows, so
the command line holds no SQL and these reads have one home beside the schema."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from connectors.base import ObjectType
from sync.explain import find_contact
from sync.state_sql import Connected


@dataclass(frozen=True)
class RunRecord:
    """One row of the run log, as ``status`` lists it."""

    id: int
    command: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    as_of: date | None
    dry_run: bool | None
    error: str | None


@dataclass(frozen=True)
class PullRecord:
    """How far the pulls of one object type got."""

    object_type: str
    cursor: datetime | None
    last_pull: datetime | None
    last_full_pull: datetime | None


@dataclass(frozen=True)
class SegmentSize:
    """Contacts holding one value of a tag family after one run."""

    run_id: int
    as_of: date
    value: str
    contacts: int


@dataclass(frozen=True)
class AuditEntry:
    """One field value crmseg wrote (or the CRM refused)."""

    run_id: int
    written_at: datetime
    object_type: str
    record_id: str
    field: str
    old: str | None
    new: str | None
    status: str
    error: str | None


class Queries(Connected):
    """The reads the commands show (a part of ``sync.state.State``)."""

    def recent_runs(self, limit: int) -> list[RunRecord]:
        """The last ``limit`` runs, newest first."""
        rows = self.con.execute(
            "SELECT id, command, status, started_at, finished_at, as_of, dry_run, error "
            "FROM runs ORDER BY id DESC LIMIT ?",
            [limit],
        ).fetchall()
        return [RunRecord(*r) for r in rows]

    def latest_run(self) -> RunRecord | None:
        runs = self.recent_runs(1)
        return runs[0] if runs else None

    def has_run(self, run_id: int) -> bool:
        return self.con.execute("SELECT 1 FROM runs WHERE id = ?", [run_id]).fetchone() is not None

    def last_successful_sync(self) -> datetime | None:
        """When the last run that wrote to the CRM (fully or in part) finished."""
        row = self.con.execute(
            "SELECT max(finished_at) FROM runs WHERE status IN ('ok', 'partial') AND NOT dry_run"
        ).fetchone()
        return row[0] if row else None

    def records_written(self, run_id: int) -> int:
        """How many records a run wrote at least one field value of."""
        row = self.con.execute(
            "SELECT count(DISTINCT (object_type, record_id)) FROM audit "
            "WHERE run_id = ? AND status = 'written'",
            [run_id],
        ).fetchone()
        return int(row[0]) if row else 0

    def pull_records(self) -> list[PullRecord]:
        """Per object type pulled so far, in name order."""
        rows = self.con.execute(
            "SELECT object_type, cursor_modified_at, last_pull_at, last_full_at FROM pulls "
            "ORDER BY object_type"
        ).fetchall()
        return [PullRecord(*r) for r in rows]

    def segment_sizes(self, family: str, runs: int) -> list[SegmentSize]:
        """Sizes of ``family``'s values in the last ``runs`` runs that recorded sizes,
        oldest run first."""
        rows = self.con.execute(
            """SELECT s.run_id, s.as_of, s.value, s.contacts FROM segment_sizes s
            WHERE s.family = ? AND s.run_id IN (
                SELECT DISTINCT run_id FROM segment_sizes ORDER BY run_id DESC LIMIT ?)
            ORDER BY s.run_id, s.value""",
            [family, runs],
        ).fetchall()
        return [SegmentSize(*r) for r in rows]

    def held_values(self, object_type: ObjectType, record_id: str) -> dict[str, str]:
        """Field -> the crmseg value the CRM holds for one record."""
        rows = self.con.execute(
            "SELECT field, value FROM crm_values WHERE object_type = ? AND record_id = ?",
            [object_type, record_id],
        ).fetchall()
        return {str(f): str(v) for f, v in rows}

    def holders(self, object_type: ObjectType, field: str, value: str) -> list[str]:
        """Ids of the records whose ``field`` holds ``value`` (one of its values, for a
        multi-value), in id order."""
        rows = self.con.execute(
            "SELECT record_id FROM crm_values WHERE object_type = ? AND field = ? "
            "AND list_contains(string_split(value, ';'), ?) ORDER BY record_id",
            [object_type, field, value],
        ).fetchall()
        return [str(r[0]) for r in rows]

    def audit_entries(
        self, *, run_id: int | None = None, record_id: str | None = None, limit: int
    ) -> list[AuditEntry]:
        """The audit, newest first, optionally of one run and/or one record."""
        where: list[str] = []
        params: list[object] = []
        if run_id is not None:
            where.append("run_id = ?")
            params.append(run_id)
        if record_id is not None:
            where.append("record_id = ?")
            params.append(record_id)
        sql = (
            "SELECT run_id, written_at, object_type, record_id, field, old_value, new_value, "
            "status, error FROM audit"
            + (f" WHERE {' AND '.join(where)}" if where else "")
            + " ORDER BY written_at DESC, run_id DESC, record_id, field LIMIT ?"
        )
        return [AuditEntry(*r) for r in self.con.execute(sql, [*params, limit]).fetchall()]

    def find_contact(self, key: str) -> str:
        """A contact id, or the id of the one contact with this e-mail."""
        return find_contact(self.con, key)
