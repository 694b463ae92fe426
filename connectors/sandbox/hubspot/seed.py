"""Load :mod:`connectors.sandbox.generator` output as HubSpot objects.

Why here and not in the generator: the generator is CRM-neutral; the mapping
onto HubSpot property names (``dealstage=closedwon``, ``topics`` as a
``;``-joined multi-checkbox, ``closedate`` as ISO datetime) is HubSpot's.
"""

from __future__ import annotations

import datetime as dt
import gc

from connectors.sandbox.dataset import Dataset
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


COMPANY_PROPS = ("name", "domain", "industry", "country", "company_size")
CONTACT_PROPS = (
    "email",
    "firstname",
    "lastname",
    "salutation",
    "country",
    "origin_channel",
    "hs_analytics_source",
    "address",
    "zip",
    "city",
    "topics",
)
DEAL_PROPS = (
    "dealname",
    "amount",
    "deal_currency_code",
    "dealstage",
    "pipeline",
    "closedate",
    "product_line",
)


def load(store: Store, ds: Dataset) -> None:
    """Bulk-insert companies, contacts, deals and their associations.

    Why this shape: a million-record seed is bound by objects per record, so values
    go in as one tuple per record, a value many records share (a street and number,
    a postal code, a topic set, a close date) is one string object, and the cyclic
    garbage collector, which would walk the growing store again and again for no
    garbage, is paused while the store fills.
    """
    paused = gc.isenabled()
    gc.disable()
    try:
        _load(store, ds)
    finally:
        if paused:
            gc.enable()


def _load(store: Store, ds: Dataset) -> None:
    shared: dict[str | None, str | None] = {None: None}
    one = shared.setdefault
    company_created = _ms(dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    store.bulk_rows(
        "companies",
        COMPANY_PROPS,
        (
            (c.id, (one(c.name, c.name), c.domain, c.industry, c.country, c.size), company_created)
            for c in ds.companies
        ),
    )
    store.bulk_rows(
        "contacts",
        CONTACT_PROPS,
        (
            (
                c.id,
                (
                    c.email or None,
                    c.first_name,
                    c.last_name,
                    c.salutation or None,
                    c.country,
                    c.channel,
                    ANALYTICS_SOURCE.get(c.channel, "OTHER_CAMPAIGNS"),
                    one(c.street, c.street),
                    one(c.postal_code, c.postal_code),
                    c.city,
                    one(t := ";".join(c.topics), t) or None,
                ),
                _ms(c.created),
            )
            for c in ds.contacts
        ),
    )
    closes: dict[dt.date, str] = {}

    def closedate(d: dt.date) -> str:
        text = closes.get(d)
        if text is None:
            text = closes[d] = iso(_ms(dt.datetime.combine(d, dt.time(), tzinfo=dt.UTC)))
        return text

    store.bulk_rows(
        "deals",
        DEAL_PROPS,
        (
            (
                d.id,
                (
                    d.name,
                    str(d.amount),
                    d.currency,
                    STAGE[d.stage],
                    "default",
                    closedate(d.close_date),
                    d.product_line,
                ),
                _ms(d.created),
            )
            for d in ds.deals
        ),
    )
    store.bulk_associate("contacts", "companies", ds.contact_company)
    store.bulk_associate("deals", "contacts", ds.deal_contact)
    store.bulk_associate("deals", "companies", ds.deal_company)
