"""``amount_in_home_currency``: a deal's amount in the portal's company currency.

Why apart from the store: HubSpot calculates this read-only property from
``amount``, ``deal_currency_code`` and the portal's exchange rates (FACTS.md,
"Currencies"); the rule is one pure function the store applies whenever a deal
is created, updated or seeded.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Context, Decimal, InvalidOperation

_HOME = Context(prec=60)


def home_amount(
    props: Mapping[str, str | None], home_currency: str, rates: Mapping[str, Decimal]
) -> str | None:
    """``amount`` converted with the portal's rate of ``deal_currency_code`` (no code:
    the company currency), unrounded; empty when the amount is (FACTS.md)."""
    raw = props.get("amount")
    if raw is None:
        return None
    raw = str(raw).strip()
    if raw == "":
        return None
    code = props.get("deal_currency_code") or home_currency
    rate = rates.get(code)
    if rate is None:
        return None
    try:
        value = _HOME.multiply(Decimal(raw), rate)
    except InvalidOperation:
        return None
    return format(value.normalize(_HOME), "f") if value else "0"
