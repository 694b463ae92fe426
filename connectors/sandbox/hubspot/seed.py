"""Load :mod:`connectors.sandbox.generator` output as HubSpot objects.

Why here and not in the generator: the generator is CRM-neutral; the mapping
onto HubSpot property names (``dealstage=closedwon``, ``topics`` as a
``;``-joined multi-checkbox, ``closedate`` as ISO datetime) is HubSpot's.
"""

from __future__ import annotations

import datetime as dt

from connectors.sandbox.generator import Dataset
from connectors.sandbox.hubspot.store import Store
from connectors.sandbox.hubspot.wire import iso

STAGE = {"won": "closedwon", "lost": "closedlost", "open": "appointmentscheduled"}
#: The generator's origin channel as HubSpot's original source (``hs_analytics_source``).
ANALYTICS_SOURCE = {
    "web_form": "ORGANIC_SEARCH",
    "trade_fair": "OFFLINE",
    "referral": "REFERRALS",
    "newsletter": "EMAIL_MARKETING",
    "cold_call": "OFFLINE",
    "partner": "REFERRALS",
    "import": "OFFLINE",
}


def _ms(d: dt.datetime) -> int:
    return int(d.timestamp() * 1000)


def load(store: Store, ds: Dataset) -> None:
    """Bulk-insert companies, contacts, deals and their associations."""
    store.bulk_load(
        "companies",
        (
            (
                c.id,
                {
                    "name": c.name,
                    "domain": c.domain,
                    "industry": c.industry,
                    "country": c.country,
                    "company_size": c.size,
                },
                _ms(dt.datetime(2020, 1, 1, tzinfo=dt.UTC)),
            )
            for c in ds.companies
        ),
    )
    store.bulk_load(
        "contacts",
        (
            (
                c.id,
                {
                    "email": c.email or None,
                    "firstname": c.first_name,
                    "lastname": c.last_name,
                    "salutation": c.salutation or None,
                    "country": c.country,
                    "origin_channel": c.channel,
                    "hs_analytics_source": ANALYTICS_SOURCE.get(c.channel, "OTHER_CAMPAIGNS"),
                    "address": c.street,
                    "zip": c.postal_code,
                    "city": c.city,
                    "topics": ";".join(c.topics) or None,
                },
                _ms(c.created),
            )
            for c in ds.contacts
        ),
    )
    store.bulk_load(
        "deals",
        (
            (
                d.id,
                {
                    "dealname": d.name,
                    "amount": str(d.amount),
                    "deal_currency_code": d.currency,
                    "dealstage": STAGE[d.stage],
                    "pipeline": "default",
                    "closedate": iso(
                        _ms(dt.datetime.combine(d.close_date, dt.time(), tzinfo=dt.UTC))
                    ),
                    "product_line": d.product_line,
                },
                _ms(d.created),
            )
            for d in ds.deals
        ),
    )
    for contact, company in ds.contact_company:
        store.associate("contacts", contact, "companies", company, primary=True)
    for deal, contact in ds.deal_contact:
        store.associate("deals", deal, "contacts", contact, primary=True)
    for deal, company in ds.deal_company:
        store.associate("deals", deal, "companies", company, primary=True)
