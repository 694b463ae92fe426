"""Every number of the report, computed from the segmentation's own tables.

``figures`` runs the segmentation three times at most (the previous window,
the lifecycle baseline, today) through :mod:`segmentation.snapshots` and reads
the results back with plain SQL. The result is a JSON-ready dict: ``crmseg
report --json`` prints it and the HTML template renders it, so the page and
the machines see the same figures.

This module assembles the dict: the window, the overview and the run history
(what the state file adds); each section's figures come from a module of its
own (``abc_figures``, ``rfm_figures``, ``lifecycle_figures``, ``family_figures``)
over the comparison table of ``entities``.

Money is summed in the integer units of the segmentation and converted to
decimals once, per date (each date has its own units, see
``SegmentationReport.units_per_unit``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import duckdb

from segmentation.snapshots import keep
from sync.config import Config
from sync.report.abc_figures import abc_figures
from sync.report.entities import ENTITIES, WHO, Context, counts, money
from sync.report.family_figures import family_sizes, hygiene
from sync.report.lifecycle_figures import lifecycle_figures
from sync.report.rfm_figures import rfm_figures


@dataclass
class StateFacts:
    """What only a state file knows: pull times, the runs, segment sizes per run."""

    path: str
    pulls: list[dict[str, Any]] = field(default_factory=list)
    last_sync: datetime | None = None
    #: (run id, as_of, family, value, contacts) rows of ``segment_sizes``.
    sizes: list[tuple[int, date, str, str, int]] = field(default_factory=list)
    #: as_of of the latest successful sync run before the report's as_of, if any.
    previous_run_as_of: date | None = None


def figures(
    con: duckdb.DuckDBPyConnection,
    config: Config,
    as_of: date,
    *,
    source: str,
    state: StateFacts | None = None,
) -> dict[str, Any]:
    """All the report's figures for ``as_of`` from the input tables in ``con``."""
    seg = config.segmentation
    prev_day = as_of - timedelta(days=seg.window_days)
    since_day = prev_day
    if state is not None and state.previous_run_as_of is not None:
        since_day = state.previous_run_as_of
    prev = keep(con, seg, prev_day, "rep_prev")
    since_table = "rep_prev"
    if since_day != prev_day:
        keep(con, seg, since_day, "rep_since")
        since_table = "rep_since"
    now = keep(con, seg, as_of, "rep_now")  # last: seg_tags now holds today's tags
    con.execute(ENTITIES.format(since=since_table))
    con.execute(WHO[seg.level])
    ctx = Context(con, now, prev, config.report.detail_limit, config.report.include_emails)
    families = family_sizes(con, now.contacts)
    out: dict[str, Any] = {
        "generated_by": "crmseg report",
        "source": source,
        "as_of": as_of.isoformat(),
        "level": seg.level,
        "window": {
            "days": seg.window_days,
            "start": (as_of - timedelta(days=seg.window_days - 1)).isoformat(),
            "end": as_of.isoformat(),
            "previous_start": (prev_day - timedelta(days=seg.window_days - 1)).isoformat(),
            "previous_end": prev_day.isoformat(),
        },
        "currency": getattr(seg, "currency", None),
        "detail_limit": ctx.limit,
        "include_emails": ctx.emails,
    }
    out["overview"] = _overview(ctx, state, families, getattr(seg, "min_segment_size", 20))
    out["abc"] = abc_figures(ctx, seg.abc_a, seg.abc_a + seg.abc_b)
    out["abc_migration"] = out["abc"].pop("migration")
    out["rfm"] = rfm_figures(ctx)
    out["lifecycle"] = lifecycle_figures(ctx, since_day, since_table == "rep_since")
    out["families"] = families
    out["hygiene"] = hygiene(ctx)
    out["history"] = _history(state) if state is not None else None
    return out


# -- overview ----------------------------------------------------------------------


def _overview(
    ctx: Context, state: StateFacts | None, families: list[dict[str, Any]], min_size: int
) -> dict[str, Any]:
    total = ctx.con.execute("SELECT COALESCE(sum(revenue_units), 0) FROM rep_entities").fetchone()
    revenue = ctx.revenue(total[0] if total else 0)
    warnings: list[dict[str, Any]] = []
    sizes = [
        (family, value, n)
        for family in ("abc", "abc_trend", "rfm_segment", "lifecycle")
        for value, n in counts(ctx.con, family)
    ] + [(f["family"], v["value"], v["contacts"]) for f in families for v in f["values"]]
    for family, value, n in sizes:
        if 0 < n < min_size:
            warnings.append(
                {
                    "kind": "small_segment",
                    "family": family,
                    "value": value,
                    "contacts": n,
                    "message": f"{family} = {value} holds only {n} contacts "
                    f"(fewer than min_segment_size {min_size})",
                }
            )
    for f in families:
        if f["family"] != "data_quality":
            continue
        for v in f["values"]:
            warnings.append(
                {
                    "kind": "data_quality",
                    "family": "data_quality",
                    "value": v["value"],
                    "contacts": v["contacts"],
                    "message": f"{v['share']} % of contacts have {v['value']} ({v['contacts']})",
                }
            )
    return {
        "contacts": ctx.now.contacts,
        "entities": ctx.now.entities,
        "customers": ctx.now.customers,
        "orphan_deals": ctx.now.orphan_deals,
        "revenue": money(revenue),
        "freshness": state.pulls if state is not None else [],
        "last_sync": state.last_sync.isoformat(sep=" ", timespec="seconds")
        if state is not None and state.last_sync
        else None,
        "state_file": state.path if state is not None else None,
        "min_segment_size": min_size,
        "warnings": warnings,
    }


def _history(state: StateFacts) -> dict[str, Any]:
    runs: dict[int, str] = {}
    families: dict[str, dict[str, dict[int, int]]] = {}
    for run_id, day, family, value, n in state.sizes:
        runs[run_id] = day.isoformat()
        if family == "rfm_score":  # 125 values: the RFM grid shows them better
            continue
        families.setdefault(family, {}).setdefault(value, {})[run_id] = n
    order = sorted(runs)
    return {
        "runs": [{"run": r, "as_of": runs[r]} for r in order],
        "families": {
            family: {value: [by_run.get(r, 0) for r in order] for value, by_run in values.items()}
            for family, values in families.items()
        },
    }
