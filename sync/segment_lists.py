"""Step 7 of a run: keep one CRM list per configured segment value.

Where the CRM evaluates a list's filter itself (HubSpot's active lists) crmseg
only keeps the filter right; elsewhere (Salesforce campaigns) it hands the
connector the members the plan wants. The ids of the lists crmseg created are
kept in the state file: a list of crmseg's name under another id is someone
else's, and the connector leaves it alone.
"""

from __future__ import annotations

import json
from typing import Any

from connectors.base import Connector, ListSpec, Phase
from connectors.naming import field_name, list_name
from sync.config import ListsConfig
from sync.state import State

__all__ = ["ListKeeper"]


class ListKeeper:
    """The segment lists of one CRM account."""

    def __init__(
        self, connector: Connector, state: State, config: ListsConfig, phase: Phase
    ) -> None:
        self.connector = connector
        self.state = state
        self.config = config
        self.phase = phase

    def keep(self) -> list[dict[str, Any]]:
        """Create or correct every configured list; one summary entry per list."""
        entries = self.config.entries()
        if not entries:
            return []
        owned = self.owned_lists()
        specs = [
            ListSpec(
                list_name(family, value),
                "contact",
                field_name(family),
                value,
                self._members(field_name(family), value)
                if self.connector.lists_need_members
                else None,
                owned.get(list_name(family, value)),
            )
            for family, value in entries
        ]
        with self.phase("Keeping lists", None):
            states = self.connector.ensure_lists(specs)
        owned.update({s.spec.name: s.list_id for s in states})
        self.state.set_meta(self._owned_key(), json.dumps(owned, sort_keys=True))
        return [
            {
                "name": s.spec.name,
                "id": s.list_id,
                "created": s.created,
                "updated": s.updated,
                "added": s.added,
                "removed": s.removed,
            }
            for s in states
        ]

    def _owned_key(self) -> str:
        return f"owned_lists.{self.connector.name}"

    def owned_lists(self) -> dict[str, str]:
        """Name -> id of the segment lists crmseg created (or adopted) in this CRM: the
        connector refuses to touch a list of that name under another id."""
        raw = self.state.meta(self._owned_key())
        return dict(json.loads(raw)) if raw else {}

    def _members(self, field: str, value: str) -> frozenset[str]:
        """Contacts whose desired tag holds ``value`` (multi-values count per value)."""
        rows = self.state.con.execute(
            "SELECT record_id FROM plan_desired WHERE object_type = 'contact' AND field = ? "
            "AND list_contains(string_split(value, ';'), ?)",
            [field, value],
        ).fetchall()
        return frozenset(str(r[0]) for r in rows)
