"""Writes a generated data set as a CSV export in the docs/SEGMENTS.md format.

The same generated data can then be segmented from files (``crmseg segment``)
and synced through a sandbox CRM, and the two results compared.
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from connectors.sandbox.dataset import Dataset


def write_csv_export(data: Dataset, directory: Path) -> None:
    """Write ``contacts.csv``, ``deals.csv`` and ``companies.csv`` into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    company_of = {contact: company for contact, company in data.contact_company}
    deal_contacts: dict[int, list[str]] = defaultdict(list)
    for deal, contact in data.deal_contact:
        deal_contacts[deal].append(str(contact))
    deal_companies: dict[int, list[str]] = defaultdict(list)
    for deal, company in data.deal_company:
        deal_companies[deal].append(str(company))

    _write_csv(
        directory / "companies.csv",
        ["id", "name", "industry", "size", "country"],
        ([co.id, co.name, co.industry, co.size, co.country] for co in data.companies),
    )
    _write_csv(
        directory / "contacts.csv",
        [
            "id",
            "email",
            "first_name",
            "last_name",
            "salutation",
            "country",
            "company_id",
            "channel",
            "topics",
            "street",
            "postal_code",
            "city",
        ],
        (
            [
                c.id,
                c.email or "",
                c.first_name,
                c.last_name,
                c.salutation,
                c.country,
                company_of.get(c.id, ""),
                c.channel,
                ";".join(c.topics),
                c.street or "",
                c.postal_code or "",
                c.city or "",
            ]
            for c in data.contacts
        ),
    )
    _write_csv(
        directory / "deals.csv",
        [
            "id",
            "amount",
            "close_date",
            "won",
            "contact_ids",
            "company_ids",
            "stage",
            "currency",
            "product_line",
        ],
        (
            [
                d.id,
                d.amount,
                d.close_date.isoformat(),
                "true" if d.stage == "won" else "false",
                ";".join(deal_contacts[d.id]),
                ";".join(deal_companies[d.id]),
                d.stage,
                d.currency,
                d.product_line,
            ]
            for d in data.deals
        ),
    )


def _write_csv(path: Path, header: list[str], rows: Iterable[list[object]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(header)
        out.writerows(rows)
