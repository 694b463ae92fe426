"""Auth, scopes and rate limits as the SDK surfaces them."""

from __future__ import annotations

import json

import pytest
from hubspot import HubSpot
from hubspot.crm.contacts import ApiException, PublicObjectSearchRequest
from hubspot.crm.contacts.exceptions import ForbiddenException, UnauthorizedException

from connectors.sandbox.hubspot import HubSpotStandIn
from tests.fakeclock import FakeClock

from .conftest import make_client


def test_wrong_token_is_401_invalid_authentication(sandbox: HubSpotStandIn) -> None:
    c = make_client(sandbox, access_token="pat-na1-wrong")
    with pytest.raises(UnauthorizedException) as e:
        c.crm.contacts.basic_api.get_page()
    body = json.loads(e.value.body)
    assert body["category"] == "INVALID_AUTHENTICATION" and body["correlationId"]
    assert e.value.headers["X-HubSpot-Correlation-Id"] == body["correlationId"]


def test_missing_scope_is_403_with_required_scopes(sandbox: HubSpotStandIn) -> None:
    sandbox.add_token("pat-na1-lists", {"crm.lists.read"})
    c = make_client(sandbox, access_token="pat-na1-lists")
    with pytest.raises(ForbiddenException) as e:
        c.crm.contacts.basic_api.get_page()
    body = json.loads(e.value.body)
    assert body["category"] == "MISSING_SCOPES"
    assert body["errors"][0]["context"]["requiredScopes"] == ["crm.objects.contacts.read"]
    assert c.crm.lists.lists_api.get_all() is not None


def test_rolling_window_answers_429_with_headers(sandbox: HubSpotStandIn) -> None:
    sandbox.limits.enabled, sandbox.limits.ten_secondly = True, 5
    c = make_client(sandbox)
    api = c.crm.contacts.basic_api
    data = api.get_page_with_http_info(limit=1)
    headers = data[2]
    assert headers["X-HubSpot-RateLimit-Max"] == "5"
    assert headers["X-HubSpot-RateLimit-Remaining"] == "4"
    assert headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    for _ in range(4):
        api.get_page(limit=1)
    with pytest.raises(ApiException) as e:
        c.crm.contacts.batch_api.read({"inputs": [], "properties": [], "propertiesWithHistory": []})
    body = json.loads(e.value.body)
    assert e.value.status == 429 and body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["errorType"] == "RATE_LIMIT"
    assert e.value.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert "Retry-After" not in e.value.headers


def test_window_rolls_over(sandbox: HubSpotStandIn) -> None:
    sandbox.limits.clock = clock = FakeClock()
    sandbox.limits.enabled, sandbox.limits.ten_secondly = True, 2
    api = make_client(sandbox).crm.contacts.basic_api
    api.get_page(limit=1)
    api.get_page(limit=1)
    clock.sleep(9.9)
    with pytest.raises(ApiException) as e:
        api.get_page(limit=1)
    assert e.value.status == 429
    clock.sleep(0.2)  # the first request has left the 10-second window
    assert api.get_page(limit=1) is not None


def test_search_has_own_bucket_without_headers(sandbox: HubSpotStandIn) -> None:
    sandbox.limits.clock = FakeClock().monotonic  # all six inside one window, however slow
    sandbox.limits.enabled = True
    c = make_client(sandbox)
    req = PublicObjectSearchRequest(filter_groups=[], sorts=[], properties=[], limit=1, after="0")
    for _ in range(5):
        _, status, headers = c.crm.contacts.search_api.do_search_with_http_info(req)
        assert status == 200 and "X-HubSpot-RateLimit-Max" not in headers
    with pytest.raises(ApiException) as e:
        c.crm.contacts.search_api.do_search(req)
    assert e.value.status == 429 and "X-HubSpot-RateLimit-Max" not in e.value.headers


def test_daily_limit_is_429_daily(sandbox: HubSpotStandIn) -> None:
    sandbox.limits.enabled, sandbox.limits.daily = True, 1
    api = make_client(sandbox).crm.contacts.basic_api
    api.get_page(limit=1)
    with pytest.raises(ApiException) as e:
        api.get_page(limit=1)
    assert json.loads(e.value.body)["policyName"] == "DAILY"


def test_retry_after_lets_urllib3_retry_gets(
    sandbox: HubSpotStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time
    import types

    import urllib3.util.retry

    # urllib3's retry sleeps on the stand-in's (fake) clock: the window passes at once
    clock = FakeClock()
    shim = types.SimpleNamespace(**{**vars(time), "sleep": clock.sleep})
    monkeypatch.setattr(urllib3.util.retry, "time", shim)
    sandbox.limits.clock = clock.monotonic
    sandbox.limits.enabled, sandbox.limits.ten_secondly = True, 1
    sandbox.limits.window_seconds, sandbox.limits.retry_after = 0.5, True
    api = make_client(sandbox).crm.contacts.basic_api
    api.get_page(limit=1)
    assert api.get_page(limit=1) is not None  # urllib3 slept Retry-After (1 s) and retried
    assert sandbox.log.count(status=429) == 1
    assert clock.sleeps == [1.0]


def test_limits_can_be_switched_off(client: HubSpot, sandbox: HubSpotStandIn) -> None:
    sandbox.limits.ten_secondly = 1
    for _ in range(3):
        client.crm.contacts.basic_api.get_page(limit=1)
