"""``GET /account-info/v3/details``: which portal a token belongs to.

crmseg reads ``portalId`` to bind its state file to one account (FACTS.md,
"Account identity"). The answer carries the documented fields; the values
other than ``portalId`` are fixed sandbox defaults.
"""

from __future__ import annotations

from connectors.sandbox._server import Request, Response
from connectors.sandbox.hubspot.routing import Routes, fixed_scope
from connectors.sandbox.hubspot.state import State


def register(routes: Routes, state: State) -> None:
    def details(_req: Request) -> Response:
        return Response(
            200,
            {
                "portalId": state.portal_id,
                "accountType": "STANDARD",
                "timeZone": "Europe/Berlin",
                "companyCurrency": "EUR",
                "additionalCurrencies": [],
                "utcOffset": "+01:00",
                "utcOffsetMilliseconds": 3600000,
                "uiDomain": "app.hubspot.com",
                "dataHostingLocation": "na1",
            },
        )

    # Any valid token may read it: the documented scope is ``oauth``, which every
    # private-app and OAuth token carries.
    routes.add("GET", r"/account-info/v3/details", details, "account-info.details", fixed_scope())
