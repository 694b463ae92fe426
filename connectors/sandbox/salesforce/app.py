"""``SalesforceStandIn``: the Salesforce REST / Bulk 2.0 / Tooling stand-in on the shared server.

Usage (see ``tests/sandbox_salesforce/conftest.py``)::

    with SalesforceStandIn(seed=7, contacts=300) as sf_server:
        sf = sf_server.client()                      # simple_salesforce.Salesforce, direct session
        sf_server.expire_sessions()                  # next call: 401 INVALID_SESSION_ID
        sf_server.lock_next_writes(1)                # next record write: UNABLE_TO_LOCK_ROW
        sf_server.faults.error_burst(2, status=503)  # shared fault injection
        sf_server.log.count("GET", r"/query/")       # shared request log

Handlers raise ``SfError``; one wrapper here renders every error as Salesforce's
JSON array, tracks the request for the concurrent long-request limit, and
applies ``hold_requests`` delays *inside* the request (so they count as running).
Those delays, how long a request has run and how long a session lives are
counted on ``timing`` (real time unless a test hands in a fake clock).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from .._server import Request, Response, Route, Router, SandboxServer, StandIn
from ..generator import generate
from . import bulk2, collections, rest, tooling
from .auth import Auth, Credentials
from .common import State, json_response
from .errors import RecordError, SfError
from .limits import Limits, RealTime, Timing
from .schema import FieldDef
from .seed import load_dataset
from .store import Org
from .tooling import field_from_metadata
from .writes import delete, insert, update

if TYPE_CHECKING:
    import requests
    from simple_salesforce import Salesforce

API_VERSION = "59.0"
MAX_URI_AND_HEADERS = 16_384
_CODES = {
    404: "NOT_FOUND",
    500: "UNKNOWN_EXCEPTION",
    503: "SERVER_UNAVAILABLE",
    429: "REQUEST_LIMIT_EXCEEDED",
    502: "UNKNOWN_EXCEPTION",
    504: "UNKNOWN_EXCEPTION",
}


def error_body(status: int, message: str) -> Response:
    """Injected faults and unrouted paths, in Salesforce's error envelope."""
    code = _CODES.get(status, "UNKNOWN_EXCEPTION")
    return json_response([{"message": message, "errorCode": code}], status)


class _LostResponse(Exception):
    """Raised while the answer is being written: the server closes the connection."""


class _Lost(Response):
    """An answer that never leaves the server (see ``lose_responses``)."""

    def __init__(self, status: int) -> None:
        super().__init__(status, None, {}, "application/json")

    def encoded(self) -> bytes:
        raise _LostResponse("response lost on purpose")


class SalesforceStandIn(StandIn):
    """A Salesforce org on ``https://127.0.0.1:<port>`` with seeded data and injectable faults."""

    def __init__(
        self,
        *,
        port: int = 0,
        seed: int = 0,
        contacts: int = 0,
        daily_api_max: int = 15_000,
        max_long_requests: int = 5,
        long_request_seconds: float = 20.0,
        credentials: Credentials | None = None,
        as_of: date | None = None,
        clock: Callable[[], datetime] | None = None,
        currencies: dict[str, Decimal] | None = None,
        org_id: str | None = None,
        timing: Timing | None = None,
    ) -> None:
        """``currencies`` (ISO code -> rate per corporate unit, the corporate one at 1)
        makes a multi-currency org: opportunities then carry the generator's currency.

        ``timing``: the monotonic clock and sleep of the org's own waits (held requests,
        the long-running count, session lifetimes); real time by default. It is never
        the client's clock: the org keeps its own time."""
        self.timing: Timing = timing or RealTime()
        self.org = Org(clock=clock) if clock is not None else Org()
        if org_id is not None:
            self.org.org_id = org_id
            credentials = credentials or Credentials()
            credentials.org_id = org_id
        self.auth = Auth(
            credentials,
            identity=(self.org.org_id, self.org.api_user_id),
            clock=self.timing.monotonic,
        )
        self.limits = Limits(
            daily_max=daily_api_max,
            long_seconds=long_request_seconds,
            max_long=max_long_requests,
            clock=self.timing.monotonic,
        )
        self.state = State(self.org, self.auth, self.limits)
        self._holds: list[list[Any]] = []
        self._losses: list[list[Any]] = []
        #: (method, path) of every request whose answer ``lose_responses`` threw away.
        self.lost: list[tuple[str, str]] = []
        self._holds_lock = threading.Lock()
        router = Router()
        router.add("POST", r"/services/oauth2/token", self._token, "oauth token")
        router.add("GET", r"/services/data/?", self._versions, "versions")
        rest.register(router, self.state)
        collections.register(router, self.state)
        bulk2.register(router, self.state)
        tooling.register(router, self.state)
        router.routes = [
            Route(r.method, r.pattern, self._wrap(r.handler), r.name) for r in router.routes
        ]
        self.server = SandboxServer(
            router,
            port=port,
            error_body=error_body,
            before=self._before,
            after=self._after,
            fault_seed=seed,
        )
        self.ids: dict[str, dict[int, str]] = {}
        if currencies is not None:
            corporate = next(k for k, v in currencies.items() if v == 1)
            self.org.enable_multi_currency(currencies, corporate=corporate)
        if contacts:
            self.ids = load_dataset(self.org, generate(seed=seed, contacts=contacts, as_of=as_of))

    # ----- lifecycle ------------------------------------------------------------------------
    def start(self) -> SalesforceStandIn:
        self.server.start()
        self.state.instance_url = self.server.base_url
        return self

    def __enter__(self) -> SalesforceStandIn:
        return self.start()

    # ----- what a client needs (ca_path, log, faults: StandIn) --------------------------------
    @property
    def instance_url(self) -> str:
        return self.server.base_url

    @property
    def credentials(self) -> Credentials:
        return self.auth.creds

    def new_session_id(self) -> str:
        return self.auth.issue()

    def requests_session(self) -> requests.Session:
        """A session that trusts only the stand-in's CA and sends ``*.salesforce.com`` here.

        ``trust_env`` is off because ``REQUESTS_CA_BUNDLE`` would otherwise replace
        ``verify`` (notes §1); any other non-loopback host is refused outright.
        """
        import requests

        from ._loopback import LoopbackAdapter

        session = requests.Session()
        session.trust_env = False
        session.verify = self.ca_path
        session.mount("https://", LoopbackAdapter(self.server.port))
        session.mount("http://", LoopbackAdapter(self.server.port))
        return session

    def client(self, **kwargs: Any) -> Salesforce:
        """simple-salesforce on a fresh session id (the ``direct`` branch: no re-login)."""
        from simple_salesforce import Salesforce

        return Salesforce(
            instance_url=self.instance_url,
            session_id=self.auth.issue(),
            session=self.requests_session(),
            **kwargs,
        )

    # ----- Salesforce-specific faults -------------------------------------------------------
    def expire_sessions(self) -> None:
        """Every issued session id now gets 401 INVALID_SESSION_ID."""
        self.auth.expire_all()

    def expire_query_cursors(self) -> None:
        """Open query locators vanish (as after their 2-day life): INVALID_QUERY_LOCATOR."""
        with self.state.lock:
            self.state.cursors.clear()

    def lock_rows(self, *ids: str) -> None:
        """Writes to these records fail with UNABLE_TO_LOCK_ROW until ``unlock_rows``."""
        with self.org.lock:
            self.org.locked_ids.update(ids)

    def unlock_rows(self) -> None:
        with self.org.lock:
            self.org.locked_ids.clear()
            self.org.lock_next_writes = 0

    def lock_next_writes(self, n: int) -> None:
        """The next ``n`` record writes (any path) fail with UNABLE_TO_LOCK_ROW."""
        with self.org.lock:
            self.org.lock_next_writes = n

    def reset_faults(self) -> None:
        """Clear shared faults, row locks and held requests (sessions stay as they are)."""
        self.faults.reset()
        self.unlock_rows()
        with self._holds_lock:
            self._holds.clear()
            self._losses.clear()

    def time_out_queries_above(self, rows: int | None) -> None:
        """An ordered REST query that returns more than ``rows`` rows answers 400
        ``QUERY_TIMEOUT`` (an unfiltered ``ORDER BY`` over a big object); ``None`` ends it."""
        self.state.query_timeout_rows = rows

    def disable_bulk_api(self, disabled: bool = True) -> None:
        """The org has no Bulk API: every job create answers ``API_DISABLED_FOR_ORG``."""
        self.state.bulk_disabled = disabled

    def lose_responses(self, n: int, path: str, method: str | None = None) -> None:
        """The next ``n`` matching requests are *carried out* (a create commits), then the
        connection closes before any answer: the client sees a dropped connection and
        cannot know whether its write happened -- a lost response."""
        with self._holds_lock:
            self._losses.append([n, re.compile(path), method])

    def _take_loss(self, method: str, path: str) -> bool:
        with self._holds_lock:
            for i, loss in enumerate(self._losses):
                if loss[1].search(path) and (loss[2] is None or loss[2] == method):
                    loss[0] -= 1
                    if loss[0] <= 0:
                        self._losses.pop(i)
                    self.lost.append((method, path))
                    return True
        return False

    def hold_requests(
        self, n: int, seconds: float, path: str | None = None, *, soql: str | None = None
    ) -> None:
        """The next ``n`` matching requests run ``seconds`` longer *inside* the server.

        ``path`` is searched in the request's path; ``soql`` in a REST query's SOQL
        (its ``q`` parameter), so a test can hold the record queries of a pull and
        let its ``COUNT()`` and permission checks through."""
        with self._holds_lock:
            self._holds.append(
                [n, seconds, re.compile(path) if path else None, re.compile(soql) if soql else None]
            )

    # ----- direct data changes for tests (bypass FLS; stamp SystemModstamp) -----------------
    def insert(self, sobject: str, *, created_by: str | None = None, **fields: Any) -> str:
        """A record made outside the API user (``created_by``: e.g. ``org.admin_user_id``,
        as when an admin makes it by hand in Setup)."""
        rid = insert(self.org, sobject, fields, as_api_user=False)
        if created_by is not None:
            with self.org.lock:
                rec = self.org.records[sobject][rid]
                rec["CreatedById"] = rec["LastModifiedById"] = created_by
        return rid

    def update(self, record_id: str, **fields: Any) -> None:
        update(self.org, None, record_id, fields, as_api_user=False)

    def delete(self, record_id: str) -> None:
        delete(self.org, record_id)

    def add_won_opportunity(
        self,
        contact_id: str,
        amount: Decimal | str,
        close_date: date,
        *,
        name: str = "Sandbox deal",
        account_id: str | None = None,
    ) -> str:
        """A Closed Won opportunity whose primary contact role is ``contact_id``."""
        if account_id is None:
            found = self.org.find(contact_id)
            account_id = found[1].get("AccountId") if found else None
        return self.insert(
            "Opportunity",
            Name=name,
            StageName="Closed Won",
            Amount=Decimal(str(amount)),
            CloseDate=close_date,
            ContactId=contact_id,
            AccountId=account_id,
        )

    def add_custom_field(
        self, sobject: str, name: str, metadata: dict[str, Any], *, open_to_api_user: bool = True
    ) -> str:
        """Add a field as the Tooling API would; ``open_to_api_user`` skips the FLS step."""
        fd: FieldDef = field_from_metadata(name, metadata)
        return self.org.add_custom_field(sobject, fd, open_to_api_user=open_to_api_user)

    # ----- request plumbing -----------------------------------------------------------------
    def _token(self, req: Request) -> Response:
        status, body = self.auth.token(req.body, req.headers, self.instance_url)
        return json_response(body, status)

    def _versions(self, req: Request) -> Response:
        return json_response(
            [
                {
                    "label": "Winter '24",
                    "url": f"/services/data/v{API_VERSION}",
                    "version": API_VERSION,
                }
            ]
        )

    def _take_hold(self, req: Request) -> float:
        with self._holds_lock:
            for i, hold in enumerate(self._holds):
                if (hold[2] is None or hold[2].search(req.path)) and (
                    hold[3] is None or hold[3].search(" ".join(req.query.get("q", [])))
                ):
                    hold[0] -= 1
                    if hold[0] <= 0:
                        self._holds.pop(i)
                    return float(hold[1])
        return 0.0

    def _wrap(self, handler: Any) -> Any:
        def run(req: Request) -> Response:
            try:
                with self.limits.in_flight():
                    wait = self._take_hold(req)
                    if wait:
                        self.timing.sleep(wait)
                    response = handler(req)
                    if self._take_loss(req.method, req.path):
                        return _Lost(response.status)
                    return response
            except SfError as err:
                return json_response(err.body(), err.status)
            except RecordError as err:
                return json_response(
                    [{"message": err.message, "errorCode": err.status_code, "fields": err.fields}],
                    400,
                )

        return run

    def _before(self, req: Request) -> Response | None:
        if not req.path.startswith("/services/data/v"):
            return None
        try:
            uri = len(req.path) + 1 + len(urlencode(req.query, doseq=True))
            if uri > MAX_URI_AND_HEADERS:
                raise SfError(414, "URI_TOO_LONG", "URI Too Long")
            header_bytes = sum(len(k) + len(v) + 4 for k, v in req.headers.items())
            if uri + header_bytes > MAX_URI_AND_HEADERS:
                raise SfError(
                    431, "REQUEST_HEADER_FIELDS_TOO_LARGE", "Request Header Fields Too Large"
                )
            self.auth.check(req.headers)
            self.limits.count_call()
        except SfError as err:
            resp = json_response(err.body(), err.status)
            self._after(req, resp)
            return resp
        return None

    def _after(self, req: Request, resp: Response) -> None:
        if req.path.startswith("/services/data/v"):
            resp.headers["Sforce-Limit-Info"] = self.limits.header()
