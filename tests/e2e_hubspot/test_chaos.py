"""Chaos: the answers of crmseg's creates (property group, property, list, snapshot list)
are lost after HubSpot carried them out; sometimes the run then dies on a fatal error.
One clean rerun must leave exactly the expected tags and lists, with no duplicates."""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hubspot import HubSpot

from connectors.sandbox.hubspot import HubSpotStandIn
from connectors.sandbox.hubspot.errors import envelope
from sync.config import load_config
from tests.e2e_hubspot.conftest import AS_OF, crm_tags, expected_tags

LISTS = '[lists]\nlifecycle = ["prospect", "at_risk"]\ninterests = ["security"]\n'
CREATES = {
    "property group": r"^/crm/v3/properties/contacts/groups$",
    "property": r"^/crm/v3/properties/contacts/?$",
    "list": r"^/crm/v3/lists/?$",
}


def sync(crmseg: Callable[..., Any], config: Path) -> tuple[int, dict[str, Any]]:
    result = crmseg("sync", "--config", str(config), "--as-of", str(AS_OF), "--json")
    out = result.stdout.strip()
    return result.exit_code, json.loads(out) if out.startswith("{") else {}


def lose_then(hub: HubSpotStandIn, path: str, *, fatal: bool) -> None:
    """The first POST to ``path`` is carried out and its answer lost; with ``fatal``,
    the retry is refused with a 403 (the run stops, exit 5)."""
    rx = re.compile(path)
    seen = [0]

    def hook(request: Any) -> Any:
        if request.method != "POST" or not rx.search(request.path):
            return None
        seen[0] += 1
        if seen[0] == 2 and fatal:
            return envelope(
                403, "MISSING_SCOPES", "This app hasn't been granted all required scopes"
            )
        return None

    hub.add_fault_hook("then-fatal", hook)  # sees every request first
    hub.lose_responses(1, path)


def assert_exactly_expected(hub: HubSpotStandIn, config: Path, tmp_path: Path) -> None:
    expected = expected_tags(hub, tmp_path, load_config(config).segmentation)
    wrong = {
        cid: crm_tags(hub, cid) for cid, tags in expected.items() if crm_tags(hub, cid) != tags
    }
    assert wrong == {}
    registry = hub.state.lists
    assert registry is not None
    live = Counter(x.name for x in registry.lists.values() if x.deleted_at is None)
    assert live == {
        "crmseg · lifecycle = prospect": 1,
        "crmseg · lifecycle = at_risk": 1,
        "crmseg · interests = security": 1,
    }
    groups = HubSpot(**hub.client_settings()).crm.properties.groups_api.get_all("contacts")
    assert [g.name for g in groups.results].count("crmseg") == 1


@pytest.mark.parametrize("fatal", [False, True], ids=["retried", "then-fatal"])
@pytest.mark.parametrize("create", sorted(CREATES))
def test_a_lost_create_answer_then_one_clean_rerun_leaves_exactly_the_expected_state(
    hub: HubSpotStandIn,
    config_file: Callable[..., Path],
    crmseg: Any,
    tmp_path: Path,
    create: str,
    fatal: bool,
) -> None:
    config = config_file(LISTS)
    lose_then(hub, CREATES[create], fatal=fatal)
    code, _ = sync(crmseg, config)
    assert hub.lost, "the fault was not reached"
    assert code == (5 if fatal else 0)
    hub.faults.reset()

    code, summary = sync(crmseg, config)

    assert code == 0, summary
    assert_exactly_expected(hub, config, tmp_path)
    code, again = sync(crmseg, config)
    assert code == 0 and again["plan"]["records"] == 0
    assert not any(entry["created"] or entry["updated"] for entry in again["lists"])


def test_a_lost_snapshot_create_answer_still_makes_one_exact_snapshot(
    hub: HubSpotStandIn, config_file: Callable[..., Path], crmseg: Any
) -> None:
    config = config_file()
    assert sync(crmseg, config)[0] == 0
    hub.lose_responses(1, r"^/crm/v3/lists/?$")
    hub.lose_responses(1, r"/memberships/add$", method="PUT")
    made = crmseg(
        "snapshot", "lifecycle", "prospect", "--config", str(config), "--name", "Q3", "--json"
    )
    assert made.exit_code == 0, made.output
    assert len(hub.lost) == 2
    registry = hub.state.lists
    assert registry is not None
    (snapshot,) = [x for x in registry.lists.values() if x.name == "Q3"]
    prospects = {
        cid
        for cid in range(1, 61)
        if (hub.get("contacts", cid) or {}).get("crmseg_lifecycle") == "prospect"
    }
    assert set(snapshot.members) == prospects and prospects
    assert json.loads(made.stdout)["list_id"] == str(snapshot.id)
