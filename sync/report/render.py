"""The figures as one self-contained HTML page (Jinja2 templates, inline SVG).

Everything the page needs -- styles, the small script for CSV downloads and
the matrix's cell lists, the data of those lists -- is inlined, so the file
can be mailed or put on a share and opened offline. Text goes through
Jinja2's autoescaping; the list data goes through ``tojson``, which escapes
``<``, ``>`` and ``&`` so no value can end the script element.
"""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from importlib import metadata
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined

from sync.report import charts
from sync.report.lifecycle_figures import STAGES


def _number(value: int | float) -> str:
    return f"{value:,}"


def _money(value: str | Decimal, sign: bool = False) -> str:
    """Whole currency units with thousands separators: a report is read, not audited
    (the CSV downloads keep the cents)."""
    amount = Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    text = f"{amount:,}"
    return f"+{text}" if sign and amount > 0 else text


def _label(value: str | None) -> str:
    return (value or "").replace("_", " ")


def _short_money(value: str) -> str:
    amount = Decimal(value)
    for limit, suffix in ((Decimal(10**9), "bn"), (Decimal(10**6), "M"), (Decimal(10**3), "k")):
        if abs(amount) >= limit:
            return f"{(amount / limit).quantize(Decimal('0.1'))} {suffix}"
    return _money(amount)


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("sync.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )
    env.filters.update(number=_number, money=_money, label=_label)
    return env


def build_charts(f: dict[str, Any]) -> dict[str, Any]:
    abc = f["abc"]
    classes = abc["classes"]
    out: dict[str, Any] = {
        "abc_customers": charts.bar_chart(
            "Share of customers per ABC class",
            [
                (f"{c['abc']} customers", c["customer_share"], f"{c['customer_share']} %")
                for c in classes
            ],
            {f"{k} customers": v for k, v in charts.ABC_COLOURS.items()},
        ),
        "abc_revenue": charts.bar_chart(
            "Share of revenue per ABC class",
            [
                (f"{c['abc']} revenue", c["revenue_share"], f"{c['revenue_share']} %")
                for c in classes
            ],
            {f"{k} revenue": v for k, v in charts.ABC_COLOURS.items()},
        ),
        "pareto": charts.pareto_chart(
            abc["pareto"], abc["thresholds"]["a"], abc["thresholds"]["ab"]
        ),
        "rfm": charts.heat_map(
            f["rfm"]["grid"],
            {(c["r"], c["f"]): _short_money(c["revenue"]) for c in f["rfm"]["grid"]},
        ),
        "lifecycle": charts.bar_chart(
            "Contacts per lifecycle stage",
            [
                (_label(s["stage"]), s["contacts"], f"{s['contacts']:,} ({s['share']} %)")
                for s in f["lifecycle"]["stages"]
            ],
            {_label(k): v for k, v in charts.STAGE_COLOURS.items()},
        ),
        "families": {
            fam["family"]: charts.bar_chart(
                f"Contacts per {_label(fam['family'])}",
                [
                    (_label(v["value"]), v["contacts"], f"{v['contacts']:,} ({v['share']} %)")
                    for v in fam["values"][:15]
                ],
                charts.single(
                    "#E69F00" if fam["family"] == "data_quality" else "#0072B2",
                    [_label(v["value"]) for v in fam["values"][:15]],
                ),
            )
            for fam in f["families"]
        },
        "history": {},
    }
    history = f.get("history")
    if history and history["runs"]:
        labels = [f"#{r['run']} {r['as_of']}" for r in history["runs"]]
        colours = {"abc": charts.ABC_COLOURS, "lifecycle": charts.STAGE_COLOURS}
        out["history"] = {
            family: charts.history_chart(
                f"Contacts per {_label(family)}, run by run", labels, series, colours.get(family)
            )
            for family, series in history["families"].items()
        }
    return out


def render(f: dict[str, Any]) -> str:
    """The report page for the figures of :func:`sync.report.figures.figures`."""
    currency = f.get("currency")
    source = f["source"]
    page = (
        environment()
        .get_template("report.html.j2")
        .render(
            f=f,
            charts=build_charts(f),
            stages=STAGES,
            version=metadata.version("crmseg"),
            generated_at=datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
            source_text="the state file of crmseg sync" if source == "state" else "a CSV export",
            currency_text=f"in {currency}" if currency else "in the reporting currency",
        )
    )
    return page


def write(page: str, out: Path) -> Path:
    """Write atomically: a reader never sees half a report."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(page)
        os.chmod(tmp, 0o644)  # a report is for sharing; mkstemp makes it private
        os.replace(tmp, out)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
