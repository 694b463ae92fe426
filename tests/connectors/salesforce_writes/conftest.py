"""Fixtures: a small Salesforce stand-in org and sessions pointed at it.

``session`` is the connector's real :class:`SalesforceSession` (client-credentials
login against the stand-in, one attempt per call so no retry hides a failure,
no-op sleep), with two test hooks: the endpoint names it was asked for, and a
callback run just before a named endpoint (to simulate a concurrent change).

``StandInSession`` is the smallest thing the write side accepts -- ``call``
handing the client to ``fn`` and turning simple-salesforce exceptions into
:class:`CrmError`, ``settings`` with the bulk threshold and the run-as ``user_id``: a test runs on it
to check the code needs nothing more.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError

from connectors.errors import CrmError
from connectors.salesforce.session import SalesforceSession
from connectors.salesforce.settings import SalesforceSettings
from connectors.sandbox.salesforce import SalesforceStandIn


class HookedSession(SalesforceSession):
    """The real session, recording endpoint names and running ``before`` hooks."""

    endpoints: list[str]
    before: dict[str, Callable[[], None]]

    def call(self, endpoint: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self.endpoints.append(endpoint)
        hook = self.before.pop(endpoint, None)
        if hook is not None:
            hook()
        return super().call(endpoint, fn, *args, **kwargs)

    def call_once(self, endpoint: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self.endpoints.append(endpoint)
        hook = self.before.pop(endpoint, None)
        if hook is not None:
            hook()
        return super().call_once(endpoint, fn, *args, **kwargs)


class StandInSession:
    def __init__(
        self, sf: Salesforce, *, bulk_ingest_threshold: int = 10_000, user_id: str = ""
    ) -> None:
        self.sf = sf
        self.user_id = user_id
        self.settings = SimpleNamespace(bulk_ingest_threshold=bulk_ingest_threshold)
        self.endpoints: list[str] = []

    def call(self, endpoint: str, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
        self.endpoints.append(endpoint)
        try:
            return fn(self.sf, *args, **kw)
        except SalesforceError as exc:
            content = exc.content
            first: dict[str, Any] = content[0] if isinstance(content, list) and content else {}
            raise CrmError(
                str(first.get("message") or exc),
                crm="salesforce",
                status=exc.status,
                code=first.get("errorCode"),
            ) from exc


@pytest.fixture
def sf_server() -> Iterator[SalesforceStandIn]:
    with SalesforceStandIn(seed=5, contacts=12) as server:
        yield server


@pytest.fixture
def session(sf_server: SalesforceStandIn) -> Iterator[HookedSession]:
    """Logged in already, with the server's log cleared, so tests count only their calls."""
    settings = SalesforceSettings(
        instance_url=sf_server.instance_url,
        client_id=sf_server.credentials.consumer_key,
        ca_bundle=sf_server.ca_path,
        attempts=1,
    )
    hooked = HookedSession(
        settings, sf_server.credentials.consumer_secret, sleep=lambda _seconds: None
    )
    hooked.endpoints, hooked.before = [], {}
    assert hooked.sf is not None  # logs in
    sf_server.log.clear()
    yield hooked
    hooked.close()


@pytest.fixture
def contact_ids(sf_server: SalesforceStandIn) -> list[str]:
    """The seeded contacts' ids, ascending."""
    return sorted(r["Id"] for r in sf_server.org.live("Contact"))
