"""One compact CRM record of the HubSpot stand-in and its mapping view.

Why: the stand-in holds millions of records, so a record keeps its values in a
tuple whose slots a per-type ``Layout`` names instead of a dict per record, and
derives the server stamps (``hs_object_id``, ``createdate``, the last-modified
stamp) from its id and times on every read. ``Record.props`` still answers as
the dict of values it replaced, so handlers read and write it as a mapping.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, MutableMapping

from connectors.sandbox.hubspot.object_types import LASTMOD


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
