"""The run after a sync: crmseg's own writes are checked by one filtered CRM export, exactly.

Small sizes: ``own_write_export_min`` is lowered so that 220 written contacts use the
export path (its default, 1,000, keeps small windows on search pages).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from connectors.sandbox._server import Request, Response
from connectors.sandbox.hubspot import HubSpotStandIn, LimitConfig
from connectors.sandbox.hubspot.jobs import BulkConfig
from tests.e2e_hubspot.conftest import AS_OF
from tests.e2e_hubspot.test_sync import sync

N = 220  # above the counted mode's minimum of 200 own writes as well
CONTACT_SEARCH = "/crm/v3/objects/contacts/search"
PLURALS = ("contacts", "companies", "deals")
RW = ("read", "write")


@pytest.fixture
def hub() -> Iterator[HubSpotStandIn]:
    """The conftest's ``config_file`` points at this sandbox."""
    with HubSpotStandIn(
        seed=5,
        contacts=N,
        as_of=AS_OF,
        limits=LimitConfig(enabled=False),
        bulk=BulkConfig().instant(),
    ) as sandbox:
        yield sandbox


@pytest.fixture
def hs(hub: HubSpotStandIn) -> HubSpotStandIn:
    return hub


@pytest.fixture
def config(config_file: Callable[..., Path]) -> Callable[..., Path]:
    def make(crm: str = "own_write_export_min = 50") -> Path:
        return config_file(crm=crm)

    return make


def edit_during_the_first_write(hs: HubSpotStandIn) -> list[int]:
    """Someone edits a contact after crmseg pulled it and just before crmseg's batch
    update of that same contact lands: the write's stamp is the newer one."""
    edited: list[int] = []

    def hook(request: Request) -> Response | None:
        if not edited and request.path.endswith("/contacts/batch/update"):
            rid = int(request.json()["inputs"][0]["id"])
            hs.set_property("contacts", rid, "country", "Österreich")
            edited.append(rid)
        return None

    hs.add_fault_hook("edit-before-write", hook)
    return edited


def test_an_edit_between_pull_and_write_is_caught_by_the_default_check(
    hs: HubSpotStandIn, config: Callable[..., Path], crmseg: Any
) -> None:
    edited = edit_during_the_first_write(hs)
    cfg = config()
    code, first = sync(crmseg, cfg)
    assert code == 0 and first["written"] == N and len(edited) == 1
    assert (hs.get("contacts", edited[0]) or {})["country"] == "Österreich"
    hs.log.clear()
    code, summary = sync(crmseg, cfg)
    assert code == 0
    # the edited contact carries crmseg's stamp, but its exported values differ from
    # the mirror: it alone is processed; the other 219 are crmseg's writes only
    assert summary["pulled"]["contact"]["records"] == 1
    assert hs.log.count("POST", r"/exports/export/async$") == 1


def test_the_counted_mode_hides_that_edit(
    hs: HubSpotStandIn, config: Callable[..., Path], crmseg: Any
) -> None:
    """Why ``count_own_write_window`` stays off by default: the same edit is not seen."""
    edited = edit_during_the_first_write(hs)
    cfg = config("count_own_write_window = true")
    assert sync(crmseg, cfg)[0] == 0 and len(edited) == 1
    code, summary = sync(crmseg, cfg)
    assert code == 0 and summary["pulled"]["contact"]["records"] == 0


def test_the_no_op_rerun_is_one_export_instead_of_search_pages(
    hs: HubSpotStandIn, config: Callable[..., Path], crmseg: Any
) -> None:
    cfg = config()
    assert sync(crmseg, cfg)[0] == 0
    hs.log.clear()
    code, summary = sync(crmseg, cfg)
    assert code == 0 and summary["written"] == 0
    assert summary["pulled"]["contact"]["records"] == 0
    # contacts: the count of changes (export or search?), one export start, its status
    # poll(s), the archived listing; no search page, no association read
    assert hs.log.count("POST", CONTACT_SEARCH) == 1
    assert hs.log.count("POST", r"/exports/export/async$") == 1
    assert hs.log.count("GET", r"/exports/export/async/tasks/[^/]+/status$") == 1
    assert hs.log.count("POST", r"/crm/v4/associations/contacts/") == 0
    assert hs.log.count("GET", r"^/crm/v3/objects/contacts$") == 1  # archived=true
    # a later edit still shows: one record, and the next export checks it
    hs.set_property("contacts", 7, "country", "Österreich")
    code, summary = sync(crmseg, cfg)
    assert code == 0 and summary["pulled"]["contact"]["records"] == 1


NO_EXPORT_SCOPE = {
    *(f"crm.{kind}.{t}.{rw}" for kind in ("objects", "schemas") for t in PLURALS for rw in RW),
    "crm.lists.read",
    "crm.lists.write",
    "crm.import",
}


@pytest.mark.parametrize("refusal", ["daily cap", "no crm.export scope"])
def test_refused_exports_fall_back_to_search_pages_with_a_warning(
    hs: HubSpotStandIn,
    config: Callable[..., Path],
    crmseg: Any,
    refusal: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    cfg = config()
    assert sync(crmseg, cfg)[0] == 0
    if refusal == "daily cap":
        hs.bulk.exports_per_day = 0
    else:
        hs.add_token("pat-no-export", NO_EXPORT_SCOPE)
        monkeypatch.setenv("HUBSPOT_ACCESS_TOKEN", "pat-no-export")
    hs.log.clear()
    result = crmseg("sync", "--config", str(cfg), "--as-of", str(AS_OF), "--json")
    summary = json.loads(result.stdout)
    assert result.exit_code == 0 and summary["written"] == 0
    assert summary["pulled"]["contact"]["records"] == 0  # still exact, still skipped
    assert hs.log.count("POST", r"/exports/export/async$") == 1  # asked once, refused
    # the count, then the 220 written contacts on 2 search pages of 200
    assert hs.log.count("POST", CONTACT_SEARCH) == 3
    warning = next(line for line in result.stderr.splitlines() if "WARNING" in line)
    expected = "rolling 24 hour" if refusal == "daily cap" else "crm.export"
    assert expected in warning and "search pages instead" in warning


def test_exports_switched_off_use_search_pages_without_a_warning(
    hs: HubSpotStandIn, config: Callable[..., Path], crmseg: Any
) -> None:
    cfg = config("own_write_export_min = 0")
    assert sync(crmseg, cfg)[0] == 0
    hs.log.clear()
    code, summary = sync(crmseg, cfg)
    assert code == 0 and summary["pulled"]["contact"]["records"] == 0
    assert hs.log.count("POST", r"/exports/export/async$") == 0
    assert hs.log.count("POST", CONTACT_SEARCH) == 3


def test_a_lost_export_status_answer_is_asked_again(
    hs: HubSpotStandIn, config: Callable[..., Path], crmseg: Any
) -> None:
    cfg = config()
    assert sync(crmseg, cfg)[0] == 0
    hs.lose_responses(1, r"/exports/export/async/tasks/[^/]+/status$", method="GET")
    hs.log.clear()
    code, summary = sync(crmseg, cfg)
    assert code == 0 and summary["written"] == 0
    assert summary["pulled"]["contact"]["records"] == 0
    assert [m for m, _p, _s in hs.lost] == ["GET"]
    # the same export is polled again (the lost answer is not in the log, the second
    # is); no second export is started
    assert hs.log.count("POST", r"/exports/export/async$") == 1
    assert hs.log.count("GET", r"/exports/export/async/tasks/[^/]+/status$") == 1


def test_own_writes_do_not_count_as_changes_that_call_for_a_whole_export(
    hs: HubSpotStandIn, config: Callable[..., Path], crmseg: Any
) -> None:
    """Above ``export_threshold`` changes an incremental pull exports every record; crmseg's
    own writes, checked by the filtered export, do not count towards that."""
    cfg = config("own_write_export_min = 50\nexport_threshold = 100")
    code, first = sync(crmseg, cfg)
    assert code == 0 and first["pulled"]["contact"]["full"] is True
    assert len(hs.exports.jobs) >= 1  # the full pull of 220 > 100 contacts was exported
    before = set(hs.exports.jobs)
    code, summary = sync(crmseg, cfg)
    assert code == 0 and summary["pulled"]["contact"]["records"] == 0
    (job,) = (j for i, j in hs.exports.jobs.items() if i not in before)
    assert job.object_type == "contacts" and job.match is not None
