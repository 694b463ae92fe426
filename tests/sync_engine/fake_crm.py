"""An in-memory CRM behind the Connector interface, for engine tests that need
exact control (clock, failures, crashes) without HTTP. The end-to-end tests run
the same engine against the HubSpot sandbox through the real connector."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from connectors.base import (
    Company,
    Connector,
    Contact,
    Cursor,
    Deal,
    FieldSpec,
    ListSpec,
    ListState,
    ObjectType,
    Page,
    TagUpdate,
    WriteResult,
)
from connectors.errors import CrmError, RecordRejected, Timeout

T0 = datetime(2026, 6, 1, tzinfo=UTC)


@dataclass
class FakeCrm(Connector):
    name = "fake"
    max_batch_size = 3
    concurrency = 2

    contacts: dict[str, Contact] = field(default_factory=dict)
    companies: dict[str, Company] = field(default_factory=dict)
    deals: dict[str, Deal] = field(default_factory=dict)
    deleted: dict[str, set[str]] = field(
        default_factory=lambda: {"contact": set(), "company": set(), "deal": set()}
    )
    fields: dict[str, dict[str, FieldSpec]] = field(default_factory=dict)
    lists: dict[str, ListSpec] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    reject: set[str] = field(default_factory=set)
    #: Raise after this many write batches (a crash mid-write).
    crash_after_batches: int | None = None
    page_size: int = 2
    clock: datetime = T0
    #: Kinds of create ("field", "list") whose next answer is lost: the create is
    #: carried out, then the call raises ``Timeout`` as a dropped connection would.
    lose_answers: set[str] = field(default_factory=set)
    #: Raised by the next write batch instead of writing (a whole batch refused).
    fail_next_batch: CrmError | None = None

    def tick(self) -> datetime:
        self.clock += timedelta(seconds=1)
        return self.clock

    # -- test helpers ----------------------------------------------------------
    def add_contact(self, cid: str, **kw: object) -> None:
        props = dict(kw.pop("properties", {}) or {})  # type: ignore[call-overload]
        self.contacts[cid] = Contact(cid, properties=props, updated_at=self.tick(), **kw)  # type: ignore[arg-type]

    def add_deal(
        self, did: str, amount: str, close: date, contacts: Sequence[str], won: bool = True
    ) -> None:
        self.deals[did] = Deal(
            did, Decimal(amount), close, won, tuple(contacts), (), {}, self.tick()
        )

    def value(self, cid: str, name: str) -> str | None:
        return self.contacts[cid].properties.get(name)

    def delete(self, object_type: ObjectType, rid: str) -> None:
        store = {"contact": self.contacts, "company": self.companies, "deal": self.deals}[
            object_type
        ]
        del store[rid]
        self.deleted[object_type].add(rid)

    def api_calls(self) -> dict[str, int]:
        return dict(self.calls)

    def _answer_lost(self, kind: str) -> None:
        if kind in self.lose_answers:
            self.lose_answers.discard(kind)
            raise Timeout(f"the answer to a {kind} create was lost", crm=self.name)

    # -- Connector -------------------------------------------------------------
    def pull(
        self, object_type: ObjectType, since: Cursor | None, properties: Sequence[str] = ()
    ) -> Iterator[Page]:  # type: ignore[type-arg]
        store = {"contact": self.contacts, "company": self.companies, "deal": self.deals}[
            object_type
        ]
        rows = sorted(store.values(), key=lambda r: (r.updated_at, r.id))
        if since is not None:
            rows = [r for r in rows if r.updated_at >= since.modified_at]  # type: ignore[operator]
        self.calls[f"pull.{object_type}.{'incremental' if since else 'full'}"] += 1
        if not rows:
            yield Page([], sorted(self.deleted[object_type]) if since else (), None)
            return
        for i in range(0, len(rows), self.page_size):
            page = rows[i : i + self.page_size]
            last = page[-1]
            deleted = sorted(self.deleted[object_type]) if since and i == 0 else ()
            yield Page(page, deleted, Cursor(last.updated_at, last.id))  # type: ignore[arg-type]

    def ensure_fields(self, object_type: ObjectType, fields: Sequence[FieldSpec]) -> list[str]:
        have = self.fields.setdefault(object_type, {})
        changed = []
        for spec in fields:
            if have.get(spec.name) != spec:
                self.calls["fields.write"] += 1
                have[spec.name] = spec
                self._answer_lost("field")
                changed.append(f"{object_type}.{spec.name}")
        return changed

    def write_batch(self, updates: Sequence[TagUpdate]) -> list[WriteResult]:
        assert len(updates) <= self.max_batch_size
        if self.crash_after_batches is not None:
            if self.crash_after_batches == 0:
                raise RuntimeError("simulated crash")
            self.crash_after_batches -= 1
        if self.fail_next_batch is not None:
            error, self.fail_next_batch = self.fail_next_batch, None
            raise error
        self.calls["write"] += 1
        results = []
        for u in updates:
            assert all(k.startswith("crmseg_") for k in u.values)
            if u.record_id in self.reject or u.record_id not in self.contacts:
                results.append(
                    WriteResult(
                        u.record_id,
                        False,
                        RecordRejected(
                            "nope", crm="fake", object_type=u.object_type, record_id=u.record_id
                        ),
                    )
                )
                continue
            spec = self.fields[u.object_type]
            for k, v in u.values.items():
                for part in (v or "").split(";"):
                    assert part == "" or part in spec[k].options, (k, part)
            c = self.contacts[u.record_id]
            props = {**c.properties, **u.values}
            self.contacts[u.record_id] = replace(c, properties=props, updated_at=self.tick())
            results.append(WriteResult(u.record_id, True))
        return results

    def ensure_lists(self, specs: Sequence[ListSpec]) -> list[ListState]:
        out = []
        for s in specs:
            have = self.lists.get(s.name)
            created = have is None
            # a filter changed by hand is put back, as the real connectors do
            updated = have is not None and (have.object_type, have.field, have.value) != (
                s.object_type,
                s.field,
                s.value,
            )
            if created or updated:
                self.calls["lists.write"] += 1
                self.lists[s.name] = s
                if created:
                    self._answer_lost("list")
            out.append(ListState(s, s.name, created=created, updated=updated))
        return out


@dataclass
class BulkFakeCrm(FakeCrm):
    """Writes above ``bulk_threshold`` updates in one job; keeps list members itself."""

    lists_need_members = True
    bulk_threshold: int = 5
    members: dict[str, set[str]] = field(default_factory=dict)

    def write_bulk(self, updates: Sequence[TagUpdate]) -> list[WriteResult] | None:
        if len(updates) < self.bulk_threshold:
            return None
        self.calls["bulk"] += 1
        saved, self.max_batch_size = self.max_batch_size, len(updates)
        try:
            return FakeCrm.write_batch(self, updates)
        finally:
            self.max_batch_size = saved

    def ensure_lists(self, specs: Sequence[ListSpec]) -> list[ListState]:
        out = []
        for s in specs:
            assert s.members is not None
            have = self.members.setdefault(s.name, set())
            added, removed = s.members - have, have - s.members
            self.members[s.name] = set(s.members)
            out.append(
                ListState(
                    s,
                    s.name,
                    created=not have and not removed,
                    added=len(added),
                    removed=len(removed),
                )
            )
        return out
