"""One sync run, in this order: pull, compute, plan, provision,
write, lists, record.

The engine is the only code that decides what to write. It talks to the CRM
only through a :class:`connectors.base.Connector` and keeps everything else in
the state file, so the same engine serves every CRM. Here is the order of the
steps and what stops a run; the steps live in :mod:`sync.pulling` (2),
:mod:`sync.writeback` (6) and :mod:`sync.segment_lists` (7).
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from connectors.base import Connector
from connectors.errors import MassChange
from segmentation import segment
from segmentation.engine import SegmentationReport
from sync.config import Config
from sync.fields import families, field_specs, observed_values
from sync.plan import Change, Plan, build_plan
from sync.pulling import MirrorPull
from sync.run_types import Reporter, RunOptions, RunResult, Silent
from sync.segment_lists import ListKeeper
from sync.state import State
from sync.writeback import Writeback

__all__ = [
    "MAX_REPLANS",
    "Engine",
    "MassChange",
    "Reporter",
    "RunOptions",
    "RunResult",
    "Silent",
    "now_utc",
]

#: Rounds of pull-and-replan after writes that met merged records (``Engine.replan_merged``).
MAX_REPLANS = 2


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
        # The clock is read through this module, so a test can stop it here.
        self.puller = MirrorPull(connector, state, config, self.reporter.phase, lambda: now_utc())
        self.writeback = Writeback(connector, state, self.reporter.phase)
        self.list_keeper = ListKeeper(connector, state, config.lists, self.reporter.phase)

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
        result.summary["api_calls"] = self.connector.api_calls()
        result.summary["status"] = result.status
        result.summary["seconds"] = round(time.perf_counter() - started, 3)
        if error:
            result.summary["error"] = error
        self.state.finish_run(result.run_id, result.status, result.summary, error)

    # -- 2. pull -----------------------------------------------------------------
    def pull(self, options: RunOptions) -> dict[str, Any]:
        """Bring the mirror up to date (``sync.pulling``); what was pulled, per type."""
        return self.puller.pull(options)

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
        """Write the plan (``sync.writeback``); returns (records written, failures)."""
        return self.writeback.write(run_id, plan)

    def replan_merged(self, run_id: int, options: RunOptions, result: RunResult) -> int:
        """Writes that met records merged away after the pull are not rejections: pull
        again (the merged record and its relinked deals), compute and write the new
        plan. Returns the records written; at most ``MAX_REPLANS`` rounds."""
        written = 0
        for _ in range(MAX_REPLANS):
            if not self.writeback.merged:
                break
            merged, self.writeback.merged = self.writeback.merged, {}
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
        for (object_type, old), new in self.writeback.merged.items():
            message = f"merged into {object_type} {new} again during the run; run again"
            result.failures.append((Change(object_type, old, "", None, None), message))
        self.writeback.merged.clear()
        return written

    # -- 7. lists ----------------------------------------------------------------
    def lists(self) -> list[dict[str, Any]]:
        """Keep the configured segment lists (``sync.segment_lists``)."""
        return self.list_keeper.keep()

    def owned_lists(self) -> dict[str, str]:
        """Name -> id of the segment lists crmseg created (or adopted) in this CRM."""
        return self.list_keeper.owned_lists()


def now_utc() -> datetime:
    return datetime.now(UTC)
