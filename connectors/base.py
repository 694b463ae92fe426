"""The connector interface and the canonical records every source is turned into.

A connector is the only code that knows a CRM's wire format. The engine asks it
for pages of records changed since a cursor, asks it to make sure the tag
fields (and their options) exist, hands it tag updates (which the final
:meth:`Connector.write` checks and cuts into batches) and keeps segment lists
through it. Everything a connector returns is canonical: ids are
strings, money is ``Decimal``, dates are ``date``, timestamps are UTC.

Records are frozen dataclasses with slots rather than pydantic models: a full
pull of a large portal creates millions of them, and they come from code we
control (the connectors), not from users.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from itertools import islice
from typing import TYPE_CHECKING, ClassVar, Generic, Literal, TypeVar, final

from connectors.errors import CrmError, CrmsegError, Fatal
from connectors.naming import PREFIX, unowned

if TYPE_CHECKING:
    import duckdb

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
    #: The postal address (docs/SEGMENTS.md ``missing_address``: a postcard needs all three).
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


class ColumnBatch(abc.ABC):
    """Many canonical records of one object type as columns rather than objects.

    Why: a pull that reads a file of a million records (a CRM's export) spent most
    of its CPU building one Python record per row and handing the mirror lists of
    them. A connector may instead hand the mirror the records as tables on the
    mirror's own DuckDB connection, built from the file by DuckDB itself, and the
    mirror stores them in a few statements. The data are exactly what the
    :class:`Page` records would carry; nothing of the CRM's wire format shows.

    :meth:`stage` creates these temporary tables or views on ``con`` (canonical
    types; ids ``VARCHAR``, timestamps ``TIMESTAMP`` in UTC without a zone):

    * ``staged_records``: one row per record, ids distinct, the columns of
      :data:`COLUMN_BATCH_COLUMNS` for the object type (``amount`` a decimal
      number or its text, ``close_date`` ``DATE``, ``won`` ``BOOLEAN``);
    * ``staged_properties`` (``record_id``, ``name``, ``value``): the requested
      extra properties (a record's ``properties``) that are not ``None``;
    * deals only: ``staged_deal_contacts`` (``deal_id``, ``contact_id``) and
      ``staged_deal_companies`` (``deal_id``, ``company_id``), distinct pairs.

    A batch carries no deletions (those travel in pages). :meth:`close` releases
    what the batch holds (its files); the consumer calls it once the batch is
    stored or abandoned.
    """

    object_type: ObjectType
    #: Records in the batch.
    count: int
    #: Where an incremental pull resumes once the batch is committed (as a page's).
    cursor: Cursor | None

    @abc.abstractmethod
    def stage(self, con: duckdb.DuckDBPyConnection) -> None:
        """Create the staged tables (above) on ``con``, replacing earlier ones."""

    def unstage(self, con: duckdb.DuckDBPyConnection) -> None:
        """Drop what :meth:`stage` created."""
        for name in STAGED_NAMES:
            kinds = con.execute(
                "SELECT 'VIEW' FROM duckdb_views() WHERE temporary AND view_name = $1 "
                "UNION ALL SELECT 'TABLE' FROM duckdb_tables() WHERE temporary AND table_name = $1",
                [name],
            ).fetchall()
            for (kind,) in kinds:
                con.execute(f"DROP {kind} {name}")

    def close(self) -> None:
        """Release the batch's resources (default: nothing to release)."""
        return None


#: The columns of ``staged_records`` per object type, in order (:class:`ColumnBatch`).
COLUMN_BATCH_COLUMNS: dict[ObjectType, tuple[str, ...]] = {
    "contact": (
        "id",
        "email",
        "first_name",
        "last_name",
        "salutation",
        "country",
        "company_id",
        "updated_at",
        "street",
        "postal_code",
        "city",
    ),
    "company": ("id", "name", "updated_at"),
    "deal": ("id", "amount", "close_date", "won", "updated_at"),
}
#: Every table or view a :class:`ColumnBatch` may stage.
STAGED_NAMES = (
    "staged_records",
    "staged_properties",
    "staged_deal_contacts",
    "staged_deal_companies",
)


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


#: A unit of progress: ``phase(description, total)`` opens it; the callable it yields
#: advances it by n (the engine passes its reporter's ``phase``).
Phase = Callable[[str, int | None], AbstractContextManager[Callable[[int], None]]]
#: Called with each batch's (or bulk job's) results as soon as they are known.
OnResults = Callable[[ObjectType, Sequence[WriteResult]], None]
#: Which tags crmseg has seen on a record, so a pull can skip its own writes:
#: ``unchanged(records)`` -> the ids among ``records`` that hold nothing new.
Unchanged = Callable[[Sequence[Record]], set[str]]
#: The order :meth:`Connector.write` writes object types in: a company's tags
#: before its contacts'.
WRITE_ORDER: tuple[ObjectType, ...] = ("company", "contact", "deal")


def _no_progress(
    description: str, total: int | None
) -> AbstractContextManager[Callable[[int], None]]:
    return nullcontext(lambda n: None)


def _ignore(object_type: ObjectType, results: Sequence[WriteResult]) -> None:
    return None


def chunks(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lazily cut ``items`` into lists of at most ``size``."""
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    it = iter(items)
    while batch := list(islice(it, size)):
        yield batch


class Connector(abc.ABC):
    """One CRM (or file source). Subclasses fill the abstract hooks; :meth:`write` is
    final: it is the one way tags reach a CRM, so every connector refuses foreign
    fields, cuts batches and counts results the same way.

    The engine uses nothing else to change a CRM than :meth:`write`,
    :meth:`ensure_fields` and :meth:`ensure_lists`; :meth:`write_batch` and
    :meth:`write_bulk` are hooks for :meth:`write` alone.
    """

    #: Short name used in messages and state ("hubspot", "salesforce", "files").
    name: ClassVar[str]
    #: The largest batch the CRM accepts in one write call.
    max_batch_size: int = 100
    #: Write batches in flight at once; ``write_batch`` must then be thread-safe.
    concurrency: int = 1
    #: Whether every object type may be pulled at once, each on its own thread
    #: (``sync.prefetch``); ``pull`` must then be thread-safe.
    concurrent_pulls: bool = False
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
        """Write one batch (<= ``max_batch_size``, one object type, only crmseg's
        fields) and return one result per update. Called by :meth:`write` only."""

    @abc.abstractmethod
    def ensure_lists(self, specs: Sequence[ListSpec]) -> list[ListState]:
        """Create or correct one list per spec, idempotently."""

    def pull_columns(
        self,
        object_type: ObjectType,
        since: Cursor | None,
        properties: Sequence[str] = (),
    ) -> Iterator[Page[Contact] | Page[Company] | Page[Deal] | ColumnBatch]:
        """:meth:`pull`, where the connector may hand over large reads as
        :class:`ColumnBatch` items between (or instead of) pages; the mirror stores
        them in order with the pages. The default is :meth:`pull`."""
        return iter(self.pull(object_type, since, properties))

    def write_bulk(self, updates: Sequence[TagUpdate]) -> list[WriteResult] | None:
        """Write many updates in one asynchronous bulk job, or return ``None`` to have
        :meth:`write` send them in batches (the default, and the answer below the
        connector's own threshold). One result per update when not ``None``.
        Called by :meth:`write` only, with updates of one object type."""
        return None

    def api_calls(self) -> dict[str, int]:
        """Requests per endpoint name so far (retries included), for the run summary;
        ``{}``: the source makes no requests."""
        return {}

    def recognise_own_writes(
        self, object_type: ObjectType, stamps: Mapping[str, datetime], unchanged: Unchanged
    ) -> None:
        """Before a pull of ``object_type``: the stamps the CRM answered for crmseg's own
        writes (record id -> modification time; empty for a full pull) and the engine's
        check of which pulled records hold nothing new. A connector may use them to
        skip records whose only change was crmseg's write; the default ignores them."""
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
    def write(
        self,
        updates: Iterable[TagUpdate],
        on_results: OnResults = _ignore,
        *,
        phase: Phase = _no_progress,
    ) -> list[WriteResult]:
        """Write ``updates``; returns every result, in the order they came.

        A field outside crmseg's prefix refuses the whole write (``ValueError``)
        before anything is sent. Per object type (``WRITE_ORDER``) one bulk job
        writes them when :meth:`write_bulk` takes them; the rest go in batches of
        ``max_batch_size``, ``concurrency`` at a time. ``on_results`` gets the
        results on the calling thread as soon as they are known (batches that came
        back together, together, per object type), so they can be stored before the
        next ones arrive. A batch that raises stops the
        sending: the batches in flight are still reported, then the error is raised
        (likewise an interrupt). A batch answered with other than one result per
        update raises :class:`~connectors.errors.Fatal`.
        """
        updates = list(updates)
        for u in updates:
            bad = unowned(u.values)
            if bad:
                raise ValueError(
                    f"refusing to write {bad} on {u.object_type} {u.record_id}: crmseg only "
                    f"writes fields whose name starts with {PREFIX!r}"
                )
        out: list[WriteResult] = []

        def miscounted(batch: Sequence[TagUpdate], results: Sequence[WriteResult]) -> Fatal | None:
            if len(results) == len(batch):
                return None
            return Fatal(f"answered {len(results)} results for {len(batch)} updates", crm=self.name)

        def report(batch: Sequence[TagUpdate], results: Sequence[WriteResult]) -> None:
            out.extend(results)
            on_results(batch[0].object_type, results)

        batches: list[list[TagUpdate]] = []
        for object_type in WRITE_ORDER:
            same = [u for u in updates if u.object_type == object_type]
            bulk = self.write_bulk(same) if same else None
            if bulk is None:
                batches += chunks(same, self.max_batch_size)
                continue
            with phase(f"Writing {object_type}s in one bulk job", len(same)) as advance_bulk:
                wrong = miscounted(same, bulk)
                if wrong is not None:
                    raise wrong
                report(same, bulk)
                advance_bulk(len(same))
        workers = max(1, self.concurrency)
        with (
            phase("Writing tags", len(updates)) as advance,
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="crmseg-write") as pool,
        ):
            pending: dict[Future[list[WriteResult]], list[TagUpdate]] = {}
            queue = iter(batches)
            error: BaseException | None = None

            def send(batch: Sequence[TagUpdate]) -> list[WriteResult]:
                return self.write_batch(batch)

            def submit() -> None:
                batch = next(queue, None)
                if batch is not None:
                    pending[pool.submit(send, batch)] = batch

            for _ in range(workers):
                submit()
            while pending:
                try:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                except KeyboardInterrupt as exc:  # a signal: send no more, record in-flight
                    error = error or exc
                    continue
                finished: dict[ObjectType, list[WriteResult]] = {}
                sent = 0
                for future in done:
                    batch = pending.pop(future)
                    try:
                        results = future.result()
                    except BaseException as exc:  # a fatal error: stop sending more
                        error = error or exc
                        continue
                    if error is None:
                        submit()
                    wrong = miscounted(batch, results)
                    if wrong is not None:
                        error = error or wrong
                        continue
                    finished.setdefault(batch[0].object_type, []).extend(results)
                    sent += len(batch)
                # Batches that came back while the last ones were being stored are
                # reported together: storing each one after another on this thread
                # would otherwise bound the write rate, not the CRM's budget.
                for object_type, results in finished.items():
                    out.extend(results)
                    on_results(object_type, results)
                if sent:
                    advance(sent)
            if error is not None:
                raise error
        return out
