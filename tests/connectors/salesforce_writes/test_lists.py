"""ensure_lists keeps one active Campaign per segment whose CampaignMembers match the spec;
snapshot_list freezes exactly the given contacts and never reuses a name."""

from __future__ import annotations

import logging

import pytest

from connectors.base import ListSpec, ListState
from connectors.errors import CrmError, SchemaMismatch
from connectors.salesforce.lists import ensure_lists, id18, snapshot_list
from connectors.sandbox.salesforce import SalesforceStandIn

from . import writes
from .conftest import HookedSession

AT_RISK = "crmseg · lifecycle = at_risk"


def spec(members: set[str], name: str = AT_RISK) -> ListSpec:
    return ListSpec(name, "contact", "crmseg_lifecycle", "at_risk", members=frozenset(members))


def campaigns(server: SalesforceStandIn, name: str) -> list[dict[str, object]]:
    return [c for c in server.org.live("Campaign") if c["Name"] == name]


def members(server: SalesforceStandIn, campaign_id: str) -> set[str]:
    return {
        str(m["ContactId"])
        for m in server.org.live("CampaignMember")
        if m["CampaignId"] == campaign_id
    }


def test_campaign_is_created_active_with_exactly_the_members(
    sf_server: SalesforceStandIn, session: HookedSession, contact_ids: list[str]
) -> None:
    a, b, c = contact_ids[:3]

    (state,) = ensure_lists(session, [spec({a, b, c})])

    (campaign,) = campaigns(sf_server, AT_RISK)
    assert campaign["IsActive"] is True
    assert state == ListState(spec({a, b, c}), str(campaign["Id"]), created=True, added=3)
    assert members(sf_server, state.list_id) == {a, b, c}


def test_second_call_with_the_same_members_writes_nothing(
    sf_server: SalesforceStandIn, session: HookedSession, contact_ids: list[str]
) -> None:
    first = ensure_lists(session, [spec(set(contact_ids[:3]))])
    sf_server.log.clear()

    again = ensure_lists(session, [spec(set(contact_ids[:3]))])

    assert again == [ListState(first[0].spec, first[0].list_id)]
    assert writes(sf_server) == 0
    assert len(sf_server.log) == 2  # campaigns by name, members of the found campaigns
    assert len(campaigns(sf_server, AT_RISK)) == 1


def test_members_are_added_and_removed_to_match(
    sf_server: SalesforceStandIn, session: HookedSession, contact_ids: list[str]
) -> None:
    a, b, c, d, e = contact_ids[:5]
    (first,) = ensure_lists(session, [spec({a, b, c})])
    sf_server.log.clear()

    (state,) = ensure_lists(session, [spec({b, c, d, e})])

    assert (state.list_id, state.created, state.added, state.removed) == (
        first.list_id,
        False,
        2,
        1,
    )
    assert members(sf_server, first.list_id) == {b, c, d, e}
    assert sf_server.log.count("POST", r"/composite/sobjects$") == 1
    assert sf_server.log.count("DELETE", r"/composite/sobjects$") == 1
    assert writes(sf_server) == 2


def test_several_lists_are_found_in_one_query_and_kept_apart(
    sf_server: SalesforceStandIn, session: HookedSession, contact_ids: list[str]
) -> None:
    a, b, c = contact_ids[:3]
    other = "crmseg · it's a 'quoted' \\ name"
    ensure_lists(session, [spec({a}), spec({b}, name=other)])
    sf_server.log.clear()

    states = ensure_lists(session, [spec({a, c}), spec(set(), name=other)])

    assert [(s.spec.name, s.created, s.added, s.removed) for s in states] == [
        (AT_RISK, False, 1, 0),
        (other, False, 0, 1),
    ]
    assert members(sf_server, states[0].list_id) == {a, c}
    assert members(sf_server, states[1].list_id) == set()
    assert sf_server.log.count("GET", r"/query/?$") == 2


def test_member_added_meanwhile_duplicate_value_counts_as_done(
    sf_server: SalesforceStandIn,
    session: HookedSession,
    contact_ids: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    a, b = contact_ids[:2]
    (first,) = ensure_lists(session, [spec({a})])

    def concurrent_run() -> None:  # adds b between our read of the members and our insert
        sf_server.insert("CampaignMember", CampaignId=first.list_id, ContactId=b)

    session.before["campaignmember.create"] = concurrent_run

    with caplog.at_level(logging.WARNING, logger="connectors.salesforce.lists"):
        (state,) = ensure_lists(session, [spec({a, b})])

    assert (state.added, state.removed) == (0, 0)  # b's insert answered DUPLICATE_VALUE
    assert members(sf_server, first.list_id) == {a, b}
    assert "could not add" not in caplog.text


def test_deleted_contact_is_logged_and_the_others_are_added(
    sf_server: SalesforceStandIn,
    session: HookedSession,
    contact_ids: list[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    a, b, c = contact_ids[:3]
    sf_server.delete(b)

    with caplog.at_level(logging.WARNING, logger="connectors.salesforce.lists"):
        (state,) = ensure_lists(session, [spec({a, b, c})])

    assert state.added == 2
    assert members(sf_server, state.list_id) == {a, c}
    assert f"could not add 1 member(s), next run retries: {b} (" in caplog.text


def test_inactive_campaign_is_reactivated(
    sf_server: SalesforceStandIn, session: HookedSession, contact_ids: list[str]
) -> None:
    cid = sf_server.insert("Campaign", Name=AT_RISK, IsActive=False)

    (state,) = ensure_lists(session, [spec({contact_ids[0]})])

    assert (state.list_id, state.created, state.updated, state.added) == (cid, False, True, 1)
    assert campaigns(sf_server, AT_RISK)[0]["IsActive"] is True


def test_fifteen_character_ids_match_existing_members(
    sf_server: SalesforceStandIn, session: HookedSession, contact_ids: list[str]
) -> None:
    a = contact_ids[0]
    ensure_lists(session, [spec({a})])
    sf_server.log.clear()

    (state,) = ensure_lists(session, [spec({a[:15]})])

    assert (state.added, state.removed) == (0, 0)
    assert writes(sf_server) == 0
    assert id18(a[:15]) == a


def test_campaign_differing_only_in_case_is_not_ours(
    sf_server: SalesforceStandIn, session: HookedSession, contact_ids: list[str]
) -> None:
    theirs = sf_server.insert("Campaign", Name=AT_RISK.upper(), IsActive=True)

    (state,) = ensure_lists(session, [spec({contact_ids[0]})])

    assert state.created is True and state.list_id != theirs


def test_two_campaigns_with_our_name_are_a_schema_mismatch(
    sf_server: SalesforceStandIn, session: HookedSession
) -> None:
    sf_server.insert("Campaign", Name=AT_RISK, IsActive=True)
    sf_server.insert("Campaign", Name=AT_RISK, IsActive=True)

    with pytest.raises(SchemaMismatch, match="2 campaigns are named"):
        ensure_lists(session, [spec(set())])


@pytest.mark.parametrize(
    "specs",
    [
        [ListSpec("x", "company", "crmseg_lifecycle", "a", members=frozenset())],
        [ListSpec("x", "contact", "crmseg_lifecycle", "a", members=None)],
        [ListSpec("x" * 81, "contact", "crmseg_lifecycle", "a", members=frozenset())],
        [spec(set(), name="x"), spec(set(), name="x")],
    ],
    ids=["company", "no-members", "name-too-long", "same-name-twice"],
)
def test_bad_specs_are_refused_before_any_call(
    sf_server: SalesforceStandIn, session: HookedSession, specs: list[ListSpec]
) -> None:
    with pytest.raises(ValueError):
        ensure_lists(session, specs)
    assert len(sf_server.log) == 0


def test_snapshot_holds_exactly_the_given_contacts(
    sf_server: SalesforceStandIn, session: HookedSession, contact_ids: list[str]
) -> None:
    a, b, c = contact_ids[:3]

    campaign_id = snapshot_list(session, "crmseg snapshot 2026-11-23", "contact", [a, b, c, a])

    (campaign,) = campaigns(sf_server, "crmseg snapshot 2026-11-23")
    assert campaign["Id"] == campaign_id and campaign["IsActive"] is True
    assert members(sf_server, campaign_id) == {a, b, c}


def test_snapshot_refuses_an_existing_name_without_writing(
    sf_server: SalesforceStandIn, session: HookedSession, contact_ids: list[str]
) -> None:
    old = snapshot_list(session, "crmseg snapshot", "contact", contact_ids[:2])
    sf_server.log.clear()

    with pytest.raises(CrmError, match=r"already exists .* never overwritten") as exc:
        snapshot_list(session, "crmseg snapshot", "contact", contact_ids[2:4])

    assert old in str(exc.value)
    assert writes(sf_server) == 0
    assert members(sf_server, old) == set(contact_ids[:2])


def test_a_lost_campaign_create_answer_does_not_make_a_twin(
    sf_server: SalesforceStandIn, session: HookedSession, contact_ids: list[str]
) -> None:
    session.settings.attempts = 3
    sf_server.lose_responses(1, r"/sobjects/Campaign/?$", "POST")

    (state,) = ensure_lists(session, [spec(set(contact_ids[:2]))])

    assert sf_server.lost == [("POST", sf_server.lost[0][1])]
    (campaign,) = campaigns(sf_server, AT_RISK)
    assert state.list_id == campaign["Id"]
    assert members(sf_server, str(campaign["Id"])) == set(contact_ids[:2])
    # the lost attempt is the only create: the retry found the campaign by name first
    assert session.endpoints.count("campaign.create") == 1
    assert ensure_lists(session, [spec(set(contact_ids[:2]))])[0].list_id == campaign["Id"]


def test_member_chunks_go_concurrency_at_a_time_and_results_keep_their_order() -> None:
    import threading
    import time
    from types import SimpleNamespace

    from connectors.salesforce.lists import _add

    class Slow:
        settings = SimpleNamespace(concurrency=3)

        def __init__(self) -> None:
            self.lock = threading.Lock()
            self.in_flight = self.most = 0
            self.sent: list[str] = []

        def call(self, endpoint: str, fn: object, method: str, body: dict) -> list[dict]:
            with self.lock:
                self.in_flight += 1
                self.most = max(self.most, self.in_flight)
            time.sleep(0.05)
            with self.lock:
                self.in_flight -= 1
                self.sent += [r["ContactId"] for r in body["records"]]
            return [
                {"success": r["ContactId"] != "003bad", "errors": [{"statusCode": "X"}]}
                for r in body["records"]
            ]

    session = Slow()
    ids = [f"003{i:015d}" for i in range(1000)] + ["003bad"]

    assert _add(session, "701x", "list", ids) == 1000  # type: ignore[arg-type]
    assert session.most == 3 and sorted(session.sent) == sorted(ids)  # 6 chunks, 3 at once
