"""The in-memory org: records per sObject, server-kept system fields, custom fields and FLS.

Everything that changes a record goes through ``Org`` under one lock, so the REST
routes, Bulk 2.0 jobs and a test's direct mutations all stamp ``SystemModstamp``
the same way and a reader never sees half a write. Writes keep an undo journal
so ``allOrNone`` can roll a whole collections request back.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from .errors import RecordError
from .schema import KEY_PREFIXES, FieldDef, ObjectDef, standard_objects

Record = dict[str, Any]
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def case_safe_id(id15: str) -> str:
    """The documented 15 -> 18 character suffix: one char per 5, a bit per upper-case letter."""
    suffix = ""
    for chunk in range(3):
        bits = 0
        for i, ch in enumerate(id15[chunk * 5 : chunk * 5 + 5]):
            if "A" <= ch <= "Z":
                bits |= 1 << i
        suffix += _SUFFIX[bits]
    return id15 + suffix


def make_id(prefix: str, n: int) -> str:
    """18-char Id: key prefix, a fixed pod part, then ``n`` in base 62."""
    digits = ""
    while n:
        n, r = divmod(n, 62)
        digits = _B62[r] + digits
    return case_safe_id((prefix + "5g0" + digits.rjust(9, "0"))[:15])


def utcnow_ms() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@dataclass
class Journal:
    """Undo entries: (object, id, previous record or None when it was created)."""

    entries: list[tuple[str, str, Record | None]]


class Org:
    """One Salesforce org's data. Thread-safe; every method takes ``self.lock``."""

    def __init__(self, *, clock: Callable[[], datetime] = utcnow_ms) -> None:
        self.lock = threading.RLock()
        self.clock = clock
        self.objects: dict[str, ObjectDef] = standard_objects()
        self.records: dict[str, dict[str, Record]] = {name: {} for name in self.objects}
        self.custom_fields: dict[str, tuple[str, FieldDef]] = {}  # 00N id -> (object, field)
        self.open_fields: set[str] = set()  # "Contact.X__c" visible without FLS (set up by tests)
        self.locked_ids: set[str] = set()
        self.lock_next_writes = 0
        self._seq = 0
        self._journal: Journal | None = None
        self.api_user_id = self.new_id("User")
        now = self.clock()
        self.records["User"][self.api_user_id] = self._system(self.api_user_id, now) | {
            "Username": "integration@crmseg.sandbox",
            "Name": "Integration User",
            "Email": "integration@crmseg.sandbox",
            "IsActive": True,
        }
        #: An administrator: things made by hand in Setup carry this user as their creator.
        self.admin_user_id = self.new_id("User")
        self.records["User"][self.admin_user_id] = self._system(self.admin_user_id, now) | {
            "Username": "admin@crmseg.sandbox",
            "Name": "Org Admin",
            "Email": "admin@crmseg.sandbox",
            "IsActive": True,
        }
        #: The org id the token answer's identity URL names.
        self.org_id = "00D5g000000crmsegAAA"
        #: Record type id -> picklist field (lower case) -> the values that record type
        #: allows. Values added to a field later are NOT added here (FACTS.md).
        self.record_type_values: dict[str, dict[str, list[str]]] = {}
        #: Records the API user may not see (sharing), once it lacks View All Data.
        self.hidden_ids: set[str] = set()
        # Every profile is backed by a permission set the profile owns, assigned to its
        # users: the integration user's profile grants View All Data unless a test says not.
        self.profile_set_id = self.new_id("PermissionSet")
        self.records["PermissionSet"][self.profile_set_id] = self._system(
            self.profile_set_id, now
        ) | {
            "Name": "X00e5g000000IntegrationProfile",
            "Label": "Integration Profile",
            "PermissionsViewAllData": True,
            "IsOwnedByProfile": True,
        }
        assignment = self.new_id("PermissionSetAssignment")
        self.records["PermissionSetAssignment"][assignment] = self._system(assignment, now) | {
            "AssigneeId": self.api_user_id,
            "PermissionSetId": self.profile_set_id,
        }

    # ----- currencies ---------------------------------------------------------------------
    #: ISO code -> conversion rate (units per one unit of the corporate currency), or None
    #: in a single-currency org.
    rates: dict[str, Decimal] | None = None
    corporate_currency = "USD"
    #: The integration user's personal currency: ``convertCurrency`` converts into it.
    user_currency = "USD"

    def enable_multi_currency(
        self, rates: dict[str, Decimal], *, corporate: str = "USD", user_currency: str | None = None
    ) -> None:
        """Turn on multiple currencies: every object gets ``CurrencyIsoCode`` (restricted
        picklist of the active codes), existing records carry the corporate currency."""
        if rates.get(corporate) != Decimal(1):
            raise ValueError("the corporate currency's rate must be 1")
        with self.lock:
            self.rates = dict(rates)
            self.corporate_currency = corporate
            self.user_currency = user_currency or corporate
            for name, od in self.objects.items():
                if name in ("User", "PermissionSet", "PermissionSetAssignment", "FieldPermissions"):
                    continue
                od.add(
                    FieldDef(
                        "CurrencyIsoCode",
                        "picklist",
                        "Currency ISO Code",
                        picklist=sorted(rates),
                        restricted=True,
                        default=corporate,
                        length=3,
                    )
                )
                for rec in self.records[name].values():
                    rec.setdefault("CurrencyIsoCode", corporate)

    def convert(self, amount: Any, iso: str | None) -> Decimal | None:
        """``convertCurrency``: record currency -> the user's currency, rounded to cents."""
        if amount is None or self.rates is None:
            return amount  # type: ignore[no-any-return]
        rate = self.rates.get(iso or self.corporate_currency, Decimal(1))
        out = Decimal(amount) / rate * self.rates[self.user_currency]
        return out.quantize(Decimal("0.01"))

    # ----- ids and time -------------------------------------------------------------------
    def new_id(self, obj: str) -> str:
        with self.lock:
            self._seq += 1
            return make_id(KEY_PREFIXES.get(obj, "a00"), self._seq)

    def now(self) -> datetime:
        return self.clock()

    def _system(self, rid: str, now: datetime) -> Record:
        return {
            "Id": rid,
            "IsDeleted": False,
            "CreatedDate": now,
            "CreatedById": self.api_user_id,
            "LastModifiedDate": now,
            "LastModifiedById": self.api_user_id,
            "SystemModstamp": now,
        }

    # ----- lookup -------------------------------------------------------------------------
    def object(self, name: str) -> ObjectDef | None:
        for obj in self.objects.values():
            if obj.name.lower() == name.lower():
                return obj
        return None

    def find(self, rid: str) -> tuple[str, Record] | None:
        """Any record by 15- or 18-char Id (deleted ones included)."""
        prefix = rid[:3]
        for obj, recs in self.records.items():
            if KEY_PREFIXES.get(obj) != prefix:
                continue
            if len(rid) == 18:
                rec = recs.get(rid)
                if rec is not None:
                    return obj, rec
            elif len(rid) == 15:
                rec = recs.get(case_safe_id(rid))
                if rec is not None:
                    return obj, rec
        return None

    def live(self, obj: str) -> Iterator[Record]:
        return (r for r in self.records[obj].values() if not r["IsDeleted"])

    # ----- field-level security -----------------------------------------------------------
    def _granted(self, obj: str, fd: FieldDef, edit: bool) -> bool:
        key = f"{obj}.{fd.name}".lower()
        if key in {k.lower() for k in self.open_fields}:
            return True
        sets = {
            a["PermissionSetId"]
            for a in self.live("PermissionSetAssignment")
            if a["AssigneeId"] == self.api_user_id
        }
        for fp in self.live("FieldPermissions"):
            granted = fp["PermissionsEdit"] if edit else fp["PermissionsRead"]
            if fp["ParentId"] in sets and str(fp["Field"]).lower() == key and granted:
                return True
        return False

    def readable(self, obj: str, name: str) -> FieldDef | None:
        """The field as the API user sees it: custom fields need a Read grant first."""
        with self.lock:
            od = self.objects[obj]
            fd = od.field(name)
            if fd is None or (fd.custom and not self._granted(obj, fd, edit=False)):
                return None
            return fd

    def editable(self, obj: str, fd: FieldDef) -> bool:
        with self.lock:
            return not fd.custom or self._granted(obj, fd, edit=True)

    def visible_fields(self, obj: str) -> list[FieldDef]:
        with self.lock:
            return [
                fd
                for fd in self.objects[obj].fields.values()
                if self.readable(obj, fd.name) is not None
            ]

    # ----- custom fields ------------------------------------------------------------------
    def add_custom_field(self, obj: str, fd: FieldDef, *, open_to_api_user: bool = False) -> str:
        """Add a field at run time; it stays invisible until FLS grants it (or ``open``)."""
        with self.lock:
            fd.custom = True
            self.objects[obj].add(fd)
            fid = self.new_id_custom_field()
            self.custom_fields[fid] = (obj, fd)
            for rec in self.records[obj].values():
                rec.setdefault(fd.name, fd.default)
            if open_to_api_user:
                self.open_fields.add(f"{obj}.{fd.name}")
            return fid

    def new_id_custom_field(self) -> str:
        with self.lock:
            self._seq += 1
            return make_id("00N", self._seq)

    # ----- journal for allOrNone ----------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[Journal]:
        """Collect undo entries; call ``rollback`` on the journal to restore."""
        with self.lock:
            outer = self._journal
            journal = Journal([])
            self._journal = journal
            try:
                yield journal
            finally:
                self._journal = outer
                if outer is not None:
                    outer.entries.extend(journal.entries)

    def rollback(self, journal: Journal) -> None:
        with self.lock:
            for obj, rid, before in reversed(journal.entries):
                if before is None:
                    self.records[obj].pop(rid, None)
                else:
                    self.records[obj][rid] = before
            journal.entries.clear()

    def _remember(self, obj: str, rid: str) -> None:
        if self._journal is not None:
            prev = self.records[obj].get(rid)
            self._journal.entries.append((obj, rid, dict(prev) if prev is not None else None))

    # ----- raw record changes (validation lives in writes.py) -----------------------------
    def put_new(self, obj: str, values: Record, *, rid: str | None = None) -> str:
        with self.lock:
            rid = rid or self.new_id(obj)
            self._remember(obj, rid)
            rec = self._system(rid, self.now())
            for fd in self.objects[obj].fields.values():
                rec.setdefault(fd.name, fd.default)
            rec.update(values)
            self.records[obj][rid] = rec
            return rid

    def put_changes(self, obj: str, rid: str, values: Record) -> None:
        with self.lock:
            self._remember(obj, rid)
            rec = self.records[obj][rid]
            rec.update(values)
            now = self.now()
            rec["LastModifiedDate"] = now
            rec["SystemModstamp"] = now

    def soft_delete(self, obj: str, rid: str) -> None:
        with self.lock:
            self._remember(obj, rid)
            rec = self.records[obj][rid]
            rec["IsDeleted"] = True
            rec["SystemModstamp"] = self.now()

    def check_lock(self, rid: str | None) -> None:
        """Injected ``UNABLE_TO_LOCK_ROW``: for listed ids, or the next N writes."""
        with self.lock:
            hit = rid is not None and rid in self.locked_ids
            if not hit and self.lock_next_writes > 0:
                self.lock_next_writes -= 1
                hit = True
            if hit:
                raise RecordError(
                    "UNABLE_TO_LOCK_ROW",
                    f"unable to obtain exclusive access to this record or 1 records: {rid or ''}",
                )

    # ----- the read interface the SOQL evaluator uses (see soql_eval.Catalog) -------------
    def rows(self, obj: str, include_deleted: bool) -> list[Record]:
        """What the API user's queries see: without View All Data, only shared records."""
        with self.lock:
            return [
                dict(r)
                for r in self.records[obj].values()
                if (include_deleted or not r["IsDeleted"]) and r["Id"] not in self.hidden_ids
            ]

    def add_record_type(
        self, sobject: str, name: str, allowed: dict[str, list[str]], *, active: bool = True
    ) -> str:
        """A record type of ``sobject`` allowing, per restricted picklist field, only the
        values listed (a field not listed allows none of its values)."""
        with self.lock:
            rid = self.put_new(
                "RecordType",
                {
                    "Name": name,
                    "DeveloperName": name.replace(" ", "_"),
                    "SobjectType": sobject,
                    "IsActive": active,
                },
            )
            self.record_type_values[rid] = {k.lower(): list(v) for k, v in allowed.items()}
            return rid

    def allowed_values(self, record_type_id: str, field: FieldDef) -> list[str]:
        """The values of ``field`` a record of that record type may hold."""
        with self.lock:
            by_field = self.record_type_values.get(record_type_id)
            if by_field is None:
                return list(field.picklist or [])
            return [v for v in by_field.get(field.name.lower(), []) if v in (field.picklist or [])]

    def restrict_visibility(self, hidden: set[str]) -> None:
        """The API user loses View All Data and sees none of ``hidden`` (not shared with it)."""
        with self.lock:
            self.records["PermissionSet"][self.profile_set_id]["PermissionsViewAllData"] = False
            self.hidden_ids = set(hidden)

    def get(self, obj: str, rid: str) -> Record | None:
        with self.lock:
            return self.records[obj].get(rid)
