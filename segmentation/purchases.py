"""Purchases, who they are credited to, and the per-entity sums (docs/SEGMENTS.md
"Inputs", "Who is segmented", "Window").

Money is carried as exact integers ("units"): an amount in units of
``10**-AMOUNT_SCALE``, multiplied by ``split_denominator / k`` where ``k`` is the
number of entities sharing the purchase. With ``split_denominator`` the least
common multiple of every ``k`` in the data, every split share is an exact
integer, so sums and ties are exact (0.10 + 0.20 equals 0.30, and 100/3 + 200/3
equals 100). Only when that multiple would be absurdly large do shares round,
still at 21 decimal places of the currency, beyond what docs/SEGMENTS.md requires.

The units of a purchase are the 128-bit integer its ``DECIMAL(38, 12)`` amount
already is: the amounts are multiplied and summed as DECIMALs (exact, or an
overflow error, never rounded) and turned into integers once per entity, because
casting every purchase to an integer costs a 128-bit division each.

Deals in another currency (``deal_currencies``, CSV exports) are converted
exactly too: each rate is an integer of ``10**-rate_scale`` (``rate_scale`` the
most decimal places of any configured rate), the units are multiplied by it and
the units per currency unit grow by ``10**rate_scale``, so ``amount * rate`` is
never rounded however many decimals the rate has.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal

import duckdb

from segmentation.errors import InputError
from segmentation.inputs import AMOUNT_SCALE

#: One currency unit in units of 10**-AMOUNT_SCALE.
AMOUNT_UNIT = str(10**AMOUNT_SCALE)

#: Largest exact split denominator; past it shares are rounded (see module doc).
MAX_EXACT_SPLIT_DENOMINATOR = 10**9

#: The exact integer behind a DECIMAL(38, 12): ``x * 10**12``, without the 128-bit
#: division a cast of that product would do and without overflowing before DECIMAL does
#: (the integer part and the fraction are converted apart).
UNITS_MACRO = """
CREATE OR REPLACE TEMP MACRO seg_units(x) AS
    CAST(trunc(x) AS HUGEINT) * CAST($unit AS HUGEINT) + CAST((x - trunc(x)) * $unit AS HUGEINT)
"""

#: A purchase is a won deal with a close date on or before as_of. ``value`` is the
#: amount as an exact DECIMAL whose integer (``seg_units(value)``) is its units: the
#: amount itself when no deal needs converting (then ``value`` is ``amount``).
PURCHASES = """
CREATE OR REPLACE TEMP TABLE seg_purchases AS
SELECT id AS deal_id, key AS deal_key, close_date, COALESCE(amount, 0) AS amount
FROM deals
WHERE won AND close_date IS NOT NULL AND close_date <= $as_of
"""

#: The same, and the value multiplied by the amount's rate (an integer of
#: 10**-rate_scale; deals without a currency are already in the reporting currency:
#: rate 1), exactly or not at all: DECIMAL multiplication fails rather than rounds.
PURCHASES_CONVERTED = """
CREATE OR REPLACE TEMP TABLE seg_purchases AS
SELECT d.id AS deal_id,
       d.key AS deal_key,
       d.close_date,
       COALESCE(d.amount, 0) AS amount,
       COALESCE(d.amount, 0) * COALESCE(r.rate_units, CAST($one AS HUGEINT)) AS value
FROM deals d
LEFT JOIN deal_currencies c ON c.deal_id = d.id
LEFT JOIN seg_rates r ON r.currency = upper(c.currency)
WHERE d.won AND d.close_date IS NOT NULL AND d.close_date <= $as_of
"""

#: Currencies of deals that have no rate (the CSV loader names their lines first).
UNRATED = """
SELECT DISTINCT upper(c.currency) FROM deal_currencies c
WHERE upper(c.currency) NOT IN (SELECT currency FROM seg_rates) ORDER BY 1
"""

#: The entities of the level, their ids and keys (both unique in the input tables).
ENTITIES = {
    "contact": "(SELECT id AS entity_id, key AS entity_key FROM contacts)",
    "company": "(SELECT id AS entity_id, key AS entity_key FROM companies)",
}

#: The links from deals to the entities of the level, once each, by key (a contact link
#: to an unknown id has no key and is left out; company links find their keys here, by
#: id). Every deal's links, not only the purchases': the orphan count needs them, and
#: restricting them to the purchases first (a semi-join) costs what the smaller set
#: saves (benchmarks/RESULTS.md).
LINKS = {
    "contact": """
CREATE OR REPLACE TEMP TABLE seg_links AS
SELECT DISTINCT deal_key, contact_key AS entity_key FROM deal_contacts
WHERE deal_key IS NOT NULL AND contact_key IS NOT NULL
""",
    "company": """
CREATE OR REPLACE TEMP TABLE seg_links AS
SELECT DISTINCT l.deal_key, k.key AS entity_key
FROM deal_companies l JOIN companies k ON k.id = l.company_id
WHERE l.deal_key IS NOT NULL
""",
}

#: Each purchase credited to each associated entity, with the number k of entities
#: sharing it (one join; k counted over the same rows, so no second pass).
CREDIT_PARTS = """
CREATE OR REPLACE TEMP TABLE seg_credit_parts AS
SELECT p.deal_key, l.entity_key, p.close_date, p.{value} AS value,
       count(*) OVER (PARTITION BY p.deal_key) AS k
FROM seg_purchases p JOIN seg_links l USING (deal_key)
"""

#: The split denominator is the least common multiple of these.
SHARE_COUNTS = "SELECT DISTINCT k FROM seg_credit_parts"

#: Each credit's share of its purchase, in units: units * denominator / k, an exact
#: integer (the denominator is a multiple of every k) computed as
#: units * (denominator // k); a capped denominator divides last instead, rounding
#: down as the module doc says. ``crmseg explain`` reads it, one entity at a time, so
#: the ids of the keys are joined in only there.
CREDITS = """
CREATE OR REPLACE TEMP VIEW seg_credits AS
SELECT p.deal_id, e.entity_id, s.close_date, s.share
FROM (SELECT deal_key, entity_key, close_date, {share} AS share FROM seg_credit_parts) s
JOIN seg_purchases p USING (deal_key)
JOIN {entities} e USING (entity_key)
"""
EXACT_SHARE = "seg_units(value) * CAST({denominator} // k AS HUGEINT)"
ROUNDED_SHARE = "seg_units(value) * CAST({denominator} AS HUGEINT) // k"

#: The sum of a set of shares, in units. Exact shares are summed as DECIMALs (the
#: same 128-bit integers, no per-row conversion) and turned into units once per
#: entity; rounded ones must be rounded one by one, so they are summed as units.
EXACT_SUM = "seg_units(sum(value * ({denominator} // k)) FILTER (WHERE {window}))"
ROUNDED_SUM = "sum({share}) FILTER (WHERE {window})"

#: Per entity: purchases ever, window frequency and revenue, first / last
#: purchase, the two latest purchase dates, and the previous window's figures
#: (for the ABC trend). The credits are summed first and the entities joined to
#: the sums, so the join meets one row per customer instead of one per credit.
METRICS = """
CREATE OR REPLACE TEMP TABLE seg_metrics AS
WITH credited AS (
    SELECT entity_key,
           count(*) AS purchases_ever,
           count(*) FILTER (WHERE close_date > $window_start) AS frequency,
           {revenue} AS revenue,
           min(close_date) AS first_purchase,
           max(close_date) AS last_purchase,
           max(close_date, 2) AS latest_two,
           count(*) FILTER (WHERE close_date <= $prev_as_of) AS prev_purchases_ever,
           {prev_revenue} AS prev_revenue
    FROM seg_credit_parts
    GROUP BY entity_key
)
SELECT e.entity_id,
       COALESCE(c.purchases_ever, 0) AS purchases_ever,
       COALESCE(c.frequency, 0) AS frequency,
       COALESCE(c.revenue, 0) AS revenue,
       c.first_purchase,
       c.last_purchase,
       CAST($as_of AS DATE) - c.last_purchase AS recency_days,
       c.latest_two,
       COALESCE(c.prev_purchases_ever, 0) AS prev_purchases_ever,
       COALESCE(c.prev_revenue, 0) AS prev_revenue
FROM {entities} e LEFT JOIN credited c USING (entity_key)
"""
WINDOW = "close_date > $window_start"
PREV_WINDOW = "close_date > $prev_window_start AND close_date <= $prev_as_of"

ORPHAN_DEALS = "SELECT count(*) FROM deals d ANTI JOIN seg_links l ON l.deal_key = d.key"


def split_denominator(share_counts: list[int]) -> int:
    """The least common multiple of the share counts, capped (see module doc)."""
    denominator = 1
    for k in share_counts:
        denominator = math.lcm(denominator, k)
        if denominator > MAX_EXACT_SPLIT_DENOMINATOR:
            return MAX_EXACT_SPLIT_DENOMINATOR
    return denominator


def units_per_currency_unit(denominator: int, rate_scale: int = 0) -> int:
    """How many revenue units make one unit of currency (for display and edges)."""
    exponent: int = AMOUNT_SCALE + rate_scale  # never negative: the power is an int
    return denominator * int(10**exponent)


def rate_scale(rates: Mapping[str, Decimal]) -> int:
    """The most decimal places of any rate (0 for whole numbers)."""
    return max((max(0, -int(r.normalize().as_tuple().exponent)) for r in rates.values()), default=0)


def _load_rates(con: duckdb.DuckDBPyConnection, rates: Mapping[str, Decimal], scale: int) -> None:
    """``seg_rates`` from two bound lists in one statement (not one insert per rate)."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE seg_rates AS SELECT unnest($codes::VARCHAR[]) AS currency, "
        "CAST(unnest($units::VARCHAR[]) AS HUGEINT) AS rate_units",
        {
            "codes": [code.upper() for code in rates],
            "units": [str(int(rate.scaleb(scale))) for rate in rates.values()],
        },
    )


def _date(day: date) -> str:
    """A date as a SQL literal (an ISO date: digits and dashes, never user text), so the
    statements of one step can share one ``execute`` (DuckDB binds parameters only in the
    last statement of a batch)."""
    return f"DATE '{day.isoformat()}'"


def build(
    con: duckdb.DuckDBPyConnection,
    level: str,
    as_of: date,
    window_days: int,
    rates: Mapping[str, Decimal] | None = None,
) -> tuple[int, int, int]:
    """Fill seg_purchases, seg_credit_parts, seg_credits (a view) and seg_metrics
    (seg_links, the step between, is dropped once read).

    Returns (split denominator, orphan deal count, rate scale).
    """
    converted = bool(rates) and con.execute("SELECT count(*) FROM deal_currencies").fetchone() != (
        0,
    )
    scale = 0
    steps = [UNITS_MACRO.replace("$unit", AMOUNT_UNIT)]
    if converted:
        assert rates is not None
        scale = rate_scale(rates)
        _load_rates(con, rates, scale)
        unrated = [str(r[0]) for r in con.execute(UNRATED).fetchall()]
        if unrated:
            raise InputError(
                f"deals in {', '.join(unrated)} but [segmentation] currency_rates has no rate "
                "for it"
            )
        steps.append(
            PURCHASES_CONVERTED.replace("$as_of", _date(as_of)).replace("$one", str(10**scale))
        )
    else:
        steps.append(PURCHASES.replace("$as_of", _date(as_of)))
    steps += [LINKS[level], CREDIT_PARTS.format(value="value" if converted else "amount")]
    steps.append(SHARE_COUNTS)
    batch = ";\n".join(step.strip().rstrip(";") for step in steps)
    share_counts = [int(row[0]) for row in con.execute(batch).fetchall()]
    denominator = split_denominator(share_counts)
    exact = all(denominator % k == 0 for k in share_counts)
    share = (EXACT_SHARE if exact else ROUNDED_SHARE).format(denominator=denominator)
    total = EXACT_SUM if exact else ROUNDED_SUM
    window = timedelta(days=window_days)
    # The longer names first: $window_start and $as_of end $prev_window_start and $prev_as_of.
    dates = {
        "$prev_window_start": as_of - 2 * window,
        "$prev_as_of": as_of - window,
        "$window_start": as_of - window,
        "$as_of": as_of,
    }
    metrics = METRICS.format(
        entities=ENTITIES[level],
        revenue=total.format(denominator=denominator, share=share, window=WINDOW),
        prev_revenue=total.format(denominator=denominator, share=share, window=PREV_WINDOW),
    )
    for name, day in dates.items():
        metrics = metrics.replace(name, _date(day))
    credits = CREDITS.format(share=share, entities=ENTITIES[level])
    orphans = con.execute(f"{credits};\n{metrics};\n{ORPHAN_DEALS}").fetchone()
    # Read by nothing after this point: dropped so the later steps reuse their memory.
    con.execute("DROP TABLE seg_links")
    return denominator, int(orphans[0]) if orphans else 0, scale
