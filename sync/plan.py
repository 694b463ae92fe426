"""The plan: desired tags against the values the CRM holds, as (record, field, old, new).

Idempotence comes from here, not from the writer: what the CRM already holds
(pulled as ordinary properties, or stored right after crmseg wrote it) never
appears in a plan, so a second run on the same data and ``as_of`` plans nothing.
Multi-values compare as sets.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from connectors.base import ObjectType, TagUpdate
from sync.fields import Family
from sync.state import NORMALISE


@dataclass(frozen=True, slots=True)
class Change:
    object_type: ObjectType
    record_id: str
    field: str
    old: str | None
    new: str | None


@dataclass
class Plan:
    """What a run would change, with counts for people and the rows for the writer."""

    changes: list[Change] = field(default_factory=list)
    contacts: int = 0

    @property
    def records(self) -> int:
        return len({(c.object_type, c.record_id) for c in self.changes})

    def overwritten_contacts(self) -> int:
        """Contacts whose existing crmseg value would change or be cleared (what the
        mass-change guard counts: filling empty fields destroys nothing)."""
        return len({c.record_id for c in self.changes if c.object_type == "contact" and c.old})

    def by_field(self) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}
        for c in self.changes:
            key = f"{c.object_type}.{c.field}"
            value = c.new if c.new is not None else "(cleared)"
            counts.setdefault(key, {})
            counts[key][value] = counts[key].get(value, 0) + 1
        return {k: dict(sorted(v.items())) for k, v in sorted(counts.items())}

    def updates(self) -> Iterator[TagUpdate]:
        """One absolute update per record, all its changed fields together."""
        current: tuple[ObjectType, str] | None = None
        values: dict[str, str | None] = {}
        for c in self.changes:
            key = (c.object_type, c.record_id)
            if key != current:
                if current is not None:
                    yield TagUpdate(current[0], current[1], values)
                current, values = key, {}
            values[c.field] = c.new
        if current is not None:
            yield TagUpdate(current[0], current[1], values)

    def summary(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "fields": len(self.changes),
            "overwritten_contacts": self.overwritten_contacts(),
            "by_field": self.by_field(),
        }


def _desired_sql(object_type: str, source: str, key: str, families: Sequence[Family]) -> str:
    # Column and field names come from the fixed tag families, never from user input.
    return "\nUNION ALL\n".join(
        f"SELECT '{object_type}' AS object_type, {key} AS record_id, '{f.field}' AS field, "
        f"{NORMALISE.format(v=f.column)} AS value FROM {source}"
        for f in families
    )


def build_plan(
    con: duckdb.DuckDBPyConnection,
    families: Sequence[Family],
    level: str,
    *,
    record_ids: Sequence[str] | None = None,
) -> Plan:
    """Diff ``seg_tags`` (and, at company level, ``seg_entity_tags``) against ``crm_values``.

    With ``record_ids`` (``crmseg resync --contact``) the plan holds every tag of
    those contacts, changed or not: the point is to make the CRM match for sure.
    """
    parts = [_desired_sql("contact", "seg_tags", "contact_id", families)]
    if level == "company":
        parts.append(
            _desired_sql(
                "company",
                "seg_entity_tags",
                "entity_id",
                [f for f in families if f.entity_level],
            )
        )
    con.execute("CREATE OR REPLACE TEMP TABLE plan_desired AS " + "\nUNION ALL\n".join(parts))
    where = "WHERE d.value IS DISTINCT FROM h.value"
    params: list[Any] = []
    if record_ids is not None:
        where = "WHERE d.object_type = 'contact' AND d.record_id IN (SELECT unnest($1::VARCHAR[]))"
        params = [list(record_ids)]
    cursor = con.execute(
        f"""SELECT d.object_type, d.record_id, d.field, h.value, d.value
        FROM plan_desired d
        LEFT JOIN crm_values h USING (object_type, record_id, field)
        {where}
        ORDER BY d.object_type, d.record_id, d.field""",
        params,
    )
    changes = _changes(cursor)
    contacts = con.execute("SELECT count(*) FROM seg_tags").fetchone()
    return Plan(changes=changes, contacts=int(contacts[0]) if contacts else 0)


#: Rows fetched from DuckDB at a time while building a plan.
FETCH_ROWS = 100_000


def _changes(cursor: duckdb.DuckDBPyConnection) -> list[Change]:
    """The plan's rows as :class:`Change` objects, read ``FETCH_ROWS`` at a time.

    Why not ``fetchall``: a first sync of 1M contacts plans about 6M field values,
    and holding every row tuple next to the changes doubled the peak. Field names,
    object types and tag values repeat across millions of rows, so each distinct
    string is kept once; a record's id is shared by its changes (rows arrive
    sorted by record)."""
    out: list[Change] = []
    same: dict[str | None, str | None] = {}
    record_id = ""
    while True:
        rows = cursor.fetchmany(FETCH_ROWS)
        if not rows:
            return out
        for object_type, rid, field_name, old, new in rows:
            if rid != record_id:
                record_id = rid
            out.append(
                Change(
                    same.setdefault(object_type, object_type),  # type: ignore[arg-type]
                    record_id,
                    same.setdefault(field_name, field_name),  # type: ignore[arg-type]
                    same.setdefault(old, old),
                    same.setdefault(new, new),
                )
            )
