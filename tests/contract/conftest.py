"""The contract's one fixture: ``target``, each connector in turn, its CRM started
once for the whole session (tests use records of their own, so they can share it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.contract.adapters import TIER, TOPICS, Target
from tests.contract.adapters.fake import FakeCrmTarget
from tests.contract.adapters.files import FilesTarget
from tests.contract.adapters.hubspot import HubSpotTarget
from tests.contract.adapters.salesforce import SalesforceTarget

TARGETS: dict[str, Callable[[], Target]] = {
    "hubspot": HubSpotTarget,
    "salesforce": SalesforceTarget,
    "fake": FakeCrmTarget,
    "files": FilesTarget,
}


@pytest.fixture(scope="session", params=sorted(TARGETS))
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    made = TARGETS[request.param]()
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def healthy(target: Target) -> Iterator[Target]:
    """The target, with every fault a test injected cleared afterwards."""
    yield target
    target.heal()


@pytest.fixture
def tag_fields(healthy: Target) -> Target:
    """The target with the contract's tag fields in place on contacts (provisioned
    on first use; ``test_fields`` checks that provisioning again changes nothing)."""
    if "fields" not in healthy.not_applicable and not healthy.provisioned:
        healthy.connector.ensure_fields("contact", [TIER, TOPICS])
        healthy.provisioned = True
    return healthy
