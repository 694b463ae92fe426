"""``crmseg explain``: one contact's inputs and why each tag has its value.

It reads what the segmentation left in the connection (``seg_metrics``,
``seg_credits``, ``seg_tags``...) after a compute over the mirror, so the
explanation is of the very numbers the tags came from; the reason texts restate
the rules of docs/SEGMENTS.md with this contact's figures filled in.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import duckdb

from connectors.errors import InputError
from segmentation import segment
from segmentation.config import RuleValue, SegmentationConfig
from segmentation.engine import SegmentationReport, tag_columns

if TYPE_CHECKING:  # the state file's reads use ``find_contact``
    from sync.state import State


def find_contact(con: duckdb.DuckDBPyConnection, key: str) -> str:
    """A contact id, or the id of the one contact with this e-mail (case-insensitive)."""
    if con.execute("SELECT 1 FROM contacts WHERE id = ?", [key]).fetchone():
        return key
    rows = con.execute(
        "SELECT id FROM contacts WHERE lower(trim(email)) = lower(trim(?)) ORDER BY id", [key]
    ).fetchall()
    if not rows:
        raise InputError(f"no contact with id or e-mail {key!r} in the mirror (run `crmseg sync`)")
    if len(rows) > 1:
        ids = ", ".join(str(r[0]) for r in rows)
        raise InputError(f"several contacts have the e-mail {key!r} ({ids}); name one by id")
    return str(rows[0][0])


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any]) -> dict[str, Any] | None:
    cur = con.execute(sql, params)
    row = cur.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cur.description], row, strict=True))


def explain(
    con: duckdb.DuckDBPyConnection,
    contact_id: str,
    config: SegmentationConfig,
    report: SegmentationReport,
) -> dict[str, Any]:
    as_of = report.as_of
    money = report.revenue
    contact = _one(con, "SELECT * EXCLUDE (key) FROM contacts WHERE id = ?", [contact_id])
    assert contact is not None
    entity = contact_id if config.level == "contact" else contact["company_id"]
    tags = _one(con, "SELECT * FROM seg_tags WHERE contact_id = ?", [contact_id]) or {}
    metrics = (
        _one(con, "SELECT * FROM seg_metrics WHERE entity_id = ?", [entity]) if entity else None
    )
    window_start = as_of - timedelta(days=config.window_days)
    purchases = [
        {
            "deal": r[0],
            "close_date": r[1].isoformat(),
            "amount": format(r[2].normalize(), "f"),
            "credited": str(money(int(r[3]))),
            "in_window": r[1] > window_start,
        }
        for r in con.execute(
            "SELECT p.deal_id, p.close_date, p.amount, c.share FROM seg_credits c "
            "JOIN seg_purchases p USING (deal_id) WHERE c.entity_id = ? "
            "ORDER BY p.close_date DESC, p.deal_id",
            [entity],
        ).fetchall()
    ]
    out: dict[str, Any] = {
        "contact": {k: v for k, v in contact.items()},
        "as_of": as_of.isoformat(),
        "level": config.level,
        "entity": entity,
        "tags": {k: tags.get(k) for k in tag_columns(config) if k != "contact_id"},
        "purchases": purchases,
    }
    reasons: dict[str, str] = {}
    if metrics and metrics["purchases_ever"]:
        revenue = money(int(metrics["revenue"]))
        out["metrics"] = {
            "purchases_ever": int(metrics["purchases_ever"]),
            "frequency": int(metrics["frequency"]),
            "revenue": str(revenue),
            "first_purchase": metrics["first_purchase"].isoformat(),
            "last_purchase": metrics["last_purchase"].isoformat(),
            "recency_days": int(metrics["recency_days"]),
        }
        reasons.update(_abc_reason(con, entity, tags, config))
        reasons["rfm"] = _rfm_reason(tags, out["metrics"], report)
        reasons["lifecycle"] = _lifecycle_reason(metrics, config, as_of)
    else:
        who = (
            "the contact"
            if config.level == "contact"
            else (f"company {entity}" if entity else "the contact (no company)")
        )
        reasons["abc"] = f"{who} has no purchase up to {as_of}: not a customer, no class"
        reasons["rfm"] = "not a customer: no RFM scores"
        reasons["lifecycle"] = "prospect: no purchase ever"
    reasons["interests"] = _interest_reason(con, contact_id, tags, config)
    checks = ", ".join(config.quality_checks) or "none"
    reasons["data_quality"] = (
        f"issues: {tags.get('data_quality')} (checks: {checks})"
        if tags.get("data_quality")
        else f"no issue found (checks: {checks})"
    )
    for prop in config.properties:
        reasons[prop.family] = _property_reason(con, contact, prop, tags.get(prop.family))
    for rule in config.rules:
        reasons[rule.family] = _rule_reason(rule.values, tags.get(rule.family))
    out["reasons"] = reasons
    return out


def _property_reason(
    con: duckdb.DuckDBPyConnection, contact: dict[str, Any], prop: Any, value: str | None
) -> str:
    if prop.source == "contact":
        where, table, key, record = (
            "contact property",
            "contact_properties",
            "contact_id",
            contact["id"],
        )
    else:
        where, table, key, record = (
            "company property",
            "company_properties",
            "company_id",
            contact["company_id"],
        )
    row = (
        con.execute(
            f"SELECT value FROM {table} WHERE {key} = ? AND name = ? LIMIT 1",
            [record, prop.property],
        ).fetchone()
        if record is not None
        else None
    )
    raw = None if row is None else row[0]
    if value is None:
        return f"empty: {where} {prop.property} is empty" + (
            "" if record is not None else " (no company)"
        )
    how = (
        ("mapped" if value != "other" else "not in the map: other")
        if prop.map is not None
        else "normalised"
    )
    return f"{value}: {where} {prop.property} is {raw!r}, {how}"


def _conditions_text(value: RuleValue) -> str:
    parts = [f"{k} {v}" for k, v in value.model_dump(exclude_none=True).items() if k != "value"]
    return ", ".join(parts) or "no conditions"


def _rule_reason(values: list[RuleValue], got: str | None) -> str:
    if got is None:
        return (
            "empty: no value's conditions all hold ("
            + "; ".join(f"{v.value}: {_conditions_text(v)}" for v in values)
            + ")"
        )
    before = [v.value for v in values[: [v.value for v in values].index(got)]]
    chosen = next(v for v in values if v.value == got)
    skipped = f"; before it {', '.join(before)} did not match" if before else ""
    return f"{got}: the first value whose conditions all hold ({_conditions_text(chosen)}){skipped}"


def _abc_reason(
    con: duckdb.DuckDBPyConnection, entity: str, tags: dict[str, Any], config: SegmentationConfig
) -> dict[str, str]:
    row = con.execute(
        """WITH walked AS (
            SELECT entity_id, revenue,
                   rank() OVER (ORDER BY revenue DESC) AS position,
                   COALESCE(sum(greatest(revenue, 0)) OVER (ORDER BY revenue DESC
                       RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW EXCLUDE GROUP), 0)
                       AS before,
                   sum(greatest(revenue, 0)) OVER () AS total,
                   count(*) OVER () AS n
            FROM seg_metrics WHERE purchases_ever > 0)
        SELECT position, n, before, total FROM walked WHERE entity_id = ?""",
        [entity],
    ).fetchone()
    assert row is not None
    position, n, before, total = int(row[0]), int(row[1]), int(row[2]), int(row[3])
    share = (Decimal(before) * 100 / Decimal(total)).quantize(Decimal("0.01")) if total else None
    where = (
        f"ranked {position} of {n} customers by window revenue (equal revenues share a rank); "
        f"the customers with a greater revenue hold {share}% of the positive revenue"
        if share is not None
        else "total revenue is 0"
    )
    limits = f"A below {config.abc_a * 100}%, B below {(config.abc_a + config.abc_b) * 100}%"
    return {
        "abc": f"{tags.get('abc')}: {where} ({limits}; zero or negative revenue is C)",
        "abc_trend": f"{tags.get('abc_trend')}: class {config.window_days} days earlier against "
        "today's (new = no class then)",
    }


def _rfm_reason(
    tags: dict[str, Any],
    metrics: dict[str, Any],
    report: SegmentationReport,
) -> str:
    if tags.get("rfm_score") is None:
        return "no RFM scores"
    return (
        f"score {tags['rfm_score']} (R {tags['rfm_r']} from {metrics['recency_days']} days since "
        f"the last purchase, F {tags['rfm_f']} from {metrics['frequency']} purchases in the "
        f"window, M {tags['rfm_m']} from revenue {metrics['revenue']}; R among "
        f"{report.customers} customers, F and M among the customers with a purchase in the "
        f"window{', where this one has none: F 1, M 1' if not metrics['frequency'] else ''}); "
        f"segment {tags['rfm_segment']} from R and F"
    )


def _lifecycle_reason(metrics: dict[str, Any], config: SegmentationConfig, as_of: date) -> str:
    recency = int(metrics["recency_days"])
    ever = int(metrics["purchases_ever"])
    latest = metrics["latest_two"]
    first_age = (as_of - metrics["first_purchase"]).days
    if recency > config.inactive_days:
        return f"inactive: last purchase {recency} days ago (> {config.inactive_days})"
    if recency > config.active_days:
        return f"at_risk: last purchase {recency} days ago (> {config.active_days})"
    if ever >= 2 and (latest[0] - latest[1]).days > config.inactive_days:
        return (
            f"reactivated: {(latest[0] - latest[1]).days} days between the last two purchases "
            f"(> {config.inactive_days})"
        )
    if first_age <= config.new_days:
        return f"new: first purchase {first_age} days ago (<= {config.new_days})"
    if int(metrics["frequency"]) >= config.loyal_purchases:
        return (
            f"loyal: {metrics['frequency']} purchases in the window (>= {config.loyal_purchases})"
        )
    if ever >= 2:
        return f"repeat: {ever} purchases ever"
    return "active: one recent purchase"


def _interest_reason(
    con: duckdb.DuckDBPyConnection,
    contact_id: str,
    tags: dict[str, Any],
    config: SegmentationConfig,
) -> str:
    if not config.interests:
        return "no interest rules configured"
    if not tags.get("interests"):
        return "no rule matched"
    matched = set(str(tags["interests"]).split(";"))
    rules = [
        f"{r.tag} (from {r.source} property {r.property} containing one of {r.any_of})"
        for r in config.interests
        if r.tag in matched
    ]
    return "; ".join(rules)


def explain_contact(
    state: State, key: str, config: SegmentationConfig, as_of: date
) -> dict[str, Any]:
    """``explain`` over the state file's mirror: the contact named by id or e-mail,
    segmented as of ``as_of``, with the crmseg values the CRM holds for it
    (``crm_values``) beside the tags computed now."""
    contact_id = state.find_contact(key)
    report = segment(state.con, config, as_of)
    result = explain(state.con, contact_id, config, report)
    result["crm_values"] = state.held_values("contact", contact_id)
    return result
