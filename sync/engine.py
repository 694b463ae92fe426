"""One sync run, in the order of ARCHITECTURE.md: pull, compute, plan, provision,
write, lists, record.

The engine is the only code that decides what to write. It talks to the CRM
only through a :class:`connectors.base.Connector` and keeps everything else in
the state file, so the same engine serves every CRM.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol

from connectors.base import (
    Connector,
    Cursor,
    ListSpec,
    ObjectType,
    Page,
    TagUpdate,
    WriteResult,
    chunks,
)
from connectors.errors import CrmsegError
from segmentation import segment
from segmentation.engine import SegmentationReport
from sync.config import Config
from sync.fields import families, field_specs, list_name, observed_values
from sync.plan import Change, Plan, build_plan
from sync.prefetch import Prefetcher
from sync.state import PullState, State

#: Rounds of pull-and-replan after writes that met merged records (``Engine.replan_merged``).
MAX_REPLANS = 2


class MassChange(CrmsegError):
    """The run would change too much at once; nothing was written."""


class Reporter(Protocol):
    def phase(
        self, description: str, total: int | None = None
    ) -> AbstractContextManager[Callable[[int], None]]:
        """A unit of work; the callable advances it by n."""


class Silent:
    @contextmanager
    def phase(self, description: str, total: int | None = None) -> Iterator[Callable[[int], None]]:
        yield lambda n: None


@dataclass(frozen=True)
class RunOptions:
    command: str
    as_of: date
    full: bool = False
    dry_run: bool = False
    allow_mass_change: bool = False
    #: Restrict the plan (and the writes) to these contacts.
    record_ids: tuple[str, ...] | None = None
    #: Skip the pull and plan from the mirror as it is (``crmseg plan --offline``).
    pull: bool = True


@dataclass
class RunResult:
    run_id: int
    status: str
    plan: Plan
    summary: dict[str, Any] = field(default_factory=dict)
    failures: list[tuple[Change, str]] = field(default_factory=list)


class Engine:
    def __init__(
        self, connector: Connector, state: State, config: Config, reporter: Reporter | None = None
    ) -> None:
        self.connector = connector
        self.state = state
        self.config = config
        self.reporter = reporter or Silent()
        self.families = families(config.segmentation)
        #: The segmentation report of the last compute (for summaries).
        self.last_report: SegmentationReport | None = None
        #: Object types whose links may point at merged-away records: pulled in full.
        self.relink: set[ObjectType] = set()
        #: (object type, old id) -> new id, for writes that met a record merged
        #: away after the pull; the run pulls again and re-plans for them.
        self.merged: dict[tuple[ObjectType, str], str] = {}
        self._prefetch: Prefetcher | None = None

    # -- what to pull ----------------------------------------------------------
    def object_types(self) -> list[ObjectType]:
        if self.config.segmentation.level == "company" or any(
            p.source == "company" for p in self.config.segmentation.properties
        ):
            return ["company", "contact", "deal"]
        return ["contact", "deal"]

    def properties(self, object_type: ObjectType) -> list[str]:
        rules = self.config.segmentation.interests
        families = self.config.segmentation.properties
        if object_type == "company":
            # property families read the company's own property (industry, ...)
            wanted = [p.property for p in families if p.source == "company"]
            return sorted(
                {*wanted, *(s.name for s in field_specs(self.config.segmentation, "company"))}
            )
        if object_type == "contact":
            extra = [r.property for r in rules if r.source == "contact"]
            extra += [p.property for p in families if p.source == "contact"]
            return sorted(
                {*extra, *(s.name for s in field_specs(self.config.segmentation, "contact"))}
            )
        if object_type == "company":
            return sorted(s.name for s in field_specs(self.config.segmentation, "company"))
        return sorted({r.property for r in rules if r.source == "deal"})

    # -- the run ---------------------------------------------------------------
    def run(self, options: RunOptions) -> RunResult:
        started = time.perf_counter()
        run_id = self.state.start_run(options.command, options.as_of, dry_run=options.dry_run)
        summary: dict[str, Any] = {
            "run_id": run_id,
            "command": options.command,
            "as_of": options.as_of.isoformat(),
            "level": self.config.segmentation.level,
            "dry_run": options.dry_run,
        }
        result = RunResult(run_id, "running", Plan(), summary)
        try:
            if options.pull:
                summary["pulled"] = self.pull(options)
            report = self.compute(options.as_of)
            summary.update(
                contacts=report.contacts,
                customers=report.customers,
                orphan_deals=report.orphan_deals,
                warnings=[
                    {
                        "family": w.family,
                        "value": w.value,
                        "contacts": w.contacts,
                        "message": w.message(report.min_segment_size),
                    }
                    for w in report.warnings
                ],
            )
            result.plan = plan = build_plan(
                self.state.con,
                self.families,
                self.config.segmentation.level,
                record_ids=options.record_ids,
            )
            summary["plan"] = plan.summary()
            if options.dry_run:
                result.status = "planned"
            else:
                self.guard(plan, options)
                summary["provisioned"] = self.provision()
                written, result.failures = self.write(run_id, plan)
                written += self.replan_merged(run_id, options, result)
                summary["written"] = written
                summary["failed"] = len(result.failures)
                summary["failures"] = [
                    {
                        "object_type": c.object_type,
                        "record": c.record_id,
                        "field": c.field,
                        "value": c.new,
                        "error": e,
                    }
                    for c, e in result.failures[:20]
                ]
                summary["lists"] = self.lists()
                self.state.record_sizes(run_id, options.as_of, [f.column for f in self.families])
                result.status = "partial" if result.failures else "ok"
        except BaseException as exc:
            result.status = (
                "stopped"
                if isinstance(exc, MassChange)
                else "interrupted"
                if isinstance(exc, KeyboardInterrupt)
                else "failed"
            )
            self._finish(result, started, error=str(exc))
            raise
        self._finish(result, started)
        return result

    def _finish(self, result: RunResult, started: float, error: str | None = None) -> None:
        calls = getattr(self.connector, "api_calls", None)
        result.summary["api_calls"] = calls() if callable(calls) else {}
        result.summary["status"] = result.status
        result.summary["seconds"] = round(time.perf_counter() - started, 3)
        if error:
            result.summary["error"] = error
        self.state.finish_run(result.run_id, result.status, result.summary, error)

    # -- 2. pull -----------------------------------------------------------------
    def pull(self, options: RunOptions) -> dict[str, Any]:
        pulled: dict[str, Any] = {}
        self.relink.clear()
        # Connectors that allow it read every object type at once (sync.prefetch).
        if getattr(self.connector, "concurrent_pulls", False):
            self._prefetch = Prefetcher(self.connector)
            for object_type in self.object_types():
                _full, since, properties = self._pull_args(object_type, options)
                self._prefetch.start(object_type, since, properties)
        try:
            for object_type in self.object_types():
                pulled[object_type] = self.pull_one(object_type, options)
        finally:
            if self._prefetch is not None:
                self._prefetch.close()
                self._prefetch = None
        return pulled

    def _pull_args(
        self, object_type: ObjectType, options: RunOptions
    ) -> tuple[bool, Cursor | None, list[str]]:
        """Whether the pull is full, the cursor it starts from and its properties."""
        properties = self.properties(object_type)
        previous = self.state.pull_state(object_type)
        full = self._needs_full(object_type, previous, properties, options)
        since: Cursor | None = None
        if not full and previous is not None and previous.cursor is not None:
            overlap = timedelta(minutes=self.config.crm.overlap_minutes)
            since = Cursor(previous.cursor.modified_at - overlap, None)
        own = getattr(self.connector, "recognise_own_writes", None)
        if callable(own):
            # Set before the pull starts: with concurrent pulls it runs on its own thread.
            own(
                object_type,
                self.state.own_writes(object_type, since.modified_at) if since else {},
                lambda records: self.state.unchanged(object_type, records),
            )
        return full, since, properties

    def _pages(
        self, object_type: ObjectType, since: Cursor | None, properties: list[str]
    ) -> Iterator[Page[Any]]:
        def direct() -> Iterator[Page[Any]]:
            return iter(self.connector.pull(object_type, since, properties))

        if self._prefetch is None:
            return direct()
        return self._prefetch.pages(object_type, since, properties, direct)

    def _needs_full(
        self,
        object_type: ObjectType,
        previous: PullState | None,
        properties: Sequence[str],
        options: RunOptions,
    ) -> bool:
        if options.full or previous is None or previous.cursor is None:
            return True
        if object_type in self.relink:
            return True
        if set(properties) - set(previous.properties):
            return True  # a new interest rule needs a property the mirror lacks
        every = timedelta(days=self.config.sync.full_pull_every_days)
        return previous.last_full_at is None or previous.last_full_at + every <= now_utc()

    def pull_one(self, object_type: ObjectType, options: RunOptions) -> dict[str, Any]:
        full, since, properties = self._pull_args(object_type, options)
        before = self.state.mirror_count(object_type)
        started_at = now_utc()
        records = deleted = 0
        cursor: Cursor | None = None
        self.state.begin_pull(full=full)
        try:
            with self.reporter.phase(f"Pulling {object_type}s", None) as advance:
                for page in self._pages(object_type, since, properties):
                    if self.state.apply(object_type, page, full=full):
                        self._links_moved(object_type)
                    records += len(page.records)
                    deleted += len(page.deleted_ids)
                    if page.cursor is not None and (cursor is None or _later(page.cursor, cursor)):
                        cursor = page.cursor
                    advance(len(page.records))
            swept = 0
            if full:
                seen = self.state.seen_count()
                floor = self.config.sync.min_pull_share * before
                if object_type == "contact" and seen < floor and not options.allow_mass_change:
                    raise MassChange(
                        f"the full pull found {seen} contacts but the mirror holds {before}: "
                        f"fewer than {self.config.sync.min_pull_share:.0%} of them. If contacts "
                        "really were deleted, run again with --allow-mass-change; nothing was "
                        "written"
                    )
                swept, relink = self.state.sweep(object_type)
                if relink:
                    self._links_moved(object_type)
                cursor = _capped(cursor, started_at)
            self.state.commit_pull(
                object_type, properties, cursor, full=full, started_at=started_at
            )
        except BaseException:
            self.state.rollback()
            raise
        return {"full": full, "records": records, "deleted": deleted + swept}

    def _links_moved(self, object_type: ObjectType) -> None:
        self.relink.add("deal")
        if object_type == "company":
            self.relink.add("contact")

    # -- 3. compute --------------------------------------------------------------
    def compute(self, as_of: date) -> SegmentationReport:
        with self.reporter.phase("Computing segments", None):
            self.last_report = segment(self.state.con, self.config.segmentation, as_of)
        return self.last_report

    # -- 4. guard ----------------------------------------------------------------
    def guard(self, plan: Plan, options: RunOptions) -> None:
        if options.allow_mass_change or plan.contacts == 0 or options.record_ids is not None:
            return
        overwritten = plan.overwritten_contacts()
        share = overwritten / plan.contacts
        if share > self.config.sync.mass_change_share:
            raise MassChange(
                f"this run would change the existing tags of {overwritten} of {plan.contacts} "
                f"contacts ({share:.0%}, more than the {self.config.sync.mass_change_share:.0%} "
                "allowed by [sync] mass_change_share). Check the plan with `crmseg plan "
                "--details`; if it is right, run again with --allow-mass-change. Nothing was "
                "written"
            )

    # -- 5. provision ------------------------------------------------------------
    def provision(self) -> list[str]:
        changes: list[str] = []
        with self.reporter.phase("Provisioning fields", None):
            for object_type in ("contact", "company"):
                if object_type == "company" and self.config.segmentation.level != "company":
                    continue
                changes += self.connector.ensure_fields(
                    object_type,
                    field_specs(
                        self.config.segmentation,
                        object_type,
                        observed_values(self.state.con, self.config.segmentation),
                    ),
                )
        return changes

    # -- 6. write ----------------------------------------------------------------
    def write(self, run_id: int, plan: Plan) -> tuple[int, list[tuple[Change, str]]]:
        """Write the plan in the CRM's largest batches, ``concurrency`` at a time; each
        batch's outcome is stored as soon as it is known."""
        updates = list(plan.updates())
        by_record: dict[tuple[str, str], list[Change]] = {}
        for c in plan.changes:
            by_record.setdefault((c.object_type, c.record_id), []).append(c)
        batches: list[list[TagUpdate]] = []
        written = 0
        failures: list[tuple[Change, str]] = []
        for object_type in ("company", "contact"):
            same = [u for u in updates if u.object_type == object_type]
            bulk = self.connector.write_bulk(same) if same else None
            if bulk is None:
                batches += chunks(same, self.connector.max_batch_size)
                continue
            with self.reporter.phase(
                f"Writing {object_type}s in one bulk job", len(same)
            ) as advance_bulk:
                ok, failed = self._record_results(run_id, object_type, bulk, by_record)
                written += ok
                failures += failed
                advance_bulk(len(same))
        workers = max(1, int(getattr(self.connector, "concurrency", 1)))
        with (
            self.reporter.phase("Writing tags", len(updates)) as advance,
            ThreadPoolExecutor(max_workers=workers, thread_name_prefix="crmseg-write") as pool,
        ):
            pending: dict[Future[list[WriteResult]], list[TagUpdate]] = {}
            queue = iter(batches)
            error: BaseException | None = None

            def submit() -> None:
                batch = next(queue, None)
                if batch is not None:
                    pending[pool.submit(self.connector.write_batch, batch)] = batch

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
                    finished.setdefault(batch[0].object_type, []).extend(results)
                    sent += len(batch)
                # Batches that came back while the last ones were being stored are stored
                # together: a few statements on the state file per batch, one after
                # another on this thread, would otherwise bound the write rate.
                for object_type, results in finished.items():
                    ok, failed = self._record_results(run_id, object_type, results, by_record)
                    written += ok
                    failures += failed
                if sent:
                    advance(sent)
            if error is not None:
                raise error
        return written, failures

    def replan_merged(self, run_id: int, options: RunOptions, result: RunResult) -> int:
        """Writes that met records merged away after the pull are not rejections: pull
        again (the merged record and its relinked deals), compute and write the new
        plan. Returns the records written; at most ``MAX_REPLANS`` rounds."""
        written = 0
        for _ in range(MAX_REPLANS):
            if not self.merged:
                break
            merged, self.merged = self.merged, {}
            result.summary["merged"] = result.summary.get("merged", 0) + len(merged)
            self.pull(replace(options, full=False))
            self.compute(options.as_of)
            result.plan = plan = build_plan(
                self.state.con,
                self.families,
                self.config.segmentation.level,
                record_ids=options.record_ids,
            )
            ok, failures = self.write(run_id, plan)
            written += ok
            result.failures += failures
        for (object_type, old), new in self.merged.items():
            message = f"merged into {object_type} {new} again during the run; run again"
            result.failures.append((Change(object_type, old, "", None, None), message))
        self.merged.clear()
        return written

    def _record_results(
        self,
        run_id: int,
        object_type: ObjectType,
        results: Sequence[WriteResult],
        by_record: dict[tuple[str, str], list[Change]],
    ) -> tuple[int, list[tuple[Change, str]]]:
        """Store one batch's (or bulk job's) outcome; returns (records written, failures)."""
        ok = [r.record_id for r in results if r.ok]
        self.state.record_stamps(
            object_type,
            [(r.record_id, r.modified_at) for r in results if r.ok and r.modified_at is not None],
        )
        self.state.record_written(
            run_id,
            object_type,
            (
                (c.record_id, c.field, c.old, c.new)
                for rid in ok
                for c in by_record.get((object_type, rid), [])
            ),
            ok=True,
        )
        failures: list[tuple[Change, str]] = []
        for r in results:
            if r.ok:
                continue
            if r.merged_into is not None:
                self.merged[(object_type, r.record_id)] = r.merged_into
                continue
            message = str(r.error) if r.error else "rejected"
            changes = by_record.get((object_type, r.record_id), [])
            self.state.record_written(
                run_id,
                object_type,
                ((c.record_id, c.field, c.old, c.new) for c in changes),
                ok=False,
                error=message,
            )
            failures += [(c, message) for c in changes]
        return len(ok), failures

    # -- 7. lists ----------------------------------------------------------------
    def lists(self) -> list[dict[str, Any]]:
        entries = self.config.lists.entries()
        if not entries:
            return []
        owned = self.owned_lists()
        specs = [
            ListSpec(
                list_name(family, value),
                "contact",
                f"crmseg_{family}",
                value,
                self._members(f"crmseg_{family}", value)
                if self.connector.lists_need_members
                else None,
                owned.get(list_name(family, value)),
            )
            for family, value in entries
        ]
        with self.reporter.phase("Keeping lists", None):
            states = self.connector.ensure_lists(specs)
        owned.update({s.spec.name: s.list_id for s in states})
        self.state.set_meta(self._owned_key(), json.dumps(owned, sort_keys=True))
        return [
            {
                "name": s.spec.name,
                "id": s.list_id,
                "created": s.created,
                "updated": s.updated,
                "added": s.added,
                "removed": s.removed,
            }
            for s in states
        ]

    def _owned_key(self) -> str:
        return f"owned_lists.{self.connector.name}"

    def owned_lists(self) -> dict[str, str]:
        """Name -> id of the segment lists crmseg created (or adopted) in this CRM: the
        connector refuses to touch a list of that name under another id."""
        raw = self.state.meta(self._owned_key())
        return dict(json.loads(raw)) if raw else {}

    def _members(self, field: str, value: str) -> frozenset[str]:
        """Contacts whose desired tag holds ``value`` (multi-values count per value)."""
        rows = self.state.con.execute(
            "SELECT record_id FROM plan_desired WHERE object_type = 'contact' AND field = ? "
            "AND list_contains(string_split(value, ';'), ?)",
            [field, value],
        ).fetchall()
        return frozenset(str(r[0]) for r in rows)


def now_utc() -> datetime:
    return datetime.now(UTC)


def _capped(cursor: Cursor | None, started_at: datetime) -> Cursor | None:
    """A full pull's cursor, at most the pull's start.

    A full pull reads records in id order, so a record already read and edited
    while the pull runs is not read again; had a later record (edited even
    later) moved the cursor past that edit, the next incremental pull would
    miss it until the next full pull. Starting the next pull from the full
    pull's start (less the usual overlap) reads every edit made meanwhile.
    """
    if cursor is None or cursor.modified_at <= started_at:
        return cursor
    return Cursor(started_at, None)


def _later(a: Cursor, b: Cursor) -> bool:
    return (a.modified_at, a.last_id or "") > (b.modified_at, b.last_id or "")
