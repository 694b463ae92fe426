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
import datetime as dt
import threading
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from decimal import Context, Decimal, InvalidOperation

from connectors.sandbox.generator import EXCHANGE_RATES, HOME_CURRENCY
from connectors.sandbox.hubspot.wire import now_ms

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


class _Absent:
    """The value of a slot a record has no key for (``None`` is a value: a null)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<absent>"


ABSENT = _Absent()
Value = str | None
Slot = str | None | _Absent

_DAY_MS = 86_400_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


_DAYS: dict[int, str] = {}


def iso_ms(ms: int) -> str:
    """``wire.iso`` without a datetime per call (the same text: a test pins it), for
    the stamps every record answers on every read."""
    days, rest = divmod(ms, _DAY_MS)
    day = _DAYS.get(days)
    if day is None:
        day = (_EPOCH + dt.timedelta(days=days)).strftime("%Y-%m-%dT")
        if len(_DAYS) < 100_000:
            _DAYS[days] = day
    return "%s%02d:%02d:%02d.%03dZ" % (  # noqa: UP031 -- the fastest of the three forms
        day,
        rest // 3_600_000,
        rest // 60_000 % 60,
        rest // 1000 % 60,
        rest % 1000,
    )


#: ``Layout.index`` codes of the derived stamps (stored slots are 0, 1, ...).
_ID, _CREATED, _UPDATED, _UNKNOWN = -1, -2, -3, -9


class Layout:
    """The property names of one object type, each with a fixed slot in every
    record's value tuple. Why: millions of records then share one name table
    instead of each holding a dict; append-only, so a slot never moves.

    ``hs_object_id``, ``createdate`` and the last-modified stamp are not stored: the
    server derives them from the record's id and times on every read (``stamps``)."""

    __slots__ = ("index", "names", "object_type", "stamps")

    def __init__(self, object_type: str) -> None:
        self.object_type = object_type
        self.names: list[str] = []
        self.stamps = ("hs_object_id", "createdate", LASTMOD[object_type])
        #: name -> its slot, or a stamp's (negative) code
        self.index: dict[str, int] = dict(zip(self.stamps, (_ID, _CREATED, _UPDATED), strict=True))

    def slot(self, name: str) -> int:
        """The name's slot (added if new); negative for a stamp, which has none."""
        i = self.index.get(name)
        if i is None:
            i = self.index[name] = len(self.names)
            self.names.append(name)
        return i


class Record:
    """One CRM record. ``props`` is a live mapping view of its values (with the
    server stamps), as a dict of them was; a record built from a plain dict (a
    snapshot) keeps that dict as it is."""

    __slots__ = ("_lay", "_v", "archived", "archived_at", "created", "id", "merged_into", "updated")

    def __init__(
        self,
        id: int,
        props: dict[str, Value],
        created: int,
        updated: int,
        archived: bool = False,
        archived_at: int | None = None,
        merged_into: int | None = None,
    ) -> None:
        self.id, self.created, self.updated = id, created, updated
        self.archived, self.archived_at, self.merged_into = archived, archived_at, merged_into
        self._lay: Layout | None = None
        self._v: tuple[Slot, ...] | dict[str, Value] = props

    @classmethod
    def compact(
        cls, layout: Layout, rid: int, values: tuple[Slot, ...], created: int, updated: int
    ) -> Record:
        rec = cls.__new__(cls)
        rec.id, rec.created, rec.updated = rid, created, updated
        rec.archived, rec.archived_at, rec.merged_into = False, None, None
        rec._lay, rec._v = layout, values
        return rec

    @property
    def props(self) -> Props:
        return Props(self)

    def assign(self, values: dict[str, Value]) -> None:
        """Set (or add) values in one go; a stamp name is ignored (server-maintained)."""
        lay, v = self._lay, self._v
        if lay is None:
            assert isinstance(v, dict)
            v.update(values)
            return
        assert isinstance(v, tuple)
        out = list(v)
        for k, val in values.items():
            i = lay.slot(k)
            if i < 0:
                continue
            if i >= len(out):
                out.extend([ABSENT] * (i + 1 - len(out)))
            out[i] = val
        self._v = tuple(out)

    def __repr__(self) -> str:
        return f"Record(id={self.id}, props={dict(self.props)!r}, archived={self.archived})"


class Props(MutableMapping[str, Value]):
    """The mapping view ``Record.props`` answers (see ``Record``)."""

    __slots__ = ("_r",)

    def __init__(self, rec: Record) -> None:
        self._r = rec

    def get(self, key: str, default: Value = None) -> Value:  # type: ignore[override]
        r = self._r
        lay, v = r._lay, r._v
        if lay is None:
            assert isinstance(v, dict)
            return v.get(key, default)
        i = lay.index.get(key, _UNKNOWN)
        if i >= 0:
            if i < len(v):
                val = v[i]  # type: ignore[index]
                if val is not ABSENT:
                    return val  # type: ignore[return-value]
            return default
        if i == _UNKNOWN:
            return default
        if i == _ID:
            return str(r.id)
        return iso_ms(r.created if i == _CREATED else r.updated)

    def __getitem__(self, key: str) -> Value:
        val = self.get(key, ABSENT)  # type: ignore[arg-type]
        if val is ABSENT:
            raise KeyError(key)
        return val

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self.get(key, ABSENT) is not ABSENT  # type: ignore[arg-type]

    def __setitem__(self, key: str, value: Value) -> None:
        lay = self._r._lay
        if lay is not None and lay.index.get(key, 0) < 0:
            # a stamp is derived from the record's id and times: setting it here would
            # be silently lost, so say so (set ``Record.updated`` / ``created`` instead)
            raise ValueError(f"{key} is server-maintained and derived on read")
        self._r.assign({key: value})

    def __delitem__(self, key: str) -> None:
        r = self._r
        if r._lay is None:
            assert isinstance(r._v, dict)
            del r._v[key]
            return
        i = r._lay.index.get(key)
        if i is None or i < 0 or i >= len(r._v) or r._v[i] is ABSENT:  # type: ignore[index]
            raise KeyError(key)
        out = list(r._v)  # type: ignore[arg-type]
        out[i] = ABSENT
        r._v = tuple(out)

    def __iter__(self) -> Iterator[str]:
        r = self._r
        if r._lay is None:
            assert isinstance(r._v, dict)
            yield from r._v
            return
        names = r._lay.names
        for i, val in enumerate(r._v):  # type: ignore[arg-type]
            if val is not ABSENT:
                yield names[i]
        yield from r._lay.stamps

    def __len__(self) -> int:
        r = self._r
        if r._lay is None:
            return len(r._v)
        return sum(1 for val in r._v if val is not ABSENT) + len(r._lay.stamps)  # type: ignore[union-attr]

    def __repr__(self) -> str:
        return repr(dict(self))


@dataclass(frozen=True)
class Label:
    """A custom (``USER_DEFINED``) association label: a portal-local typeId that may
    collide with a ``HUBSPOT_DEFINED`` one (notes 13), and its display text."""

    type_id: int
    label: str


@dataclass
class _TypeState:
    layout: Layout
    records: dict[int, Record] = field(default_factory=dict)
    next_id: int = 1
    live_ids: list[int] | None = None  # sorted; rebuilt lazily after create/archive
    archived_ids: list[int] | None = None


#: Edges where a record has at most one primary target (a contact's, a deal's company).
SINGLE_PRIMARY = frozenset({("contacts", "companies"), ("deals", "companies")})

Listener = Callable[[str, Record, dict[str, str | None] | None], None]

#: One record's edges to one object type: each edge is ``to_id * 2 + primary``; a lone
#: edge is that int itself, several an array of them (no dict or int object per edge).
Edges = int | array


def _codes(held: Edges | None) -> Iterable[int]:
    if held is None:
        return ()
    return (held,) if isinstance(held, int) else held


def _pairs(held: Edges | None) -> list[tuple[int, bool]]:
    """(to_id, primary) of one record's edges."""
    return [(c >> 1, bool(c & 1)) for c in _codes(held)]


def _put(m: dict[int, Edges], fid: int, tid: int, primary: bool) -> None:
    code = tid * 2 + primary
    held = m.get(fid)
    if held is None:
        m[fid] = code
    elif isinstance(held, int):
        m[fid] = code if held >> 1 == tid else array("q", (held, code))
    else:
        for i, c in enumerate(held):
            if c >> 1 == tid:
                held[i] = code
                return
        held.append(code)


def _append(m: dict[int, Edges], key: int, code: int) -> bool:
    """Add an edge's code without looking for one already held (bulk seeding drops
    duplicates at the end); True when ``key``'s single int became an array."""
    held = m.get(key)
    if held is None:
        m[key] = code
    elif held.__class__ is int:
        if held != code:
            m[key] = array("q", (held, code))  # type: ignore[arg-type]
            return True
    else:
        held.append(code)  # type: ignore[union-attr]
    return False


def _drop(m: dict[int, Edges], fid: int, tid: int) -> None:
    held = m.get(fid)
    if held is None:
        return
    if isinstance(held, int):
        if held >> 1 == tid:
            del m[fid]
        return
    for i, c in enumerate(held):
        if c >> 1 == tid:
            del held[i]
            break
    if len(held) == 1:
        m[fid] = held[0]
    elif not held:
        del m[fid]


_HOME = Context(prec=60)


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
            rec.assign({"amount_in_home_currency": self._home_amount(rec.props)})

    def _home_amount(self, props: Mapping[str, str | None]) -> str | None:
        """``amount`` converted with the portal's rate of ``deal_currency_code`` (no code:
        the company currency), unrounded; empty when the amount is (FACTS.md)."""
        raw = props.get("amount")
        if raw is None:
            return None
        raw = str(raw).strip()
        if raw == "":
            return None
        code = props.get("deal_currency_code") or self.home_currency
        rate = self.exchange_rates.get(code)
        if rate is None:
            return None
        try:
            value = _HOME.multiply(Decimal(raw), rate)
        except InvalidOperation:
            return None
        return format(value.normalize(_HOME), "f") if value else "0"

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
                        rec._v = (*values, self._home_amount_of(values[amount], values[code]))
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

    def _home_amount_of(self, amount: str | None, code: str | None) -> str | None:
        return self._home_amount({"amount": amount, "deal_currency_code": code})

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
                    for to_id, flag in sorted(_pairs(edges.get(old))):
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
            _put(self._assoc.setdefault((from_type, to_type), {}), from_id, to_id, primary)
            _put(self._assoc.setdefault((to_type, from_type), {}), to_id, from_id, primary)
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
            _drop(self._assoc.get((from_type, to_type), {}), from_id, to_id)
            _drop(self._assoc.get((to_type, from_type), {}), to_id, from_id)
            self._labels.get((from_type, to_type), {}).get(from_id, {}).pop(to_id, None)
            self._labels.get((to_type, from_type), {}).get(to_id, {}).pop(from_id, None)
            self.version += 1

    def associated(self, from_type: str, from_id: int, to_type: str) -> list[tuple[int, bool]]:
        """Live targets of one record, sorted by id, with their primary flag."""
        held = self._assoc.get((from_type, to_type), {}).get(from_id)
        return sorted((t, p) for t, p in _pairs(held) if self.get(to_type, t) is not None)

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
                if _append(fwd, fid, tid * 2 + 1):
                    grown.append((fwd, fid))
                if _append(rev, tid, fid * 2 + 1):
                    grown.append((rev, tid))
            for m, a in grown:
                held = m[a]
                assert isinstance(held, array)
                if len(held) > 2:
                    unique = array("q", dict.fromkeys(held))
                    m[a] = unique[0] if len(unique) == 1 else unique
            self.version += 1
