"""The run log inside the state file: runs started and finished, every field value
written (the audit, and the values the CRM now holds) and the segment sizes per run."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date
from itertools import islice
from typing import Any

from connectors.base import ObjectType
from sync.state_sql import Connected, now

#: Changes per statement when storing outcomes (``RunLog.record_written``).
WRITTEN_CHUNK = 100_000


class RunLog(Connected):
    """The run log's writes (a part of ``sync.state.State``)."""

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
        crash mid-write costs at most a few repeated, harmless writes.

        One transaction, sent ``WRITTEN_CHUNK`` changes per statement: a 1M-record
        import's outcome is about 6M changes, and building them all as lists at
        once was the largest part of a first sync's peak memory."""
        it = iter(changes)
        rows = list(islice(it, WRITTEN_CHUNK))
        if not rows:
            return
        at = now()
        self.con.execute("BEGIN")
        while rows:
            self._store_written(run_id, at, object_type, rows, ok, error)
            rows = list(islice(it, WRITTEN_CHUNK))
        self.con.execute("COMMIT")

    def _store_written(
        self,
        run_id: int,
        at: Any,
        object_type: ObjectType,
        rows: list[tuple[str, str, str | None, str | None]],
        ok: bool,
        error: str | None,
    ) -> None:
        """One chunk of :meth:`record_written`, inside its transaction."""
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

    def record_written_from_plan(
        self, run_id: int, object_type: ObjectType, ok: list[str], expected: int
    ) -> bool:
        """Store the changes of the records in ``ok`` as written, read from the plan's
        tables (``plan_desired`` against ``crm_values``, as ``sync.plan.build_plan``
        diffed them) in SQL; ``False`` (nothing stored) when those tables no longer
        give exactly the ``expected`` changes the plan holds for them (a plan for
        chosen records holds unchanged values too), and the caller stores them with
        :meth:`record_written`.

        Why: a 1M-record import's outcome is about 6M changes; handing each one from
        Python to DuckDB took longer than HubSpot's import of a part. The same rows
        end in the same tables as :meth:`record_written` puts them, in one transaction."""
        self.con.execute(
            """CREATE OR REPLACE TEMP TABLE written_now AS
            SELECT d.record_id, d.field, h.value AS old_value, d.value AS new_value
            FROM plan_desired d
            SEMI JOIN (SELECT unnest($2::VARCHAR[]) AS record_id) k USING (record_id)
            LEFT JOIN crm_values h USING (object_type, record_id, field)
            WHERE d.object_type = $1 AND d.value IS DISTINCT FROM h.value""",
            [object_type, ok],
        )
        try:
            found = self.con.execute("SELECT count(*) FROM written_now").fetchone()
            if found is None or int(found[0]) != expected:
                return False
            self.con.execute("BEGIN")
            try:
                self._store_written_now(run_id, now(), object_type)
            except BaseException:
                self.con.execute("ROLLBACK")
                raise
            self.con.execute("COMMIT")
            return True
        finally:
            self.con.execute("DROP TABLE IF EXISTS written_now")

    def _store_written_now(self, run_id: int, at: Any, object_type: ObjectType) -> None:
        """:meth:`_store_written`'s statements for the changes in the temp table
        ``written_now`` (record_id, field, old_value, new_value), inside the caller's
        transaction. Kept apart from it: the batch path sends its lists inline, and a
        temp table per batch would cost it a few ms of CPU per request."""
        self.con.execute(
            "INSERT INTO audit SELECT $1, $2, $3, record_id, field, old_value, new_value, "
            "'written', NULL FROM written_now",
            [run_id, at, object_type],
        )
        # crm_values holds no NULL: a change without an old value has no row to replace
        self.con.execute(
            "DELETE FROM crm_values WHERE object_type = $1 AND (record_id, field) IN "
            "(SELECT record_id, field FROM written_now WHERE old_value IS NOT NULL)",
            [object_type],
        )
        self.con.execute(
            "INSERT INTO crm_values SELECT $1, record_id, field, new_value FROM written_now "
            "WHERE new_value IS NOT NULL AND new_value <> ''",
            [object_type],
        )

    # -- runs ------------------------------------------------------------------
    def start_run(self, command: str, as_of: date | None, *, dry_run: bool) -> int:
        """Record a run as running; its id. One statement (one commit): the id is
        drawn in the insert."""
        row = self.con.execute(
            "INSERT INTO runs (id, command, started_at, status, as_of, dry_run) "
            "VALUES (nextval('run_ids'), ?, ?, 'running', ?, ?) RETURNING id",
            [command, now(), as_of, dry_run],
        ).fetchone()
        assert row is not None
        return int(row[0])

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
        """Contacts per value of each tag family (multi-values count once per value).

        One statement for all families: each statement costs DuckDB some milliseconds
        of its own, whatever the size of ``seg_tags``."""
        if not families:
            return
        # ``family`` is one of the fixed tag column names, never user input.
        counts = " UNION ALL ".join(
            f"""SELECT '{family}' AS family, v, count(*) AS n FROM (
                SELECT unnest(string_split(COALESCE({family}, ''), ';')) AS v FROM seg_tags
            ) WHERE v <> '' GROUP BY v"""
            for family in families
        )
        self.con.execute(
            f"INSERT INTO segment_sizes SELECT ?, ?, family, v, n FROM ({counts})",
            [run_id, as_of],
        )
