"""The connector interface and the canonical records every source is turned into.

A connector is the only code that knows a CRM's wire format. The engine asks it
for pages of records changed since a cursor, asks it to make sure the tag
fields (and their options) exist, hands it batches of tag updates and keeps
segment lists through it. Everything a connector returns is canonical: ids are
strings, money is ``Decimal``, dates are ``date``, timestamps are UTC.

Records are frozen dataclasses with slots rather than pydantic models: a full
pull of a large portal creates millions of them, and they come from code we
control (the connectors), not from users.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import islice
from typing import ClassVar, Generic, Literal, TypeVar, final

from connectors.errors import CrmError, CrmsegError

ObjectType = Literal["contact", "company", "deal"]
OBJECT_TYPES: tuple[ObjectType, ...] = ("contact", "company", "deal")


@dataclass(frozen=True, slots=True)
class Contact:
    id: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    salutation: str | None = None
    country: str | None = None
    company_id: str | None = None
    properties: Mapping[str, str | None] = field(default_factory=dict)
    updated_at: datetime | None = None
    #: The postal address (SEGMENTS.md ``missing_address``: a postcard needs all three).
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None


@dataclass(frozen=True, slots=True)
class Company:
    id: str
    name: str | None = None
    properties: Mapping[str, str | None] = field(default_factory=dict)
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Deal:
    id: str
    amount: Decimal | None
    close_date: date | None
    won: bool
    contact_ids: tuple[str, ...] = ()
    company_ids: tuple[str, ...] = ()
    properties: Mapping[str, str | None] = field(default_factory=dict)
    updated_at: datetime | None = None


Record = Contact | Company | Deal
R = TypeVar("R", Contact, Company, Deal)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where an incremental pull resumes: the last modification time and id seen.

    The id breaks ties between records sharing one timestamp, so a page
    boundary inside such a group loses nothing.
    """

    modified_at: datetime
    last_id: str | None = None


@dataclass(frozen=True, slots=True)
class Page(Generic[R]):
    """One page of a pull: changed records, ids deleted or merged away, and the
    cursor to resume from once this page is committed."""

    records: Sequence[R]
    deleted_ids: Sequence[str] = ()
    cursor: Cursor | None = None


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A tag field crmseg owns in the CRM. ``multi`` fields hold ``;``-joined values."""

    name: str
    label: str
    options: tuple[str, ...]
    multi: bool = False
    description: str = ""


@dataclass(frozen=True, slots=True)
class TagUpdate:
    """Absolute values to set on one record (``None`` clears a field).

    Absolute values make a retried write harmless.
    """

    object_type: ObjectType
    record_id: str
    values: Mapping[str, str | None]


@dataclass(frozen=True, slots=True)
class WriteResult:
    record_id: str
    ok: bool
    error: CrmError | None = None
    #: Set when the record was merged into another one (a new id) before the
    #: write: not a rejection; the engine pulls again and plans for the new id.
    merged_into: str | None = None
    #: The record's modification stamp after this write, as the CRM answered it
    #: (``None``: not known). Lets the next pull recognise crmseg's own writes.
    modified_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ListSpec:
    """A segment list to keep in the CRM: every record whose ``field`` holds ``value``."""

    name: str
    object_type: ObjectType
    field: str
    value: str
    #: The records that should be members, for CRMs whose lists crmseg keeps in
    #: step itself (``Connector.lists_need_members``); ``None`` where the CRM
    #: evaluates the filter (HubSpot's active lists).
    members: frozenset[str] | None = None
    #: The id the CRM gave this list when crmseg created it (kept in the state
    #: file); ``None`` when crmseg has no record of creating it. A list of that
    #: name with another id is someone else's, and crmseg leaves it alone.
    list_id: str | None = None


@dataclass(frozen=True, slots=True)
class ListState:
    spec: ListSpec
    list_id: str
    created: bool = False
    updated: bool = False
    #: Members added and removed by crmseg (lists it keeps in step itself).
    added: int = 0
    removed: int = 0


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lazily cut ``items`` into lists of at most ``size``."""
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


class Connector(abc.ABC):
    """One CRM (or file source). Subclasses fill the abstract hooks; the engine's
    batching is final so every connector counts and cuts batches the same way."""

    #: Short name used in messages and state ("hubspot", "salesforce", "files").
    name: ClassVar[str]
    #: The largest batch the CRM accepts in one write call.
    max_batch_size: ClassVar[int] = 100
    #: Requests allowed per ``rate_window_seconds`` (``None``: no limit to respect).
    rate_limit: ClassVar[int | None] = None
    rate_window_seconds: ClassVar[float] = 10.0
    #: Whether ``ensure_lists`` needs ``ListSpec.members`` filled in.
    lists_need_members: ClassVar[bool] = False

    @abc.abstractmethod
    def pull(
        self,
        object_type: ObjectType,
        since: Cursor | None,
        properties: Sequence[str] = (),
    ) -> Iterator[Page[Contact] | Page[Company] | Page[Deal]]:
        """Yield pages of records changed since ``since`` (all records when ``None``),
        with the extra ``properties`` the segmentation needs."""

    @abc.abstractmethod
    def ensure_fields(self, object_type: ObjectType, fields: Sequence[FieldSpec]) -> list[str]:
        """Make the tag fields exist with these options; read first, change only what
        differs. Returns a human-readable line per change made."""

    @abc.abstractmethod
    def write_batch(self, updates: Sequence[TagUpdate]) -> list[WriteResult]:
        """Write one batch (<= ``max_batch_size``) and return one result per update."""

    @abc.abstractmethod
    def ensure_lists(self, specs: Sequence[ListSpec]) -> list[ListState]:
        """Create or correct one list per spec, idempotently."""

    def write_bulk(self, updates: Sequence[TagUpdate]) -> list[WriteResult] | None:
        """Write many updates in one asynchronous bulk job, or return ``None`` to have
        the engine send them in batches (the default, and the answer below the
        connector's own threshold). One result per update when not ``None``."""
        return None

    def account_id(self) -> str | None:
        """Which CRM account the credentials belong to, as a stable readable name
        (``hubspot portal 12345678``, ``salesforce org 00D...``); asks the CRM.

        The state file is bound to it: an API URL alone is the same for every
        HubSpot portal. ``None``: the source has no account (CSV files)."""
        return None

    def plan_fields(self, object_type: ObjectType, fields: Sequence[FieldSpec]) -> list[str] | None:
        """What ``ensure_fields`` would create or change, read-only, one line each; a
        field that exists with another type raises ``SchemaMismatch``. ``None``: the
        connector cannot tell (nothing to provision)."""
        return None

    def plan_lists(self, specs: Sequence[ListSpec]) -> list[str] | None:
        """What ``ensure_lists`` would create or correct, read-only, one line each."""
        return None

    def missing_properties(self, object_type: ObjectType, names: Sequence[str]) -> list[str]:
        """Those of ``names`` the CRM has no property (field) for on ``object_type``."""
        return []

    def snapshot_list(self, name: str, object_type: ObjectType, record_ids: Sequence[str]) -> str:
        """Create a static list holding exactly ``record_ids``; returns its id.

        Optional: CRMs without static lists keep the default, which refuses."""
        raise CrmsegError(f"{self.name} cannot keep snapshot lists")

    @final
    def write(self, updates: Iterable[TagUpdate]) -> Iterator[WriteResult]:
        """Write updates in the largest batches the CRM accepts."""
        for batch in chunks(updates, self.max_batch_size):
            yield from self.write_batch(batch)
