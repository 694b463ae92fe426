"""SalesforceSession: OAuth logins, secrets from the environment, renewal, retries,
the daily reserve and the error table -- against the stand-in through simple-salesforce."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests
from simple_salesforce.exceptions import (
    SalesforceAuthenticationFailed,
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceOperationError,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)

from connectors.errors import (
    AuthError,
    BudgetExhausted,
    ConfigError,
    CrmError,
    PermissionDenied,
    RateLimited,
    SchemaMismatch,
    ServerError,
    Timeout,
)
from connectors.salesforce import SalesforceConnector, SalesforceSession, SalesforceSettings
from connectors.salesforce.session import map_exception
from connectors.sandbox.salesforce import SalesforceStandIn
from tests.connectors.salesforce.conftest import session_for, settings_for

TOKEN = r"^/services/oauth2/token$"
COUNT_CONTACTS = "SELECT Id FROM Contact"


def _total(session: SalesforceSession) -> int:
    return int(session.call("query", lambda sf: sf.query(COUNT_CONTACTS))["totalSize"])


# -- logging in ----------------------------------------------------------------------------
def test_client_credentials_login_gives_a_working_client(
    sf_server: SalesforceStandIn, session: SalesforceSession
) -> None:
    assert _total(session) == 60
    assert session.calls_snapshot() == {"oauth.token": 1, "query": 1}
    assert sf_server.log.count("POST", TOKEN, status=200) == 1
    assert session.base_url == f"{sf_server.instance_url}/services/data/v62.0"


def test_jwt_bearer_login_signs_with_the_private_key(sf_server: SalesforceStandIn) -> None:
    creds = sf_server.credentials
    session = SalesforceSession(
        settings_for(sf_server, auth="jwt", username=creds.username),
        private_key=creds.private_key_pem,
        sleep=lambda _s: None,
    )
    assert _total(session) == 60
    session.close()


def test_jwt_key_is_read_from_the_file_named_in_the_environment(
    sf_server: SalesforceStandIn, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    creds = sf_server.credentials
    key = tmp_path / "server.key"
    key.write_text(creds.private_key_pem, encoding="utf-8")
    monkeypatch.setenv("SALESFORCE_PRIVATE_KEY_FILE", str(key))
    monkeypatch.setenv("SALESFORCE_CLIENT_ID", creds.consumer_key)
    settings = settings_for(sf_server, auth="jwt", username=creds.username, client_id=None)
    session = SalesforceSession.from_env(settings, sleep=lambda _s: None)
    assert _total(session) == 60
    session.close()


def test_client_secret_comes_from_the_environment(
    sf_server: SalesforceStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALESFORCE_CLIENT_SECRET", sf_server.credentials.consumer_secret)
    connector = SalesforceConnector.from_env(settings_for(sf_server), sleep=lambda _s: None)
    assert _total(connector.session) == 60
    connector.session.close()


@pytest.mark.parametrize(
    ("auth", "missing"),
    [("client_credentials", "SALESFORCE_CLIENT_SECRET"), ("jwt", "SALESFORCE_PRIVATE_KEY")],
)
def test_missing_secret_is_a_config_error_naming_the_variable(
    sf_server: SalesforceStandIn, auth: str, missing: str
) -> None:
    settings = settings_for(sf_server, auth=auth, username="someone@example.com")
    with pytest.raises(ConfigError, match=missing):
        SalesforceSession.from_env(settings)
    assert len(sf_server.log.entries) == 0


def test_missing_client_id_is_a_config_error_naming_the_variable(
    sf_server: SalesforceStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SALESFORCE_CLIENT_SECRET", "x")
    with pytest.raises(ConfigError, match="SALESFORCE_CLIENT_ID"):
        SalesforceSession.from_env(settings_for(sf_server, client_id=None))


def test_a_wrong_secret_is_an_auth_error_that_never_shows_the_secret(
    sf_server: SalesforceStandIn,
) -> None:
    secret = "wrong-but-still-secret-3f9a"
    session = SalesforceSession(settings_for(sf_server), secret, sleep=lambda _s: None)
    with pytest.raises(AuthError) as exc:
        _total(session)
    assert exc.value.code == "invalid_client"
    assert "SALESFORCE_CLIENT_SECRET" in str(exc.value)
    for text in (str(exc.value), repr(exc.value), repr(session)):
        assert secret not in text
    session.close()


def test_repr_and_errors_never_show_the_secret_or_session_id(
    sf_server: SalesforceStandIn, session: SalesforceSession
) -> None:
    _total(session)
    sid = session.sf.session_id
    secret = sf_server.credentials.consumer_secret
    with pytest.raises(SchemaMismatch) as exc:
        session.call(
            "query", lambda sf: sf.query(f"SELECT Id, Nope__c FROM Contact WHERE Name = '{sid}'")
        )
    for text in (str(exc.value), repr(session), repr(SalesforceConnector(session))):
        assert sid not in text and secret not in text


# -- renewal and retries ---------------------------------------------------------------------
def test_an_expired_session_is_renewed_once_and_the_call_repeated(
    sf_server: SalesforceStandIn, session: SalesforceSession
) -> None:
    _total(session)
    first = session.sf
    sf_server.expire_sessions()
    assert _total(session) == 60
    assert session.sf is not first
    assert session.renewals == 1
    assert sf_server.log.count("POST", TOKEN) == 2


def test_a_session_refused_right_after_renewal_is_an_auth_error(
    sf_server: SalesforceStandIn, session: SalesforceSession
) -> None:
    from connectors.sandbox.salesforce.common import json_response

    _total(session)
    body = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    sf_server.faults.add_hook(
        "always-401",
        lambda req: json_response(body, 401) if req.path.startswith("/services/data/") else None,
    )
    with pytest.raises(AuthError):
        _total(session)
    assert sf_server.log.count("POST", TOKEN) == 2  # one renewal, no loop


def test_server_unavailable_is_retried(
    sf_server: SalesforceStandIn, session: SalesforceSession
) -> None:
    _total(session)
    sf_server.faults.error_burst(2, status=503, path=r"/query/")
    assert _total(session) == 60
    assert session.retries == 2


def test_a_dropped_connection_is_retried(
    sf_server: SalesforceStandIn, session: SalesforceSession
) -> None:
    _total(session)
    sf_server.faults.drop_connections(1, path=r"/query/")
    assert _total(session) == 60
    assert session.retries == 1


def test_unable_to_lock_row_is_retried(
    sf_server: SalesforceStandIn, session: SalesforceSession
) -> None:
    contact = sorted(sf_server.ids["contact"].values())[0]
    sf_server.lock_next_writes(1)
    session.call("update", lambda sf: sf.Contact.update(contact, {"Title": "CFO"}))
    assert session.retries == 1
    assert sf_server.org.records["Contact"][contact]["Title"] == "CFO"


def test_retries_end_with_the_mapped_error(
    sf_server: SalesforceStandIn,
) -> None:
    session = session_for(sf_server, attempts=3)
    _total(session)
    sf_server.faults.error_burst(5, status=503, path=r"/query/")
    with pytest.raises(ServerError) as exc:
        _total(session)
    assert exc.value.status == 503 and exc.value.code == "SERVER_UNAVAILABLE"
    assert session.calls_snapshot()["query"] == 1 + 3
    session.close()


# -- the daily allocation --------------------------------------------------------------------
def test_the_daily_reserve_stops_the_run_before_the_allocation_is_used_up() -> None:
    with SalesforceStandIn(seed=7, contacts=5, daily_api_max=20) as server:
        session = session_for(server, daily_reserve=0.25)
        with pytest.raises(BudgetExhausted) as exc:
            for _ in range(40):
                _total(session)
        assert server.limits.used == 15  # 5 of 20 left: the reserve
        assert "15 of 20 requests used" in str(exc.value)
        assert "the last 5 (25%" in str(exc.value) and exc.value.code == "DAILY_BUDGET"
        session.close()


def test_the_orgs_request_limit_is_budget_exhausted_not_retried() -> None:
    with SalesforceStandIn(seed=7, contacts=5, daily_api_max=2) as server:
        session = session_for(server, daily_reserve=0.0)
        _total(session)
        _total(session)
        with pytest.raises(BudgetExhausted) as exc:
            _total(session)
        assert exc.value.code in ("REQUEST_LIMIT_EXCEEDED", "DAILY_BUDGET")
        assert session.retries == 0
        session.close()


# -- the error table -------------------------------------------------------------------------
def _sf_error(cls: type, status: int, code: str, message: str = "m") -> Any:
    return cls(
        "https://x/services/data/v62.0/query/",
        status,
        "query",
        [{"errorCode": code, "message": message}],
    )


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (SalesforceAuthenticationFailed("invalid_grant", "bad"), AuthError),
        (_sf_error(SalesforceExpiredSession, 401, "INVALID_SESSION_ID"), AuthError),
        (_sf_error(SalesforceRefusedRequest, 403, "REQUEST_LIMIT_EXCEEDED"), BudgetExhausted),
        (
            _sf_error(
                SalesforceRefusedRequest, 403, "REQUEST_LIMIT_EXCEEDED", "ConcurrentPerOrgLongTxn"
            ),
            RateLimited,
        ),
        (_sf_error(SalesforceRefusedRequest, 403, "INSUFFICIENT_ACCESS"), PermissionDenied),
        (_sf_error(SalesforceMalformedRequest, 400, "UNABLE_TO_LOCK_ROW"), ServerError),
        (_sf_error(SalesforceMalformedRequest, 400, "INVALID_FIELD"), SchemaMismatch),
        (_sf_error(SalesforceMalformedRequest, 400, "INVALID_TYPE"), SchemaMismatch),
        (_sf_error(SalesforceMalformedRequest, 400, "QUERY_TIMEOUT"), CrmError),
        (_sf_error(SalesforceMalformedRequest, 400, "MALFORMED_QUERY"), CrmError),
        (_sf_error(SalesforceResourceNotFound, 404, "NOT_FOUND"), CrmError),
        (_sf_error(SalesforceMoreThanOneRecord, 300, "MULTIPLE"), CrmError),
        (_sf_error(SalesforceGeneralError, 503, "SERVER_UNAVAILABLE"), ServerError),
        (_sf_error(SalesforceGeneralError, 500, "UNKNOWN_EXCEPTION"), ServerError),
        (_sf_error(SalesforceGeneralError, 429, "REQUEST_LIMIT_EXCEEDED"), RateLimited),
        (_sf_error(SalesforceGeneralError, 409, "CONFLICT"), CrmError),
        (SalesforceOperationError("Job failure"), CrmError),
        (requests.ReadTimeout("slow"), Timeout),
        (requests.ConnectionError("reset"), Timeout),
    ],
)
def test_every_client_exception_maps_to_exactly_one_crmseg_error(
    exc: BaseException, expected: type
) -> None:
    mapped = map_exception(exc, "query")
    assert type(mapped) is expected
    assert mapped is not None and mapped.crm == "salesforce"


def test_error_codes_are_kept_for_the_caller(
    sf_server: SalesforceStandIn, session: SalesforceSession
) -> None:
    with pytest.raises(CrmError) as exc:
        session.call("query", lambda sf: sf.query("SELECT FROM"))
    assert exc.value.code == "MALFORMED_QUERY" and exc.value.status == 400


def test_the_raw_request_helper_reaches_routes_outside_the_library(
    sf_server: SalesforceStandIn, session: SalesforceSession
) -> None:
    resp = session.request("limits", "GET", "limits/")
    assert resp.json()["DailyApiRequests"]["Max"] == 15_000
    assert session.budget.limit == 15_000
    sf_server.expire_sessions()
    assert session.request("limits", "GET", "limits/").status_code == 200
    assert session.renewals == 1


def test_a_429_waits_as_long_as_retry_after_says_capped_at_max_wait(
    sf_server: SalesforceStandIn,
) -> None:
    waits: list[float] = []
    session = SalesforceSession(
        settings_for(sf_server, max_wait=45),
        sf_server.credentials.consumer_secret,
        sleep=waits.append,
    )
    _total(session)
    sf_server.faults.error_burst(1, status=429, retry_after=7, path=r"/query/")
    sf_server.faults.error_burst(1, status=429, retry_after=600, path=r"/query/")
    sf_server.faults.error_burst(1, status=429, path=r"/query/")

    assert _total(session) == 60

    assert waits == [7.0, 45.0, 20.0]  # as told; capped; no header: the default wait
    session.close()


# -- timeouts per operation ----------------------------------------------------------------
def test_a_slow_but_fine_write_is_waited_for_not_repeated(sf_server: SalesforceStandIn) -> None:
    session = session_for(sf_server, timeout_seconds=0.3, write_timeout=10, attempts=3)
    contact = sorted(sf_server.ids["contact"].values())[0]
    _total(session)
    sf_server.hold_requests(1, 0.6, path=r"/composite/sobjects$")  # triggers and flows run
    body = {
        "allOrNone": False,
        "records": [{"attributes": {"type": "Contact"}, "id": contact, "Title": "CTO"}],
    }

    answer = session.call(
        "composite.sobjects.update",
        lambda sf: sf.restful("composite/sobjects", method="PATCH", json=body),
    )

    assert answer[0]["success"] is True
    assert sf_server.log.count("PATCH", r"/composite/sobjects$") == 1
    assert session.retries == 0
    session.close()


def test_a_light_call_still_gives_up_quickly(sf_server: SalesforceStandIn) -> None:
    session = session_for(sf_server, timeout_seconds=0.3, attempts=1)
    _total(session)
    sf_server.hold_requests(1, 1.0, path=r"/describe")
    with pytest.raises(Timeout):
        session.call("describe", lambda sf: sf.restful("sobjects/Contact/describe"))
    session.close()


def test_each_operation_has_its_own_timeout() -> None:
    from connectors.salesforce.session import timeout_for

    s = SalesforceSettings(instance_url="https://acme.my.salesforce.com")
    table = {
        name: timeout_for(s, name)
        for name in (
            "query",
            "query_more",
            "campaign.find",
            "bulk2.query.results",
            "composite.sobjects.update",
            "campaign.create",
            "bulk2.ingest.upload",
            "tooling.customfield.create",
            "bulk2.ingest.get",
            "bulk2.query.job",
            "describe",
            "oauth.token",
        )
    }
    assert table == {
        "query": 130,
        "query_more": 130,
        "campaign.find": 130,
        "bulk2.query.results": 130,
        "composite.sobjects.update": 600,
        "campaign.create": 600,
        "bulk2.ingest.upload": 600,
        "tooling.customfield.create": 300,
        "bulk2.ingest.get": 30,
        "bulk2.query.job": 30,
        "describe": 30,
        "oauth.token": 30,
    }


# -- unreachable hosts and certificates ----------------------------------------------------
def test_a_refused_connection_is_unreachable_after_two_quick_retries_naming_the_url(
    sf_server: SalesforceStandIn,
) -> None:
    import socket

    from connectors.errors import Unreachable

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    waits: list[float] = []
    session = SalesforceSession(
        settings_for(sf_server, instance_url=f"https://127.0.0.1:{port}"),
        sf_server.credentials.consumer_secret,
        sleep=waits.append,
    )
    with pytest.raises(Unreachable) as exc:
        _total(session)
    assert f"https://127.0.0.1:{port}/services/oauth2/token" in str(exc.value)
    assert session.calls["oauth.token"] == 1 and waits == [0.5, 1.0]  # 3 tries, quickly
    session.close()


def test_an_unverifiable_certificate_is_a_certificate_problem_naming_ca_bundle(
    sf_server: SalesforceStandIn,
) -> None:
    from connectors.errors import CertificateProblem

    session = session_for(sf_server, ca_bundle=requests.certs.where())  # public CAs only
    with pytest.raises(CertificateProblem, match="ca_bundle"):
        _total(session)
    assert sf_server.log.count("POST", TOKEN) == 0  # the handshake failed: nothing arrived
    session.close()
