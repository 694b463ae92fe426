"""``crmseg sync`` against the Salesforce stand-in."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from connectors.sandbox.salesforce import SalesforceStandIn
from sync.config import load_config
from tests.connectors.salesforce_writes import crmseg_assignments
from tests.e2e_salesforce.conftest import AS_OF, contact_ids, crm_tags, expected_tags
from tests.fakeclock import FakeClock

READS = ("/services/oauth2/token", "/jobs/query")


def sync(crmseg: Callable[..., Any], config: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = crmseg("sync", "--config", str(config), "--as-of", str(AS_OF), "--json", *args)
    text = result.stdout.strip()
    return result.exit_code, (json.loads(text) if text.startswith("{") else {"out": result.output})


def writes(org: SalesforceStandIn, since: int = 0) -> list[tuple[str, str]]:
    return [
        (e.method, e.path)
        for e in org.log.entries[since:]
        if e.method in ("POST", "PATCH", "PUT", "DELETE")
        and not e.path.endswith(READS)
        and "/jobs/query" not in e.path
    ]


def test_sync_writes_what_crmseg_segment_computes_then_nothing(
    org: SalesforceStandIn, config_file: Callable[..., Path], crmseg: Any, tmp_path: Path
) -> None:
    config = config_file('[lists]\nlifecycle = ["prospect"]\n')
    code, summary = sync(crmseg, config)
    assert code == 0, summary
    expected = expected_tags(org, tmp_path, load_config(config).segmentation)
    assert len(expected) == 60
    wrong = {c: (crm_tags(org, c), t) for c, t in expected.items() if crm_tags(org, c) != t}
    assert wrong == {}
    assert summary["written"] == 60
    before = len(org.log.entries)
    code, again = sync(crmseg, config)
    assert code == 0
    assert again["plan"]["records"] == 0 and again["written"] == 0
    assert writes(org, before) == []


def test_a_new_won_opportunity_is_picked_up_and_only_its_contact_rewritten(
    org: SalesforceStandIn, config_file: Callable[..., Path], crmseg: Any
) -> None:
    config = config_file(
        '[segmentation]\nrfm_method = "thresholds"\nrfm_r_edges = [30, 90, 180, 365]\n'
        "rfm_f_edges = [1, 2, 4, 8]\nrfm_m_edges = [100, 500, 2000, 10000]\n"
    )
    assert sync(crmseg, config)[0] == 0
    prospect = next(
        c for c in contact_ids(org) if crm_tags(org, c)["crmseg_lifecycle"] == "prospect"
    )
    org.add_won_opportunity(prospect, Decimal("99999"), date(2026, 6, 20))
    code, summary = sync(crmseg, config)
    assert code == 0, summary
    assert summary["pulled"]["deal"]["full"] is False
    assert summary["plan"]["records"] == 1
    assert crm_tags(org, prospect)["crmseg_lifecycle"] == "new"
    assert crm_tags(org, prospect)["crmseg_abc"] == "A"


def test_deleted_contacts_leave_the_mirror(
    org: SalesforceStandIn, config_file: Callable[..., Path], crmseg: Any
) -> None:
    config = config_file()
    assert sync(crmseg, config)[0] == 0
    gone = contact_ids(org)[3]
    org.delete(gone)
    code, summary = sync(crmseg, config)
    assert code == 0, summary
    assert summary["contacts"] == 59


def test_campaigns_hold_the_tagged_contacts_and_follow_them(
    org: SalesforceStandIn, config_file: Callable[..., Path], crmseg: Any
) -> None:
    config = config_file('[lists]\nlifecycle = ["prospect"]\n')
    code, summary = sync(crmseg, config)
    assert code == 0, summary
    (entry,) = summary["lists"]
    assert entry["name"] == "crmseg · lifecycle = prospect" and entry["created"]

    def members() -> set[str]:
        return {
            m["ContactId"] for m in org.org.live("CampaignMember") if m["CampaignId"] == entry["id"]
        }

    prospects = {c for c in contact_ids(org) if crm_tags(org, c)["crmseg_lifecycle"] == "prospect"}
    assert members() == prospects and entry["added"] == len(prospects)
    leaving = sorted(prospects)[0]
    org.add_won_opportunity(leaving, Decimal("10"), date(2026, 6, 25))
    code, again = sync(crmseg, config)
    assert code == 0, again
    assert members() == prospects - {leaving}
    assert (again["lists"][0]["added"], again["lists"][0]["removed"]) == (0, 1)


def test_plan_and_dry_run_write_nothing(
    org: SalesforceStandIn, config_file: Callable[..., Path], crmseg: Any
) -> None:
    config = config_file('[lists]\nabc = ["A"]\n')
    plan = crmseg("plan", "--config", str(config), "--as-of", str(AS_OF), "--json")
    assert plan.exit_code == 0, plan.output
    assert json.loads(plan.stdout)["plan"]["records"] == 60
    code, summary = sync(crmseg, config, "--dry-run")
    assert code == 0 and summary["status"] == "planned"
    assert writes(org) == []


def test_bulk_paths_above_their_thresholds(
    org: SalesforceStandIn, config_file: Callable[..., Path], crmseg: Any, tmp_path: Path
) -> None:
    config = config_file(crm="bulk_ingest_threshold = 10\nbulk_query_threshold = 10")
    code, summary = sync(crmseg, config)
    assert code == 0, summary
    assert org.log.count("POST", r"/jobs/ingest/?$") == 1
    assert org.log.count("POST", r"/jobs/query/?$") >= 1
    assert org.log.count("PATCH", r"/composite/sobjects") == 0
    expected = expected_tags(org, tmp_path, load_config(config).segmentation)
    assert all(crm_tags(org, c) == t for c, t in expected.items())


def test_the_run_stops_before_the_daily_reserve(
    config_file: Callable[..., Path], crmseg: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    with SalesforceStandIn(seed=3, contacts=20, as_of=AS_OF, daily_api_max=40) as small:
        monkeypatch.setenv("SALESFORCE_CLIENT_SECRET", small.credentials.consumer_secret)
        path = tmp_path / "small.toml"
        path.write_text(
            f'[crm]\ntype = "salesforce"\ninstance_url = "{small.instance_url}"\n'
            f'client_id = "{small.credentials.consumer_key}"\nca_bundle = "{small.ca_path}"\n'
            f"daily_reserve = 0.75\n"
            f'[state]\npath = "{tmp_path / "small.duckdb"}"\n',
            encoding="utf-8",
        )
        result = crmseg("sync", "--config", str(path), "--as-of", str(AS_OF))
        assert result.exit_code == 5, result.output
        assert "reserve" in result.stderr


def test_a_session_expiring_mid_run_is_renewed(
    org: SalesforceStandIn, config_file: Callable[..., Path], crmseg: Any, tmp_path: Path
) -> None:
    config = config_file()
    fired = []

    def expire_once(request: Any) -> None:
        if "composite/sobjects" in request.path and not fired:
            fired.append(True)
            org.expire_sessions()
        return None

    org.faults.add_hook("expire", expire_once)
    code, summary = sync(crmseg, config)
    assert code == 0, summary
    assert fired
    expected = expected_tags(org, tmp_path, load_config(config).segmentation)
    assert all(crm_tags(org, c) == t for c, t in expected.items())
    assert org.log.count("POST", r"/services/oauth2/token") >= 2


def test_lost_create_answers_then_one_clean_rerun_leave_exactly_the_expected_state(
    org: SalesforceStandIn, config_file: Callable[..., Path], crmseg: Any, tmp_path: Path
) -> None:
    """Every create crmseg sends loses its answer once (it commits, the connection drops):
    a campaign, a Tooling field, the permission set, its grants, its assignment and a
    batch of campaign members. No twin may appear, then or on the rerun."""
    config = config_file('[lists]\nlifecycle = ["prospect", "new"]\n')
    for path in (
        r"/sobjects/Campaign/?$",
        r"/tooling/sobjects/CustomField/?$",
        r"/sobjects/PermissionSet/?$",
        r"/sobjects/PermissionSetAssignment/?$",
    ):
        org.lose_responses(1, path, "POST")
    org.lose_responses(2, r"/composite/sobjects$", "POST")  # grants, then members

    code, first = sync(crmseg, config)
    assert code == 0, first
    assert len(org.lost) == 6
    code, rerun = sync(crmseg, config)
    assert code == 0, rerun

    expected = expected_tags(org, tmp_path, load_config(config).segmentation)
    assert {c: crm_tags(org, c) for c in expected} == expected
    names = sorted(str(c["Name"]) for c in org.org.live("Campaign"))
    assert names == ["crmseg · lifecycle = new", "crmseg · lifecycle = prospect"]
    for campaign in org.org.live("Campaign"):
        stage = str(campaign["Name"]).rsplit(" ", 1)[-1]
        rows = [m for m in org.org.live("CampaignMember") if m["CampaignId"] == campaign["Id"]]
        want = {c for c, t in expected.items() if t["crmseg_lifecycle"] == stage}
        assert sorted(m["ContactId"] for m in rows) == sorted(want)  # each contact once
    fields = sorted(f"{o}.{fd.name}" for o, fd in org.org.custom_fields.values())
    assert len(fields) == len(set(fields))
    assert [p["Name"] for p in org.org.live("PermissionSet") if not p["IsOwnedByProfile"]] == [
        "crmseg"
    ]
    grants = [str(fp["Field"]) for fp in org.org.live("FieldPermissions")]
    assert sorted(grants) == fields
    assert len(crmseg_assignments(org.org)) == 1
    assert rerun["written"] == 0


def test_a_user_without_view_all_data_is_refused_with_exit_5_unless_allowed(
    org: SalesforceStandIn, config_file: Callable[..., Path], crmseg: Any
) -> None:
    org.org.restrict_visibility(set(contact_ids(org)[:10]))
    before = len(org.log.entries)
    code, summary = sync(crmseg, config_file())
    assert code == 5, summary
    assert "View All Data" in json.dumps(summary) and writes(org, before) == []
    code, summary = sync(crmseg, config_file(crm="partial_visibility_ok = true"))
    assert code == 0, summary
    assert summary["contacts"] == 50


def test_rate_limits_locks_expiry_and_slow_writes_then_a_clean_rerun_leave_the_expected_state(
    org: SalesforceStandIn,
    config_file: Callable[..., Path],
    crmseg: Any,
    tmp_path: Path,
    clock: FakeClock,
) -> None:
    config = config_file('[lists]\nlifecycle = ["prospect"]\n')
    org.faults.error_burst(2, status=429, retry_after=0.2, path=r"/query/?$")
    org.lock_next_writes(2)  # the first provisioning writes meet row locks
    org.hold_requests(1, 0.3, path=r"/composite/sobjects$")  # a slow but fine write
    fired: list[bool] = []

    def expire_once(request: Any) -> None:
        if request.path.endswith("/tooling/sobjects/CustomField") and not fired:
            fired.append(True)
            org.expire_sessions()

    org.faults.add_hook("expire", expire_once)

    code, first = sync(crmseg, config)
    assert code == 0, first
    assert fired
    assert clock.sleeps.count(0.2) == 2  # each 429 waited its Retry-After
    code, rerun = sync(crmseg, config)
    assert code == 0, rerun
    assert rerun["written"] == 0

    expected = expected_tags(org, tmp_path, load_config(config).segmentation)
    assert {c: crm_tags(org, c) for c in expected} == expected
    assert len(list(org.org.live("Campaign"))) == 1
    rows = [m["ContactId"] for m in org.org.live("CampaignMember")]
    assert sorted(rows) == sorted(
        c for c, t in expected.items() if t["crmseg_lifecycle"] == "prospect"
    )
    fields = sorted(f"{o}.{fd.name}" for o, fd in org.org.custom_fields.values())
    assert sorted(str(fp["Field"]) for fp in org.org.live("FieldPermissions")) == fields
    assert len(crmseg_assignments(org.org)) == 1


def test_an_org_without_bulk_api_syncs_through_rest_above_both_thresholds(
    org: SalesforceStandIn, config_file: Callable[..., Path], crmseg: Any, tmp_path: Path
) -> None:
    org.disable_bulk_api()
    org.time_out_queries_above(40)  # and its big objects time out when read in one go
    config = config_file(crm="bulk_query_threshold = 10\nbulk_ingest_threshold = 10")
    code, summary = sync(crmseg, config)
    assert code == 0, summary
    expected = expected_tags(org, tmp_path, load_config(config).segmentation)
    assert {c: crm_tags(org, c) for c in expected} == expected
    jobs = [e.status for e in org.log.entries if e.method == "POST" and "/jobs/" in e.path]
    assert jobs and set(jobs) == {403}  # every job create refused; REST did the work
