"""Seeded, CRM-neutral generator of realistic CRM data for sandboxes and benchmarks.

Why: segmentation rules (ABC, RFM, lifecycle, interests, data quality) only get
exercised by data with the dirt real CRMs have -- duplicate e-mails differing
in case, invalid or missing addresses, deals spread over years, deals with
several contacts. Each CRM stand-in maps these plain records onto its own
object model (see ``sandbox.hubspot.seed``); nothing here knows a vendor.

Same ``seed`` and ``as_of`` -> identical data. Generation is a tight loop over
one ``random.Random`` with precomputed choice tables, so 100k contacts take a
few seconds at most.
"""

from __future__ import annotations

import datetime as dt
import functools
import random
from decimal import Decimal
from typing import Any

from connectors.sandbox.dataset import Company, Contact, Dataset, Deal
from connectors.sandbox.vocabulary import (
    CHANNEL_WEIGHTS,
    CHANNELS,
    CITIES,
    COMPANY_SUFFIXES,
    COMPANY_WORDS,
    COUNTRIES,
    COUNTRY_WEIGHTS,
    CURRENCIES,
    DOMAINS,
    FIRST_NAMES,
    INDUSTRIES,
    LAST_NAMES,
    PRODUCT_LINES,
    SALUTATIONS,
    SIZE_WEIGHTS,
    SIZES,
    STAGE_WEIGHTS,
    STAGES,
    STREETS,
    TOPICS,
)

__all__ = ["generate"]


def _ascii(s: str) -> str:
    return (
        s.lower()
        .replace("ü", "ue")
        .replace("ö", "oe")
        .replace("ä", "ae")
        .replace("í", "i")
        .replace("'", "")
        .replace(" ", "")
    )


def generate(
    *,
    seed: int = 0,
    contacts: int = 1000,
    companies: int | None = None,
    deals: int | None = None,
    as_of: dt.date | None = None,
    years: int = 4,
) -> Dataset:
    """Build a dataset. Defaults: one company per 8 contacts, 1.5 deals per contact-ish.

    Dirt rates (approximate): 4% missing e-mail, 3% invalid e-mail, 3% case-variant
    duplicates of an earlier contact's address. Close dates spread over ``years``
    years before ``as_of``; open deals close up to 90 days after it.
    """
    country_tab, size_tab, channel_tab, stage_tab, state = _tables(seed)
    rng = random.Random()
    rng.setstate(state)
    as_of = as_of or dt.date(2026, 1, 1)
    n_companies = companies if companies is not None else max(1, contacts // 8)
    n_deals = deals if deals is not None else (contacts * 3) // 4
    ds = Dataset(seed=seed, as_of=as_of)
    start = dt.datetime.combine(as_of, dt.time(), tzinfo=dt.UTC) - dt.timedelta(days=365 * years)
    span_s = 365 * years * 86400

    rand = rng.random
    # ``Random._randbelow`` is what ``randrange(n)`` and ``choice`` draw with: calling
    # it directly gives the same numbers without their argument checks (a third of
    # the time at millions of deals).
    below = rng._randbelow  # type: ignore[attr-defined]
    choice = rng.choice

    for i in range(1, n_companies + 1):
        w1, w2 = COMPANY_WORDS[below(len(COMPANY_WORDS))], COMPANY_WORDS[below(len(COMPANY_WORDS))]
        ds.companies.append(
            Company(
                id=i,
                name=f"{w1}{w2.lower()} {COMPANY_SUFFIXES[below(len(COMPANY_SUFFIXES))]}",
                industry=INDUSTRIES[below(len(INDUSTRIES))],
                size=size_tab[below(1024)],
                country=country_tab[below(4096)],
                domain=f"{_ascii(w1 + w2)}{i}.example",
            )
        )

    emails: list[str] = []
    for i in range(1, contacts + 1):
        first, last = FIRST_NAMES[below(len(FIRST_NAMES))], LAST_NAMES[below(len(LAST_NAMES))]
        r = rand()
        email: str | None
        if r < 0.04:
            email = None
        elif r < 0.07:
            email = choice(
                (
                    f"{_ascii(first)}.{_ascii(last)}@",
                    f"{_ascii(first)} at mail.test",
                    f"{_ascii(last)}@@mail.test",
                    f"{_ascii(first)}@localhost",
                    "",
                )
            )
        elif r < 0.10 and emails:
            email = (
                emails[below(len(emails))].upper()
                if rand() < 0.5
                else (emails[below(len(emails))].capitalize())
            )
        else:
            email = f"{_ascii(first)}.{_ascii(last)}{i}@{DOMAINS[below(len(DOMAINS))]}"
            emails.append(email)
        k = below(4)
        topics = rng.sample(TOPICS, k) if k else []
        ds.contacts.append(
            Contact(
                id=i,
                first_name=first,
                last_name=last,
                salutation=SALUTATIONS[below(len(SALUTATIONS))],
                country=country_tab[below(4096)],
                email=email,
                channel=channel_tab[below(4096)],
                topics=topics,
                created=start + dt.timedelta(seconds=below(span_s)),
            )
        )
        if n_companies and rand() < 0.85:
            ds.contact_company.append((i, below(n_companies) + 1))

    _addresses(ds, seed)
    company_of = dict(ds.contact_company)
    dates: dict[dt.date, dt.date] = {}
    for i in range(1, n_deals + 1):
        stage = stage_tab[below(1024)]
        created = start + dt.timedelta(seconds=below(span_s))
        if stage == "open":
            close = as_of + dt.timedelta(days=1 + below(90))
        else:
            close = min(as_of, (created + dt.timedelta(days=1 + below(180))).date())
        close = dates.setdefault(close, close)  # a few thousand dates for millions of deals
        cents = int(rng.lognormvariate(10.5, 1.1) * 100) + 1000
        product = PRODUCT_LINES[below(len(PRODUCT_LINES))]
        ds.deals.append(
            Deal(
                id=i,
                name=f"{product} deal {i}",
                amount=Decimal(cents).scaleb(-2),
                currency=CURRENCIES[below(len(CURRENCIES))],
                stage=stage,
                close_date=close,
                product_line=product,
                created=created,
            )
        )
        if contacts:
            first_contact = below(contacts) + 1
            ds.deal_contact.append((i, first_contact))
            if rand() < 0.2:  # several contacts on one deal
                for _ in range(1 + below(2)):
                    other = below(contacts) + 1
                    if other != first_contact:
                        ds.deal_contact.append((i, other))
            comp = company_of.get(first_contact)
            if comp is not None and rand() < 0.9:
                ds.deal_company.append((i, comp))
    return ds


@functools.lru_cache(maxsize=32)
def _tables(
    seed: int,
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...], Any]:
    """The weighted draw tables of ``seed``'s stream (its first 10,240 numbers) and the
    stream's state after them.

    Why cached: drawing them is a fixed cost of every :func:`generate` (about 5 ms),
    most of the time for the few dozen records a test seeds, and tests seed the same
    few seeds over and over; going on from the saved state draws the same numbers."""
    rng = random.Random(seed)
    country_tab = tuple(rng.choices(COUNTRIES, COUNTRY_WEIGHTS, k=4096))
    size_tab = tuple(rng.choices(SIZES, SIZE_WEIGHTS, k=1024))
    channel_tab = tuple(rng.choices(CHANNELS, CHANNEL_WEIGHTS, k=4096))
    stage_tab = tuple(rng.choices(STAGES, STAGE_WEIGHTS, k=1024))
    return country_tab, size_tab, channel_tab, stage_tab, rng.getstate()


def _addresses(ds: Dataset, seed: int) -> None:
    """Postal addresses with the gaps real CRMs have: about 10 % without a street,
    6 % without a postal code, 5 % without a city, a few of them blanks only.

    A random stream of its own (seeded from ``seed``), so adding addresses left every
    other generated value as it was.
    """
    rng = random.Random(f"{seed}-addresses")
    for c in ds.contacts:
        cities = CITIES.get(c.country, ("Springfield",))
        street: str | None = f"{rng.choice(STREETS)} {rng.randrange(1, 200)}"
        postal: str | None = f"{rng.randrange(1000, 99999):05d}"
        city: str | None = rng.choice(cities)
        r = rng.random()
        if r < 0.10:
            street = None if r < 0.08 else "  "
        r = rng.random()
        if r < 0.06:
            postal = None if r < 0.05 else " "
        if rng.random() < 0.05:
            city = None
        c.street, c.postal_code, c.city = street, postal, city
