"""The portal's currency settings: its company currency and exchange rates.

HubSpot's Settings API | Currencies (``/settings/v3/currencies/...``) reports the
company currency ("used in deal totals, reports, and the default currency for
new deals") and the rates of the other account currencies against it; deals
carry ``amount_in_home_currency``, the amount converted with those rates (see
``FACTS.md``).
"""

from __future__ import annotations

from connectors.sandbox._server import Request, Response
from connectors.sandbox.hubspot.routing import Routes
from connectors.sandbox.hubspot.state import State


def register(routes: Routes, state: State) -> None:
    store = state.store

    def company_currency(req: Request) -> Response:
        return Response(200, {"currencyCode": store.home_currency})

    def exchange_rates(req: Request) -> Response:
        rates = [
            {
                "fromCurrencyCode": code,
                "toCurrencyCode": store.home_currency,
                "conversionRate": str(rate),
                "visibleInUI": True,
            }
            for code, rate in sorted(store.exchange_rates.items())
            if code != store.home_currency
        ]
        return Response(200, {"results": rates})

    def scopes(req: Request) -> list[list[str]]:
        return [["settings.currencies.read", "settings.currencies.write"]]

    base = r"/settings/v3/currencies"
    routes.add("GET", base + "/company-currency", company_currency, "currencies.company", scopes)
    routes.add("GET", base + "/exchange-rates", exchange_rates, "currencies.rates", scopes)
