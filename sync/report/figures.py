"""Every number of the report, computed from the segmentation's own tables.

``figures`` runs the segmentation three times at most (the previous window,
the lifecycle baseline, today) through :mod:`segmentation.snapshots` and reads
the results back with plain SQL. The result is a JSON-ready dict: ``crmseg
report --json`` prints it and the HTML template renders it, so the page and
the machines see the same figures.

Money is summed in the integer units of the segmentation and converted to
decimals once, per date (each date has its own units, see
``SegmentationReport.units_per_unit``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import duckdb

from segmentation.engine import TAG_COLUMNS, SegmentationReport
from segmentation.rfm import SEGMENT_GRID
from segmentation.snapshots import keep
from sync.config import Config

ABC = ("A", "B", "C")
PREVIOUS_ABC = ("A", "B", "C", "none")
RANK = {"A": 0, "B": 1, "C": 2, "none": 3}
#: The tag columns the report gives sections of their own; every other column of
#: ``seg_tags`` is a family shown generically (interests, data quality, property
#: and rule families, whatever the segmentation adds).
CORE_COLUMNS = {"contact_id", "abc", "abc_trend", "rfm_r", "rfm_f", "rfm_m", "rfm_score"}
OWN_SECTIONS = {"rfm_segment", "lifecycle"}
SLEEPING = ("inactive", "at_risk")
MOVERS = 15
CENT = Decimal("0.01")


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


def money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_EVEN))


def percent(part: int | Decimal, whole: int | Decimal) -> float:
    return round(float(Decimal(part) * 100 / Decimal(whole)), 1) if whole else 0.0


# -- per-entity comparison --------------------------------------------------------

#: One row per entity of the level with today's tags and figures next to the
#: previous window's class and revenue and the lifecycle baseline's stage.
ENTITIES = """
CREATE OR REPLACE TEMP TABLE rep_entities AS
SELECT n.entity_id, n.abc, n.abc_trend, n.rfm_r, n.rfm_f, n.rfm_segment, n.lifecycle,
       n.revenue_units, n.frequency, n.purchases_ever, n.last_purchase,
       COALESCE(p.abc, 'none') AS prev_abc, COALESCE(p.revenue_units, 0) AS prev_revenue_units,
       COALESCE(s.lifecycle, 'prospect') AS since_lifecycle
FROM rep_now n
LEFT JOIN rep_prev p USING (entity_id)
LEFT JOIN {since} s USING (entity_id)
"""

#: Who an entity is, for the lists: contacts by name and e-mail, companies by name.
WHO = {
    "contact": """
CREATE OR REPLACE TEMP TABLE rep_who AS
SELECT id AS entity_id, email,
       nullif(trim(concat_ws(' ', trim(COALESCE(first_name, '')), trim(COALESCE(last_name, '')))), '')
           AS name,
       1 AS contacts
FROM contacts
""",
    "company": """
CREATE OR REPLACE TEMP TABLE rep_who AS
SELECT co.id AS entity_id, NULL AS email, co.name,
       (SELECT count(*) FROM contacts c WHERE c.company_id = co.id) AS contacts
FROM companies co
""",
}


@dataclass
class Context:
    con: duckdb.DuckDBPyConnection
    now: SegmentationReport
    prev: SegmentationReport
    limit: int
    emails: bool

    def revenue(self, units: int | None) -> Decimal:
        return self.now.revenue(int(units or 0))

    def revenue_before(self, units: int | None) -> Decimal:
        return self.prev.revenue(int(units or 0))

    def rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        cur = self.con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def people(self, where: str, order: str, params: list[Any] | None = None) -> dict[str, Any]:
        """A capped detail list of entities: who they are and their revenue now and before."""
        total = self.con.execute(f"SELECT count(*) FROM rep_entities e WHERE {where}", params or [])
        count = int(total.fetchone()[0])  # type: ignore[index]
        rows = self.rows(
            f"""SELECT e.entity_id, w.email, w.name, e.prev_abc, e.abc, e.since_lifecycle,
                       e.lifecycle, e.revenue_units, e.prev_revenue_units, e.last_purchase
                FROM rep_entities e LEFT JOIN rep_who w USING (entity_id)
                WHERE {where} ORDER BY {order}, e.entity_id LIMIT {int(self.limit)}""",
            params,
        )
        return {"total": count, "shown": len(rows), "rows": [self.person(r) for r in rows]}

    def person(self, r: dict[str, Any]) -> dict[str, Any]:
        now, before = self.revenue(r["revenue_units"]), self.revenue_before(r["prev_revenue_units"])
        out: dict[str, Any] = {"id": r["entity_id"]}
        if self.emails:
            out["email"] = r["email"]
        out.update(
            name=r["name"],
            abc_before=r["prev_abc"],
            abc=r["abc"],
            lifecycle_before=r["since_lifecycle"],
            lifecycle=r["lifecycle"],
            revenue=money(now),
            revenue_before=money(before),
            change=money(now - before),
            last_purchase=r["last_purchase"].isoformat() if r["last_purchase"] else None,
        )
        return out


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
    families = _families(ctx)
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
    out["abc"] = _abc(ctx, seg.abc_a, seg.abc_a + seg.abc_b)
    out["abc_migration"] = out["abc"].pop("migration")
    out["rfm"] = _rfm(ctx)
    out["lifecycle"] = _lifecycle(ctx, since_day, since_table == "rep_since")
    out["families"] = families
    out["hygiene"] = _hygiene(ctx)
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
        for value, n in _counts(ctx.con, family)
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


def _counts(con: duckdb.DuckDBPyConnection, column: str) -> list[tuple[str, int]]:
    # ``column`` is a column name read from seg_tags itself, quoted.
    rows = con.execute(
        f'SELECT "{column}", count(*) FROM seg_tags WHERE "{column}" IS NOT NULL '
        "GROUP BY 1 ORDER BY 2 DESC, 1"
    ).fetchall()
    return [(str(v), int(n)) for v, n in rows]


# -- ABC -----------------------------------------------------------------------------

PARETO_POINTS = 200


def _abc(ctx: Context, a: Decimal, ab: Decimal) -> dict[str, Any]:
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
    trend = dict(_counts(con, "abc_trend"))
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
        "pareto": _pareto(con),
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


def _pareto(con: duckdb.DuckDBPyConnection) -> list[list[float]]:
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


# -- RFM -------------------------------------------------------------------------------


def _rfm(ctx: Context) -> dict[str, Any]:
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


# -- lifecycle ---------------------------------------------------------------------------

STAGES = ("prospect", "new", "active", "repeat", "loyal", "reactivated", "at_risk", "inactive")


def _lifecycle(ctx: Context, since: date, from_run: bool) -> dict[str, Any]:
    sizes = dict(_counts(ctx.con, "lifecycle"))
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


# -- other families, hygiene, history ------------------------------------------------------


def _families(ctx: Context) -> list[dict[str, Any]]:
    return family_sizes(ctx.con, ctx.now.contacts)


def family_sizes(con: duckdb.DuckDBPyConnection, contacts: int) -> list[dict[str, Any]]:
    """Sizes of every tag column of ``seg_tags`` beyond the fixed ones (interests, data
    quality, property and rule families...), multi-values counted once per value (as
    the run history counts them)."""
    columns = [
        str(r[0])
        for r in con.execute("DESCRIBE seg_tags").fetchall()
        if str(r[0]) not in CORE_COLUMNS | OWN_SECTIONS
    ]
    out = []
    for column in columns:
        rows = con.execute(
            f"""SELECT v, count(*) FROM (
                    SELECT unnest(string_split(COALESCE(CAST("{column}" AS VARCHAR), ''), ';')) AS v
                    FROM seg_tags) WHERE v <> '' GROUP BY v ORDER BY 2 DESC, 1"""
        ).fetchall()
        empty = con.execute(
            f"""SELECT count(*) FROM seg_tags WHERE COALESCE(CAST("{column}" AS VARCHAR), '') = ''"""
        ).fetchone()
        out.append(
            {
                "family": column,
                "builtin": column in TAG_COLUMNS,
                "values": [
                    {"value": str(v), "contacts": int(n), "share": percent(int(n), contacts)}
                    for v, n in rows
                ],
                "empty": int(empty[0]) if empty else 0,
            }
        )
    return out


def _hygiene(ctx: Context) -> dict[str, Any]:
    """Contacts with a data-quality flag, the most valuable first: the work list."""
    level_key = "t.contact_id" if ctx.now.level == "contact" else "c.company_id"
    where = "t.data_quality IS NOT NULL AND t.data_quality <> ''"
    total = ctx.con.execute(f"SELECT count(*) FROM seg_tags t WHERE {where}").fetchone()
    rows = ctx.rows(
        f"""SELECT t.contact_id, c.email, c.first_name, c.last_name, t.data_quality,
                   COALESCE(e.revenue_units, 0) AS revenue_units
            FROM seg_tags t JOIN contacts c ON c.id = t.contact_id
            LEFT JOIN rep_entities e ON e.entity_id = {level_key}
            WHERE {where}
            ORDER BY revenue_units DESC, t.contact_id LIMIT {int(ctx.limit)}"""
    )
    out_rows = []
    for r in rows:
        row: dict[str, Any] = {"id": r["contact_id"]}
        if ctx.emails:
            row["email"] = r["email"]
        name = " ".join(p.strip() for p in (r["first_name"] or "", r["last_name"] or "") if p)
        row.update(
            name=name.strip() or None,
            issues=str(r["data_quality"]).split(";"),
            revenue=money(ctx.revenue(r["revenue_units"])),
        )
        out_rows.append(row)
    return {"total": int(total[0]) if total else 0, "shown": len(out_rows), "rows": out_rows}


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
