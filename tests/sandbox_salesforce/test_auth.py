"""Login flows and session handling, as simple-salesforce experiences them."""

from __future__ import annotations

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceAuthenticationFailed, SalesforceExpiredSession

from connectors.sandbox.salesforce.app import SalesforceStandIn
from tests.fakeclock import FakeClock

TOKEN = r"^/services/oauth2/token$"


def _client_credentials(server: SalesforceStandIn, secret: str | None = None) -> Salesforce:
    creds = server.credentials
    return Salesforce(
        consumer_key=creds.consumer_key,
        consumer_secret=secret or creds.consumer_secret,
        domain=creds.my_domain,
        session=server.requests_session(),
    )


def test_client_credentials_login_yields_a_working_session(sf_server: SalesforceStandIn) -> None:
    sf = _client_credentials(sf_server)
    assert sf.sf_instance == f"127.0.0.1:{sf_server.server.port}"
    assert sf.query("SELECT Id FROM Account")["totalSize"] > 0
    assert sf_server.log.count("POST", TOKEN, status=200) == 1


def test_client_credentials_with_a_wrong_secret_fail_as_invalid_client(
    sf_server: SalesforceStandIn,
) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as exc:
        _client_credentials(sf_server, secret="wrong")
    assert exc.value.code == "invalid_client"


def test_jwt_bearer_login_with_the_registered_key_works(sf_server: SalesforceStandIn) -> None:
    creds = sf_server.credentials
    sf = Salesforce(
        username=creds.username,
        consumer_key=creds.consumer_key,
        privatekey=creds.private_key_pem,
        session=sf_server.requests_session(),
    )
    assert sf.query("SELECT Id FROM Contact LIMIT 1")["totalSize"] == 1


def test_jwt_for_another_user_is_refused_as_invalid_grant(sf_server: SalesforceStandIn) -> None:
    creds = sf_server.credentials
    with pytest.raises(SalesforceAuthenticationFailed) as exc:
        Salesforce(
            username="someone@else.test",
            consumer_key=creds.consumer_key,
            privatekey=creds.private_key_pem,
            session=sf_server.requests_session(),
        )
    assert exc.value.code == "invalid_grant"


def test_unknown_session_id_gets_401_with_a_json_array_body(sf_server: SalesforceStandIn) -> None:
    sf = Salesforce(
        instance_url=sf_server.instance_url,
        session_id="not-a-session",
        session=sf_server.requests_session(),
    )
    with pytest.raises(SalesforceExpiredSession) as exc:
        sf.query("SELECT Id FROM Contact")
    assert exc.value.status == 401
    assert exc.value.content[0]["errorCode"] == "INVALID_SESSION_ID"


def test_expired_session_is_renewed_transparently_by_a_login_client(
    sf_server: SalesforceStandIn,
) -> None:
    sf = _client_credentials(sf_server)
    sf_server.expire_sessions()
    assert sf.query("SELECT Id FROM Account LIMIT 1")["totalSize"] == 1
    assert sf_server.log.count("POST", TOKEN) == 2
    assert sf_server.log.count("GET", r"/query/$", status=401) == 1


def test_expired_session_on_a_direct_session_raises_expired_session(
    sf_server: SalesforceStandIn, sf: Salesforce
) -> None:
    sf_server.expire_sessions()
    with pytest.raises(SalesforceExpiredSession):
        sf.limits()


def test_a_session_expires_after_its_lifetime_on_the_orgs_clock() -> None:
    clock = FakeClock()
    with SalesforceStandIn(contacts=3, timing=clock) as server:
        sf = server.client()
        clock.sleep(7_199)
        assert sf.query("SELECT Id FROM Contact")["totalSize"] == 3
        clock.sleep(2)
        with pytest.raises(SalesforceExpiredSession):
            sf.query("SELECT Id FROM Contact")


def test_persistent_401_ends_in_expired_session_after_four_token_calls(
    sf_server: SalesforceStandIn,
) -> None:
    sf = _client_credentials(sf_server)
    sf_server.faults.add_hook("always-401", lambda req: _always_invalid(req.path))
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Account")
    # notes §9: the client re-logs in on each 401 and gives up past max_retries=3
    assert sf_server.log.count("POST", TOKEN) == 1 + 4


def _always_invalid(path: str):  # type: ignore[no-untyped-def]
    from connectors.sandbox.salesforce.common import json_response

    if path.startswith("/services/data/"):
        return json_response(
            [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}], 401
        )
    return None


def test_the_token_answer_names_the_run_as_user_in_its_identity_url(
    sf_server: SalesforceStandIn,
) -> None:
    import requests as rq

    creds = sf_server.credentials
    answer = rq.post(
        f"{sf_server.instance_url}/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(creds.consumer_key, creds.consumer_secret),
        verify=sf_server.ca_path,
        timeout=10,
    ).json()
    org_id, user_id = answer["id"].rsplit("/", 2)[-2:]
    assert (org_id, user_id) == (sf_server.org.org_id, sf_server.org.api_user_id)
    assert sf_server.org.records["User"][user_id]["Username"] == creds.username


def test_stand_ins_of_one_process_share_one_key_pair_and_it_signs_logins(
    sf_server: SalesforceStandIn,
) -> None:
    """The RSA key pair is made once per process (it costs more than the rest of a
    stand-in's start), and a second org still accepts JWTs signed with it."""
    other = SalesforceStandIn(seed=1, contacts=0)
    assert other.credentials.private_key_pem == sf_server.credentials.private_key_pem
    assert other.credentials.public_key_pem == sf_server.credentials.public_key_pem
    with other:
        sf = Salesforce(
            username=other.credentials.username,
            consumer_key=other.credentials.consumer_key,
            privatekey=other.credentials.private_key_pem,
            session=other.requests_session(),
        )
        assert sf.query("SELECT Id FROM User")["totalSize"] >= 1
