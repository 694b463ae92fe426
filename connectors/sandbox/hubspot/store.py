"""In-memory CRM records and associations for the HubSpot stand-in.

Why: handlers and the public Python API must share one consistent state in
which the server -- never the client -- maintains ``hs_object_id``,
``createdate`` and ``lastmodifieddate`` / ``hs_lastmodifieddate`` (notes 1.1,
11.3). Reads outnumber writes, so the store keeps cheap derived views (sorted
live / archived id lists, an e-mail index) and a ``version`` counter that read
caches (search, dynamic lists) key on instead of rescanning per request.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation, localcontext

from connectors.sandbox.generator import EXCHANGE_RATES, HOME_CURRENCY
from connectors.sandbox.hubspot.wire import iso, now_ms

OBJECT_TYPES: dict[str, str] = {"contacts": "0-1", "companies": "0-2", "deals": "0-3"}
_ALIASES: dict[str, str] = {
    **{k: k for k in OBJECT_TYPES},
    **{v: k for k, v in OBJECT_TYPES.items()},
    "contact": "contacts",
    "company": "companies",
    "deal": "deals",
}
SINGULAR = {"contacts": "contact", "companies": "company", "deals": "deal"}
LASTMOD = {
    "contacts": "lastmodifieddate",
    "companies": "hs_lastmodifieddate",
    "deals": "hs_lastmodifieddate",
}
SERVER_PROPS = frozenset(
    {
        "hs_object_id",
        "createdate",
        "lastmodifieddate",
        "hs_lastmodifieddate",
        "hs_merged_object_ids",
        "amount_in_home_currency",
    }
)


def canonical(object_type: str) -> str | None:
    """``0-1`` / ``contact`` / ``CONTACTS`` -> ``contacts`` (None if unknown)."""
    return _ALIASES.get(object_type.lower())


@dataclass
class Record:
    id: int
    props: dict[str, str | None]
    created: int  # epoch ms
    updated: int
    archived: bool = False
    archived_at: int | None = None
    merged_into: int | None = None


@dataclass
class _TypeState:
    records: dict[int, Record] = field(default_factory=dict)
    next_id: int = 1
    live_ids: list[int] | None = None  # sorted; rebuilt lazily after create/archive
    archived_ids: list[int] | None = None


@dataclass(frozen=True)
class Label:
    """A custom (``USER_DEFINED``) association label: a portal-local typeId that may
    collide with a ``HUBSPOT_DEFINED`` one (notes 13), and its display text."""

    type_id: int
    label: str


#: Edges where a record has at most one primary target (a contact's, a deal's company).
SINGLE_PRIMARY = frozenset({("contacts", "companies"), ("deals", "companies")})

Listener = Callable[[str, Record, dict[str, str | None] | None], None]


class Store:
    """Thread-safe records per object type plus undirected association edges."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.version = 0
        self._types = {t: _TypeState() for t in OBJECT_TYPES}
        self._email: dict[str, int] = {}
        # (from_type, to_type) -> from_id -> to_id -> primary?
        self._assoc: dict[tuple[str, str], dict[int, dict[int, bool]]] = {}
        # (from_type, to_type) -> from_id -> to_id -> custom (USER_DEFINED) labels
        self._labels: dict[tuple[str, str], dict[int, dict[int, tuple[Label, ...]]]] = {}
        self.listeners: list[Listener] = []
        #: The portal's company currency and the rate of each account currency to it.
        self.home_currency = HOME_CURRENCY
        self.exchange_rates = {k: Decimal(v) for k, v in EXCHANGE_RATES.items()}

    # -- records -----------------------------------------------------------
    def _stamp(self, object_type: str, rec: Record) -> None:
        rec.props["hs_object_id"] = str(rec.id)
        rec.props["createdate"] = iso(rec.created)
        rec.props[LASTMOD[object_type]] = iso(rec.updated)
        if object_type == "deals":
            rec.props["amount_in_home_currency"] = self._home_amount(rec.props)

    def _home_amount(self, props: dict[str, str | None]) -> str | None:
        """``amount`` converted with the portal's rate of ``deal_currency_code`` (no code:
        the company currency), unrounded; empty when the amount is (FACTS.md)."""
        raw = props.get("amount")
        if raw is None or str(raw).strip() == "":
            return None
        code = props.get("deal_currency_code") or self.home_currency
        rate = self.exchange_rates.get(code)
        if rate is None:
            return None
        try:
            with localcontext() as ctx:
                ctx.prec = 60
                value = Decimal(str(raw).strip()) * rate
        except InvalidOperation:
            return None
        return format(value.normalize(), "f") if value else "0"

    def _changed(self, object_type: str, rec: Record, before: dict[str, str | None] | None) -> None:
        self.version += 1
        for fn in self.listeners:
            fn(object_type, rec, before)

    def create(
        self,
        object_type: str,
        props: dict[str, str | None],
        *,
        record_id: int | None = None,
        created: int | None = None,
        updated: int | None = None,
    ) -> Record:
        with self.lock:
            ts = self._types[object_type]
            rid = record_id if record_id is not None else ts.next_id
            ts.next_id = max(ts.next_id, rid + 1)
            c = created if created is not None else now_ms()
            rec = Record(
                rid,
                {k: v for k, v in props.items() if k not in SERVER_PROPS},
                c,
                updated if updated is not None else c,
            )
            self._stamp(object_type, rec)
            ts.records[rid] = rec
            if ts.live_ids is not None and (not ts.live_ids or ts.live_ids[-1] < rid):
                ts.live_ids.append(rid)
            else:
                ts.live_ids = None
            if object_type == "contacts":
                self._index_email(rec, None)
            self._changed(object_type, rec, None)
            return rec

    def bulk_load(
        self, object_type: str, rows: Iterable[tuple[int, dict[str, str | None], int]]
    ) -> None:
        """Fast seeding: (id, props, created_ms) rows, no listeners fired."""
        with self.lock:
            ts = self._types[object_type]
            for rid, props, created in rows:
                rec = Record(rid, props, created, created)
                self._stamp(object_type, rec)
                ts.records[rid] = rec
                ts.next_id = max(ts.next_id, rid + 1)
                if object_type == "contacts":
                    self._index_email(rec, None)
            ts.live_ids = ts.archived_ids = None
            self.version += 1

    def _index_email(self, rec: Record, old: str | None) -> None:
        if old and self._email.get(old.lower()) == rec.id:
            del self._email[old.lower()]
        email = rec.props.get("email")
        if email and not rec.archived:
            self._email.setdefault(email.lower(), rec.id)

    def update(self, object_type: str, rid: int, props: dict[str, str | None]) -> Record:
        """Set values (``""`` clears to null); bumps the last-modified stamp."""
        with self.lock:
            rec = self._types[object_type].records[rid]
            before = dict(rec.props)
            old_email = rec.props.get("email")
            for k, v in props.items():
                if k in SERVER_PROPS:
                    continue
                rec.props[k] = None if v == "" else v
            rec.updated = max(now_ms(), rec.updated + 1)
            self._stamp(object_type, rec)
            if object_type == "contacts" and "email" in props:
                self._index_email(rec, old_email)
            self._changed(object_type, rec, before)
            return rec

    def get(self, object_type: str, rid: int, *, archived: bool = False) -> Record | None:
        rec = self._types[object_type].records.get(rid)
        if rec is None or rec.merged_into is not None or rec.archived != archived:
            return None
        return rec

    def by_email(self, email: str) -> Record | None:
        rid = self._email.get(email.lower())
        return self.get("contacts", rid) if rid is not None else None

    def records(self, object_type: str) -> dict[int, Record]:
        return self._types[object_type].records

    def ids(self, object_type: str, *, archived: bool = False) -> list[int]:
        """Sorted ids of live (or only archived) records; cached between changes."""
        with self.lock:
            ts = self._types[object_type]
            if ts.live_ids is None or ts.archived_ids is None:
                ts.live_ids, ts.archived_ids = [], []
                for rid in sorted(ts.records):
                    rec = ts.records[rid]
                    if rec.merged_into is not None:
                        continue
                    (ts.archived_ids if rec.archived else ts.live_ids).append(rid)
            return ts.archived_ids if archived else ts.live_ids

    def page_ids(
        self, object_type: str, start_after: int, limit: int, *, archived: bool
    ) -> tuple[list[int], int | None]:
        ids = self.ids(object_type, archived=archived)
        i = bisect.bisect_left(ids, start_after)
        page = ids[i : i + limit]
        nxt = ids[i + limit] if i + limit < len(ids) else None
        return page, nxt

    def archive(self, object_type: str, rid: int) -> bool:
        with self.lock:
            rec = self.get(object_type, rid)
            if rec is None:
                return False
            before = dict(rec.props)
            rec.archived, rec.archived_at = True, now_ms()
            ts = self._types[object_type]
            ts.live_ids = ts.archived_ids = None
            if object_type == "contacts":
                self._index_email(rec, rec.props.get("email"))
            self._changed(object_type, rec, before)
            return True

    def merge(self, object_type: str, primary: int, merged: int) -> Record:
        """Merge two records into a NEW record with a new id (notes 13, FACTS.md).

        Both old records leave lists and searches, and their ids resolve to the
        new one (``resolve``); its ``hs_merged_object_ids`` lists them. The
        primary's values win, the secondary fills what the primary lacks. Both
        records' associations move to the new one; a second "primary" edge to
        the same object type (the secondary's) is demoted to unlabelled.
        """
        with self.lock:
            win, lose = self.get(object_type, primary), self.get(object_type, merged)
            if win is None or lose is None or primary == merged:
                raise KeyError(merged if win is not None else primary)
            befores = [(rec, dict(rec.props)) for rec in (win, lose)]
            ids = [str(primary), str(merged)]
            for rec in (win, lose):
                ids += [x for x in (rec.props.get("hs_merged_object_ids") or "").split(";") if x]
            props: dict[str, str | None] = {
                k: v for k, v in lose.props.items() if v not in (None, "")
            }
            props.update({k: v for k, v in win.props.items() if v not in (None, "")})
            for rec in (win, lose):
                rec.merged_into = -1  # gone from ids and the e-mail index before the create
                if object_type == "contacts":
                    self._index_email(rec, rec.props.get("email"))
            new = self.create(object_type, props)
            new.props["hs_merged_object_ids"] = ";".join(dict.fromkeys(ids))
            for rec in (win, lose):
                rec.merged_into = new.id
            for (ft, tt), edges in list(self._assoc.items()):
                if ft != object_type:
                    continue
                moved: dict[int, tuple[bool, tuple[Label, ...]]] = {}
                for old in (primary, merged):  # the primary's edges first
                    for to_id, flag in sorted(edges.get(old, {}).items()):
                        was, labels = moved.get(to_id, (False, ()))
                        moved[to_id] = (was or flag, (*labels, *self.labels(ft, old, tt, to_id)))
                        self.dissociate(ft, old, tt, to_id)
                one_primary = (ft, tt) in SINGLE_PRIMARY
                kept = False
                for to_id, (flag, labels) in moved.items():
                    keep = flag and not (one_primary and kept)
                    kept = kept or keep
                    self.associate(
                        ft, new.id, tt, to_id, primary=keep, labels=labels, _notify=False
                    )
            ts = self._types[object_type]
            ts.live_ids = ts.archived_ids = None
            for rec, before in befores:
                self._changed(object_type, rec, before)
            return self.update(object_type, new.id, {})

    def resolve(self, object_type: str, rid: int) -> Record | None:
        """A live record by id, following merges (an old id answers the merged record)."""
        rec = self._types[object_type].records.get(rid)
        seen = 0
        while rec is not None and rec.merged_into is not None and seen < 100:
            rec = self._types[object_type].records.get(rec.merged_into)
            seen += 1
        if rec is None or rec.merged_into is not None or rec.archived:
            return None
        return rec

    # -- associations --------------------------------------------------------
    def associate(
        self,
        from_type: str,
        from_id: int,
        to_type: str,
        to_id: int,
        *,
        primary: bool = True,
        labels: tuple[Label, ...] = (),
        _notify: bool = True,
    ) -> None:
        """Associate two records; ``labels`` adds custom labels to the edge (both
        directions carry them: the inverse label's typeId is not modelled apart)."""
        with self.lock:
            self._assoc.setdefault((from_type, to_type), {}).setdefault(from_id, {})[to_id] = (
                primary
            )
            self._assoc.setdefault((to_type, from_type), {}).setdefault(to_id, {})[from_id] = (
                primary
            )
            if labels:
                for (f, fid), (t, tid) in (
                    ((from_type, from_id), (to_type, to_id)),
                    ((to_type, to_id), (from_type, from_id)),
                ):
                    held = self._labels.setdefault((f, t), {}).setdefault(fid, {})
                    held[tid] = tuple(dict.fromkeys((*held.get(tid, ()), *labels)))
            if _notify:
                self.version += 1

    def labels(self, from_type: str, from_id: int, to_type: str, to_id: int) -> tuple[Label, ...]:
        """Custom labels of one edge (``()``: none)."""
        return self._labels.get((from_type, to_type), {}).get(from_id, {}).get(to_id, ())

    def dissociate(self, from_type: str, from_id: int, to_type: str, to_id: int) -> None:
        with self.lock:
            self._assoc.get((from_type, to_type), {}).get(from_id, {}).pop(to_id, None)
            self._assoc.get((to_type, from_type), {}).get(to_id, {}).pop(from_id, None)
            self._labels.get((from_type, to_type), {}).get(from_id, {}).pop(to_id, None)
            self._labels.get((to_type, from_type), {}).get(to_id, {}).pop(from_id, None)
            self.version += 1

    def associated(self, from_type: str, from_id: int, to_type: str) -> list[tuple[int, bool]]:
        """Live targets of one record, sorted by id, with their primary flag."""
        edges = self._assoc.get((from_type, to_type), {}).get(from_id, {})
        return sorted((t, p) for t, p in edges.items() if self.get(to_type, t) is not None)
