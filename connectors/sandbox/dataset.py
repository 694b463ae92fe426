"""The plain, CRM-neutral records one generated dataset holds.

Why: the generator fills these and each CRM stand-in (and the CSV export) maps
them onto its own object model, so no vendor's names leak into the generator
and every stand-in seeds the same people, companies and deals.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(slots=True)
class Company:
    id: int
    name: str
    industry: str
    size: str
    country: str
    domain: str


@dataclass(slots=True)
class Contact:
    id: int
    first_name: str
    last_name: str
    salutation: str
    country: str
    email: str | None  # None = missing; may be invalid or a case-variant duplicate
    channel: str
    topics: list[str]
    created: dt.datetime
    #: The postal address; ``None`` or blanks where the CRM has a gap.
    street: str | None = None
    postal_code: str | None = None
    city: str | None = None


@dataclass(slots=True)
class Deal:
    id: int
    name: str
    amount: Decimal  # always 2 decimal places
    currency: str
    stage: str  # "won" | "lost" | "open"
    close_date: dt.date
    product_line: str
    created: dt.datetime


@dataclass
class Dataset:
    """Everything one seed produces; association lists hold (from_id, to_id) pairs."""

    seed: int
    as_of: dt.date
    companies: list[Company] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    deals: list[Deal] = field(default_factory=list)
    contact_company: list[tuple[int, int]] = field(default_factory=list)
    deal_contact: list[tuple[int, int]] = field(default_factory=list)
    deal_company: list[tuple[int, int]] = field(default_factory=list)
