"""Step 6 of a run: write the plan, and store each batch's outcome as it arrives.

The CRM is reached only through :meth:`connectors.base.Connector.write`, which
refuses foreign fields, picks the bulk job or batches and sends ``concurrency``
batches at a time. This module turns the plan into those updates and each
answer into the audit, the stamps of crmseg's own writes (so the next pull
recognises them) and the records merged away meanwhile, which the run plans
again for (``Engine.replan_merged``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence

from connectors.base import Connector, ObjectType, Phase, WriteResult
from sync.plan import Change, Plan
from sync.state import State

__all__ = ["SQL_OUTCOME_RECORDS", "Writeback"]

#: From this many records written in one answer (a bulk job's), their changes are
#: stored from the plan's tables in SQL instead of row by row from Python.
SQL_OUTCOME_RECORDS = 10_000


class Writeback:
    """Writes plans of one run; remembers the records found merged into another."""

    def __init__(self, connector: Connector, state: State, phase: Phase) -> None:
        self.connector = connector
        self.state = state
        self.phase = phase
        #: (object type, old id) -> new id, for writes that met a record merged
        #: away after the pull; the run pulls again and re-plans for them.
        self.merged: dict[tuple[ObjectType, str], str] = {}

    def write(self, run_id: int, plan: Plan) -> tuple[int, list[tuple[Change, str]]]:
        """Write the plan through :meth:`Connector.write` (bulk job or batches,
        ``concurrency`` at a time); each batch's outcome is stored as soon as it is known."""
        index: dict[str, dict[str, list[Change]]] | None = None
        counts: dict[str, Counter[str]] = {}

        def by_record() -> dict[str, dict[str, list[Change]]]:
            nonlocal index
            if index is None:
                index = _index(plan.changes)
            return index

        def planned(object_type: ObjectType) -> Counter[str]:
            if object_type not in counts:
                counts[object_type] = Counter(
                    c.record_id for c in plan.changes if c.object_type == object_type
                )
            return counts[object_type]

        written = 0
        failures: list[tuple[Change, str]] = []

        def store(object_type: ObjectType, results: Sequence[WriteResult]) -> None:
            nonlocal written
            ok, failed = self._record_results(run_id, object_type, results, by_record, planned)
            written += ok
            failures.extend(failed)

        self.connector.write(plan.updates(), store, phase=self.phase)
        return written, failures

    def _record_results(
        self,
        run_id: int,
        object_type: ObjectType,
        results: Sequence[WriteResult],
        by_record: Callable[[], dict[str, dict[str, list[Change]]]],
        planned: Callable[[ObjectType], Counter[str]],
    ) -> tuple[int, list[tuple[Change, str]]]:
        """Store one batch's (or bulk job's) outcome; returns (records written, failures)."""
        ok = [r.record_id for r in results if r.ok]
        self.state.record_stamps(
            object_type,
            [(r.record_id, r.modified_at) for r in results if r.ok and r.modified_at is not None],
        )
        if len(ok) < SQL_OUTCOME_RECORDS or not self.state.record_written_from_plan(
            run_id, object_type, ok, sum(planned(object_type)[rid] for rid in ok)
        ):
            of_ok = by_record().get(object_type, {})
            self.state.record_written(
                run_id,
                object_type,
                ((c.record_id, c.field, c.old, c.new) for rid in ok for c in of_ok.get(rid, ())),
                ok=True,
            )
        failures: list[tuple[Change, str]] = []
        if len(ok) == len(results):
            return len(ok), failures
        of_type = by_record().get(object_type, {})
        for r in results:
            if r.ok:
                continue
            if r.merged_into is not None:
                self.merged[(object_type, r.record_id)] = r.merged_into
                continue
            message = str(r.error) if r.error else "rejected"
            changes = of_type.get(r.record_id, [])
            self.state.record_written(
                run_id,
                object_type,
                ((c.record_id, c.field, c.old, c.new) for c in changes),
                ok=False,
                error=message,
            )
            failures += [(c, message) for c in changes]
        return len(ok), failures


def _index(changes: Sequence[Change]) -> dict[str, dict[str, list[Change]]]:
    """Object type -> record id -> its changes. Nested rather than keyed by (type, id)
    pairs: at 1M records the pair per key cost more than the changes' lists."""
    out: dict[str, dict[str, list[Change]]] = {}
    for c in changes:
        out.setdefault(c.object_type, {}).setdefault(c.record_id, []).append(c)
    return out
