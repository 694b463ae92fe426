"""The per-entity comparison table every section of the report reads, and its readers.

Why: each section (ABC, RFM, lifecycle, hygiene) compares today's tags of an entity
(a contact or a company, by the segmentation's level) with the previous window's
and the lifecycle baseline's; ``rep_entities`` and ``rep_who`` hold that comparison
once, and ``Context`` turns its rows into the report's JSON-ready figures (money in
the segmentation's integer units converted once, per date).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import duckdb

from segmentation.engine import SegmentationReport

CENT = Decimal("0.01")


def money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_EVEN))


def percent(part: int | Decimal, whole: int | Decimal) -> float:
    return round(float(Decimal(part) * 100 / Decimal(whole)), 1) if whole else 0.0


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


def counts(con: duckdb.DuckDBPyConnection, column: str) -> list[tuple[str, int]]:
    # ``column`` is a column name read from seg_tags itself, quoted.
    rows = con.execute(
        f'SELECT "{column}", count(*) FROM seg_tags WHERE "{column}" IS NOT NULL '
        "GROUP BY 1 ORDER BY 2 DESC, 1"
    ).fetchall()
    return [(str(v), int(n)) for v, n in rows]
