"""Transport: pacing, retries and the error table, against the sandbox through the real client."""

from __future__ import annotations

import glob
import importlib.metadata
import importlib.util
import os
import sys
import threading
from types import ModuleType

import hubspot
import pytest
import urllib3

from connectors.errors import (
    AuthError,
    BudgetExhausted,
    CertificateProblem,
    ConfigError,
    CrmError,
    PermissionDenied,
    RateLimited,
    ServerError,
    Timeout,
    Unreachable,
)
from connectors.hubspot import HubSpotConnector, HubSpotSettings, Transport
from connectors.hubspot.error_map import map_exception
from connectors.sandbox.hubspot import HubSpotStandIn, LimitConfig
from tests.fakeclock import FakeClock

from .conftest import settings_for, transport_for

SECRET = "pat-na1-do-not-leak-4242"


def list_one(t: Transport) -> object:
    api = t.api("crm.contacts.basic_api")
    return t.call("objects.list", api.get_page, limit=1)


def _exception_modules() -> list[ModuleType]:
    """Every ``exceptions`` module the client ships, under its own name. Each is read on
    its own (it imports only ``six``): importing its package would load every model and
    api of all sixty of them, seconds of work this test does not need."""
    root = os.path.dirname(hubspot.__file__)
    paths = glob.glob(os.path.join(root, "**", "exceptions.py"), recursive=True)
    named = {os.path.relpath(f, os.path.dirname(root))[:-3].replace(os.sep, "."): f for f in paths}
    modules = []
    for name in sorted(named):
        module = sys.modules.get(name)
        if module is None:
            spec = importlib.util.spec_from_file_location(name, named[name])
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        modules.append(module)
    return modules


# -- the error table ---------------------------------------------------------------


def test_every_hubspot_api_exception_class_is_mapped() -> None:
    modules = _exception_modules()
    assert len(modules) > 20  # contacts, lists, properties, associations, ...
    expected = {
        "ApiException": (429, RateLimited),
        "UnauthorizedException": (401, AuthError),
        "ForbiddenException": (403, PermissionDenied),
        "NotFoundException": (404, CrmError),
        "ServiceException": (503, ServerError),
    }
    for mod in modules:
        for name, (status, kind) in expected.items():
            cls = getattr(mod, name, None)
            if cls is None:
                continue
            mapped = map_exception(cls(status=status, reason="x"), "probe")
            assert type(mapped) is kind, f"{mod.__name__}.{name}"
            assert mapped.crm == "hubspot"


def test_status_zero_and_network_failures_are_retriable() -> None:
    from hubspot.crm.lists.exceptions import ApiException

    assert isinstance(map_exception(ApiException(status=0, reason="SSLError"), "x"), ServerError)
    assert isinstance(
        map_exception(
            urllib3.exceptions.ReadTimeoutError(None, "/x", "read timed out"),  # type: ignore[arg-type]
            "x",
        ),
        Timeout,
    )
    assert isinstance(
        map_exception(urllib3.exceptions.ProtocolError("Connection aborted."), "x"), Timeout
    )
    retries_exhausted = urllib3.exceptions.MaxRetryError(None, "/x")  # type: ignore[arg-type]
    assert isinstance(map_exception(retries_exhausted, "x"), Timeout)
    assert isinstance(map_exception(ConnectionResetError(104, "reset"), "x"), Timeout)
    assert map_exception(ValueError("not ours"), "x") is None


def test_other_4xx_carry_category_status_and_correlation_id(
    sandbox: HubSpotStandIn,
) -> None:
    t = transport_for(sandbox)
    api = t.api("crm.contacts.basic_api")
    with pytest.raises(CrmError) as err:
        t.call("objects.list", api.get_page, limit=500)
    e = err.value
    assert type(e) is CrmError
    assert (e.status, e.code, e.crm) == (400, "VALIDATION_ERROR", "hubspot")
    assert e.request_id
    assert "limit must be between 1 and 100" in str(e)
    assert t.calls["objects.list"] == 1  # not retried


def test_missing_record_is_object_not_found(sandbox: HubSpotStandIn) -> None:
    t = transport_for(sandbox)
    api = t.api("crm.deals.basic_api")
    with pytest.raises(CrmError) as err:
        t.call("objects.get", api.get_by_id, "999999")
    assert (err.value.status, err.value.code) == (404, "OBJECT_NOT_FOUND")


# -- auth and secrets ------------------------------------------------------------------


def test_bad_token_is_auth_error_without_the_token(sandbox: HubSpotStandIn) -> None:
    t = transport_for(sandbox, token=SECRET)
    with pytest.raises(AuthError) as err:
        list_one(t)
    assert err.value.status == 401
    assert SECRET not in str(err.value)
    assert SECRET not in repr(err.value)
    assert SECRET not in repr(t)
    assert t.calls["objects.list"] == 1


def test_missing_scope_is_permission_denied_naming_the_scope(sandbox: HubSpotStandIn) -> None:
    sandbox.add_token(SECRET, scopes={"crm.objects.companies.read"})
    connector = HubSpotConnector(transport_for(sandbox, token=SECRET))
    with pytest.raises(PermissionDenied) as err:
        list(connector.pull("contact", None))
    assert "crm.objects.contacts.read" in str(err.value)
    assert SECRET not in str(err.value)
    assert err.value.status == 403
    # the scope it has works
    assert [r.id for p in connector.pull("company", None) for r in p.records]


def test_from_env_requires_the_token(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="HUBSPOT_ACCESS_TOKEN is not set: create a private app"):
        Transport.from_env(HubSpotSettings())
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", SECRET)
    t = Transport.from_env(HubSpotSettings(host="https://127.0.0.1:1"))
    assert SECRET not in repr(t)


def test_from_env_connector_uses_the_sandbox_token(
    sandbox: HubSpotStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", sandbox.token)
    connector = HubSpotConnector.from_env(settings_for(sandbox), won_stages={"closedwon"})
    assert connector.name == "hubspot"
    assert connector.max_batch_size == 100
    assert connector.concurrency == 4
    assert sum(len(p.records) for p in connector.pull("company", None)) == len(
        sandbox.dataset.companies  # type: ignore[union-attr]
    )
    assert connector.api_calls() == {"objects.list": 1}


def test_any_callable_can_be_paced_and_mapped(sandbox: HubSpotStandIn) -> None:
    t = transport_for(sandbox)
    api = t.api("crm.contacts.basic_api")
    sandbox.faults.error_burst(1, 503)
    page = t.call("objects.list", lambda: api.get_page(limit=2))
    assert len(page.results) == 2
    assert t.calls["objects.list"] == 2


def test_api_objects_are_built_once(sandbox: HubSpotStandIn) -> None:
    t = transport_for(sandbox)
    assert t.api("crm.contacts.basic_api") is t.api("crm.contacts.basic_api")
    assert t.api("crm.contacts.basic_api") is not t.api("crm.deals.basic_api")


def test_every_api_object_sends_through_one_kept_alive_connection(
    sandbox: HubSpotStandIn,
) -> None:
    # the SDK alone gives each api object a pool (a connection and a TLS handshake) of its own
    t = transport_for(sandbox)
    list_one(t)
    t.call("objects.list", t.api("crm.deals.basic_api").get_page, limit=1)
    t.call("properties.list", t.api("crm.properties.core_api").get_all, "contacts")
    search = t.api("crm.contacts.search_api")
    t.call("objects.search", search.do_search, public_object_search_request={"limit": 1})
    list_one(t)
    assert sandbox.log.count(status=200) == 5
    assert sandbox.connections == 1


def test_the_user_agent_is_the_sdks_own(sandbox: HubSpotStandIn) -> None:
    seen: list[str | None] = []
    sandbox.add_fault_hook("ua", lambda request: seen.append(request.header("user-agent")))
    list_one(transport_for(sandbox))
    assert seen == [
        f"hubspot-api-client-python; {importlib.metadata.version('hubspot-api-client')}"
    ]


# -- retries -----------------------------------------------------------------------------


def test_a_429_storm_is_waited_out(sandbox: HubSpotStandIn) -> None:
    clock = FakeClock()
    t = Transport(sandbox.token, settings_for(sandbox), clock=clock)
    sandbox.faults.error_burst(3, 429)
    assert list_one(t) is not None
    assert t.calls["objects.list"] == 4
    assert (t.throttled, t.retries) == (3, 3)
    # no Retry-After: each wait is one window (0.2 s + 0 margin in these settings); the
    # limiter's hold for the same window has passed by then, so no wait is doubled
    assert clock.sleeps == [0.2, 0.2, 0.2]


def test_retry_after_header_sets_the_wait(sandbox: HubSpotStandIn) -> None:
    clock = FakeClock()
    t = Transport(sandbox.token, settings_for(sandbox), clock=clock)
    sandbox.faults.error_burst(2, 429, retry_after=0.3)
    list_one(t)
    assert clock.sleeps == [0.3, 0.3]


def test_503s_and_dropped_connections_are_survived(sandbox: HubSpotStandIn) -> None:
    t = transport_for(sandbox)
    sandbox.faults.error_burst(2, 503)
    list_one(t)
    sandbox.faults.drop_connections(2)
    list_one(t)
    assert t.calls["objects.list"] == 6
    assert t.retries == 4


def test_slow_response_times_out_and_is_retried(sandbox: HubSpotStandIn) -> None:
    t = transport_for(sandbox, timeout_seconds=0.3)
    sandbox.faults.slow_responses(1, 1.0)
    list_one(t)
    assert t.calls["objects.list"] == 2


def test_persistent_5xx_gives_up_with_the_last_error(sandbox: HubSpotStandIn) -> None:
    t = transport_for(sandbox, attempts=3)
    sandbox.faults.error_burst(10, 500)
    with pytest.raises(ServerError) as err:
        list_one(t)
    assert err.value.status == 500
    assert t.calls["objects.list"] == 3


# -- budgets and pacing ------------------------------------------------------------------


def test_daily_429_is_budget_exhausted_and_not_retried(sandbox: HubSpotStandIn) -> None:
    sandbox.limits.enabled = True
    sandbox.limits.daily = 2
    sandbox.limits.headers = False  # no headers: only the 429 can tell
    t = transport_for(sandbox, daily_reserve=0.0)
    list_one(t)
    list_one(t)
    with pytest.raises(BudgetExhausted, match="midnight in the portal's time zone"):
        list_one(t)
    assert t.calls["objects.list"] == 3


def test_daily_headers_stop_the_run_before_the_429(sandbox: HubSpotStandIn) -> None:
    sandbox.limits.enabled = True
    sandbox.limits.daily = 2
    t = transport_for(sandbox, daily_reserve=0.0)
    list_one(t)
    list_one(t)
    with pytest.raises(BudgetExhausted, match="only 0 of 2 daily API calls remain"):
        list_one(t)
    assert sandbox.log.count(status=429) == 0


def test_daily_reserve_stops_before_sending(sandbox: HubSpotStandIn) -> None:
    sandbox.limits.daily = 100  # limits disabled: headers only, never a 429
    t = transport_for(sandbox, daily_reserve=0.9)
    sent = 0
    with pytest.raises(BudgetExhausted) as err:
        for _ in range(20):
            list_one(t)
            sent += 1
    # remaining 90 after the 10th call: at the reserve of 90, the 11th is not sent
    assert sent == 10
    assert sandbox.log.count("GET", r"/crm/v3/objects/contacts") == 10
    assert "90 of 100" in str(err.value)


@pytest.mark.e2e  # real time on both sides: the stand-in counts its own window
def test_limiter_keeps_a_threaded_burst_under_the_real_limit() -> None:
    limits = LimitConfig(enabled=True, ten_secondly=20, window_seconds=1.0)
    with HubSpotStandIn(seed=3, contacts=5, limits=limits) as hs:
        t = Transport(
            hs.token,
            HubSpotSettings(
                host=hs.base_url,
                ssl_ca_cert=hs.ca_path,
                ten_secondly_limit=20,
                window_seconds=1.0,
                margin_seconds=0.25,
                timeout_seconds=10,
            ),
        )

        def worker() -> None:
            for _ in range(12):
                list_one(t)

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert hs.log.count(status=429) == 0
        assert hs.log.count(status=200) == 48
        assert t.throttled == 0
        assert t.limiters["standard"].waited_total > 0  # it did have to pace


def test_search_bucket_is_paced_separately() -> None:
    # one thread: client and stand-in share a fake clock, the waits are not spent
    clock = FakeClock()
    limits = LimitConfig(
        enabled=True, search_per_second=3, search_window_seconds=0.5, clock=clock.monotonic
    )
    with HubSpotStandIn(seed=3, contacts=5, limits=limits) as hs:
        t = Transport(
            hs.token,
            HubSpotSettings(
                host=hs.base_url,
                ssl_ca_cert=hs.ca_path,
                search_per_second=3,
                search_window_seconds=0.5,
                margin_seconds=0.1,
            ),
            clock=clock,
        )
        api = t.api("crm.contacts.search_api")
        body = {"filterGroups": [], "sorts": [], "properties": [], "limit": 1, "after": "0"}
        for _ in range(8):
            t.call(
                "objects.search", api.do_search, public_object_search_request=body, bucket="search"
            )
        assert hs.log.count(status=429) == 0
        assert t.calls["objects.search"] == 8
        assert t.limiters["search"].waited_total > 0 and clock.slept > 0  # it was paced
        assert t.limiters["standard"].waited_total == 0  # in its own bucket


def test_rate_headers_feed_the_daily_budget(sandbox: HubSpotStandIn) -> None:
    t = transport_for(sandbox)
    list_one(t)
    assert t.budget.limit == sandbox.limits.daily
    assert t.budget.remaining == sandbox.limits.daily - 1


# -- network failures are not timeouts ------------------------------------------------


def _closed_port() -> int:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = int(s.getsockname()[1])
    s.close()
    return port


def test_a_refused_connection_is_unreachable_after_two_quick_retries() -> None:
    url = f"https://127.0.0.1:{_closed_port()}"
    slept: list[float] = []
    t = Transport("token", HubSpotSettings(host=url, max_wait=30), sleep=slept.append)
    with pytest.raises(Unreachable) as err:
        list_one(t)
    assert url in str(err.value) and "refused" in str(err.value)
    assert t.calls["objects.list"] == 3  # the first try and two quick retries
    assert sum(slept) <= 1.0


def test_an_unknown_host_is_unreachable_and_names_the_url() -> None:
    conn = urllib3.connection.HTTPSConnection("no-such-host.invalid", 443)
    exc = urllib3.exceptions.NameResolutionError("no-such-host.invalid", conn, OSError("unknown"))
    mapped = map_exception(exc, "objects.list", "https://no-such-host.invalid")
    assert isinstance(mapped, Unreachable)
    assert "https://no-such-host.invalid" in str(mapped) and "unknown host" in str(mapped)
    assert mapped.code == "HOST_UNKNOWN"


def test_a_certificate_that_cannot_be_verified_names_ca_bundle(sandbox: HubSpotStandIn) -> None:
    import certifi

    t = transport_for(sandbox, ssl_ca_cert=certifi.where())  # a bundle without the sandbox CA
    with pytest.raises(CertificateProblem) as err:
        list_one(t)
    message = str(err.value)
    assert "ca_bundle" in message and sandbox.base_url in message
    assert "AttributeError" not in message
    assert t.calls["objects.list"] == 1  # not retried: it cannot get better by itself
