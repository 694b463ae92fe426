"""``HubSpotStandIn``: wires store, handlers and gateway onto a :class:`SandboxServer`
and offers the Python API tests use to seed, mutate data and inject faults.

Usage::

    with HubSpotStandIn(seed=1, contacts=200) as hs:
        client = HubSpot(access_token=hs.token, host=hs.base_url, ssl_ca_cert=hs.ca_path)
        hs.limits.enabled = False
        hs.faults.error_burst(2, 503)
        hs.set_property("contacts", 5, "firstname", "Ada")
        hs.log.count(path="/search")
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from decimal import Decimal
from typing import Any

from connectors.sandbox._server import (
    FaultHook,
    HttpError,
    Request,
    Response,
    SandboxServer,
    StandIn,
)
from connectors.sandbox.dataset import Dataset
from connectors.sandbox.generator import generate
from connectors.sandbox.hubspot import (
    account,
    associations,
    currencies,
    lists,
    objects,
    properties,
    search,
)
from connectors.sandbox.hubspot.edges import Label
from connectors.sandbox.hubspot.errors import fault_body
from connectors.sandbox.hubspot.exports import register as register_exports
from connectors.sandbox.hubspot.imports import register as register_imports
from connectors.sandbox.hubspot.jobs import BulkConfig
from connectors.sandbox.hubspot.limits import Gateway, LimitConfig
from connectors.sandbox.hubspot.object_types import canonical
from connectors.sandbox.hubspot.routing import Routes
from connectors.sandbox.hubspot.search import SearchConfig
from connectors.sandbox.hubspot.seed import load
from connectors.sandbox.hubspot.state import PartialFailures, State

DEFAULT_TOKEN = "pat-na1-sandbox-0000"


class HubSpotStandIn(StandIn):
    """A running (after ``start()`` / ``with``) HubSpot stand-in on 127.0.0.1."""

    def __init__(
        self,
        *,
        port: int = 0,
        token: str = DEFAULT_TOKEN,
        scopes: set[str] | None = None,
        seed: int | None = None,
        contacts: int = 0,
        companies: int | None = None,
        deals: int | None = None,
        as_of: dt.date | None = None,
        limits: LimitConfig | None = None,
        search_config: SearchConfig | None = None,
        portal_id: int = 12345678,
        bulk: BulkConfig | None = None,
    ) -> None:
        self.token = token
        self.state = State(portal_id=portal_id)
        self.limits = limits or LimitConfig()
        self.search_config = search_config or SearchConfig()
        self.bulk = bulk or BulkConfig()
        self.tokens: dict[str, frozenset[str] | None] = {
            token: frozenset(scopes) if scopes is not None else None
        }
        routes = Routes()
        #: the search index (eventually consistent view of the store)
        self.search_index = search.register(routes, self.state, self.search_config)
        associations.register(routes, self.state)
        properties.register(routes, self.state)
        self.state.lists = lists.register(routes, self.state)
        objects.register(routes, self.state)
        account.register(routes, self.state)
        currencies.register(routes, self.state)
        self.exports = register_exports(routes, self.state, self.bulk)
        self.imports = register_imports(routes, self.state, self.bulk)
        self.gateway = Gateway(routes, self.limits, self.tokens, self.state.portal_id)
        self.server = SandboxServer(
            routes.router,
            port=port,
            error_body=fault_body,
            before=self.gateway.before,
            after=self.gateway.after,
        )
        self.dataset: Dataset | None = None
        #: (method, path, status) of requests carried out whose answers were lost.
        self.lost: list[tuple[str, str, int]] = []
        if seed is not None or contacts:
            self.seed(seed or 0, contacts=contacts, companies=companies, deals=deals, as_of=as_of)

    # -- lifecycle (start, stop, with, base_url, ca_path, log, faults): StandIn ----
    def start(self) -> HubSpotStandIn:
        self.server.start()
        return self

    def __enter__(self) -> HubSpotStandIn:
        return self.start()

    def stop(self) -> None:
        self.imports.stop()
        self.exports.close()
        super().stop()

    # -- data -------------------------------------------------------------------
    def seed(
        self,
        seed: int = 0,
        *,
        contacts: int = 100,
        companies: int | None = None,
        deals: int | None = None,
        as_of: dt.date | None = None,
    ) -> Dataset:
        """Generate a dataset (see ``generator.generate``) and load it."""
        self.dataset = generate(
            seed=seed, contacts=contacts, companies=companies, deals=deals, as_of=as_of
        )
        load(self.state.store, self.dataset)
        return self.dataset

    def create(self, object_type: str, properties: dict[str, Any]) -> int:
        """Create a record (values validated like a write); returns its id."""
        t = _type(object_type)
        values = self.state.schema.validate(t, properties)
        return self.state.store.create(t, values).id

    def set_property(self, object_type: str, record_id: int, name: str, value: Any) -> None:
        """Set one value; bumps the last-modified stamp like a UI edit."""
        self.update(object_type, record_id, {name: value})

    def update(self, object_type: str, record_id: int, properties: dict[str, Any]) -> None:
        t = _type(object_type)
        values = self.state.schema.validate(t, properties)
        self.state.store.update(t, record_id, values)

    def get(self, object_type: str, record_id: int) -> dict[str, str | None] | None:
        rec = self.state.store.get(_type(object_type), record_id)
        return dict(rec.props) if rec else None

    def add_won_deal(
        self,
        contact_id: int,
        amount: Decimal | str,
        close_date: dt.date,
        *,
        product_line: str = "Core",
        company_id: int | None = None,
        currency: str = "EUR",
    ) -> int:
        """A closed-won deal associated with a contact (and optionally a company)."""
        deal = self.create(
            "deals",
            {
                "dealname": f"Won deal for {contact_id}",
                "amount": str(amount),
                "closedate": f"{close_date.isoformat()}T00:00:00.000Z",
                "dealstage": "closedwon",
                "pipeline": "default",
                "product_line": product_line,
                "deal_currency_code": currency,
            },
        )
        self.associate("deals", deal, "contacts", contact_id)
        if company_id is not None:
            self.associate("deals", deal, "companies", company_id)
        return deal

    def associate(
        self,
        from_type: str,
        from_id: int,
        to_type: str,
        to_id: int,
        *,
        primary: bool = True,
        labels: dict[int, str] | None = None,
    ) -> None:
        """Associate two records; ``labels`` maps custom (``USER_DEFINED``) typeIds to
        their display text, e.g. ``{1: "Reference"}`` (typeIds may collide with
        HubSpot's own, as on real portals)."""
        self.state.store.associate(
            _type(from_type),
            from_id,
            _type(to_type),
            to_id,
            primary=primary,
            labels=tuple(Label(t, text) for t, text in (labels or {}).items()),
        )

    def archive(self, object_type: str, record_id: int) -> None:
        self.state.store.archive(_type(object_type), record_id)

    def merge(self, object_type: str, primary_id: int, merged_id: int) -> None:
        self.state.store.merge(_type(object_type), primary_id, merged_id)

    # -- auth, limits, faults ------------------------------------------------------
    def add_token(self, token: str, scopes: set[str] | None = None) -> None:
        """Another private-app token (its own 10-second bucket); ``scopes=None`` = all."""
        self.tokens[token] = frozenset(scopes) if scopes is not None else None

    def reset_limits(self) -> None:
        """Forget all counted requests (rolling windows, search bucket, daily)."""
        self.gateway.reset()

    def fail_batch_inputs(
        self,
        *,
        batches: int = 1,
        ids: set[str] | None = None,
        every: int = 0,
        category: str = "VALIDATION_ERROR",
        message: str = "Injected partial failure",
    ) -> None:
        """Make the next ``batches`` batch update/upsert calls answer 207 with per-input
        errors for the given ``ids`` and/or every ``every``-th input."""
        self.state.partial = PartialFailures(
            batches, frozenset(ids or ()), every, category, message
        )

    def lose_responses(self, n: int, path: str, method: str = "POST") -> None:
        """The next ``n`` matching requests are carried out, then the connection
        closes before the answer is sent: the client sees a dropped connection
        for a write that happened (a lost create response)."""
        rx = re.compile(path)
        left = [n]
        lock = threading.Lock()

        def hook(request: Request) -> Response | None:
            if request.method != method.upper() or not rx.search(request.path):
                return None
            with lock:
                if left[0] <= 0:
                    return None
                left[0] -= 1
            resolved = self.server.router.resolve(request.method, request.path)
            if resolved is None:
                return None
            try:
                answer = resolved[0].handler(request)
            except HttpError as err:
                answer = err.response
            self.lost.append((request.method, request.path, answer.status))
            return _Lost(answer.status)

        self.faults.add_hook(f"lose:{method}:{path}:{id(hook)}", hook)

    def add_fault_hook(self, name: str, hook: FaultHook) -> None:
        self.faults.add_hook(name, hook)

    def client_settings(self) -> dict[str, str]:
        """Keyword arguments for ``hubspot.HubSpot(**...)``."""
        return {"access_token": self.token, "host": self.base_url, "ssl_ca_cert": self.ca_path}


class _Lost(Response):
    """An answer that never leaves: encoding it fails, so the server closes the
    connection without a byte of response."""

    def encoded(self) -> bytes:
        raise ConnectionAbortedError("response lost on purpose")


def _type(object_type: str) -> str:
    t = canonical(object_type)
    if t is None:
        raise ValueError(f"unknown object type {object_type!r}")
    return t
