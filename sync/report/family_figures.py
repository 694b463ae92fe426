"""The report's other tag families and its hygiene work list.

Why: the segmentation adds families beyond ABC, RFM and lifecycle (interests, data
quality, property and rule families); the report shows each one generically by
its values' sizes, and lists the contacts with a data-quality flag, the most
valuable first.
"""

from __future__ import annotations

from typing import Any

import duckdb

from segmentation.engine import TAG_COLUMNS
from sync.report.entities import Context, money, percent

#: The tag columns the report gives sections of their own; every other column of
#: ``seg_tags`` is a family shown generically (interests, data quality, property
#: and rule families, whatever the segmentation adds).
CORE_COLUMNS = {"contact_id", "abc", "abc_trend", "rfm_r", "rfm_f", "rfm_m", "rfm_score"}
OWN_SECTIONS = {"rfm_segment", "lifecycle"}


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


def hygiene(ctx: Context) -> dict[str, Any]:
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
