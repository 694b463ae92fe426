"""The sync engine's in-memory CRM (``tests/sync_engine/fake_crm.py``): the engine's
tests trust it to behave like a CRM, so it passes the same contract."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime

from connectors.base import Company, ObjectType
from connectors.errors import CrmError, PermissionDenied, RateLimited, ServerError
from tests.sync_engine.fake_crm import FakeCrm

from . import BatchFault, Create, Target

FAULTS: dict[str, type[CrmError]] = {
    "permission": PermissionDenied,
    "server": ServerError,
    "rate": RateLimited,
}


class FakeCrmTarget(Target):
    name = "fake"
    #: the in-memory CRM raises Timeout for a lost answer; the engine's next run asks again
    retries_lost_answers = False

    def __init__(self) -> None:
        self.crm = FakeCrm()  # pages of 2
        for i in range(1, 8):
            self.crm.add_contact(str(i), email=f"u{i}@example.com", country="DE")
        self.crm.companies["c1"] = Company("c1", "Acme", {}, self.crm.tick())
        self.crm.add_deal("d1", "100.50", date(2026, 5, 1), ["1", "2"])
        self.crm.add_deal("d2", "50", date(2025, 5, 1), ["3"], won=False)
        self.connector = self.crm
        self.lost_answers = 0
        self.next_id = 100

    def _store(self, object_type: ObjectType) -> dict[str, object]:
        return {
            "contact": self.crm.contacts,
            "company": self.crm.companies,
            "deal": self.crm.deals,
        }[object_type]  # type: ignore[return-value]

    def ids(self, object_type: ObjectType) -> set[str]:
        return set(self._store(object_type))

    def now(self) -> datetime:
        return self.crm.clock

    def new_contact(self) -> str:
        self.next_id += 1
        self.crm.add_contact(str(self.next_id))
        return str(self.next_id)

    def touch(self, object_type: ObjectType, record_id: str) -> None:
        store = self._store(object_type)
        store[record_id] = replace(store[record_id], updated_at=self.crm.tick())  # type: ignore[type-var]

    def delete(self, object_type: ObjectType, record_id: str) -> None:
        self.crm.delete(object_type, record_id)

    def unknown_id(self) -> str:
        return "no-such-contact"

    def value(self, record_id: str, field: str) -> str | None:
        raw = self.crm.value(record_id, field)
        return ";".join(sorted(raw.split(";"))) if raw else None

    def options(self, object_type: ObjectType, field: str) -> tuple[str, ...] | None:
        spec = self.crm.fields.get(object_type, {}).get(field)
        return None if spec is None else spec.options

    def members(self, list_id: str) -> set[str]:
        """The fake's lists are evaluated like HubSpot's: by their field and value."""
        spec = self.crm.lists[list_id]
        return {
            cid
            for cid, c in self.crm.contacts.items()
            if spec.value in (c.properties.get(spec.field) or "").split(";")
        }

    def lists_named(self, name: str) -> int:
        return int(name in self.crm.lists)

    def tamper_with_list(self, list_id: str) -> None:
        self.crm.lists[list_id] = replace(self.crm.lists[list_id], value="silver")

    def write_requests(self) -> int:
        calls = self.crm.calls
        return calls["write"] + calls["fields.write"] + calls["lists.write"] + calls["bulk"]

    def reject(self, record_id: str) -> None:
        self.crm.reject.add(record_id)

    def refuse_next_batch(self, fault: BatchFault) -> None:
        self.crm.fail_next_batch = FAULTS[fault]("refused on purpose", crm="fake")

    def lose_next_answer(self, create: Create) -> None:
        self.crm.lose_answers.add(create)
        self.lost_answers += 1

    def lost(self) -> int:
        return self.lost_answers - len(self.crm.lose_answers)

    def heal(self) -> None:
        self.crm.reject.clear()
        self.crm.fail_next_batch = None
        self.crm.lose_answers.clear()
