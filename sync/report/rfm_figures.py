"""The report's RFM section: the recency x frequency grid and its named segments.

Why a module of its own: the grid's cells and the segment totals read
``rep_entities`` through ``entities.Context``; the names come from
``segmentation.rfm.SEGMENT_GRID``, so the report names a cell as the segmentation
tags it.
"""

from __future__ import annotations

from typing import Any

from segmentation.rfm import SEGMENT_GRID
from sync.report.entities import Context, money, percent


def rfm_figures(ctx: Context) -> dict[str, Any]:
    found = {
        (int(r["rfm_r"]), int(r["rfm_f"])): r
        for r in ctx.rows(
            """SELECT e.rfm_r, e.rfm_f, count(*) AS customers, sum(w.contacts) AS contacts,
                      sum(e.revenue_units) AS units
               FROM rep_entities e JOIN rep_who w USING (entity_id)
               WHERE e.rfm_r IS NOT NULL GROUP BY ALL"""
        )
    }
    grid = []
    segments: dict[str, dict[str, Any]] = {}
    for r_score in (5, 4, 3, 2, 1):
        for f_score in (1, 2, 3, 4, 5):
            cell = found.get((r_score, f_score))
            name = SEGMENT_GRID[r_score][f_score - 1]
            customers = int(cell["customers"]) if cell else 0
            units = int(cell["units"]) if cell else 0
            grid.append(
                {
                    "r": r_score,
                    "f": f_score,
                    "segment": name,
                    "customers": customers,
                    "contacts": int(cell["contacts"]) if cell else 0,
                    "revenue": money(ctx.revenue(units)),
                }
            )
            s = segments.setdefault(name, {"segment": name, "customers": 0, "units": 0})
            s["customers"] += customers
            s["units"] += units
    total = sum(s["customers"] for s in segments.values())
    return {
        "grid": grid,
        "segments": [
            {
                "segment": s["segment"],
                "customers": s["customers"],
                "share": percent(s["customers"], total),
                "revenue": money(ctx.revenue(s["units"])),
            }
            for s in sorted(segments.values(), key=lambda s: (-s["customers"], s["segment"]))
        ],
    }
