"""The report's ABC section: classes, their migration since the previous window,
the movers and the Pareto curve.

Why a module of its own: the ABC class is the report's first question (who brings
the revenue, who rose or fell); its figures read ``rep_entities`` through
``entities.Context`` like every other section.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import duckdb

from sync.report.entities import Context, counts, money, percent

ABC = ("A", "B", "C")
PREVIOUS_ABC = ("A", "B", "C", "none")
MOVERS = 15
PARETO_POINTS = 200


def abc_figures(ctx: Context, a: Decimal, ab: Decimal) -> dict[str, Any]:
    con = ctx.con
    by_class = {
        r["abc"]: r
        for r in ctx.rows(
            """SELECT e.abc, count(*) AS customers, sum(w.contacts) AS contacts,
                      sum(e.revenue_units) AS units, sum(greatest(e.revenue_units, 0)) AS positive
               FROM rep_entities e JOIN rep_who w USING (entity_id)
               WHERE e.abc IS NOT NULL GROUP BY e.abc"""
        )
    }
    customers = sum(int(r["customers"]) for r in by_class.values())
    positive = sum(int(r["positive"]) for r in by_class.values())
    classes = []
    for name in ABC:
        r = by_class.get(name, {"customers": 0, "contacts": 0, "units": 0, "positive": 0})
        classes.append(
            {
                "abc": name,
                "customers": int(r["customers"]),
                "contacts": int(r["contacts"]),
                "customer_share": percent(int(r["customers"]), customers),
                "revenue": money(ctx.revenue(r["units"])),
                "revenue_share": percent(int(r["positive"]), positive),
            }
        )
    trend = dict(counts(con, "abc_trend"))
    cells = {
        (r["prev_abc"], r["abc"]): r
        for r in ctx.rows(
            """SELECT e.prev_abc, e.abc, count(*) AS customers, sum(w.contacts) AS contacts,
                      sum(e.revenue_units) AS units, sum(e.prev_revenue_units) AS prev_units
               FROM rep_entities e JOIN rep_who w USING (entity_id)
               WHERE e.abc IS NOT NULL GROUP BY ALL"""
        )
    }
    migration: dict[str, dict[str, Any]] = {}
    members: dict[str, Any] = {}
    for before in PREVIOUS_ABC:
        migration[before] = {}
        for after in ABC:
            cell = cells.get((before, after))
            migration[before][after] = {
                "contacts": int(cell["contacts"]) if cell else 0,
                "customers": int(cell["customers"]) if cell else 0,
                "revenue": money(ctx.revenue(cell["units"] if cell else 0)),
                "revenue_before": money(ctx.revenue_before(cell["prev_units"] if cell else 0)),
            }
            if cell:
                members[f"{before}>{after}"] = ctx.people(
                    "e.prev_abc = ? AND e.abc = ?",
                    "e.revenue_units DESC, e.prev_revenue_units DESC",
                    [before, after],
                )
    movers_up = _movers(ctx, "up")
    movers_down = _movers(ctx, "down")
    return {
        "thresholds": {"a": float(a * 100), "ab": float(ab * 100)},
        "classes": classes,
        "trend": {t: trend.get(t, 0) for t in ("new", "up", "same", "down")},
        "pareto": pareto(con),
        "migration": migration,
        "migration_members": members,
        "movers_up": movers_up,
        "movers_down": movers_down,
    }


def _movers(ctx: Context, direction: str) -> list[dict[str, Any]]:
    """Customers whose class rose (or fell) against the previous window, biggest
    revenue change first."""
    compare = "<" if direction == "up" else ">"
    rows = ctx.rows(
        f"""SELECT e.entity_id, w.email, w.name, e.prev_abc, e.abc, e.since_lifecycle,
                   e.lifecycle, e.revenue_units, e.prev_revenue_units, e.last_purchase
            FROM rep_entities e LEFT JOIN rep_who w USING (entity_id)
            WHERE e.abc IS NOT NULL AND e.prev_abc <> 'none' AND e.abc {compare} e.prev_abc"""
    )
    people = [ctx.person(r) for r in rows]
    # Up: the largest gain first; down: the largest loss first; ties by id.
    sign = -1 if direction == "up" else 1
    people.sort(key=lambda p: (sign * Decimal(p["change"]), str(p["id"])))
    return people[:MOVERS]


def pareto(con: duckdb.DuckDBPyConnection) -> list[list[float]]:
    """Cumulative share of positive revenue over the share of customers, best first,
    sampled to at most PARETO_POINTS customers plus the origin and the last customer
    (every ceil(n / PARETO_POINTS)-th; the curve is concave, so a sample keeps its
    shape)."""
    rows = con.execute(
        """WITH ranked AS (
            SELECT row_number() OVER (ORDER BY revenue_units DESC, entity_id) AS k,
                   sum(greatest(revenue_units, 0)) OVER (
                       ORDER BY revenue_units DESC, entity_id ROWS UNBOUNDED PRECEDING) AS cum,
                   count(*) OVER () AS n,
                   sum(greatest(revenue_units, 0)) OVER () AS total
            FROM rep_entities WHERE abc IS NOT NULL)
        SELECT k, n, cum, total FROM ranked
        WHERE k = n OR k % ((n + $points - 1) // $points) = 0 ORDER BY k""",
        {"points": PARETO_POINTS},
    ).fetchall()
    points = [[0.0, 0.0]]
    for k, n, cum, total in rows:
        points.append(
            [round(100 * int(k) / int(n), 2), round(float(Decimal(int(cum)) * 100 / int(total)), 2)]
            if total
            else [round(100 * int(k) / int(n), 2), 0.0]
        )
    return points
