"""Load the CRM-neutral generator's dataset into an org as Salesforce objects.

companies -> Account, contacts -> Contact (AccountId from contact-company),
deals -> Opportunity (won/lost/open -> Closed Won / Closed Lost / an open stage,
AccountId from deal-company) and one OpportunityContactRole per deal-contact
pair, the first one primary (so ``Opportunity.ContactId`` is set). Records are
placed directly (they "already existed"), with CreatedDate from the generator.
In a multi-currency org (``Org.rates``) an opportunity carries the generator's
currency code when the org has it active (else the corporate currency).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from ..dataset import Dataset
from .schema import OPPORTUNITY_STAGES
from .store import Org

_OPEN_STAGES = [s for s, closed, _, _ in OPPORTUNITY_STAGES if not closed]
_STAGE = {s: (closed, won, prob) for s, closed, won, prob in OPPORTUNITY_STAGES}
_CHANNEL_TO_SOURCE = {
    "web_form": "Web",
    "cold_call": "Phone Inquiry",
    "partner": "Partner Referral",
    "referral": "Partner Referral",
    "import": "Purchased List",
}


#: The generator's salutations as Salesforce's standard picklist values ("" -> none).
_SALUTATION = {"Mr": "Mr.", "Ms": "Ms.", "Mx": "Mx.", "Dr": "Dr.", "Prof": "Prof."}


def _stamp(org: Org, obj: str, rid: str, when: datetime) -> None:
    rec = org.records[obj][rid]
    rec["CreatedDate"] = rec["LastModifiedDate"] = rec["SystemModstamp"] = when


def load_dataset(org: Org, ds: Dataset) -> dict[str, dict[int, str]]:
    """Insert the dataset; returns generator id -> Salesforce Id per kind."""
    ids: dict[str, dict[int, str]] = {"company": {}, "contact": {}, "deal": {}}
    with org.lock:
        for c in ds.companies:
            ids["company"][c.id] = org.put_new(
                "Account",
                {
                    "Name": c.name,
                    "Industry": c.industry,
                    "BillingCountry": c.country,
                    "Website": f"https://{c.domain}",
                },
            )
        company_of = dict(ds.contact_company)
        for p in ds.contacts:
            comp = company_of.get(p.id)
            rid = org.put_new(
                "Contact",
                {
                    "FirstName": p.first_name,
                    "LastName": p.last_name,
                    "Name": f"{p.first_name} {p.last_name}",
                    "Email": p.email,
                    "MailingCountry": p.country,
                    "Salutation": _SALUTATION.get(p.salutation),
                    "MailingStreet": p.street,
                    "MailingPostalCode": p.postal_code,
                    "MailingCity": p.city,
                    "LeadSource": _CHANNEL_TO_SOURCE.get(p.channel, "Other"),
                    "AccountId": ids["company"].get(comp) if comp else None,
                },
            )
            _stamp(org, "Contact", rid, p.created)
            ids["contact"][p.id] = rid
        deal_company = dict(ds.deal_company)
        for d in ds.deals:
            stage = {"won": "Closed Won", "lost": "Closed Lost"}.get(
                d.stage, _OPEN_STAGES[d.id % len(_OPEN_STAGES)]
            )
            closed, won, prob = _STAGE[stage]
            comp = deal_company.get(d.id)
            rid = org.put_new(
                "Opportunity",
                {
                    "Name": d.name,
                    "Amount": d.amount,
                    "CloseDate": d.close_date,
                    "StageName": stage,
                    "IsClosed": closed,
                    "IsWon": won,
                    "Probability": Decimal(prob),
                    "Type": "New Customer",
                    **(
                        {
                            "CurrencyIsoCode": d.currency
                            if d.currency in org.rates
                            else org.corporate_currency
                        }
                        if org.rates is not None
                        else {}
                    ),
                    "AccountId": ids["company"].get(comp) if comp else None,
                },
            )
            _stamp(org, "Opportunity", rid, d.created)
            ids["deal"][d.id] = rid
        seen: set[str] = set()
        for deal_id, contact_id in ds.deal_contact:
            opp, contact = ids["deal"][deal_id], ids["contact"][contact_id]
            primary = opp not in seen
            seen.add(opp)
            role = org.put_new(
                "OpportunityContactRole",
                {
                    "OpportunityId": opp,
                    "ContactId": contact,
                    "IsPrimary": primary,
                    "Role": "Decision Maker" if primary else "Influencer",
                },
            )
            when = org.records["Opportunity"][opp]["CreatedDate"]
            _stamp(org, "OpportunityContactRole", role, when)
            if primary:
                org.records["Opportunity"][opp]["ContactId"] = contact
    return ids
