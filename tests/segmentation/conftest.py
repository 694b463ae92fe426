"""Helpers for the docs/SEGMENTS.md rule tests: write CSV inputs, run ``segment``, read tags."""

from __future__ import annotations

import csv
import datetime
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from connectors.files import CsvLoader
from segmentation import InterestRule, SegmentationConfig, segment
from tests.shared_duckdb import fresh_connection

AS_OF = datetime.date(2024, 12, 31)

CONTACT_COLUMNS = ["id", "email", "first_name", "last_name", "salutation", "country", "company_id"]
DEAL_COLUMNS = ["id", "amount", "close_date", "won", "contact_ids", "company_ids"]
TAG_COLUMNS = [
    "contact_id",
    "abc",
    "abc_trend",
    "rfm_r",
    "rfm_f",
    "rfm_m",
    "rfm_score",
    "rfm_segment",
    "lifecycle",
    "interests",
    "data_quality",
]


def days_before(n: int, as_of: datetime.date = AS_OF) -> str:
    """ISO date ``n`` days before ``as_of`` (negative ``n``: after)."""
    return (as_of - datetime.timedelta(days=n)).isoformat()


def contact(cid: str, **fields: Any) -> dict[str, Any]:
    """A contact with clean data (no data-quality issue) unless overridden."""
    row: dict[str, Any] = {
        "id": cid,
        "email": f"c{cid}@example.com",
        "first_name": "Ann",
        "last_name": "Lee",
        "salutation": "Ms",
        "country": "DE",
        "company_id": "",
    }
    row.update(fields)
    return row


def deal(
    did: str,
    amount: Any,
    close: str | None,
    contacts: Sequence[str] | str = (),
    won: bool = True,
    companies: Sequence[str] = (),
    **props: Any,
) -> dict[str, Any]:
    if isinstance(contacts, str):
        contacts = [contacts]
    row: dict[str, Any] = {
        "id": did,
        "amount": "" if amount is None else str(amount),
        "close_date": close or "",
        "won": "true" if won else "false",
        "contact_ids": ";".join(contacts),
        "company_ids": ";".join(companies),
    }
    row.update(props)
    return row


def _write(
    path: Path, base: list[str], rows: Sequence[dict[str, Any]], columns: Sequence[str] = ()
) -> None:
    extra: list[str] = [c for c in columns if c not in base]
    for r in rows:
        for k in r:
            if k not in base and k not in extra:
                extra.append(k)
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(base + extra)
        for r in rows:
            w.writerow(["" if r.get(k) is None else str(r.get(k)) for k in base + extra])


class Result(dict):
    """Tags keyed by contact id, plus the run report and the ordered rows."""

    report: Any
    order: list[str]
    #: Window revenue per entity, exactly.
    metrics: dict[str, Fraction]
    entities: dict[str, dict[str, Any]]
    columns: list[str]


def run_segmentation(
    directory: Path,
    contacts: Sequence[dict[str, Any]],
    deals: Sequence[dict[str, Any]] = (),
    companies: Sequence[dict[str, Any]] | None = None,
    as_of: datetime.date = AS_OF,
    contact_properties: Sequence[str] = (),
    deal_properties: Sequence[str] = (),
    **config: Any,
) -> Result:
    directory.mkdir(parents=True, exist_ok=True)
    _write(directory / "contacts.csv", CONTACT_COLUMNS, contacts, contact_properties)
    _write(directory / "deals.csv", DEAL_COLUMNS, deals, deal_properties)
    if companies is not None:
        _write(directory / "companies.csv", ["id", "name"], companies)
    rules = config.pop("interests", [])
    config["interests"] = [r if isinstance(r, InterestRule) else InterestRule(**r) for r in rules]
    cfg = SegmentationConfig.model_validate(config)
    family_contact = [p.property for p in cfg.properties if p.source == "contact"]
    family_company = [p.property for p in cfg.properties if p.source == "company"]
    with fresh_connection() as con:
        CsvLoader(con, directory).load(
            [*contact_properties, *family_contact],
            list(deal_properties),
            family_company,
            currency=cfg.currency,
            currency_rates=cfg.currency_rates,
        )
        report = segment(con, cfg, as_of)
        cur = con.execute("SELECT * FROM seg_tags ORDER BY contact_id")
        columns = [d[0] for d in cur.description]
        rows = cur.fetchall()
        result = Result()
        result.metrics = {
            str(r[0]): Fraction(int(r[1]), report.units_per_unit)
            for r in con.execute("SELECT entity_id, revenue FROM seg_metrics").fetchall()
        }
        if cfg.level == "company" or cfg.properties or cfg.rules:
            cur = con.execute("SELECT * FROM seg_entity_tags")
            names = [d[0] for d in cur.description]
            result.entities = {r[0]: dict(zip(names, r, strict=True)) for r in cur.fetchall()}
    assert tuple(columns) == (*TAG_COLUMNS, *cfg.family_names)
    result.columns = columns
    result.order = []
    for row in rows:
        tags = dict(zip(columns, row, strict=True))
        result[tags["contact_id"]] = tags
        result.order.append(tags["contact_id"])
    result.report = report
    return result


@pytest.fixture
def seg(tmp_path: Path):
    """``seg(contacts, deals, ...)`` -> tags by contact id (a fresh sub-directory per call)."""
    counter = iter(range(10_000))

    def run(contacts, deals=(), **kwargs):
        return run_segmentation(tmp_path / f"run{next(counter)}", contacts, deals, **kwargs)

    return run
