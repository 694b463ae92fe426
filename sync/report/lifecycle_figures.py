"""The report's lifecycle section: stage sizes, the flows since the baseline and
the lists of who fell asleep, who woke up and whom to wake.

Why a module of its own: the baseline is the last sync run's date when the state
file knows one, else the previous window; these figures compare ``rep_entities``'
stage with that baseline's.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sync.report.entities import Context, counts, percent

STAGES = ("prospect", "new", "active", "repeat", "loyal", "reactivated", "at_risk", "inactive")
SLEEPING = ("inactive", "at_risk")


def lifecycle_figures(ctx: Context, since: date, from_run: bool) -> dict[str, Any]:
    sizes = dict(counts(ctx.con, "lifecycle"))
    contacts = ctx.now.contacts
    flows: dict[str, dict[str, int]] = {}
    for r in ctx.rows(
        "SELECT since_lifecycle, lifecycle, count(*) AS n FROM rep_entities GROUP BY ALL"
    ):
        flows.setdefault(r["since_lifecycle"], {})[r["lifecycle"]] = int(r["n"])
    sleeping = ", ".join(f"'{s}'" for s in SLEEPING)
    became_inactive = ctx.people(
        "e.lifecycle = 'inactive' AND e.since_lifecycle <> 'inactive'",
        "e.prev_revenue_units DESC, e.last_purchase DESC",
    )
    reactivated = ctx.people(
        f"e.since_lifecycle IN ({sleeping}) AND e.lifecycle NOT IN ({sleeping})",
        "e.revenue_units DESC",
    )
    to_wake = ctx.people(
        f"e.lifecycle IN ({sleeping})",
        "e.prev_revenue_units DESC, e.purchases_ever DESC, e.last_purchase DESC",
    )
    return {
        "since": since.isoformat(),
        "baseline": "last_run" if from_run else "previous_window",
        "stages": [
            {"stage": s, "contacts": sizes.get(s, 0), "share": percent(sizes.get(s, 0), contacts)}
            for s in STAGES
            if s in sizes
        ],
        "flows": flows,
        "became_inactive": became_inactive,
        "reactivated": reactivated,
        "to_wake": to_wake,
    }
