"""``crmseg sync`` / ``resync`` / ``plan`` against the HubSpot sandbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from connectors.sandbox.hubspot import HubSpotStandIn
from sync.config import load_config
from sync.lock import run_lock
from tests.e2e_hubspot.conftest import AS_OF, crm_tags, expected_tags, token_never_printed
from tests.fakeclock import FakeClock

WRITES = r"/batch/update$"


def sync(crmseg: Callable[..., Any], config: Path, *args: str) -> tuple[int, dict[str, Any]]:
    result = crmseg("sync", "--config", str(config), "--as-of", str(AS_OF), "--json", *args)
    payload = json.loads(result.stdout) if result.stdout.strip().startswith("{") else {}
    return result.exit_code, payload


def test_sync_writes_exactly_what_crmseg_segment_computes(
    hub: HubSpotStandIn, config_file: Callable[..., Path], crmseg: Any, tmp_path: Path
) -> None:
    config = config_file()
    code, summary = sync(crmseg, config)
    assert code == 0, summary
    expected = expected_tags(hub, tmp_path, load_config(config).segmentation)
    assert len(expected) == 60
    mismatches = {
        cid: (crm_tags(hub, cid), tags)
        for cid, tags in expected.items()
        if crm_tags(hub, cid) != tags
    }
    assert mismatches == {}
    assert summary["written"] == 60
    # 60 contacts -> one batch call; fields and group provisioned first.
    assert hub.log.count("POST", r"/contacts/batch/update$") == 1


def test_second_sync_sends_no_write_at_all(
    hub: HubSpotStandIn, config_file: Callable[..., Path], crmseg: Any
) -> None:
    config = config_file('[lists]\nlifecycle = ["at_risk", "prospect"]\n')
    assert sync(crmseg, config)[0] == 0
    before = hub.log.count()
    writes_before = sum(hub.log.count(m) for m in ("POST", "PATCH", "PUT", "DELETE"))
    code, summary = sync(crmseg, config)
    assert code == 0
    assert summary["plan"]["records"] == 0 and summary["written"] == 0
    new = hub.log.entries[before:]
    writes = [
        e
        for e in new
        if e.method in ("PATCH", "PUT", "DELETE")
        or (e.method == "POST" and not e.path.endswith(("/search", "/batch/read")))
    ]
    assert writes == [], [(e.method, e.path) for e in writes]
    assert writes_before > 0


def test_a_new_won_deal_is_picked_up_and_only_its_contact_rewritten(
    hub: HubSpotStandIn, config_file: Callable[..., Path], crmseg: Any
) -> None:
    # Fixed RFM thresholds: one contact's purchase cannot move anyone else's scores.
    config = config_file(
        '[segmentation]\nrfm_method = "thresholds"\nrfm_r_edges = [30, 90, 180, 365]\n'
        "rfm_f_edges = [1, 2, 4, 8]\nrfm_m_edges = [100, 500, 2000, 10000]\n"
    )
    assert sync(crmseg, config)[0] == 0
    prospect = next(
        cid
        for cid in range(1, 61)
        if (hub.get("contacts", cid) or {}).get("crmseg_lifecycle") == "prospect"
    )
    hub.add_won_deal(prospect, Decimal("99999"), date(2026, 6, 20))
    code, summary = sync(crmseg, config)
    assert code == 0
    assert summary["pulled"]["deal"]["full"] is False
    assert summary["plan"]["records"] == 1
    tags = hub.get("contacts", prospect) or {}
    assert tags["crmseg_lifecycle"] == "new"
    assert tags["crmseg_abc"] == "A"  # 99,999 dwarfs the generated revenue


def test_archived_and_merged_contacts_leave_the_mirror(
    hub: HubSpotStandIn, config_file: Callable[..., Path], crmseg: Any, tmp_path: Path
) -> None:
    config = config_file()
    assert sync(crmseg, config)[0] == 0
    hub.archive("contacts", 5)
    hub.merge("contacts", 6, 7)
    code, summary = sync(crmseg, config)
    assert code == 0
    assert summary["contacts"] == 58
    assert summary["pulled"]["contact"]["deleted"] >= 2
    status = json.loads(crmseg("status", "--config", str(config), "--json").stdout)
    assert status["mirror"]["contact"] == 58


def test_plan_and_dry_run_write_nothing(
    hub: HubSpotStandIn, config_file: Callable[..., Path], crmseg: Any
) -> None:
    config = config_file('[lists]\nabc = ["A"]\n')
    plan = crmseg("plan", "--config", str(config), "--as-of", str(AS_OF), "--json", "--details")
    assert plan.exit_code == 0
    payload = json.loads(plan.stdout)
    assert payload["plan"]["records"] == 60
    assert {c["field"] for c in payload["changes"]} >= {"crmseg_lifecycle", "crmseg_abc"}
    code, summary = sync(crmseg, config, "--dry-run")
    assert code == 0 and summary["status"] == "planned"
    for method in ("PATCH", "PUT", "DELETE"):
        assert hub.log.count(method) == 0
    assert hub.log.count("POST", r"/batch/update$|/properties/|/lists/?$") == 0


def test_a_second_run_while_one_holds_the_lock_exits_3(
    hub: HubSpotStandIn, config_file: Callable[..., Path], crmseg: Any
) -> None:
    config = config_file()
    with run_lock(load_config(config).state.path, "sync"):
        result = crmseg("sync", "--config", str(config))
    assert result.exit_code == 3
    assert "has been running since" in result.stderr
    assert hub.log.count() == 0


def test_mass_change_guard_exits_4_and_writes_nothing(
    hub: HubSpotStandIn, config_file: Callable[..., Path], crmseg: Any
) -> None:
    config = config_file("[sync]\nmass_change_share = 0.1\n")
    assert sync(crmseg, config)[0] == 0
    writes = hub.log.count("POST", WRITES)
    # Two and a half years on, most customers' tags change.
    plan = crmseg("plan", "--config", str(config), "--as-of", "2028-12-31", "--json")
    overwritten = json.loads(plan.stdout)["plan"]["overwritten_contacts"]
    assert overwritten > 6  # more than 10 % of 60
    later = crmseg("sync", "--config", str(config), "--as-of", "2028-12-31", "--allow-future")
    assert later.exit_code == 4
    assert f"existing tags of {overwritten} of 60 contacts" in later.stderr
    assert "--allow-mass-change" in later.stderr
    assert hub.log.count("POST", WRITES) == writes
    allowed = crmseg(
        "sync",
        "--config",
        str(config),
        "--as-of",
        "2028-12-31",
        "--allow-mass-change",
        "--allow-future",
        "-q",
    )
    assert allowed.exit_code == 0
    assert hub.log.count("POST", WRITES) > writes


def test_throttling_server_errors_and_dropped_connections_are_survived(
    hub: HubSpotStandIn,
    config_file: Callable[..., Path],
    crmseg: Any,
    tmp_path: Path,
    clock: FakeClock,
) -> None:
    config = config_file()
    hub.faults.error_burst(3, 429, retry_after=0.1, path=r"/contacts$")
    hub.faults.error_burst(2, 503, path=WRITES)
    hub.faults.drop_connections(2, path=r"/deals")
    code, summary = sync(crmseg, config)
    assert code == 0, summary
    expected = expected_tags(hub, tmp_path, load_config(config).segmentation)
    assert all(crm_tags(hub, cid) == tags for cid, tags in expected.items())
    assert hub.log.count(status=429) == 3
    # each 429 waited its Retry-After; the 503s and drops backed off (1 s, 2 s, jittered)
    assert clock.sleeps.count(0.1) == 3
    assert hub.log.count(status=503) == 2 and hub.log.count(status=0) == 2
    assert len([w for w in clock.sleeps if 0.5 <= w <= 2.0]) >= 4


def test_a_rejected_record_exits_6_and_is_written_by_the_next_run(
    hub: HubSpotStandIn, config_file: Callable[..., Path], crmseg: Any
) -> None:
    config = config_file()
    hub.fail_batch_inputs(ids={"9"}, batches=1)
    code, summary = sync(crmseg, config)
    assert code == 6
    assert summary["failed"] > 0 and {f["record"] for f in summary["failures"]} == {"9"}
    assert (hub.get("contacts", 9) or {}).get("crmseg_lifecycle") is None
    code, summary = sync(crmseg, config)
    assert code == 0
    assert summary["plan"]["records"] == 1
    assert (hub.get("contacts", 9) or {}).get("crmseg_lifecycle") is not None


def test_lists_are_created_once_and_hold_the_tagged_contacts(
    hub: HubSpotStandIn, config_file: Callable[..., Path], crmseg: Any
) -> None:
    config = config_file('[lists]\nlifecycle = ["prospect"]\ninterests = ["security"]\n')
    code, summary = sync(crmseg, config)
    assert code == 0
    assert [entry["name"] for entry in summary["lists"]] == [
        "crmseg · lifecycle = prospect",
        "crmseg · interests = security",
    ]
    assert all(entry["created"] for entry in summary["lists"])
    _, again = sync(crmseg, config)
    assert not any(entry["created"] or entry["updated"] for entry in again["lists"])
    from hubspot import HubSpot

    lists_api = HubSpot(**hub.client_settings()).crm.lists
    for entry in summary["lists"]:
        members = {
            r.record_id for r in lists_api.memberships_api.get_page(entry["id"], limit=250).results
        }
        field, value = (
            ("crmseg_lifecycle", "prospect")
            if "lifecycle" in entry["name"]
            else ("crmseg_interests", "security")
        )
        tagged = {
            str(cid)
            for cid in range(1, 61)
            if value in ((hub.get("contacts", cid) or {}).get(field) or "").split(";")
        }
        assert members == tagged and tagged


def test_resync_one_contact_by_email_rewrites_its_tags(
    hub: HubSpotStandIn, config_file: Callable[..., Path], crmseg: Any
) -> None:
    config = config_file()
    assert sync(crmseg, config)[0] == 0
    email = (hub.get("contacts", 12) or {})["email"]
    hub.set_property("contacts", 12, "crmseg_abc", "")  # someone cleared it by hand
    result = crmseg(
        "resync", "--config", str(config), "--as-of", str(AS_OF), "--email", str(email), "--json"
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert {c["record"] for c in payload["changes"]} == {"12"}
    assert payload["written"] == 1


def test_explain_and_history_read_the_state(
    hub: HubSpotStandIn, config_file: Callable[..., Path], crmseg: Any
) -> None:
    config = config_file()
    assert sync(crmseg, config)[0] == 0
    customer = next(
        cid for cid in range(1, 61) if (hub.get("contacts", cid) or {}).get("crmseg_abc")
    )
    out = crmseg("explain", str(customer), "--config", str(config), "--as-of", str(AS_OF), "--json")
    assert out.exit_code == 0, out.output
    explained = json.loads(out.stdout)
    assert explained["tags"]["abc"] == (hub.get("contacts", customer) or {})["crmseg_abc"]
    assert explained["purchases"] and explained["reasons"]["lifecycle"].startswith(
        explained["tags"]["lifecycle"]
    )
    history = json.loads(crmseg("history", "--config", str(config), "--json").stdout)
    sizes = history["runs"][0]["sizes"]
    assert sum(sizes.values()) == 60


def test_the_token_never_reaches_output_or_logs(
    hub: HubSpotStandIn, config_file: Callable[..., Path], crmseg: Any
) -> None:
    config = config_file()
    hub.faults.error_burst(1, 401)
    result = crmseg("sync", "--config", str(config), "--log-format", "json")
    assert result.exit_code == 5
    token_never_printed(hub, result.output + result.stderr)
    # The refused token stops the run at the account check, before the state file.
    state_path = load_config(config).state.path
    assert not state_path.exists() or hub.token.encode() not in state_path.read_bytes()


def test_a_run_stops_before_the_daily_allowance_runs_low(
    hub: HubSpotStandIn, config_file: Callable[..., Path], crmseg: Any
) -> None:
    # 20 calls a day, half kept in reserve: a first sync needs more than 10.
    hub.limits.daily = 20
    config = config_file(crm="daily_reserve = 0.5")
    result = crmseg("sync", "--config", str(config), "--as-of", str(AS_OF))
    assert result.exit_code == 5, result.output
    assert "daily" in result.stderr.lower()
    assert hub.log.count(status=429) == 0  # crmseg stopped itself, HubSpot did not have to
    assert hub.gateway.daily_used <= 11


def test_company_level_tags_companies_and_their_contacts_inherit(
    hub: HubSpotStandIn, config_file: Callable[..., Path], crmseg: Any, tmp_path: Path
) -> None:
    config = config_file('[segmentation]\nlevel = "company"\n')
    code, summary = sync(crmseg, config)
    assert code == 0, summary
    expected = expected_tags(hub, tmp_path, load_config(config).segmentation)
    assert all(crm_tags(hub, cid) == tags for cid, tags in expected.items())
    assert hub.dataset is not None
    for contact, company in hub.dataset.contact_company[:10]:
        held = hub.get("companies", company) or {}
        assert held.get("crmseg_lifecycle") == crm_tags(hub, str(contact))["crmseg_lifecycle"]
    # Interests and data quality stay per contact: no such company property.
    from hubspot import HubSpot

    properties = HubSpot(**hub.client_settings()).crm.properties.core_api
    company_fields = {p.name for p in properties.get_all("companies").results}
    assert "crmseg_abc" in company_fields and "crmseg_interests" not in company_fields


def test_snapshot_freezes_todays_members_into_a_static_list(
    hub: HubSpotStandIn, config_file: Callable[..., Path], crmseg: Any
) -> None:
    config = config_file()
    assert sync(crmseg, config)[0] == 0
    dry = crmseg(
        "snapshot", "lifecycle", "prospect", "--config", str(config), "--dry-run", "--json"
    )
    assert dry.exit_code == 0 and json.loads(dry.stdout)["list_id"] is None
    made = crmseg(
        "snapshot", "lifecycle", "prospect", "--config", str(config), "--name", "Q3", "--json"
    )
    assert made.exit_code == 0, made.output
    payload = json.loads(made.stdout)
    prospects = {
        str(cid)
        for cid in range(1, 61)
        if (hub.get("contacts", cid) or {}).get("crmseg_lifecycle") == "prospect"
    }
    assert payload["contacts"] == len(prospects) > 0
    from hubspot import HubSpot

    api = HubSpot(**hub.client_settings()).crm.lists
    assert api.lists_api.get_by_id(payload["list_id"]).list.processing_type == "MANUAL"
    members = {
        r.record_id for r in api.memberships_api.get_page(payload["list_id"], limit=250).results
    }
    assert members == prospects
    again = crmseg("snapshot", "lifecycle", "prospect", "--config", str(config), "--name", "Q3")
    assert again.exit_code == 5 and "never overwritten" in again.stderr


def test_json_logs_are_one_object_per_line(
    hub: HubSpotStandIn, config_file: Callable[..., Path], crmseg: Any
) -> None:
    config = config_file()
    result = crmseg(
        "sync", "--config", str(config), "--as-of", str(AS_OF), "-q", "--log-format", "json"
    )
    assert result.exit_code == 0
    lines = [json.loads(line) for line in result.stderr.splitlines() if line.strip()]
    assert [line["message"] for line in lines] == ["run started", "run finished"]
    finished = lines[-1]
    assert finished["level"] == "info" and finished["event_level"] == "contact"
    assert finished["written"] == 60 and finished["status"] == "ok"


def test_contacts_merged_during_a_run_are_replanned_for_the_new_record(
    hub: HubSpotStandIn, config_file: Callable[..., Path], crmseg: Any
) -> None:
    """Merged after the pull, before the write: HubSpot drops the writes to both old
    ids; crmseg must not report them as rejected (exit 6) but pull again and tag
    the new record, so a second run has nothing left to do."""
    config = config_file()
    merged: list[int] = []

    def merge_before_first_write(request: Any) -> None:
        if not merged and request.path.endswith("/contacts/batch/update"):
            hub.merge("contacts", 6, 7)
            merged.append(max(hub.state.store.ids("contacts")))
        return None

    hub.add_fault_hook("merge", merge_before_first_write)
    code, summary = sync(crmseg, config)
    assert code == 0, summary
    assert summary["failed"] == 0 and summary["merged"] == 2
    new = merged[0]
    tags = hub.get("contacts", new) or {}
    assert tags.get("crmseg_lifecycle")
    status = json.loads(crmseg("status", "--config", str(config), "--json").stdout)
    assert status["mirror"]["contact"] == 59
    hub.faults.remove_hook("merge")
    code, again = sync(crmseg, config)
    assert code == 0 and again["plan"]["records"] == 0


def test_a_list_crmseg_did_not_create_is_never_touched_and_exits_5(
    hub: HubSpotStandIn, config_file: Callable[..., Path], crmseg: Any
) -> None:
    from hubspot import HubSpot
    from hubspot.crm.lists import ListCreateRequest

    from connectors.hubspot.lists import filter_branch

    api = HubSpot(**hub.client_settings()).crm.lists.lists_api
    config = config_file('[lists]\nlifecycle = ["prospect"]\n')
    code, summary = sync(crmseg, config)
    assert code == 0
    (ours,) = summary["lists"]
    # A colleague deletes crmseg's list and makes their own under the same name.
    api.remove(ours["id"])
    theirs = api.create(
        ListCreateRequest(
            name=ours["name"],
            object_type_id="0-1",
            processing_type="DYNAMIC",
            filter_branch=filter_branch("crmseg_lifecycle", "prospect"),
        )
    ).list
    result = crmseg("sync", "--config", str(config), "--as-of", str(AS_OF))
    assert result.exit_code == 5
    assert f"'{ours['name']}' (id {theirs.list_id}) was not created by crmseg" in result.stderr
    assert hub.log.count("PUT", r"/update-list-filters$") == 0


def test_network_failures_exit_5_naming_the_url_or_ca_bundle(
    hub: HubSpotStandIn, crmseg: Any, tmp_path: Path, monkeypatch: Any, clock: FakeClock
) -> None:
    import socket

    import certifi

    monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", hub.token)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    closed = f"https://127.0.0.1:{s.getsockname()[1]}"
    s.close()
    cases = {
        closed: (f'base_url = "{closed}"', f"cannot reach {closed}"),
        "tls": (f'base_url = "{hub.base_url}"\nca_bundle = "{certifi.where()}"', "ca_bundle"),
    }
    for name, (crm, expected) in cases.items():
        config = tmp_path / f"{len(name)}.toml"
        config.write_text(
            f'[crm]\n{crm}\n[state]\npath = "{tmp_path / (str(len(name)) + ".duckdb")}"\n',
            encoding="utf-8",
        )
        slept = clock.slept
        result = crmseg("sync", "--config", str(config), "--as-of", str(AS_OF))
        assert result.exit_code == 5, result.output
        assert expected in result.stderr
        assert "AttributeError" not in result.stderr and "no answer in time" not in result.stderr
        assert clock.slept - slept < 5  # a few quick tries, no long backoff


def test_the_no_op_rerun_does_not_reprocess_what_crmseg_wrote(
    hub: HubSpotStandIn, config_file: Callable[..., Path], crmseg: Any
) -> None:
    config = config_file()
    assert sync(crmseg, config)[0] == 0
    hub.log.clear()
    code, summary = sync(crmseg, config)
    assert code == 0 and summary["written"] == 0
    # every contact's stamp moved with crmseg's own write; none is processed again,
    # and their companies are not read again
    assert summary["pulled"]["contact"]["records"] == 0
    assert hub.log.count("POST", r"/crm/v4/associations/contacts/") == 0
    hub.set_property("contacts", 5, "firstname", "Edited")  # after crmseg's write
    code, summary = sync(crmseg, config)
    assert code == 0 and summary["pulled"]["contact"]["records"] == 1


def test_with_many_own_writes_their_window_is_counted_not_read(
    tmp_path: Path, crmseg: Any, monkeypatch: Any
) -> None:
    from connectors.sandbox.hubspot import LimitConfig

    with HubSpotStandIn(seed=5, contacts=450, as_of=AS_OF, limits=LimitConfig(enabled=False)) as hs:
        monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", hs.token)
        config = tmp_path / "crmseg.toml"
        config.write_text(
            f'[crm]\nbase_url = "{hs.base_url}"\nca_bundle = "{hs.ca_path}"\n'
            "count_own_write_window = true\n"
            f'[state]\npath = "{tmp_path / "s.duckdb"}"\n',
            encoding="utf-8",
        )
        code, first = sync(crmseg, config)
        assert code == 0 and first["written"] == 450
        hs.log.clear()
        code, summary = sync(crmseg, config)
        assert code == 0 and summary["pulled"]["contact"]["records"] == 0
        # before the window, after it, and one counting search (limit 1) of the window;
        # one more counts the changes to choose between search and an export. Contacts,
        # companies and deals are pulled at once: each keeps its own count of what it saw.
        searches = [e for e in hs.log.entries if e.path == "/crm/v3/objects/contacts/search"]
        assert len(searches) == 4
        hs.set_property("contacts", 7, "country", "Österreich")
        hs.log.clear()
        code, summary = sync(crmseg, config)
        assert code == 0 and summary["pulled"]["contact"]["records"] == 1


def test_a_tag_property_that_became_read_only_stops_the_run_with_exit_5(
    hub: HubSpotStandIn, config_file: Callable[..., Path], crmseg: Any
) -> None:
    """HubSpot answers the traced batch with a 207 whose every input fails on the
    read-only property: a schema problem (exit 5), not 60 rejected records (exit 6)."""
    config = config_file()

    def lock_property(request: Any) -> None:
        prop = hub.state.schema.get("contacts", "crmseg_lifecycle")
        if request.path.endswith("/batch/update") and prop is not None:
            prop.read_only_value = True
        return None

    hub.add_fault_hook("read-only", lock_property)
    result = crmseg("sync", "--config", str(config), "--as-of", str(AS_OF))
    assert result.exit_code == 5, result.output
    assert "READ_ONLY_VALUE on crmseg_lifecycle" in result.stderr
