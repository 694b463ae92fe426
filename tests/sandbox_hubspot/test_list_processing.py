"""DYNAMIC lists are processed in the background: the create answers before the
members are evaluated (FACTS.md, "Lists v3 filters")."""

from __future__ import annotations

import pytest
from hubspot import HubSpot
from hubspot.crm.lists import ListCreateRequest

from connectors.sandbox.hubspot import HubSpotStandIn, list_registry
from tests.sandbox_hubspot.test_lists import branch


def test_dynamic_create_answers_processing_without_evaluating(
    client: HubSpot, sandbox: HubSpotStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    evaluated: list[str] = []
    real = list_registry.evaluate

    def counted(store, object_type, branch_):  # type: ignore[no-untyped-def]
        evaluated.append(object_type)
        return real(store, object_type, branch_)

    monkeypatch.setattr(list_registry, "evaluate", counted)
    api = client.crm.lists.lists_api
    created = api.create(
        ListCreateRequest(
            name="dyn",
            object_type_id="0-1",
            processing_type="DYNAMIC",
            filter_branch=branch("origin_channel", ["partner"]),
        )
    ).list
    assert created.processing_status == "PROCESSING"
    assert created.size is None
    assert evaluated == []  # every contact would have been matched for the size

    read = api.get_by_id(created.list_id).list
    recs = sandbox.state.store.records("contacts")
    partners = sum(1 for r in recs.values() if r.props["origin_channel"] == "partner")
    assert read.processing_status == "COMPLETE"
    assert read.size == partners > 0
    assert evaluated == ["contacts"]
