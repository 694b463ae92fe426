"""The HubSpot connector against the HubSpot stand-in (official client, HTTPS on loopback)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from connectors.base import ObjectType
from connectors.hubspot import HubSpotConnector, HubSpotSettings, Transport
from connectors.sandbox.hubspot import HubSpotStandIn, LimitConfig
from connectors.sandbox.hubspot.state import PartialFailures
from tests.fakeclock import FakeClock

from . import BatchFault, Create, Target

PLURAL = {"contact": "contacts", "company": "companies", "deal": "deals"}
WRITE_PATH = r"^/crm/v3/objects/contacts/batch/update$"
#: Answered with a status but never changing anything.
READS = ("/search", "/batch/read")
STATUS = {"permission": 403, "server": 503, "rate": 429}
CREATES = {
    "field": r"^/crm/v3/properties/contacts(/groups)?/?$",
    "list": r"^/crm/v3/lists/?$",
}


class HubSpotTarget(Target):
    name = "hubspot"

    def __init__(self) -> None:
        # 120 contacts: more than one page of 100
        self.hs = HubSpotStandIn(seed=3, contacts=120, limits=LimitConfig(enabled=False)).start()
        settings = HubSpotSettings(
            host=self.hs.base_url,
            ssl_ca_cert=self.hs.ca_path,
            ten_secondly_limit=10_000,
            search_per_second=10_000,
            timeout_seconds=10,
            attempts=3,
            max_wait=0.01,
            window_seconds=0.2,
            search_window_seconds=0.2,
            margin_seconds=0.0,
        )
        # Backoffs and the limiters' windows wait on a fake clock: a refused batch (429)
        # moves it on instead of holding the test for the window.
        self.clock = FakeClock()
        transport = Transport(self.hs.token, settings, clock=self.clock)
        self.connector = HubSpotConnector(transport)

    def ids(self, object_type: ObjectType) -> set[str]:
        return {str(i) for i in self.hs.state.store.ids(PLURAL[object_type])}

    def now(self) -> datetime:
        return datetime.now(UTC)

    def new_contact(self) -> str:
        return str(self.hs.create("contacts", {"firstname": "Contract"}))

    def touch(self, object_type: ObjectType, record_id: str) -> None:
        name = {"contact": "firstname", "company": "name", "deal": "dealname"}[object_type]
        self.hs.set_property(PLURAL[object_type], int(record_id), name, "Touched")

    def delete(self, object_type: ObjectType, record_id: str) -> None:
        self.hs.archive(PLURAL[object_type], int(record_id))

    def unknown_id(self) -> str:
        return "987654321"

    def value(self, record_id: str, field: str) -> str | None:
        raw = (self.hs.get("contacts", int(record_id)) or {}).get(field)
        return ";".join(sorted(raw.split(";"))) if raw else None

    def options(self, object_type: ObjectType, field: str) -> tuple[str, ...] | None:
        prop = self.hs.state.schema.get(PLURAL[object_type], field)
        if prop is None:
            return None
        return tuple(str(o["value"]) for o in prop.options)

    def _registry(self) -> Any:
        registry = self.hs.state.lists
        assert registry is not None
        return registry

    def members(self, list_id: str) -> set[str]:
        registry = self._registry()
        return {str(i) for i in registry.members(registry.lists[int(list_id)])}

    def lists_named(self, name: str) -> int:
        live = self._registry().lists.values()
        return sum(1 for x in live if x.name == name and x.deleted_at is None)

    def tamper_with_list(self, list_id: str) -> None:
        """An admin points the list's filter at another value."""
        lst = self._registry().lists[int(list_id)]

        def retarget(node: Any) -> None:
            if isinstance(node, dict):
                if isinstance(node.get("values"), list):
                    node["values"] = ["silver"]
                for child in node.values():
                    retarget(child)
            elif isinstance(node, list):
                for child in node:
                    retarget(child)

        retarget(lst.filter_branch)
        lst.version += 1

    def write_requests(self) -> int:
        return sum(
            1 for e in self.hs.log.entries if e.method != "GET" and not e.path.endswith(READS)
        )

    def reject(self, record_id: str) -> None:
        self.hs.fail_batch_inputs(batches=100, ids={record_id})

    def refuse_next_batch(self, fault: BatchFault) -> None:
        self.hs.faults.error_burst(100, STATUS[fault], path=WRITE_PATH)

    def lose_next_answer(self, create: Create) -> None:
        self.hs.lose_responses(1, CREATES[create])

    def lost(self) -> int:
        return len(self.hs.lost)

    def heal(self) -> None:
        self.hs.faults.reset()
        self.hs.state.partial = PartialFailures()

    def close(self) -> None:
        self.hs.stop()
