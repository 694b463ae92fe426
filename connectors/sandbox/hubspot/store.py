"""In-memory CRM records and associations for the HubSpot stand-in.

Why: handlers and the public Python API must share one consistent state in
which the server -- never the client -- maintains ``hs_object_id``,
``createdate`` and ``lastmodifieddate`` / ``hs_lastmodifieddate`` (notes 1.1,
11.3). Reads outnumber writes, so the store keeps cheap derived views (sorted
live / archived id lists, an e-mail index) and a ``version`` counter that read
caches (search, dynamic lists) key on instead of rescanning per request.

The store keeps the state and its invariants; a record's compact form is
``record``, the packed association edges ``edges``, the object type names
``object_types`` and the converted deal amount ``home_currency``.
"""

from __future__ import annotations

import bisect
import threading
from array import array
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from connectors.sandbox.hubspot.edges import (
    SINGLE_PRIMARY,
    Edges,
    Label,
    append_edge,
    drop_edge,
    edge_pairs,
    put_edge,
)
from connectors.sandbox.hubspot.home_currency import home_amount
from connectors.sandbox.hubspot.object_types import OBJECT_TYPES, SERVER_PROPS
from connectors.sandbox.hubspot.record import Layout, Record, Value
from connectors.sandbox.hubspot.wire import now_ms
from connectors.sandbox.vocabulary import EXCHANGE_RATES, HOME_CURRENCY


@dataclass
class _TypeState:
    layout: Layout
    records: dict[int, Record] = field(default_factory=dict)
    next_id: int = 1
    live_ids: list[int] | None = None  # sorted; rebuilt lazily after create/archive
    archived_ids: list[int] | None = None


Listener = Callable[[str, Record, dict[str, str | None] | None], None]


class Store:
    """Thread-safe records per object type plus undirected association edges."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.version = 0
        self._types = {t: _TypeState(Layout(t)) for t in OBJECT_TYPES}
        self._email: dict[str, int] = {}
        # (from_type, to_type) -> from_id -> its edges (see ``Edges``)
        self._assoc: dict[tuple[str, str], dict[int, Edges]] = {}
        # (from_type, to_type) -> from_id -> to_id -> custom (USER_DEFINED) labels
        self._labels: dict[tuple[str, str], dict[int, dict[int, tuple[Label, ...]]]] = {}
        self.listeners: list[Listener] = []
        #: The portal's company currency and the rate of each account currency to it.
        self.home_currency = HOME_CURRENCY
        self.exchange_rates = {k: Decimal(v) for k, v in EXCHANGE_RATES.items()}

    # -- records -----------------------------------------------------------
    def _stamp(self, object_type: str, rec: Record) -> None:
        """The stored server values: the converted deal amount (the id and time
        stamps are derived on read, see ``Layout``)."""
        if object_type == "deals":
            rec.assign(
                {
                    "amount_in_home_currency": home_amount(
                        rec.props, self.home_currency, self.exchange_rates
                    )
                }
            )

    def _changed(self, object_type: str, rec: Record, before: dict[str, str | None] | None) -> None:
        self.version += 1
        for fn in self.listeners:
            fn(object_type, rec, before)

    def _new(self, object_type: str, rid: int, props: dict[str, Value], c: int, u: int) -> Record:
        ts = self._types[object_type]
        lay = ts.layout
        rec = Record.compact(lay, rid, (), c, u)
        rec.assign({k: v for k, v in props.items() if k not in SERVER_PROPS})
        self._stamp(object_type, rec)
        return rec

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
            rec = self._new(object_type, rid, props, c, updated if updated is not None else c)
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
                rec = Record.compact(ts.layout, rid, (), created, created)
                rec.assign(props)
                self._stamp(object_type, rec)
                self._place(object_type, ts, rec)
            ts.live_ids = ts.archived_ids = None
            self.version += 1

    def bulk_rows(
        self,
        object_type: str,
        names: tuple[str, ...],
        rows: Iterable[tuple[int, tuple[str | None, ...], int]],
    ) -> None:
        """Fastest seeding: (id, values in ``names`` order, created_ms) rows, no
        listeners fired. The values tuple becomes the record's own when ``names``
        are the type's first slots (a fresh store), so no dict is built per record."""
        with self.lock:
            ts = self._types[object_type]
            lay = ts.layout
            slots = [lay.slot(n) for n in names]
            direct = slots == list(range(len(names)))
            deals = object_type == "deals"
            home = lay.slot("amount_in_home_currency") if deals else -1
            amount, code = (
                (names.index("amount"), names.index("deal_currency_code"))
                if (deals and "amount" in names and "deal_currency_code" in names)
                else (-1, -1)
            )
            records, compact, email = ts.records, Record.compact, self._email
            contacts = object_type == "contacts"
            at_email = names.index("email") if contacts and "email" in names else -1
            next_id = ts.next_id
            for rid, values, created in rows:
                if direct:
                    rec = compact(lay, rid, values, created, created)
                else:
                    rec = compact(lay, rid, (), created, created)
                    rec.assign(dict(zip(names, values, strict=True)))
                if deals:
                    if direct and amount >= 0 and home == len(values):
                        rec._v = (
                            *values,
                            home_amount(
                                {"amount": values[amount], "deal_currency_code": values[code]},
                                self.home_currency,
                                self.exchange_rates,
                            ),
                        )
                    else:
                        self._stamp(object_type, rec)
                if rid >= next_id:
                    next_id = rid + 1
                records[rid] = rec
                if at_email >= 0:
                    e = values[at_email]
                    if e:
                        key = e.lower()
                        email.setdefault(e if key == e else key, rid)
                elif contacts:
                    self._index_email(rec, None)
            ts.next_id = next_id
            ts.live_ids = ts.archived_ids = None
            self.version += 1

    def _place(self, object_type: str, ts: _TypeState, rec: Record) -> None:
        ts.records[rec.id] = rec
        ts.next_id = max(ts.next_id, rec.id + 1)
        if object_type == "contacts":
            self._index_email(rec, None)

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
            rec.assign(
                {k: None if v == "" else v for k, v in props.items() if k not in SERVER_PROPS}
            )
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
                    for to_id, flag in sorted(edge_pairs(edges.get(old))):
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
            put_edge(self._assoc.setdefault((from_type, to_type), {}), from_id, to_id, primary)
            put_edge(self._assoc.setdefault((to_type, from_type), {}), to_id, from_id, primary)
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
            drop_edge(self._assoc.get((from_type, to_type), {}), from_id, to_id)
            drop_edge(self._assoc.get((to_type, from_type), {}), to_id, from_id)
            self._labels.get((from_type, to_type), {}).get(from_id, {}).pop(to_id, None)
            self._labels.get((to_type, from_type), {}).get(to_id, {}).pop(from_id, None)
            self.version += 1

    def associated(self, from_type: str, from_id: int, to_type: str) -> list[tuple[int, bool]]:
        """Live targets of one record, sorted by id, with their primary flag."""
        held = self._assoc.get((from_type, to_type), {}).get(from_id)
        return sorted((t, p) for t, p in edge_pairs(held) if self.get(to_type, t) is not None)

    def bulk_associate(
        self, from_type: str, to_type: str, pairs: Iterable[tuple[int, int]]
    ) -> None:
        """Fast seeding: primary edges for (from_id, to_id) pairs, both directions, no
        per-edge search for an edge already held (duplicates are dropped at the end)."""
        with self.lock:
            fwd = self._assoc.setdefault((from_type, to_type), {})
            rev = self._assoc.setdefault((to_type, from_type), {})
            if fwd or rev:
                for fid, tid in pairs:
                    self.associate(from_type, fid, to_type, tid, _notify=False)
                self.version += 1
                return
            grown: list[tuple[dict[int, Edges], int]] = []
            for fid, tid in pairs:
                if append_edge(fwd, fid, tid * 2 + 1):
                    grown.append((fwd, fid))
                if append_edge(rev, tid, fid * 2 + 1):
                    grown.append((rev, tid))
            for m, a in grown:
                held = m[a]
                assert isinstance(held, array)
                if len(held) > 2:
                    unique = array("q", dict.fromkeys(held))
                    m[a] = unique[0] if len(unique) == 1 else unique
            self.version += 1
